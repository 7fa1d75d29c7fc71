// The file-system seam. Everything the storage layer does to disk goes through FileSystem, so
// the same WAL and snapshot code runs on real files (PosixFileSystem), in memory
// (MemoryFileSystem) and under injected faults (FaultFileSystem: crashes that drop unsynced
// data, torn writes, bit flips, failing fsync, ENOSPC).
//
// Durability model (what every implementation promises and the fault injector enforces):
//   - bytes passed to WritableFile::append() are durable only after a later sync() succeeds;
//   - a newly created, renamed or removed name is durable only after sync_dir() of its directory;
//   - truncate() is durable when it returns (it syncs the file);
//   - zeros written by WritableFile::preallocate() are durable when it returns.
//
// Thread safety: a FileSystem may be used from several threads at once. One WritableFile or
// ReadableFile is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace bw::storage {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends at the end. On error (ResourceExhausted for ENOSPC, Internal/Unavailable for I/O
  // errors) a prefix of `data` may have been written.
  virtual Status append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fdatasync). After a failed sync the durability of
  // earlier unsynced bytes is unknown: callers must not retry and assume success.
  virtual Status sync() = 0;
  // Makes the file at least `bytes` long by writing zeros after its end, durably (it syncs,
  // which also makes every byte appended so far durable). Later appends overwrite those zeros
  // from the append position instead of growing the file, so their sync() has no size or
  // allocation change to record: on ext4 an fdatasync then writes data blocks only. Readers see
  // the zeros after the appended bytes. Errors as append() and sync(); on ResourceExhausted
  // (ENOSPC) some of the zeros may have been written. The default does nothing: a file system
  // without the cost to save need not implement it.
  virtual Status preallocate(uint64_t bytes);
  virtual Status close() = 0;
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to `n` bytes at `offset` into *out (replacing its contents); fewer only at EOF.
  virtual Status read_at(uint64_t offset, size_t n, std::string* out) = 0;
  virtual uint64_t size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates `path`, or truncates it if it exists, and opens it for appending.
  virtual Result<std::unique_ptr<WritableFile>> create(const std::string& path) = 0;
  // Errors: NotFound.
  virtual Result<std::unique_ptr<ReadableFile>> open_read(const std::string& path) = 0;
  // Names (not paths) of the regular files directly in `dir`, sorted. Errors: NotFound.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  // Creates one directory level; OK if it already exists.
  virtual Status create_dir(const std::string& dir) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Atomically replaces `to` by `from`.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Cuts `path` to `size` bytes and syncs it.
  virtual Status truncate(const std::string& path, uint64_t size) = 0;
  // Makes creations, renames and removals of names in `dir` durable.
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual Result<bool> exists(const std::string& path) = 0;
};

// A FileSystem that forwards every call to another one (leveldb's EnvWrapper): a wrapper that
// changes a few operations derives from it and overrides only those.
class FileSystemWrapper : public FileSystem {
 public:
  // REQUIRES: target outlives this object.
  explicit FileSystemWrapper(FileSystem* target) : target_(target) {}

  FileSystem* target() const { return target_; }

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Result<std::unique_ptr<ReadableFile>> open_read(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dir(const std::string& dir) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;
  Result<bool> exists(const std::string& path) override;

 private:
  FileSystem* const target_;
};

// "a/b" + "c" -> "a/b/c".
std::string join_path(std::string_view dir, std::string_view name);
// "a/b/c" -> "a/b"; "c" -> ".".
std::string parent_dir(std::string_view path);

// Reads a whole file. Errors: NotFound; DataLoss when it is larger than `bytes_max`.
Result<std::string> read_file(FileSystem& fs, const std::string& path, uint64_t bytes_max);

// Writes `data` to `path` atomically and durably: temp file, sync, rename, sync the directory.
Status write_file_atomic(FileSystem& fs, const std::string& path, std::string_view data);

}  // namespace bw::storage
