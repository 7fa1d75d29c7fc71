// A model of a node's disk (`--disk model`). Writes land in the page cache (the live log the
// RawNode reads at once) and become durable only at sync(). A crash keeps the durable state
// plus, possibly, a prefix of the unsynced write batches (a torn tail: each batch is one WAL
// record group, all or nothing), and drops the rest. This is what makes a driver that
// acknowledges before syncing lose data. The default disk is StorageDisk (the real WAL).
//
// Thread safety: none; owned by one simulated node.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "raft/memory_storage.h"
#include "raft/raft.h"
#include "sim/disk.h"

namespace bw::sim {

class SimDisk final : public Disk {
 public:
  // A blank disk (a node that has never run).
  SimDisk();
  // A disk holding a bootstrap snapshot (index 1, term 1) with the initial voters: every
  // founding member starts from it, and a node added later gets it by InstallSnapshot.
  static std::unique_ptr<SimDisk> bootstrapped(const raft::ConfState& conf);

  // Disk.
  Status status() const override { return OkStatus(); }
  raft::MemoryStorage* log() override { return &live_; }
  // Errors (a compaction at an index the log no longer holds) leave everything unchanged.
  Status write(WriteBatch batch) override;
  size_t unsynced_batches() const override { return unsynced_.size(); }
  void sync() override;
  std::vector<PersistedEntry> take_persisted() override;
  Status snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                  LogIndex compact_index) override;
  LogIndex snapshot_index() override;
  uint64_t crash(Rng& rng) override;
  raft::BootState boot_state() override;
  raft::Snapshot durable_snapshot() override;
  std::pair<LogIndex, Term> durable_last() override;

  bool has_unsynced() const { return !unsynced_.empty(); }
  // Power loss: the first `surviving_batches` unsynced batches happen to have reached the
  // platter, the rest are lost. The live log becomes the durable one.
  // REQUIRES: surviving_batches <= unsynced_batches().
  void crash_keeping(size_t surviving_batches);
  const raft::HardState& durable_hard_state() const { return durable_hard_state_; }

 private:
  static Status apply(raft::MemoryStorage* log, raft::HardState* hard_state,
                      const WriteBatch& batch, std::vector<PersistedEntry>* persisted);

  raft::MemoryStorage live_;
  raft::HardState live_hard_state_;
  raft::MemoryStorage durable_;
  raft::HardState durable_hard_state_;
  std::vector<WriteBatch> unsynced_;
  std::vector<PersistedEntry> persisted_;  // not yet taken
};

}  // namespace bw::sim
