// SyncFaultFileSystem wraps another FileSystem (in production the PosixFileSystem) and injects
// the disk faults a running server can be given by the DEBUG command: slow or failing syncs
// (`DEBUG FSYNC-DELAY`, `DEBUG FSYNC-FAIL`) and a power cut (`DEBUG POWER-CUT`). The server
// installs it only when the debug command is enabled, so a normal node pays nothing. It is a
// lighter cousin of FaultFileSystem (the simulator's): reads, listings and directory operations
// pass straight through.
//
// A "sync" is WritableFile::sync() (fdatasync of a WAL segment or snapshot file), sync_dir(),
// and truncate() (which syncs the file). With a delay set, each one sleeps that long before it
// syncs; with failure set, each one (after the delay) fails with EIO without syncing, as
// FaultFileSystem's set_sync_failure() does. The storage layer treats a failed sync as fatal:
// the Storage fails every later write and the server stops (see storage.h).
//
// Power cut: for every file written through this wrapper it remembers how many bytes were
// appended and how many of them a successful sync() made durable (a sync covers what was
// appended before it started). power_cut() cuts every such file back to its durable length,
// as a power loss drops what only the page cache held (which a SIGKILL keeps), then halts the
// process at once. Creations, renames and removals are kept as they are: one of the outcomes a
// power loss allows (the directory blocks may have reached the disk), and the only one modelled
// here; FaultFileSystem explores the others. Files written by another process (the server's
// forked snapshot writer syncs its file before renaming it into place) are not seen.
//
// Thread safety: all methods, the setters included, may be called concurrently; a setting
// applies to the syncs that start after it. Appends and name changes are serialised with
// power_cut(), so none lands after the cut.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "storage/file_system.h"

namespace bw::storage {

class SyncFaultWritableFile;

class SyncFaultFileSystem final : public FileSystemWrapper {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;
  using Halt = std::function<void()>;

  // REQUIRES: base outlives this object and every file opened through it. `sleep` waits out a
  // delay (default: std::this_thread::sleep_for); it may be called from several threads.
  // `halt` ends the process after a power cut (default: SIGKILL to itself); only a test's
  // returns.
  explicit SyncFaultFileSystem(FileSystem* base, Sleep sleep = {}, Halt halt = {});

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
  Status remove(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;

  // Every sync from now on takes at least `delay` longer; zero switches the delay off.
  void set_sync_delay(std::chrono::milliseconds delay);
  // Every sync from now on fails with EIO (true) or works again (false).
  void set_sync_failure(bool fail);
  std::chrono::milliseconds sync_delay() const;
  bool sync_failure() const;
  // Syncs started through this wrapper (delayed, failed or not).
  uint64_t syncs() const;

  // Simulated power loss: cuts every file written through this wrapper back to the bytes a
  // sync() made durable, then calls `halt` while still holding the lock that appends take, so
  // no write can follow the cut. Does not return in production. A file that cannot be cut is
  // logged and skipped. If `halt` returns (tests), the files stay as cut and the wrapper is
  // usable again, as after a reboot; handles opened before the cut must not be used.
  void power_cut();

  // The injection point shared by files and the file system: waits out the delay, then fails
  // if failure is set (naming `what`), else returns OK for the caller to sync for real.
  Status before_sync(std::string_view what);

 private:
  friend class SyncFaultWritableFile;

  // What power_cut() needs to know of one file, shared by its name and its open handle.
  struct FileState {
    uint64_t appended_bytes = 0;  // the file's size as written through us
    uint64_t synced_bytes = 0;    // its durable prefix
  };
  using FileStatePtr = std::shared_ptr<FileState>;

  Status append(SyncFaultWritableFile& file, std::string_view data);
  Status sync(SyncFaultWritableFile& file);
  Status preallocate(SyncFaultWritableFile& file, uint64_t bytes);
  Status cut(const std::string& path, FileState& st) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Sleep sleep_;
  const Halt halt_;
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<bool> fail_{false};
  std::atomic<uint64_t> syncs_{0};

  absl::Mutex mu_;
  // Every file created through us and not removed since, by its current name.
  std::map<std::string, FileStatePtr> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bw::storage
