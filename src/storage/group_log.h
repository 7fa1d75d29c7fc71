// GroupLog: the raft::LogStorage of one group on a node. Entries after the compaction point
// are held in memory (recovered from the WAL on start, appended at submit time), so Raft's
// reads never touch the disk; the snapshot image is read from its file on demand.
//
// Mutators are called by Storage only, which makes them durable through the WAL.
// Thread safety: all methods may be called concurrently (an internal mutex).
#pragma once

#include <deque>
#include <functional>
#include <span>

#include "absl/synchronization/mutex.h"
#include "raft/log_storage.h"
#include "storage/recovery.h"

namespace bw::storage {

class GroupLog final : public raft::LogStorage {
 public:
  using SnapshotLoader = std::function<Result<raft::Snapshot>(const raft::SnapshotMeta&)>;

  GroupLog(GroupId group, SnapshotLoader loader, RecoveredGroup recovered);

  // raft::LogStorage.
  Result<std::vector<raft::Entry>> entries(LogIndex lo, LogIndex hi, uint64_t bytes_max) override;
  Result<Term> term(LogIndex i) override;
  LogIndex first_index() override;
  LogIndex last_index() override;
  Result<raft::Snapshot> snapshot() override;

  GroupId group() const { return group_; }
  raft::SnapshotMeta snapshot_meta() const;

  // Checks that `entries` can be appended after installing a snapshot at `snapshot_index` (0:
  // none): contiguous, no gap after the log's end. Errors: InvalidArgument.
  Status check_append(std::span<const raft::Entry> entries, LogIndex snapshot_index) const;
  // Appends, replacing any existing suffix from entries[0].index (already-compacted entries
  // are skipped). REQUIRES: check_append() was OK.
  void append(std::span<const raft::Entry> entries);
  // Replaces the whole log by a received snapshot.
  void install_snapshot(const raft::SnapshotMeta& meta);
  // Records a locally taken snapshot (the log is kept). Errors: FailedPrecondition if not
  // newer than the held one or its index is outside the log; InvalidArgument on a term
  // mismatch with the log.
  Status check_local_snapshot(const raft::SnapshotMeta& meta) const;
  void set_local_snapshot(const raft::SnapshotMeta& meta);
  // Discards entries up to `index`; returns its term. Errors: FailedPrecondition unless
  // first_index() <= index <= snapshot index.
  Result<Term> compact(LogIndex index);

 private:
  LogIndex last_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return compact_index_ + entries_.size();
  }

  const GroupId group_;
  const SnapshotLoader loader_;
  mutable absl::Mutex mu_;
  raft::SnapshotMeta snapshot_ ABSL_GUARDED_BY(mu_);
  LogIndex compact_index_ ABSL_GUARDED_BY(mu_);
  Term compact_term_ ABSL_GUARDED_BY(mu_);
  // Invariant: entries_[k].index == compact_index_ + 1 + k.
  std::deque<raft::Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace bw::storage
