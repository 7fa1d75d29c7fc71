// Group commit with the writer thread: many concurrent writers share writes and fsyncs, every
// callback runs once with the right outcome, and what was acknowledged is recovered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "storage/fault_file_system.h"
#include "storage/memory_file_system.h"
#include "storage/storage.h"

namespace bw::storage {
namespace {

// A disk whose fsync takes a while (as a real one does), and which counts writes and syncs.
class SlowSyncFileSystem final : public FileSystemWrapper {
 public:
  explicit SlowSyncFileSystem(FileSystem* base) : FileSystemWrapper(base) {}
  std::atomic<int> appends{0};
  std::atomic<int> syncs{0};

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override {
    BW_ASSIGN_OR_RETURN(auto f, target()->create(path));
    return std::unique_ptr<WritableFile>(new File(this, std::move(f)));
  }

 private:
  class File final : public WritableFile {
   public:
    File(SlowSyncFileSystem* fs, std::unique_ptr<WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status append(std::string_view d) override {
      ++fs_->appends;
      return f_->append(d);
    }
    Status sync() override {
      ++fs_->syncs;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // device latency
      return f_->sync();
    }
    Status close() override { return f_->close(); }

   private:
    SlowSyncFileSystem* fs_;
    std::unique_ptr<WritableFile> f_;
  };
};

Options threaded() {
  Options o;
  o.dir = "/node";
  o.identity = {"gc", NodeId(1)};
  o.segment_bytes_max = 64 << 10;
  return o;
}

TEST(GroupCommitTest, ConcurrentWritersShareFsyncs) {
  constexpr int kWriters = 16;
  constexpr int kWritesEach = 60;
  MemoryFileSystem mem;
  SlowSyncFileSystem fs(&mem);
  {
    auto st = Storage::open(&fs, threaded());
    ASSERT_TRUE(st.ok()) << st.status();
    const int syncs_before = fs.syncs.load();
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        const GroupId g(100 + w);
        for (int i = 1; i <= kWritesEach; ++i) {
          absl::Mutex mu;
          bool done = false;
          const raft::Entry e{Term(1), LogIndex(i), raft::EntryType::kNormal,
                              std::string(256, static_cast<char>('a' + w))};
          Status s = (*st)->submit({.group = g,
                                    .hard_state = raft::HardState{Term(1), NodeId(1), LogIndex(i)},
                                    .entries = {e}},
                                   [&](Status r) {
                                     if (!r.ok()) ++failures;
                                     absl::MutexLock lock(&mu);
                                     done = true;
                                   });
          if (!s.ok()) ++failures;
          // Visible to Raft's reads before it is durable.
          if ((*st)->group(g)->last_index() != LogIndex(i)) ++failures;
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(&done));
        }
      });
    }
    for (std::thread& t : writers) t.join();
    EXPECT_EQ(failures.load(), 0);
    const int syncs = fs.syncs.load() - syncs_before;
    // Without group commit there would be one fsync per write.
    EXPECT_LT(syncs, kWriters * kWritesEach / 3) << syncs << " fsyncs";
    EXPECT_GT(syncs, 0);
  }
  auto st = Storage::open(&mem, threaded());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->get()->groups().size(), static_cast<size_t>(kWriters));
  for (int w = 0; w < kWriters; ++w) {
    GroupLog* log = (*st)->group(GroupId(100 + w));
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_index(), LogIndex(kWritesEach));
    EXPECT_EQ((*st)->recovered(GroupId(100 + w)).hard_state.commit, LogIndex(kWritesEach));
    auto es = log->entries(LogIndex(1), LogIndex(kWritesEach + 1), UINT64_MAX);
    ASSERT_TRUE(es.ok());
    for (const raft::Entry& e : *es) EXPECT_EQ(e.data[0], static_cast<char>('a' + w));
  }
}

TEST(GroupCommitTest, CallbacksRunInSubmitOrder) {
  MemoryFileSystem mem;
  SlowSyncFileSystem fs(&mem);
  auto st = Storage::open(&fs, threaded());
  ASSERT_TRUE(st.ok());
  absl::Mutex mu;
  std::vector<int> order;
  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE((*st)
                    ->submit({.group = GroupId(1 + i % 3),
                              .entries = {{Term(1), LogIndex((i + 2) / 3), {}, "x"}}},
                             [&, i](Status s) {
                               EXPECT_TRUE(s.ok());
                               absl::MutexLock lock(&mu);
                               order.push_back(i);
                             })
                    .ok());
  }
  (*st)->drain();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(order[i], i + 1);
}

