// RaftLog: the node's view of its log = durable entries in LogStorage + an "unstable" tail (and
// possibly a received snapshot) not yet handed to the application for persistence, plus the
// commit, applied and persisted positions. Follows etcd-io/raft's raftLog/unstable split.
//
// Entry flow: appended to the unstable tail -> handed out in a Ready (take_unsent_*) ->
// confirmed durable by advance (stable_to / stable_snap_to) -> dropped from the tail, read from
// storage afterwards. Only persisted entries are applied and counted as the leader's own ack.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.h"
#include "raft/log_storage.h"
#include "raft/types.h"

namespace bw::raft {

class RaftLog {
 public:
  // `strict` = false relaxes the assertions that planted safety bugs are expected to violate
  // (overwriting committed entries), so the simulator's checkers can observe the damage.
  RaftLog(LogStorage* storage, LogIndex committed, LogIndex applied, bool strict);

  LogIndex first_index() const;
  LogIndex last_index() const;
  Term last_term() const;
  // Term of entry i for i in [first_index() - 1, last_index()]; OutOfRange otherwise.
  Result<Term> term(LogIndex i) const;
  Term term_or_zero(LogIndex i) const;
  bool match_term(LogIndex i, Term t) const;
  // Election restriction (§5.4.1): is a log ending at (last, term) at least as up to date?
  bool is_up_to_date(LogIndex last, Term term) const;

  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex persisted() const { return persisted_; }
  void commit_to(LogIndex i);
  void applied_to(LogIndex i);

  // Leader: appends its own entry. REQUIRES e.index == last_index() + 1 (a leader never
  // truncates its own log).
  void append_leader(Entry e);
  // Follower: appends `entries` following (index, log_term) if the log matches there,
  // truncating a conflicting suffix. Returns the last index now known to match the leader.
  // REQUIRES: entries are contiguous from index + 1 (validated by the caller).
  std::optional<LogIndex> maybe_append(LogIndex index, Term log_term,
                                       const std::vector<Entry>& entries);
  // The first entry of `entries` whose term disagrees with the log (or that is beyond its end);
  // 0 if all match.
  LogIndex find_conflict(const std::vector<Entry>& entries) const;
  // The largest index <= `index` whose term is <= `term`, with that term (0 when unknown).
  // Used on both sides of the fast-backtracking append rejection.
  std::pair<LogIndex, Term> find_conflict_by_term(LogIndex index, Term term) const;

  // Entries in [lo, hi), at least one if lo < hi, then up to `bytes_max` of data and
  // `count_max` entries. Errors: OutOfRange if lo was compacted.
  Result<std::vector<Entry>> slice(LogIndex lo, LogIndex hi, uint64_t bytes_max,
                                   size_t count_max) const;

  // Ready support.
  bool has_unsent_entries() const { return in_progress_ < offset_ + entries_.size(); }
  std::vector<Entry> take_unsent_entries();
  bool has_unsent_snapshot() const { return snapshot_.has_value() && !snapshot_in_progress_; }
  Snapshot take_unsent_snapshot();
  bool has_pending_snapshot() const { return snapshot_.has_value(); }
  // Entries handed out up to (i, t) are durable; ignored if the tail was overwritten since.
  void stable_to(LogIndex i, Term t);
  void stable_snap_to(LogIndex i);
  // Highest index that may be applied: min(committed, persisted) (or persisted with the
  // kApplyUncommitted planted bug, chosen by the caller).
  bool has_next_committed(LogIndex upper) const;
  std::vector<Entry> next_committed(LogIndex upper, uint64_t bytes_max) const;

  // Replaces the log by a received snapshot (kept unstable until the application persists it).
  void restore(Snapshot snap);

  uint64_t unstable_count() const { return entries_.size(); }

 private:
  std::optional<Term> unstable_term(LogIndex i) const;
  void truncate_and_append(std::vector<Entry> entries);
  LogIndex unstable_last() const { return offset_ + entries_.size() - 1; }

  LogStorage* storage_;
  const bool strict_;

  // Unstable tail: entries_[k].index == offset_ + k. Entries below in_progress_ were handed out
  // in a Ready not yet advanced.
  std::optional<Snapshot> snapshot_;
  bool snapshot_in_progress_ = false;
  std::vector<Entry> entries_;
  LogIndex offset_;
  LogIndex in_progress_;

  // Invariants: applied_ <= committed_ (strict mode); committed_ <= last_index();
  // persisted_ <= last_index(); committed_ never decreases.
  LogIndex committed_;
  LogIndex applied_;
  LogIndex persisted_;
};

}  // namespace bw::raft
