#include "storage/file_system.h"

#include <fmt/format.h>

namespace bw::storage {

Status WritableFile::preallocate(uint64_t /*bytes*/) {
  return OkStatus();
}

Result<std::unique_ptr<WritableFile>> FileSystemWrapper::create(const std::string& path) {
  return target_->create(path);
}

Result<std::unique_ptr<ReadableFile>> FileSystemWrapper::open_read(const std::string& path) {
  return target_->open_read(path);
}

Result<std::vector<std::string>> FileSystemWrapper::list(const std::string& dir) {
  return target_->list(dir);
}

Status FileSystemWrapper::create_dir(const std::string& dir) {
  return target_->create_dir(dir);
}

Status FileSystemWrapper::remove(const std::string& path) {
  return target_->remove(path);
}

Status FileSystemWrapper::rename(const std::string& from, const std::string& to) {
  return target_->rename(from, to);
}

Status FileSystemWrapper::truncate(const std::string& path, uint64_t size) {
  return target_->truncate(path, size);
}

Status FileSystemWrapper::sync_dir(const std::string& dir) {
  return target_->sync_dir(dir);
}

Result<bool> FileSystemWrapper::exists(const std::string& path) {
  return target_->exists(path);
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return fmt::format("{}{}", dir, name);
  return fmt::format("{}/{}", dir, name);
}

std::string parent_dir(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Result<std::string> read_file(FileSystem& fs, const std::string& path, uint64_t bytes_max) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs.open_read(path));
  if (file->size() > bytes_max) {
    return absl::DataLossError(
        fmt::format("{}: size {} exceeds the limit of {} bytes", path, file->size(), bytes_max));
  }
  std::string out;
  BW_RETURN_IF_ERROR(file->read_at(0, static_cast<size_t>(file->size()), &out));
  return out;
}

Status write_file_atomic(FileSystem& fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.create(tmp));
  BW_RETURN_IF_ERROR(file->append(data));
  BW_RETURN_IF_ERROR(file->sync());
  BW_RETURN_IF_ERROR(file->close());
  BW_RETURN_IF_ERROR(fs.rename(tmp, path));
  return fs.sync_dir(parent_dir(path));
}

}  // namespace bw::storage