TEST(GroupCommitTest, FsyncPolicyNoneSkipsFsyncOnTheWritePath) {
  MemoryFileSystem mem;
  SlowSyncFileSystem fs(&mem);
  Options o = threaded();
  o.fsync = FsyncPolicy::kNone;
  {
    auto st = Storage::open(&fs, o);
    ASSERT_TRUE(st.ok());
    const int syncs_before = fs.syncs.load();
    for (int i = 1; i <= 20; ++i) {
      ASSERT_TRUE(
          (*st)
              ->write_sync({.group = GroupId(1), .entries = {{Term(1), LogIndex(i), {}, "x"}}})
              .ok());
    }
    EXPECT_EQ(fs.syncs.load(), syncs_before);
  }
  auto st = Storage::open(&mem, o);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)->group(GroupId(1))->last_index(), LogIndex(20));
}

// A write nobody waits for (sync = false: the driver's commit-index-only writes) neither wakes
// the writer nor costs an fdatasync: it goes out with the next write someone waits for, whose
// fdatasync covers it; a drain writes it too.
TEST(GroupCommitTest, UnsyncedWritesRideOnTheNextSyncedWrite) {
  MemoryFileSystem mem;
  SlowSyncFileSystem fs(&mem);
  auto st = Storage::open(&fs, threaded());
  ASSERT_TRUE(st.ok());
  const GroupId g(1);
  ASSERT_TRUE((*st)
                  ->write_sync({.group = g,
                                .hard_state = raft::HardState{Term(1), NodeId(1), LogIndex(0)},
                                .entries = {{Term(1), LogIndex(1), {}, "x"}}})
                  .ok());
  const int syncs_before = fs.syncs.load();
  const int appends_before = fs.appends.load();
  std::atomic<int> callbacks{0};
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE((*st)
                    ->submit({.group = g,
                              .hard_state = raft::HardState{Term(1), NodeId(1), LogIndex(1)},
                              .sync = false},
                             [&](Status s) {
                               EXPECT_TRUE(s.ok());
                               ++callbacks;
                             })
                    .ok());
  }
  EXPECT_EQ(fs.appends.load(), appends_before);  // queued, not written
  ASSERT_TRUE((*st)->write_sync({.group = g, .entries = {{Term(1), LogIndex(2), {}, "y"}}}).ok());
  EXPECT_EQ(callbacks.load(), 5);
  EXPECT_EQ(fs.syncs.load(), syncs_before + 1);  // one fdatasync for all six
  ASSERT_TRUE((*st)
                  ->submit({.group = g,
                            .hard_state = raft::HardState{Term(1), NodeId(1), LogIndex(2)},
                            .sync = false},
                           [&](Status) { ++callbacks; })
                  .ok());
  (*st)->drain();
  EXPECT_EQ(callbacks.load(), 6);
  EXPECT_EQ(fs.syncs.load(), syncs_before + 1);
  st->reset();
  auto reopened = Storage::open(&mem, threaded());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->recovered(g).hard_state.commit, LogIndex(2));
  EXPECT_EQ((*reopened)->group(g)->last_index(), LogIndex(2));
}

TEST(GroupCommitTest, NoSpaceFailsWritesAndStaysFailed) {
  MemoryFileSystem mem;
  FaultFileSystem fault(&mem, 5);
  auto st = Storage::open(&fault, threaded());
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(
      (*st)->write_sync({.group = GroupId(1), .entries = {{Term(1), LogIndex(1), {}, "a"}}}).ok());
  fault.set_space_bytes(10);
  Status s = (*st)->write_sync(
      {.group = GroupId(1), .entries = {{Term(1), LogIndex(2), {}, std::string(100, 'b')}}});
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ((*st)->health().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE((*st)->submit({.group = GroupId(1)}, nullptr).ok());
  fault.set_space_bytes(std::nullopt);
  EXPECT_FALSE((*st)->write_sync({.group = GroupId(2)}).ok());  // sticky until restart
  st->reset();
  ASSERT_TRUE(fault.crash(CrashMode::kTearUnsynced).ok());
  auto again = Storage::open(&fault, threaded());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GE((*again)->group(GroupId(1))->last_index(), LogIndex(1));
}

}  // namespace
}  // namespace bw::storage
