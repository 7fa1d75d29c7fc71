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
  disk->persisted_.clear();
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
  // Membership is not kept here: a restart takes it from the snapshot (applied = its index).
  if (!batch.snapshot && batch.entries.empty() && !batch.hard_state && !batch.compaction) {
    return OkStatus();
  }
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

void SimDisk::sync() {
  for (const WriteBatch& batch : unsynced_) {
    const Status s = apply(&durable_, &durable_hard_state_, batch, &persisted_);
    BW_ASSERT(s.ok(), "durable log diverged from the live log: {}", s.ToString());
  }
  unsynced_.clear();
}

std::vector<PersistedEntry> SimDisk::take_persisted() {
  return std::exchange(persisted_, {});
}

Status SimDisk::snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                         LogIndex compact_index) {
  WriteBatch batch;
  // The storage fills in the term of `index` when it records the snapshot.
  batch.compaction = raft::Snapshot{.meta = {.index = index, .term = Term(), .conf = conf},
                                    .data = std::move(data)};
  batch.compact_index = compact_index;
  return write(std::move(batch));
}

LogIndex SimDisk::snapshot_index() {
  Result<raft::Snapshot> snap = live_.snapshot();
  BW_ASSERT(snap.ok());
  return snap->meta.index;
}

void SimDisk::crash_keeping(size_t surviving_batches) {
  BW_ASSERT(surviving_batches <= unsynced_.size());
  unsynced_.resize(surviving_batches);
  sync();
  live_ = durable_;
  live_hard_state_ = durable_hard_state_;
}

uint64_t SimDisk::crash(Rng& rng) {
  const uint64_t surviving = rng.range(0, unsynced_.size());
  crash_keeping(surviving);
  return surviving;
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
