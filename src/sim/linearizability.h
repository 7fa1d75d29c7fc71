// The client history check: is what the simulated clients saw linearizable with respect to the
// real kv state machine?
//
// The simulator sees every committed entry, and a replica's state is a deterministic function of
// the log prefix it applied. So each completed operation has a position in the log where it
// took effect: a write at its entry's index, a read at the applied index it was served at. The
// history is linearizable exactly when those positions can serve as linearization points:
//   real-time-order  A completed before B was invoked => pos(A) <= pos(B), and pos(A) < pos(B)
//                    when B is a write (B's entry came after everything A saw);
//   write-result     a write's reply is what the reference store (replaying the committed log
//                    in order) answers when applying its entry;
//   read-result      a read's reply is what the reference store answers at its position, with
//                    the same local clock (which only TTL-style countdowns use);
//   not-applied      a write answered "not applied" is not in the committed log (the entry at
//                    the index it was given has another term).
// Operations with an unknown outcome (timed out) constrain nothing: if their entry committed the
// replay includes it. Failed operations (refused before entering any log) are ignored.
//
// The reference store is a fresh kv::Store applying the committed entries' payloads; any
// divergence of a replica's store (a snapshot loaded wrongly, a read judging expiry by its own
// clock) shows as a result mismatch, any stale read as a real-time-order violation.
//
// Thread safety: none needed; pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ids.h"
#include "kv/reply.h"
#include "raft/types.h"

namespace bw::sim {

enum class Outcome : uint8_t { kOk, kFail, kUnknown };

struct Operation {
  uint32_t client = 0;
  bool write = false;             // through the log; else a read served locally
  std::vector<std::string> argv;  // a MULTI/EXEC shows as its commands joined by "; "
  NodeId node;                    // where it went
  uint64_t invoke_us = 0;
  uint64_t complete_us = 0;  // ignored when outcome is kUnknown
  Outcome outcome = Outcome::kUnknown;
  // Writes that entered a log: the index and term they were proposed at.
  uint64_t proposed_index = 0;
  Term proposed_term;
  bool not_applied = false;  // the node answered that another leader's entry took the index
  // kOk: where it took effect, and the reply.
  uint64_t position = 0;
  kv::Reply reply;
  int64_t local_now_ms = 0;  // reads: the serving node's clock when it evaluated
};

// A committed entry as first applied by some node.
struct CommittedEntry {
  Term term;
  bool kv = false;  // a kv payload (not a no-op or conf change)
  std::string data;
};

struct LinearizabilityResult {
  bool linearizable = true;
  std::string invariant;    // which rule failed (names above)
  std::string explanation;  // the operations involved
  uint64_t violation_us = 0;
};

// `log` maps index -> entry for every index applied anywhere after `base` (the bootstrap
// snapshot's index, whose state is the empty store).
LinearizabilityResult check_history(const std::vector<Operation>& history,
                                    const std::map<uint64_t, CommittedEntry>& log, uint64_t base);

// One line describing an operation, for reports.
std::string describe(const Operation& op);

}  // namespace bw::sim
