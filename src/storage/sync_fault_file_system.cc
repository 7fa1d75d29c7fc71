#include "storage/sync_fault_file_system.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace bw::storage {
namespace {

class SyncFaultWritableFile final : public WritableFile {
 public:
  SyncFaultWritableFile(SyncFaultFileSystem* fs, std::string path,
                        std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  Status append(std::string_view data) override { return base_->append(data); }
  Status sync() override {
    BW_RETURN_IF_ERROR(fs_->before_sync(fmt::format("fdatasync {}", path_)));
    return base_->sync();
  }
  Status close() override { return base_->close(); }

 private:
  SyncFaultFileSystem* const fs_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
};

}  // namespace

SyncFaultFileSystem::SyncFaultFileSystem(FileSystem* base, Sleep sleep)
    : FileSystemWrapper(base),
      sleep_(sleep ? std::move(sleep)
                   : Sleep([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); })) {}

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
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, target()->create(path));
  return std::unique_ptr<WritableFile>(
      std::make_unique<SyncFaultWritableFile>(this, path, std::move(file)));
}

Status SyncFaultFileSystem::truncate(const std::string& path, uint64_t size) {
  BW_RETURN_IF_ERROR(before_sync(fmt::format("truncate {}", path)));
  return target()->truncate(path, size);
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

}  // namespace bw::storage
