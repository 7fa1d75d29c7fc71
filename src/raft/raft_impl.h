// Private: the state behind RawNode. Split over raft.cc (roles, elections, Ready),
// raft_replication.cc (appends, heartbeats, snapshots, commit), raft_read.cc (ReadIndex) and
// raft_membership.cc (conf changes, leadership transfer). Not part of the public API.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "raft/progress.h"
#include "raft/raft.h"
#include "raft/raft_log.h"

namespace bw::raft {

// Vote requests sent by a leadership-transfer target carry this context: voters then ignore
// leader stickiness (the old leader asked for the election).
inline constexpr std::string_view kTransferContext = "transfer";

class RawNode::Impl {
 public:
  Impl(const Config& config, LogStorage* storage, const BootState& boot);

  void tick();
  Status step(const Message& m);
  Result<LogIndex> propose(std::string data);
  Result<LogIndex> propose_conf_change(const ConfChange& cc);
  ConfState apply_conf_change(const ConfChange& cc);
  void read_index(std::string context);
  Status transfer_leader(NodeId to);
  void campaign() { hup(/*transfer=*/false); }

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& rd);
  void accept(const Ready& rd);
  void persisted(const Ready& rd);

  NodeStatus status() const;
  Role role() const { return role_; }
  NodeId leader() const { return leader_; }
  Term term() const { return term_; }

 private:
  // A read waiting for leadership confirmation; `from` is this node for local reads.
  struct ReadRequest {
    std::string context;
    NodeId from;
  };
  // One heartbeat round confirming leadership for a batch of reads at `index`.
  struct ReadRound {
    uint64_t id = 0;
    uint64_t sent_tick = 0;  // when its heartbeats left: the start of the lease it proves
    LogIndex index;
    std::vector<ReadRequest> requests;
  };
  // Leader side of a snapshot being streamed to one follower, one chunk in flight.
  struct OutgoingSnapshot {
    std::shared_ptr<const Snapshot> snap;
    uint64_t acked_bytes = 0;  // the follower holds [0, acked_bytes)
    uint32_t ticks_since_send = 0;
  };
  // Follower side: chunks received so far from one leader for one snapshot.
  struct IncomingSnapshot {
    NodeId from;
    Term term;
    SnapshotMeta meta;
    std::string data;
  };

  bool bug(PlantedBug b) const { return (config_.planted_bugs & static_cast<uint32_t>(b)) != 0; }

  // raft.cc: roles and elections.
  void reset(Term term);
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void hup(bool transfer);
  void start_campaign(bool pre_vote, bool transfer);
  void handle_vote_request(const Message& m);
  void handle_vote_response(const Message& m);
  bool bound_by_lease() const;
  void tick_election();
  void tick_heartbeat();
  bool quorum_active();
  Status validate(const Message& m) const;
  Status step_leader(const Message& m);
  Status step_candidate(const Message& m);
  Status step_follower(const Message& m);
  void send(Message m);
  void randomize_election_timeout();
  bool promotable() const;
  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool has_unapplied_conf_change() const;
  LogIndex apply_upper_bound() const;
  SoftState soft_state() const { return SoftState{leader_, role_}; }
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  std::vector<NodeId> all_voters() const;

  // raft_replication.cc.
  bool send_append(NodeId to, bool allow_empty);
  bool send_snapshot(NodeId to);
  void send_snapshot_chunk(NodeId to);
  void send_heartbeat(NodeId to, const std::string& context);
  // voters_only: a ReadIndex round, which only voters' answers can confirm.
  void broadcast_heartbeat(const std::string& context, bool voters_only = false);
  void flush_broadcast();
  void append_entry(EntryType type, std::string data);
  bool maybe_commit();
  void on_commit_advanced();
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  Status handle_append_response(const Message& m);
  void handle_heartbeat_response(const Message& m);
  void handle_snapshot_response(const Message& m);
  bool restore(const Snapshot& snap);
  void tick_snapshot_retransmit();
  Progress& self_progress();
  Progress new_progress(LogIndex next) const;

