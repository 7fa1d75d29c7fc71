#include "storage/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bw::storage {
namespace {

Status errno_status(int err, std::string_view what, std::string_view path) {
  return absl::ErrnoToStatus(err, fmt::format("{} {}", what, path));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Writes at the append position, which is the end of the file unless preallocate() wrote
  // zeros past it.
  Status append(std::string_view data) override {
    BW_RETURN_IF_ERROR(write_at(pos_, data, "write"));
    pos_ += data.size();
    size_ = std::max(size_, pos_);
    return OkStatus();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return errno_status(errno, "fdatasync", path_);
    return OkStatus();
  }

  Status preallocate(uint64_t bytes) override {
    static constexpr size_t kChunk = 256 << 10;
    static const std::string zeros(kChunk, '\0');
    while (size_ < bytes) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - size_));
      BW_RETURN_IF_ERROR(write_at(size_, std::string_view(zeros).substr(0, n), "preallocate"));
      size_ += n;
    }
    return sync();
  }

  Status close() override {
    const int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return errno_status(errno, "close", path_);
    return OkStatus();
  }

 private:
  // On error a prefix of `data` may have been written; size_ then understates the file, which
  // only makes a later preallocate() rewrite zeros.
  Status write_at(uint64_t offset, std::string_view data, std::string_view what) {
    while (!data.empty()) {
      const ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, what, path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return OkStatus();
  }

  std::string path_;
  int fd_;
  uint64_t pos_ = 0;   // append position
  uint64_t size_ = 0;  // the file's length: pos_ plus preallocated zeros
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixReadableFile() override { ::close(fd_); }

  Status read_at(uint64_t offset, size_t n, std::string* out) override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, "pread", path_);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return OkStatus();
  }
  uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open", path);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_status(err, "fsync", path);
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixFileSystem::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(errno, "create", path);
  return std::make_unique<PosixWritableFile>(path, fd);
}

Result<std::unique_ptr<ReadableFile>> PosixFileSystem::open_read(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, "open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return errno_status(err, "stat", path);
  }
  return std::make_unique<PosixReadableFile>(path, fd, static_cast<uint64_t>(st.st_size));
}

Result<std::vector<std::string>> PosixFileSystem::list(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_status(errno, "opendir", dir);
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    struct stat st {};
    if (::stat(join_path(dir, name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFileSystem::create_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_status(errno, "mkdir", dir);
  }
  return OkStatus();
}

Status PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_status(errno, "unlink", path);
  return OkStatus();
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_status(errno, "rename", from);
  return OkStatus();
}

Status PosixFileSystem::truncate(const std::string& path, uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
    return errno_status(errno, "truncate", path);
  }
  return fsync_path(path, O_WRONLY);
}

Status PosixFileSystem::sync_dir(const std::string& dir) {
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

Result<bool> PosixFileSystem::exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return errno_status(errno, "stat", path);
}

}  // namespace bw::storage
