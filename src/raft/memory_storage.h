// MemoryStorage: an in-memory LogStorage for tests, benchmarks and the simulator.
//
// Layout (as in etcd-io/raft): entries_[0] is a dummy entry standing for the snapshot point
// (index and term of the last compacted entry); real entries follow contiguously. The
// mutators are what a driver calls while handling a Ready.
//
// Thread safety: none; one owner drives it (the same thread as its RawNode).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/log_storage.h"
#include "raft/types.h"

namespace bw::raft {

class MemoryStorage final : public LogStorage {
 public:
  MemoryStorage();

  // LogStorage.
  Result<std::vector<Entry>> entries(LogIndex lo, LogIndex hi, uint64_t bytes_max) override;
  Result<Term> term(LogIndex i) override;
  LogIndex first_index() override;
  LogIndex last_index() override;
  Result<Snapshot> snapshot() override;

  // Appends contiguous `entries`, first truncating any existing suffix from entries[0].index
  // on (the Ready contract: new entries overwrite a conflicting tail). Entries already
  // compacted are skipped. Errors: InvalidArgument when the entries are not contiguous or
  // would leave a gap after last_index().
  Status append(const std::vector<Entry>& entries);

  // Replaces the whole log by `snap`. Errors: FailedPrecondition if it is older than the
  // snapshot already held.
  Status apply_snapshot(Snapshot snap);

  // Discards entries up to and including `index` (it becomes the dummy). The caller must have
  // created a snapshot covering `index` first if followers may still need those entries.
  // Errors: FailedPrecondition if already compacted; OutOfRange if index > last_index().
  Status compact(LogIndex index);

  // Records a snapshot of the state machine as of `index` (which must be in the log), served
  // by snapshot() afterwards. Does not compact. Errors as compact().
  Result<Snapshot> create_snapshot(LogIndex index, ConfState conf, std::string data);

  // Test hook: while set, snapshot() returns Unavailable (a snapshot being produced).
  void set_snapshot_unavailable(bool unavailable) { snapshot_unavailable_ = unavailable; }

 private:
  LogIndex offset() const { return entries_.front().index; }

  Snapshot snapshot_;
  // Invariant: non-empty; entries_[k].index == offset() + k; terms non-decreasing.
  std::vector<Entry> entries_;
  bool snapshot_unavailable_ = false;
};

}  // namespace bw::raft
