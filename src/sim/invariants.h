// Safety invariants checked while a simulation runs, each at the moment it could first break:
//   election safety      at most one leader per term;
//   leader completeness  a new leader's log holds every entry committed in an earlier term;
//   log matching         durable entries with the same index and term carry the same data and
//                        the same predecessor term (so, by induction, the same prefix);
//   state machine safety every node applies the same entry at the same index, only committed
//                        entries, each index once and in order;
//   commit monotonicity  a node's commit index never goes back, except to its durable value
//                        across a crash;
//   commit durability    when a leader commits an entry, no voter lacking it could win an
//                        election: for every such voter M, the voters whose durable logs are
//                        no more up to date than M's log are fewer than a majority. (In correct
//                        Raft the acknowledging majority all hold the entry durably and are more
//                        up to date than any node lacking it; with a single-server membership
//                        change in between, old and new majorities still intersect.)
// The first violation is kept; the simulator stops there and reports it.
//
// Thread safety: none; owned by the world.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "raft/log_storage.h"
#include "sim/disk.h"

namespace bw::sim {

// A voter's log as the commit-durability check sees it.
struct VoterLog {
  NodeId id;
  LogIndex last;  // live log (what it would campaign with)
  Term last_term;
  LogIndex durable_last;  // what survives a crash (what it would judge a candidate with)
  Term durable_last_term;
  bool has_entry = false;  // holds the entry just committed
};

struct Violation {
  std::string invariant;
  std::string details;
};

class InvariantChecker {
 public:
  explicit InvariantChecker(size_t nodes_max);

  // `node` is leader in `term` (checked after every input).
  void on_leader(NodeId node, Term term);
  // `log` now holds the whole log of `node`, leader in `term` (its first Ready as leader was
  // written: until then part of the log lives only inside the Raft core).
  void on_leader_log(NodeId node, Term term, raft::LogStorage& log);
  void on_persisted(NodeId node, const PersistedEntry& e);
  // The node's hard state now says `commit` (while in `term`); `log` holds its entries.
  void on_commit(NodeId node, Term term, LogIndex commit, raft::LogStorage& log);
  // Leader `leader` committed through `commit`; `voters` describes every voter of its
  // configuration.
  void on_leader_commit(NodeId leader, LogIndex commit, const std::vector<VoterLog>& voters);
  void on_apply(NodeId node, LogIndex index, Term term, uint64_t data_hash);
  void on_snapshot_restored(NodeId node, LogIndex index);
  // The node restarted from durable state.
  void on_restart(NodeId node, LogIndex durable_commit, LogIndex applied);
  // The node's durable state could not be recovered after a crash (nothing here corrupts data
  // on purpose, so this is a storage bug).
  void on_recovery_failure(NodeId node, const std::string& error);

  // Every write a node proposed is answered once its index applied there (or a snapshot
  // covered it): `oldest_pending` is the node's oldest waiting proposal (0 = none).
  void on_requests_checked(NodeId node, uint64_t oldest_pending, LogIndex applied);
  // A violation found outside the checker (the client history check).
  void report(std::string invariant, std::string details) {
    fail(std::move(invariant), std::move(details));
  }

  bool failed() const { return violation_.has_value(); }
  const std::optional<Violation>& violation() const { return violation_; }
  uint64_t leaders_seen() const { return leaders_.size(); }

 private:
  struct NodeState {
    LogIndex commit;
    LogIndex applied;
  };
  struct EntryId {
    Term term;
    uint64_t data_hash = 0;
    bool operator==(const EntryId&) const = default;
  };
  struct Committed {
    bool known = false;
    EntryId id;
    Term observed_term;  // an upper bound on the term of the leader that committed it
  };
  struct Matched {
    uint64_t data_hash = 0;
    Term prev_term;
  };

  void fail(std::string invariant, std::string details);
  void check_completeness(NodeId node, Term term, raft::LogStorage& log);
  NodeState& node(NodeId id);

  std::vector<NodeState> nodes_;
  absl::flat_hash_map<Term, NodeId> leaders_;
  absl::flat_hash_set<Term> completeness_checked_;
  std::vector<Committed> committed_;             // by log index
  std::vector<std::optional<EntryId>> applied_;  // by log index, first application seen
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, Matched> persisted_;  // (index, term)
  std::optional<Violation> violation_;
};

}  // namespace bw::sim
