#include "sim/sim_disk.h"

#include <utility>

#include "common/assert.h"
#include "common/checksum.h"

namespace bw::sim {

SimDisk::SimDisk() = default;

std::unique_ptr<SimDisk> SimDisk::bootstrapped(const raft::ConfState& conf) {
  auto disk = std::make_unique<SimDisk>();
  raft::Snapshot snap;
  snap.meta.index = LogIndex(1);
  snap.meta.term = Term(1);
  snap.meta.conf = conf;
  WriteBatch batch;
  batch.snapshot = snap;
  batch.hard_state = raft::HardState{.term = Term(1), .vote = kNoNode, .commit = LogIndex(1)};
  BW_ASSERT(disk->write(std::move(batch)).ok());
  disk->sync();
  return disk;
}

Status SimDisk::apply(raft::MemoryStorage* log, raft::HardState* hard_state,
                      const WriteBatch& batch, std::vector<PersistedEntry>* persisted) {
  if (batch.snapshot) BW_RETURN_IF_ERROR(log->apply_snapshot(*batch.snapshot));
  if (!batch.entries.empty()) {
    BW_RETURN_IF_ERROR(log->append(batch.entries));
    if (persisted != nullptr) {
      for (const raft::Entry& e : batch.entries) {
        Result<Term> prev = log->term(e.index - 1);
        if (!prev.ok()) continue;  // the predecessor was compacted: nothing to compare
        persisted->push_back(PersistedEntry{
            .index = e.index, .term = e.term, .prev_term = *prev, .data_hash = checksum64(e.data)});
      }
    }
  }
  if (batch.compaction) {
    const raft::SnapshotMeta& meta = batch.compaction->meta;
    BW_RETURN_IF_ERROR(
        log->create_snapshot(meta.index, meta.conf, batch.compaction->data).status());
    if (batch.compact_index > log->first_index() - 1) {
      BW_RETURN_IF_ERROR(log->compact(batch.compact_index));
    }
  }
  if (batch.hard_state) *hard_state = *batch.hard_state;
  return OkStatus();
}

Status SimDisk::write(WriteBatch batch) {
  // Try on a copy only for compactions, the one write that may legitimately be refused.
  if (batch.compaction) {
    raft::MemoryStorage probe = live_;
    raft::HardState hs = live_hard_state_;
    BW_RETURN_IF_ERROR(apply(&probe, &hs, batch, nullptr));
  }
  const Status s = apply(&live_, &live_hard_state_, batch, nullptr);
  BW_ASSERT(s.ok(), "the live log refused a Ready's writes: {}", s.ToString());
  unsynced_.push_back(std::move(batch));
  return OkStatus();
}

std::vector<PersistedEntry> SimDisk::sync() {
  std::vector<PersistedEntry> persisted;
  for (const WriteBatch& batch : unsynced_) {
    const Status s = apply(&durable_, &durable_hard_state_, batch, &persisted);
    BW_ASSERT(s.ok(), "durable log diverged from the live log: {}", s.ToString());
  }
  unsynced_.clear();
  return persisted;
}

std::vector<PersistedEntry> SimDisk::crash(size_t surviving_batches) {
  BW_ASSERT(surviving_batches <= unsynced_.size());
  unsynced_.resize(surviving_batches);
  std::vector<PersistedEntry> persisted = sync();
  live_ = durable_;
  live_hard_state_ = durable_hard_state_;
  return persisted;
}

raft::Snapshot SimDisk::durable_snapshot() {
  Result<raft::Snapshot> snap = durable_.snapshot();
  BW_ASSERT(snap.ok());
  return *snap;
}

std::pair<LogIndex, Term> SimDisk::durable_last() {
  const LogIndex last = durable_.last_index();
  Result<Term> term = durable_.term(last);
  BW_ASSERT(term.ok());
  return {last, *term};
}

raft::BootState SimDisk::boot_state() {
  const raft::Snapshot snap = durable_snapshot();
  raft::BootState boot;
  boot.hard_state = durable_hard_state_;
  boot.conf = snap.meta.conf;
  boot.applied = snap.meta.index;
  return boot;
}

}  // namespace bw::sim
