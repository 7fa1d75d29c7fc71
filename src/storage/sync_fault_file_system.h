// SyncFaultFileSystem wraps another FileSystem (in production the PosixFileSystem) and makes its
// syncs slow or failing: the fsync faults of a real disk, injected into a running server by
// `DEBUG FSYNC-DELAY` and `DEBUG FSYNC-FAIL`. The server installs it only when the debug command
// is enabled, so a normal node pays nothing. Unlike FaultFileSystem (the simulator's) it keeps no
// per-file state and cannot simulate a power loss; everything but syncing passes straight
// through.
//
// A "sync" is WritableFile::sync() (fdatasync of a WAL segment or snapshot file), sync_dir(),
// and truncate() (which syncs the file). With a delay set, each one sleeps that long before it
// syncs; with failure set, each one (after the delay) fails with EIO without syncing, as
// FaultFileSystem's set_sync_failure() does. The storage layer treats a failed sync as fatal:
// the Storage fails every later write and the server stops (see storage.h).
//
// Thread safety: all methods, the setters included, may be called concurrently; a setting
// applies to the syncs that start after it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/file_system.h"

namespace bw::storage {

class SyncFaultFileSystem final : public FileSystemWrapper {
 public:
  using Sleep = std::function<void(std::chrono::milliseconds)>;

  // REQUIRES: base outlives this object and every file opened through it. `sleep` waits out a
  // delay (default: std::this_thread::sleep_for); it may be called from several threads.
  explicit SyncFaultFileSystem(FileSystem* base, Sleep sleep = {});

  Result<std::unique_ptr<WritableFile>> create(const std::string& path) override;
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

  // The injection point shared by files and the file system: waits out the delay, then fails
  // if failure is set (naming `what`), else returns OK for the caller to sync for real.
  Status before_sync(std::string_view what);

 private:
  const Sleep sleep_;
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<bool> fail_{false};
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace bw::storage
