// What a simulated node needs from its disk, with two implementations: StorageDisk (the real
// storage::Storage on a fault-injecting in-memory file system; the default) and SimDisk (a
// model of a WAL held in raft::MemoryStorage; `--disk model`). Writes are visible to the
// running node at once and become durable at the sync event; a crash keeps what was durable
// and, depending on where the power cut fell, some or none of the rest.
//
// Thread safety: none; owned by one simulated node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "raft/log_storage.h"
#include "raft/raft.h"
#include "sim/rng.h"

namespace bw::sim {

// The writes of one Ready (or one local snapshot), made durable together.
struct WriteBatch {
  std::optional<raft::Snapshot> snapshot;  // a received snapshot: replaces the log
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hard_state;
  std::optional<raft::ConfState> conf;  // membership after applying a conf change
  // A local snapshot of the state machine at `compaction->meta.index`, then log compaction up
  // to `compact_index` (SimDisk only; StorageDisk takes snapshots through Disk::snapshot).
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

class Disk {
 public:
  virtual ~Disk() = default;

  // OK, or why the disk cannot be read back (a recovery failure: the node cannot start).
  virtual Status status() const = 0;
  // The log as the running node sees it (durable or not). Valid until the next crash().
  virtual raft::LogStorage* log() = 0;

  // Applies `batch` to the live log and queues it for durability.
  virtual Status write(WriteBatch batch) = 0;
  virtual size_t unsynced_batches() const = 0;
  // The sync event: everything queued becomes durable.
  virtual void sync() = 0;
  // Entries that became durable since the last call (sync, snapshot, crash recovery).
  virtual std::vector<PersistedEntry> take_persisted() = 0;

  // Records a snapshot of the state machine taken at `index` (durable on return), then
  // compacts the log up to `compact_index`. Errors: nothing new, or index not in the log.
  virtual Status snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                          LogIndex compact_index) = 0;
  virtual LogIndex snapshot_index() = 0;

  // Power loss. Draws from `rng` how much of the unsynced writes survive; returns a number
  // describing that choice for the trace. Afterwards the disk holds what a restart reads.
  virtual uint64_t crash(Rng& rng) = 0;

  // What a restarting node reads back.
  virtual raft::BootState boot_state() = 0;
  virtual raft::Snapshot durable_snapshot() = 0;
  // Index and term of the last durable entry.
  virtual std::pair<LogIndex, Term> durable_last() = 0;
  // Torn records that crash recovery found at the log's tail and cut off, over all crashes.
  virtual uint64_t torn_tails() const { return 0; }
};

}  // namespace bw::sim
