// The simulated node's disk on the real storage layer (the default): a storage::Storage opened
// in synchronous mode (no writer thread; drain() at the sync event) on a FaultFileSystem over a
// MemoryFileSystem, all private to the node. A simulated crash is a FaultFileSystem power cut
// followed by a real recovery (Storage::open), so crashes go through the real WAL code: torn
// tails are cut, obsolete segments and snapshot files cleaned up, and what the node reboots
// from is what recovery found.
//
// Where a crash falls relative to the queued (submitted, not yet drained) writes is drawn from
// the run's PRNG: before they reach the file system, after they were written but while the
// fsync was in flight, or in the middle of the write (a partial record); then the file system
// drops, keeps or tears the unsynced bytes.
//
// Thread safety: none; owned by one simulated node.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft.h"
#include "sim/disk.h"
#include "storage/fault_file_system.h"
#include "storage/memory_file_system.h"
#include "storage/storage.h"

namespace bw::sim {

struct StorageDiskOptions {
  NodeId node;
  GroupId group;
  uint64_t seed = 0;  // the FaultFileSystem's (torn-write offsets)
  uint64_t segment_bytes_max = 64 << 10;
  // Planted bug: the storage reports writes durable without fsync (FsyncPolicy::kNone), so a
  // node acknowledges what a power cut can take back.
  bool durable_before_fsync = false;
};

class StorageDisk final : public Disk {
 public:
  // A blank disk (a node that has never run).
  explicit StorageDisk(const StorageDiskOptions& options);
  // A disk holding the bootstrap snapshot (index 1, term 1) with the initial voters.
  static std::unique_ptr<StorageDisk> bootstrapped(const StorageDiskOptions& options,
                                                   const raft::ConfState& conf);
  ~StorageDisk() override;
  StorageDisk(const StorageDisk&) = delete;
  StorageDisk& operator=(const StorageDisk&) = delete;

  // Disk.
  Status status() const override { return status_; }
  raft::LogStorage* log() override;
  Status write(WriteBatch batch) override;
  size_t unsynced_batches() const override { return unsynced_; }
  void sync() override;
  std::vector<PersistedEntry> take_persisted() override;
  Status snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                  LogIndex compact_index) override;
  LogIndex snapshot_index() override;
  uint64_t crash(Rng& rng) override;
  raft::BootState boot_state() override;
  raft::Snapshot durable_snapshot() override;
  std::pair<LogIndex, Term> durable_last() override { return durable_last_; }

  uint64_t torn_tails() const override { return torn_tails_; }
  storage::FaultFileSystem& file_system() { return fs_; }

 private:
  // How a crash meets the queued writes (the value crash() returns, times 3, plus the mode).
  enum class CutAt : uint8_t { kBeforeWrite, kDuringFsync, kMidWrite };

  void open();
  void count_torn_tails();
  void report_recovered();

  const StorageDiskOptions options_;
  storage::MemoryFileSystem base_;
  storage::FaultFileSystem fs_;
  std::unique_ptr<storage::Storage> storage_;
  storage::GroupLog* log_ = nullptr;
  Status status_;
  uint64_t generation_ = 0;  // bumped by crash(): callbacks of an older Storage are void
  size_t unsynced_ = 0;      // submitted batches whose durability is not reported yet
  std::vector<PersistedEntry> persisted_;
  std::pair<LogIndex, Term> durable_last_;
  uint64_t torn_tails_ = 0;
};

}  // namespace bw::sim