  // raft_read.cc.
  void handle_read_request(std::string context, NodeId from);
  void release_read(LogIndex index, std::string context, NodeId from);
  void start_read_round();
  // Requests wait and fewer than read_rounds_with_requests_max rounds carrying requests (and
  // fewer than kReadRoundsMax rounds in all) are in flight.
  bool read_round_startable() const;
  void handle_read_ack(NodeId from, const std::string& context);
  // A quorum of voters acknowledged round `id` or a newer one.
  bool read_round_confirmed(uint64_t id) const;
  void release_deferred_reads();
  bool committed_in_term() const;
  std::string heartbeat_context();
  ReadRound& new_read_round();
  bool lease_valid() const;
  void clear_reads();

  // raft_membership.cc.
  void set_conf(const ConfState& conf);
  ConfState conf_state() const;
  void abort_transfer() {
    transferee_ = kNoNode;
    transfer_elapsed_ = 0;
  }
  void maybe_send_timeout_now(NodeId to);
  void tick_transfer();

  const Config config_;
  LogStorage* const storage_;
  std::mt19937_64 rng_;
  RaftLog log_;

  Term term_;
  NodeId vote_;
  NodeId leader_;
  Role role_ = Role::kFollower;

  // Membership (sorted) and, on the leader, per-member progress (including its own).
  std::vector<NodeId> voters_;
  std::vector<NodeId> voters_outgoing_;
  std::vector<NodeId> learners_;
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;

  uint32_t election_elapsed_ = 0;
  uint32_t heartbeat_elapsed_ = 0;
  uint32_t randomized_election_ticks_ = 0;
  uint64_t ticks_since_leader_contact_ = 0;
  uint64_t now_ticks_ = 0;          // ticks since this RawNode was created
  uint64_t lease_until_ticks_ = 0;  // leader, lease reads: valid while now_ticks_ < this
  // Leader: TimeoutNow went out this term. The target may campaign whenever it arrives, so no
  // acknowledgement extends the lease again until the term ends (raft_membership.cc).
  bool lease_forfeited_ = false;
  // Booted with a term: we may have acknowledged a leader just before going down, a promise
  // that outlives the restart (bound_by_lease).
  bool booted_with_term_ = false;

  NodeId transferee_;
  uint32_t transfer_elapsed_ = 0;
  LogIndex pending_conf_index_;  // leader: no new conf change until applied reaches this
  uint64_t uncommitted_bytes_ = 0;
  bool broadcast_pending_ = false;  // leader: appends to build at the next ready()

  std::map<NodeId, OutgoingSnapshot> outgoing_snapshots_;
  std::optional<IncomingSnapshot> incoming_snapshot_;

  std::vector<ReadRequest> reads_unsent_;        // batched into the next round
  std::vector<ReadRequest> reads_await_commit_;  // until the leader commits in its term
  std::deque<ReadRound> read_rounds_;            // in flight, oldest first (ids increase)
  uint64_t read_round_seq_ = 0;
  // Leader: the newest round each member acknowledged in this term (this node: the newest it
  // started). Answers may come in any order; round k is confirmed once a quorum of voters
  // acknowledged some round >= k, since every such round left at or after k did.
  std::map<NodeId, uint64_t> read_acked_;

  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;

  SoftState prev_soft_;
  HardState prev_hard_;
  bool ready_outstanding_ = false;
  // Ready::number of the last Ready handed out, accepted and persisted. Invariant:
  // readies_persisted_ <= readies_accepted_ <= readies_issued_ <= readies_accepted_ + 1.
  uint64_t readies_issued_ = 0;
  uint64_t readies_accepted_ = 0;
  uint64_t readies_persisted_ = 0;
};

}  // namespace bw::raft
