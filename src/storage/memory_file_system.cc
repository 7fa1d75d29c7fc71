#include "storage/memory_file_system.h"

#include <fmt/format.h>

#include <algorithm>

namespace bw::storage {
namespace {

class MemoryWritableFile final : public WritableFile {
 public:
  explicit MemoryWritableFile(std::shared_ptr<MemoryFileSystem::Node> node)
      : node_(std::move(node)) {}
  // Writes at the append position: the end, unless preallocate() put zeros after it.
  Status append(std::string_view data) override {
    if (closed_) return absl::FailedPreconditionError("append to a closed file");
    absl::MutexLock lock(&node_->mu);
    std::string& b = node_->bytes;
    if (b.size() < pos_) b.resize(pos_, '\0');  // cut by a truncate() meanwhile
    const size_t overwrite = std::min(data.size(), b.size() - std::min(b.size(), pos_));
    b.replace(pos_, overwrite, data.substr(0, overwrite));
    b.append(data.substr(overwrite));
    pos_ += data.size();
    return OkStatus();
  }
  Status sync() override { return OkStatus(); }
  Status preallocate(uint64_t bytes) override {
    if (closed_) return absl::FailedPreconditionError("preallocate on a closed file");
    absl::MutexLock lock(&node_->mu);
    if (node_->bytes.size() < bytes) node_->bytes.resize(static_cast<size_t>(bytes), '\0');
    return OkStatus();
  }
  Status close() override {
    closed_ = true;
    return OkStatus();
  }

 private:
  std::shared_ptr<MemoryFileSystem::Node> node_;
  size_t pos_ = 0;
  bool closed_ = false;
};

class MemoryReadableFile final : public ReadableFile {
 public:
  explicit MemoryReadableFile(std::shared_ptr<MemoryFileSystem::Node> node)
      : node_(std::move(node)) {
    absl::MutexLock lock(&node_->mu);
    size_ = node_->bytes.size();
  }
  Status read_at(uint64_t offset, size_t n, std::string* out) override {
    absl::MutexLock lock(&node_->mu);
    const std::string& b = node_->bytes;
    if (offset >= b.size()) {
      out->clear();
      return OkStatus();
    }
    out->assign(b, static_cast<size_t>(offset), n);
    return OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  std::shared_ptr<MemoryFileSystem::Node> node_;
  uint64_t size_ = 0;
};

Status not_found(std::string_view what, const std::string& path) {
  return absl::NotFoundError(fmt::format("{} {}: no such file or directory", what, path));
}

}  // namespace

Status MemoryFileSystem::check_parent(const std::string& path) const {
  if (!dirs_.contains(parent_dir(path))) return not_found("parent of", path);
  return OkStatus();
}

Result<std::unique_ptr<WritableFile>> MemoryFileSystem::create(const std::string& path) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(check_parent(path));
  auto node = std::make_shared<Node>();
  files_[path] = node;
  return std::make_unique<MemoryWritableFile>(std::move(node));
}

Result<std::unique_ptr<ReadableFile>> MemoryFileSystem::open_read(const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return not_found("open", path);
  return std::make_unique<MemoryReadableFile>(it->second);
}

Result<std::vector<std::string>> MemoryFileSystem::list(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  if (!dirs_.contains(dir)) return not_found("list", dir);
  std::vector<std::string> names;
  for (const auto& [path, node] : files_) {
    if (parent_dir(path) == dir) names.push_back(path.substr(path.rfind('/') + 1));
  }
  return names;  // std::map iteration order is sorted by path, hence by name within dir
}

Status MemoryFileSystem::create_dir(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  BW_RETURN_IF_ERROR(check_parent(dir));
  dirs_.insert(dir);
  return OkStatus();
}

Status MemoryFileSystem::remove(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (files_.erase(path) == 0) return not_found("remove", path);
  return OkStatus();
}

Status MemoryFileSystem::rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return not_found("rename", from);
  BW_RETURN_IF_ERROR(check_parent(to));
  std::shared_ptr<Node> node = it->second;
  files_.erase(it);
  files_[to] = std::move(node);
  return OkStatus();
}

Status MemoryFileSystem::truncate(const std::string& path, uint64_t size) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return not_found("truncate", path);
  absl::MutexLock node_lock(&it->second->mu);
  it->second->bytes.resize(static_cast<size_t>(size));
  return OkStatus();
}

Status MemoryFileSystem::sync_dir(const std::string& dir) {
  absl::MutexLock lock(&mu_);
  if (!dirs_.contains(dir)) return not_found("sync_dir", dir);
  return OkStatus();
}

Result<bool> MemoryFileSystem::exists(const std::string& path) {
  absl::MutexLock lock(&mu_);
  return files_.contains(path) || dirs_.contains(path);
}

}  // namespace bw::storage
