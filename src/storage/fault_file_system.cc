#include "storage/fault_file_system.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bw::storage {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::string path, uint64_t generation,
                    std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), generation_(generation), base_(std::move(base)) {}

  Status append(std::string_view data) override { return fs_->append(*this, data); }
  Status sync() override { return fs_->sync(*this); }
  Status preallocate(uint64_t bytes) override { return fs_->preallocate(*this, bytes); }
  Status close() override { return base_->close(); }

 private:
  friend class FaultFileSystem;
  FaultFileSystem* fs_;
  std::string path_;
  uint64_t generation_;
  std::unique_ptr<WritableFile> base_;
};

namespace {

Status died() {
  return absl::ErrnoToStatus(EIO, "injected: the process died during a write");
}

}  // namespace

FaultFileSystem::FaultFileSystem(FileSystem* base, uint64_t seed)
    : FileSystemWrapper(base), rng_(seed) {}

Status FaultFileSystem::check_alive(uint64_t generation) const {
  if (generation != generation_) {
    return absl::FailedPreconditionError("file handle opened before a simulated crash");
  }
  if (dead_) return died();
  return OkStatus();
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::create(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (dead_) return died();
  BW_ASSIGN_OR_RETURN(bool existed, target()->exists(path));
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, target()->create(path));
  auto it = files_.find(path);
  const bool name_durable = existed && (it == files_.end() || it->second.name_durable);
  files_[path] = FileState{0, 0, name_durable};
  return std::make_unique<FaultWritableFile>(this, path, generation_, std::move(file));
}

Status FaultFileSystem::append(FaultWritableFile& file, std::string_view data) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(check_alive(file.generation_));
  size_t n = data.size();
  Status injected;
  if (appends_left_.has_value()) {
    if (*appends_left_ == 0) {
      n = std::min<uint64_t>(n, partial_bytes_);
      dead_ = true;
      injected = died();
    } else {
      --*appends_left_;
    }
  }
  if (space_bytes_.has_value() && n > *space_bytes_) {
    n = static_cast<size_t>(*space_bytes_);
    injected = absl::ErrnoToStatus(ENOSPC, fmt::format("injected: write {}", file.path_));
  }
  if (space_bytes_.has_value()) *space_bytes_ -= n;
  BW_RETURN_IF_ERROR(file.base_->append(data.substr(0, n)));
  files_[file.path_].size += n;
  if (injected.ok()) ++appends_;
  return injected;
}

Status FaultFileSystem::sync(FaultWritableFile& file) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(check_alive(file.generation_));
  if (sync_failure_) {
    return absl::ErrnoToStatus(EIO, fmt::format("injected: fdatasync {}", file.path_));
  }
  BW_RETURN_IF_ERROR(file.base_->sync());
  FileState& st = files_[file.path_];
  st.synced_size = st.size;
  return OkStatus();
}

// Syncs like sync() (and fails like it); the zeros count against the space budget.
Status FaultFileSystem::preallocate(FaultWritableFile& file, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(check_alive(file.generation_));
  if (sync_failure_) {
    return absl::ErrnoToStatus(EIO, fmt::format("injected: fdatasync {}", file.path_));
  }
  FileState& st = files_[file.path_];
  const uint64_t length = std::max(st.size, st.zeros_to);
  if (bytes <= length) return OkStatus();
  uint64_t target = bytes;
  Status injected;
  if (space_bytes_.has_value() && bytes - length > *space_bytes_) {
    target = length + *space_bytes_;
    injected = absl::ErrnoToStatus(ENOSPC, fmt::format("injected: preallocate {}", file.path_));
  }
  if (space_bytes_.has_value()) *space_bytes_ -= target - length;
  BW_RETURN_IF_ERROR(file.base_->preallocate(target));
  st.zeros_to = target;
  if (!injected.ok()) return injected;
  BW_RETURN_IF_ERROR(file.base_->sync());
  st.synced_size = st.size;
  return OkStatus();
}

Status FaultFileSystem::remove(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (dead_) return died();
  BW_RETURN_IF_ERROR(target()->remove(path));
  files_.erase(path);
  return OkStatus();
}

Status FaultFileSystem::rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  if (dead_) return died();
  PendingRename r{from, to, std::nullopt};
  BW_ASSIGN_OR_RETURN(bool replaces, target()->exists(to));
  if (replaces) {
    BW_ASSIGN_OR_RETURN(std::string old, read_file(*target(), to, UINT64_MAX));
    r.replaced = std::move(old);
  }
  BW_RETURN_IF_ERROR(target()->rename(from, to));
  auto it = files_.find(from);
  FileState st;
  if (it != files_.end()) {
    st = it->second;
    files_.erase(it);
  } else {
    BW_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> f, target()->open_read(to));
    st = FileState{f->size(), f->size(), true};
  }
  files_[to] = st;
  renames_.push_back(std::move(r));
  return OkStatus();
}

Status FaultFileSystem::truncate(const std::string& path, uint64_t size) {
  absl::MutexLock lock(&mu_);
  if (dead_) return died();
  BW_RETURN_IF_ERROR(target()->truncate(path, size));
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.size = size;
    it->second.synced_size = size;
    it->second.zeros_to = std::min(it->second.zeros_to, size);
  }
  return OkStatus();
}

