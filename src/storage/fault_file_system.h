// FaultFileSystem wraps another FileSystem (usually a MemoryFileSystem) and injects the faults
// a disk and a power cut produce, deterministically from a seed (in the manner of leveldb's
// fault-injection Env):
//   - crash(): simulated power loss. Bytes appended since the file's last successful sync()
//     are dropped, kept entirely, or torn at an arbitrary byte (CrashMode); where they
//     overwrote preallocated zeros, the zeros come back; files whose
//     directory entry was never made durable with sync_dir() vanish; renames not followed by
//     sync_dir() are undone. Removals are taken as durable at once (a removed file does not
//     come back). Handles opened before the crash fail afterwards.
//   - fail_after_appends(): the process "dies" in the middle of a write: after N appends the
//     next one writes only a prefix and fails, and every later append or sync fails.
//   - flip_bit(): bit rot in place.
//   - set_sync_failure(): every sync()/sync_dir() fails with EIO (data stays unsynced).
//   - set_space_bytes(): ENOSPC once the budget of appendable bytes is spent (after a partial
//     write, as write(2) does).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "storage/file_system.h"

namespace bw::storage {

class FaultWritableFile;

enum class CrashMode : uint8_t {
  kDropUnsynced,  // every unsynced byte is lost
  kKeepUnsynced,  // every unsynced byte happened to reach the disk
  kTearUnsynced,  // a random prefix (0..all) of each file's unsynced bytes survives
};

// Reads, listings, exists() and create_dir() pass straight through: directories are taken as
// durable once created (the storage layer creates them once, at initialisation, and syncs their
// parent).
class FaultFileSystem final : public FileSystemWrapper {
 public:
  // REQUIRES: base outlives this object and is used only through it while faults matter.
  FaultFileSystem(FileSystem* base, uint64_t seed);

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;

  // Simulated power loss; afterwards the file system is usable again (a restarted process) and
  // every injected fault is switched off.
  Status crash(CrashMode mode);
  void fail_after_appends(uint64_t appends, uint64_t partial_bytes);
  void set_sync_failure(bool fail);
  void set_space_bytes(std::optional<uint64_t> bytes);
  // Flips bit `bit` (0..7) of byte `offset` of `path`.
  Status flip_bit(const std::string& path, uint64_t offset, int bit);
  // Flips one bit chosen from the seed; returns the byte offset. Errors: NotFound, or
  // OutOfRange for an empty file.
  Result<uint64_t> flip_random_bit(const std::string& path);

  uint64_t appends() const;  // append() calls that wrote all their bytes
  uint64_t synced_bytes(const std::string& path) const;

 private:
  friend class FaultWritableFile;

  struct FileState {
    uint64_t size = 0;         // bytes appended (the append position)
    uint64_t synced_size = 0;  // durable prefix
    bool name_durable = true;  // false until sync_dir() after creation
    uint64_t zeros_to = 0;     // preallocate()d length: durable zeros past `size` up to here
  };
  struct PendingRename {
    std::string from;
    std::string to;
    std::optional<std::string> replaced;  // contents `to` had before, if any
  };

  Status append(FaultWritableFile& file, std::string_view data);
  Status sync(FaultWritableFile& file);
  Status preallocate(FaultWritableFile& file, uint64_t bytes);
  Status check_alive(uint64_t generation) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status undo_rename(const PendingRename& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status crash_file(const std::string& path, FileState& st, CrashMode mode)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);  // files written through us
  std::vector<PendingRename> renames_ ABSL_GUARDED_BY(mu_);      // not yet made durable
  uint64_t appends_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<uint64_t> appends_left_ ABSL_GUARDED_BY(mu_);
  uint64_t partial_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;  // fail_after_appends fired
  bool sync_failure_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<uint64_t> space_bytes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bw::storage
