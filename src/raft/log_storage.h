// The Raft core reads its durable log through this interface. The application (the server, the
// simulator) writes to it while handling Ready: append entries, apply snapshots, compact. It
// holds only the log and snapshots; hard state and membership are persisted by the application
// and handed back to RawNode at start (BootState), so log and state do not mix.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "raft/types.h"

namespace bw::raft {

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // Entries in [lo, hi), at least one if lo < hi, then as many as fit in `bytes_max` of data.
  // REQUIRES: first_index() <= lo, hi <= last_index() + 1.
  // Errors: absl::OutOfRangeError if lo was compacted away.
  virtual Result<std::vector<Entry>> entries(LogIndex lo, LogIndex hi, uint64_t bytes_max) = 0;

  // Term of the entry at i, for i in [first_index() - 1, last_index()]; the term of
  // first_index() - 1 is the snapshot's term. Errors: OutOfRange if compacted or beyond the end.
  virtual Result<Term> term(LogIndex i) = 0;

  // Index of the first entry still held (snapshot index + 1).
  virtual LogIndex first_index() = 0;
  // Index of the last entry; snapshot index if the log is empty.
  virtual LogIndex last_index() = 0;

  // The most recent snapshot. Errors: absl::UnavailableError if one is being produced; Raft
  // retries later.
  virtual Result<Snapshot> snapshot() = 0;
};

}  // namespace bw::raft
