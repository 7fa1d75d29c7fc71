// Group-commit benchmark: entries/s and MB/s through Storage (writer thread, fsync always,
// 256-byte entries, one group per writer, each writer waits for durability before its next
// write) at 1, 8 and 64 concurrent writers, against the raw single-fsync rate of the same
// device measured in the same run (sequential 4 KiB write + fdatasync loop).
//
//   bench_storage_group_commit [DIR] [SECONDS_PER_CASE]
// DIR (default ./bench-storage-data) is created and emptied; it should be on the disk under
// test, not a tmpfs.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "storage/posix_file_system.h"
#include "storage/storage.h"

namespace bw::storage {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kEntryBytes = 256;
constexpr size_t kRawWriteBytes = 4096;

// Counts fdatasyncs of WAL segments.
class CountingFileSystem final : public FileSystemWrapper {
 public:
  explicit CountingFileSystem(FileSystem* base) : FileSystemWrapper(base) {}
  std::atomic<uint64_t> syncs{0};
  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override {
    BW_ASSIGN_OR_RETURN(auto f, target()->create(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(f)));
  }

 private:
  class File final : public WritableFile {
   public:
    File(CountingFileSystem* fs, std::unique_ptr<WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status append(std::string_view d) override { return f_->append(d); }
    Status sync() override {
      ++fs_->syncs;
      return f_->sync();
    }
    Status close() override { return f_->close(); }

   private:
    CountingFileSystem* fs_;
    std::unique_ptr<WritableFile> f_;
  };
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Sequential 4 KiB write + fdatasync, as fast as the device allows.
double raw_fsync_rate(FileSystem& fs, const std::string& dir, double seconds) {
  auto f = fs.create(join_path(dir, "raw"));
  if (!f.ok()) return 0;
  const std::string block(kRawWriteBytes, 'r');
  uint64_t n = 0;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    if (!(*f)->append(block).ok() || !(*f)->sync().ok()) return 0;
    ++n;
  }
  return static_cast<double>(n) / seconds_since(t0);
}

struct CaseResult {
  double entries_per_s = 0;
  double mb_per_s = 0;
  double fsyncs_per_s = 0;
};

CaseResult run_case(const std::string& dir, int writers, double seconds) {
  PosixFileSystem posix;
  CountingFileSystem fs(&posix);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Options o;
  o.dir = join_path(dir, "node");
  o.identity = {"bench", NodeId(1)};
  o.fsync = FsyncPolicy::kAlways;
  auto st = Storage::open(&fs, o);
  if (!st.ok()) {
    fmt::print(stderr, "open: {}\n", st.status().ToString());
    std::exit(1);
  }
  const uint64_t syncs_before = fs.syncs.load();
  std::atomic<uint64_t> entries{0};
  std::atomic<bool> failed{false};
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      const GroupId g(1 + w);
      const std::string data(kEntryBytes, static_cast<char>('a' + w % 26));
      absl::Mutex mu;
      uint64_t durable = 0;
      for (uint64_t i = 1; Clock::now() < deadline; ++i) {
        Status s = (*st)->submit(
            {.group = g, .entries = {{Term(1), LogIndex(i), raft::EntryType::kNormal, data}}},
            [&](Status r) {
              if (!r.ok()) failed = true;
              absl::MutexLock lock(&mu);
              ++durable;
            });
        if (!s.ok()) {
          failed = true;
          return;
        }
        absl::MutexLock lock(&mu);
        auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return durable == i; };
        mu.Await(absl::Condition(&done));
        entries.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed = seconds_since(t0);
  if (failed) {
    fmt::print(stderr, "a write failed\n");
    std::exit(1);
  }
  st->reset();
  CaseResult r;
  r.entries_per_s = static_cast<double>(entries.load()) / elapsed;
  r.mb_per_s = r.entries_per_s * kEntryBytes / 1e6;
  r.fsyncs_per_s = static_cast<double>(fs.syncs.load() - syncs_before) / elapsed;
  return r;
}

}  // namespace
}  // namespace bw::storage

int main(int argc, char** argv) {
  using namespace bw::storage;
  spdlog::set_level(spdlog::level::warn);
  const std::string dir = argc > 1 ? argv[1] : "./bench-storage-data";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  PosixFileSystem posix;
  const double raw = raw_fsync_rate(posix, dir, seconds);
  fmt::print("raw fsync rate (4 KiB write + fdatasync): {:.0f} /s   dir={}\n\n", raw, dir);
  fmt::print("{:>8} {:>12} {:>9} {:>10} {:>13} {:>9}\n", "writers", "entries/s", "MB/s", "fsyncs/s",
             "entries/fsync", "x raw");
  for (int writers : {1, 8, 64}) {
    const CaseResult r = run_case(dir, writers, seconds);
    fmt::print("{:>8} {:>12.0f} {:>9.2f} {:>10.0f} {:>13.1f} {:>8.1f}x\n", writers, r.entries_per_s,
               r.mb_per_s, r.fsyncs_per_s,
               r.fsyncs_per_s > 0 ? r.entries_per_s / r.fsyncs_per_s : 0,
               raw > 0 ? r.entries_per_s / raw : 0);
  }
  // Again at the end: other load on the device shows up as a difference between the two.
  fmt::print("\nraw fsync rate again at the end: {:.0f} /s\n", raw_fsync_rate(posix, dir, seconds));
  std::filesystem::remove_all(dir);
  return 0;
}