Status FaultFileSystem::sync_dir(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  if (dead_) return died();
  if (sync_failure_) return absl::ErrnoToStatus(EIO, fmt::format("injected: fsync {}", dir));
  BW_RETURN_IF_ERROR(target()->sync_dir(dir));
  for (auto& [path, st] : files_) {
    if (parent_dir(path) == dir) st.name_durable = true;
  }
  std::erase_if(renames_, [&](const PendingRename& r) { return parent_dir(r.to) == dir; });
  return OkStatus();
}

Status FaultFileSystem::undo_rename(const PendingRename& r) {
  BW_RETURN_IF_ERROR(target()->rename(r.to, r.from));
  auto it = files_.find(r.to);
  if (it != files_.end()) {
    files_[r.from] = it->second;
    files_.erase(r.to);
  }
  if (r.replaced.has_value()) {
    BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, target()->create(r.to));
    BW_RETURN_IF_ERROR(f->append(*r.replaced));
    BW_RETURN_IF_ERROR(f->close());
    files_[r.to] = FileState{r.replaced->size(), r.replaced->size(), true};
  }
  return OkStatus();
}

Status FaultFileSystem::crash_file(const std::string& path, FileState& st, CrashMode mode) {
  if (!st.name_durable) return target()->remove(path);
  if (st.size <= st.synced_size) return OkStatus();
  const uint64_t unsynced = st.size - st.synced_size;
  uint64_t keep = 0;
  switch (mode) {
    case CrashMode::kDropUnsynced:
      keep = 0;
      break;
    case CrashMode::kKeepUnsynced:
      keep = unsynced;
      break;
    case CrashMode::kTearUnsynced:
      keep = std::uniform_int_distribution<uint64_t>(0, unsynced)(rng_);
      break;
  }
  const uint64_t written = st.size;
  st.size = st.synced_size + keep;
  st.synced_size = st.size;
  if (st.zeros_to <= st.size) return target()->truncate(path, st.size);
  // Preallocated: the lost bytes were overwrites of durable zeros, which come back.
  BW_ASSIGN_OR_RETURN(std::string bytes, read_file(*target(), path, UINT64_MAX));
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(st.size),
            bytes.begin() + static_cast<std::ptrdiff_t>(std::min<uint64_t>(written, bytes.size())),
            '\0');
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, target()->create(path));
  BW_RETURN_IF_ERROR(f->append(bytes));
  return f->close();
}

Status FaultFileSystem::crash(CrashMode mode) {
  absl::MutexLock lock(&mu_);
  ++generation_;
  for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
    BW_RETURN_IF_ERROR(undo_rename(*it));
  }
  renames_.clear();
  for (auto it = files_.begin(); it != files_.end();) {
    BW_RETURN_IF_ERROR(crash_file(it->first, it->second, mode));
    it = it->second.name_durable ? std::next(it) : files_.erase(it);
  }
  appends_left_.reset();
  dead_ = false;
  sync_failure_ = false;
  space_bytes_.reset();
  return OkStatus();
}

void FaultFileSystem::fail_after_appends(uint64_t appends, uint64_t partial_bytes) {
  absl::MutexLock lock(&mu_);
  appends_left_ = appends;
  partial_bytes_ = partial_bytes;
}

void FaultFileSystem::set_sync_failure(bool fail) {
  absl::MutexLock lock(&mu_);
  sync_failure_ = fail;
}

void FaultFileSystem::set_space_bytes(std::optional<uint64_t> bytes) {
  absl::MutexLock lock(&mu_);
  space_bytes_ = bytes;
}

Status FaultFileSystem::flip_bit(const std::string& path, uint64_t offset, int bit) {
  absl::MutexLock lock(&mu_);
  BW_ASSIGN_OR_RETURN(std::string bytes, read_file(*target(), path, UINT64_MAX));
  if (offset >= bytes.size()) {
    return absl::OutOfRangeError(
        fmt::format("flip_bit {} at {}: file has {} bytes", path, offset, bytes.size()));
  }
  bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << (bit & 7)));
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, target()->create(path));
  BW_RETURN_IF_ERROR(f->append(bytes));
  return f->close();
}

Result<uint64_t> FaultFileSystem::flip_random_bit(const std::string& path) {
  uint64_t offset = 0;
  int bit = 0;
  {
    absl::MutexLock lock(&mu_);
    BW_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> f, target()->open_read(path));
    if (f->size() == 0) return absl::OutOfRangeError(fmt::format("{} is empty", path));
    offset = std::uniform_int_distribution<uint64_t>(0, f->size() - 1)(rng_);
    bit = static_cast<int>(rng_() % 8);
  }
  BW_RETURN_IF_ERROR(flip_bit(path, offset, bit));
  return offset;
}

uint64_t FaultFileSystem::appends() const {
  absl::MutexLock lock(&mu_);
  return appends_;
}

uint64_t FaultFileSystem::synced_bytes(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.synced_size;
}

}  // namespace bw::storage
