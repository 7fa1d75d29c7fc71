// A node's simulated disk. Writes land in the page cache (the live log the RawNode reads at once)
// and become durable only at sync(). A crash keeps the durable state plus, possibly, a prefix of
// the unsynced write batches (a torn tail: each batch is one WAL record group, all or nothing),
// and drops the rest. This is what makes a driver that acknowledges before syncing lose data.
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

namespace bw::sim {

// The writes of one Ready (or one local snapshot), made durable together.
struct WriteBatch {
  std::optional<raft::Snapshot> snapshot;  // a received snapshot: replaces the log
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hard_state;
  // A local snapshot of the state machine at `compaction->meta.index`, then log compaction up
  // to `compact_index`.
  std::optional<raft::Snapshot> compaction;
  LogIndex compact_index;
};

// An entry as it reached durable storage, with the term of its predecessor (log matching).
struct PersistedEntry {
  LogIndex index;
  Term term;
  Term prev_term;
  uint64_t data_hash = 0;
};

class SimDisk {
 public:
  // A blank disk (a node that has never run).
  SimDisk();
  // A disk holding a bootstrap snapshot (index 1, term 1) with the initial voters: every
  // founding member starts from it, and a node added later gets it by InstallSnapshot.
  static std::unique_ptr<SimDisk> bootstrapped(const raft::ConfState& conf);

  // The log as the running node sees it (durable or not). Stable for the disk's lifetime.
  raft::MemoryStorage* log() { return &live_; }

  // Applies `batch` to the live log and queues it for durability. Errors (a compaction at an
  // index the log no longer holds) leave everything unchanged.
  Status write(WriteBatch batch);
  bool has_unsynced() const { return !unsynced_.empty(); }
  size_t unsynced_batches() const { return unsynced_.size(); }

  // Makes every queued batch durable; returns the entries that became durable, in order.
  std::vector<PersistedEntry> sync();

  // Power loss: the first `surviving_batches` unsynced batches happen to have reached the
  // platter, the rest are lost. The live log becomes the durable one.
  // REQUIRES: surviving_batches <= unsynced_batches().
  std::vector<PersistedEntry> crash(size_t surviving_batches);

  // What a restarting node reads back.
  raft::BootState boot_state();
  raft::Snapshot durable_snapshot();
  const raft::HardState& durable_hard_state() const { return durable_hard_state_; }
  // Index and term of the last durable entry.
  std::pair<LogIndex, Term> durable_last();

 private:
  static Status apply(raft::MemoryStorage* log, raft::HardState* hard_state,
                      const WriteBatch& batch, std::vector<PersistedEntry>* persisted);

  raft::MemoryStorage live_;
  raft::HardState live_hard_state_;
  raft::MemoryStorage durable_;
  raft::HardState durable_hard_state_;
  std::vector<WriteBatch> unsynced_;
};

}  // namespace bw::sim
