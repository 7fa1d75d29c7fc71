#include "storage/sync_fault_file_system.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace bw::storage {

class SyncFaultWritableFile final : public WritableFile {
 public:
  SyncFaultWritableFile(SyncFaultFileSystem* fs, std::string path,
                        std::shared_ptr<SyncFaultFileSystem::FileState> state,
                        std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), state_(std::move(state)), base_(std::move(base)) {}

  Status append(std::string_view data) override { return fs_->append(*this, data); }
  Status sync() override { return fs_->sync(*this); }
  Status preallocate(uint64_t bytes) override { return fs_->preallocate(*this, bytes); }
  Status close() override { return base_->close(); }

 private:
  friend class SyncFaultFileSystem;
  SyncFaultFileSystem* const fs_;
  const std::string path_;  // as created (for messages; a rename moves state_, not this)
  const std::shared_ptr<SyncFaultFileSystem::FileState> state_;
  const std::unique_ptr<WritableFile> base_;
};

SyncFaultFileSystem::SyncFaultFileSystem(FileSystem* base, Sleep sleep, Halt halt)
    : FileSystemWrapper(base),
      sleep_(sleep ? std::move(sleep)
                   : Sleep([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); })),
      halt_(halt ? std::move(halt) : Halt([] {
        // As sudden as a power loss: no destructor, exit handler or buffered write runs.
        ::kill(::getpid(), SIGKILL);
        ::_exit(128 + SIGKILL);  // not reached: SIGKILL cannot be caught or blocked
      })) {}

Status SyncFaultFileSystem::before_sync(std::string_view what) {
  syncs_.fetch_add(1, std::memory_order_relaxed);
  const int64_t delay_ms = delay_ms_.load(std::memory_order_relaxed);
  if (delay_ms > 0) sleep_(std::chrono::milliseconds(delay_ms));
  if (fail_.load(std::memory_order_relaxed)) {
    return absl::ErrnoToStatus(EIO, fmt::format("injected (DEBUG FSYNC-FAIL): {}", what));
  }
  return OkStatus();
}

Result<std::unique_ptr<WritableFile>> SyncFaultFileSystem::create(const std::string& path) {
  absl::MutexLock lock(&mu_);
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, target()->create(path));
  auto state = std::make_shared<FileState>();
  files_[path] = state;
  return std::unique_ptr<WritableFile>(
      std::make_unique<SyncFaultWritableFile>(this, path, std::move(state), std::move(file)));
}

Status SyncFaultFileSystem::append(SyncFaultWritableFile& file, std::string_view data) {
  absl::MutexLock lock(&mu_);
  // On error a prefix may have been written: counting it all is safe, power_cut() never cuts
  // a file to more than its real size.
  file.state_->appended_bytes += data.size();
  return file.base_->append(data);
}

Status SyncFaultFileSystem::sync(SyncFaultWritableFile& file) {
  BW_RETURN_IF_ERROR(before_sync(fmt::format("fdatasync {}", file.path_)));
  uint64_t covered = 0;
  {
    absl::MutexLock lock(&mu_);
    covered = file.state_->appended_bytes;
  }
  // Not under the lock: a power cut during the fdatasync drops what it was syncing, a legal
  // outcome since nobody was told it was durable.
  BW_RETURN_IF_ERROR(file.base_->sync());
  absl::MutexLock lock(&mu_);
  file.state_->synced_bytes = std::max(file.state_->synced_bytes, covered);
  return OkStatus();
}

// Counts as a sync (it is one). power_cut() cuts the file to its durable appended bytes,
// zeros included: as if it had never been preallocated, which recovery reads the same way.
Status SyncFaultFileSystem::preallocate(SyncFaultWritableFile& file, uint64_t bytes) {
  BW_RETURN_IF_ERROR(before_sync(fmt::format("preallocate {}", file.path_)));
  uint64_t covered = 0;
  {
    absl::MutexLock lock(&mu_);
    covered = file.state_->appended_bytes;
  }
  BW_RETURN_IF_ERROR(file.base_->preallocate(bytes));
  absl::MutexLock lock(&mu_);
  file.state_->synced_bytes = std::max(file.state_->synced_bytes, covered);
  return OkStatus();
}

Status SyncFaultFileSystem::remove(const std::string& path) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(target()->remove(path));
  files_.erase(path);
  return OkStatus();
}

Status SyncFaultFileSystem::rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(target()->rename(from, to));
  auto it = files_.find(from);
  if (it == files_.end()) {
    files_.erase(to);  // replaced by a file we did not write: nothing of it to cut
  } else {
    files_[to] = std::move(it->second);
    files_.erase(it);
  }
  return OkStatus();
}

Status SyncFaultFileSystem::truncate(const std::string& path, uint64_t size) {
  BW_RETURN_IF_ERROR(before_sync(fmt::format("truncate {}", path)));
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(target()->truncate(path, size));
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second->appended_bytes = size;  // truncate() syncs
    it->second->synced_bytes = size;
  }
  return OkStatus();
}

Status SyncFaultFileSystem::sync_dir(const std::string& dir) {
  BW_RETURN_IF_ERROR(before_sync(fmt::format("fsync {}", dir)));
  return target()->sync_dir(dir);
}

void SyncFaultFileSystem::set_sync_delay(std::chrono::milliseconds delay) {
  delay_ms_.store(std::max<int64_t>(delay.count(), 0), std::memory_order_relaxed);
}

void SyncFaultFileSystem::set_sync_failure(bool fail) {
  fail_.store(fail, std::memory_order_relaxed);
}

std::chrono::milliseconds SyncFaultFileSystem::sync_delay() const {
  return std::chrono::milliseconds(delay_ms_.load(std::memory_order_relaxed));
}

bool SyncFaultFileSystem::sync_failure() const {
  return fail_.load(std::memory_order_relaxed);
}

uint64_t SyncFaultFileSystem::syncs() const {
  return syncs_.load(std::memory_order_relaxed);
}

Status SyncFaultFileSystem::cut(const std::string& path, FileState& st) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, target()->open_read(path));
  const uint64_t size = file->size();
  if (size > st.synced_bytes) BW_RETURN_IF_ERROR(target()->truncate(path, st.synced_bytes));
  st.appended_bytes = std::min(size, st.synced_bytes);
  st.synced_bytes = st.appended_bytes;
  return OkStatus();
}

void SyncFaultFileSystem::power_cut() {
  absl::MutexLock lock(&mu_);
  uint64_t cut_files = 0;
  for (const auto& [path, st] : files_) {
    const uint64_t before = st->appended_bytes;
    if (Status s = cut(path, *st); !s.ok()) {
      spdlog::error("power cut: {} keeps its unsynced bytes: {}", path, s);
    } else if (st->appended_bytes < before) {
      ++cut_files;
    }
  }
  spdlog::warn("power cut: {} of {} files lost their unsynced bytes", cut_files, files_.size());
  spdlog::default_logger()->flush();
  halt_();
}

}  // namespace bw::storage
