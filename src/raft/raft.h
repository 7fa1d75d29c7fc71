// RawNode: the pure Raft state machine for one group, in the shape of etcd-io/raft's RawNode.
//
// It does no I/O and reads no clock: inputs are step(message), tick(), propose(), read_index(),
// transfer_leader() and propose_conf_change(); outputs are collected in a Ready batch. The
// caller handles each Ready in this order (the Ready contract, handled in exactly one place by
// each driver):
//   1. persist ready.hard_state, ready.entries and ready.snapshot (fsync when must_sync);
//   2. send ready.messages;
//   3. apply ready.committed_entries to the state machine (conf changes via apply_conf_change);
//      serve ready.read_states once applied >= their index;
//   4. call advance(ready).
// No new Ready is produced between ready() and advance(); work submitted meanwhile is batched
// into the next one. A leader counts itself towards a commit quorum only for entries that
// advance() confirmed persisted, so the caller may send a leader's appends (step 2) while its
// own write is still in flight (Raft thesis §10.2.1).
//
// Pipelined writes (etcd's asynchronous storage writes, in two calls): advance() is
// accept() followed by persisted(). A driver whose disk writes complete in submission order may
// call accept(ready) as soon as it has applied the committed entries and handed the writes to
// its disk, take the next Ready while those writes are still in flight, and call
// persisted(ready) for each Ready, in order, once its writes are durable. Messages of a Ready
// must then wait until it and every earlier Ready are persisted (a follower's acknowledgement
// claims durability); a leader's appends may still go at once. Committed entries never run
// past what persisted() confirmed, so applying them needs no wait.
//
// Thread safety: none. One RawNode is driven by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/log_storage.h"
#include "raft/types.h"

namespace bw::raft {

// Known safety bugs that can be switched on to prove the simulator's checkers catch them. All
// off in production; the flag exists only so that tests can plant them.
enum class PlantedBug : uint32_t {
  kNone = 0,
  kCommitPreviousTermByCount = 1u << 0,   // leader commits old-term entries by counting replicas
  kVoteWithoutLogCheck = 1u << 1,         // grant votes without the log up-to-date check
  kReadIndexWithoutHeartbeat = 1u << 2,   // serve ReadIndex without confirming leadership
  kApplyUncommitted = 1u << 3,            // hand out entries to apply beyond the commit index
  kVoteRightAfterRestart = 1u << 4,       // a restarted node votes before an election timeout
  kLeaseExtendedAfterTransfer = 1u << 5,  // acks after TimeoutNow extend the leader's lease
  // kAckBeforePersist is a Ready-contract bug, planted in the driver (simulator), not here.
};

enum class ReadOnlyOption : uint8_t {
  kSafe,        // ReadIndex: confirm leadership with a heartbeat round
  kLeaseBased,  // trust the leader lease (requires check_quorum); assumes bounded clock drift
};

// Leader: heartbeat rounds for reads outstanding at once (lease rounds included); beyond,
// requests wait for answers and lease heartbeats carry no new round.
inline constexpr size_t kReadRoundsMax = 1024;
// Leader: the default of Config::read_rounds_with_requests_max, the rounds carrying ReadIndex
// requests in flight at once (docs/raft.md, "Limits"). With 1, requests that arrive while a
// round is out wait for its answers and share the next round (up to two round trips); with
// more, the requests of each ready() get a round at once. 1, 4 and 16 measured the same within
// the noise of a 2-core machine (docs/performance.md, item 8): 1 sends the fewest heartbeats.
inline constexpr size_t kReadRoundsWithRequestsMax = 1;

struct Config {
  NodeId id;
  GroupId group;

  uint32_t election_ticks = 10;  // randomized in [election_ticks, 2*election_ticks)
  uint32_t heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  ReadOnlyOption read_only = ReadOnlyOption::kSafe;

  uint64_t append_bytes_max = 1 << 20;     // entry bytes per append message
  uint32_t inflight_appends_max = 256;     // unacknowledged appends per follower
  uint64_t inflight_bytes_max = 64 << 20;  // unacknowledged entry bytes per follower; 0 = unbounded
  uint32_t append_entries_max = 4096;      // entries per append message
  uint64_t snapshot_chunk_bytes_max = 1 << 20;
  uint64_t committed_bytes_per_ready_max = 64 << 20;
  uint64_t uncommitted_bytes_max = 0;   // 0 = unbounded; else proposals beyond are refused
  uint32_t transfer_timeout_ticks = 0;  // 0 = election_ticks
  uint32_t pending_reads_max = 10000;   // queued ReadIndex requests; beyond, reads are dropped
  // Leader: rounds carrying ReadIndex requests in flight at once (>= 1; at most kReadRoundsMax).
  size_t read_rounds_with_requests_max = kReadRoundsWithRequestsMax;

  // Seed for the randomized election timeout; the only randomness in the core.
  uint64_t random_seed = 1;

  uint32_t planted_bugs = 0;  // bitwise OR of PlantedBug; tests only
};

// State restored from the application's durable storage on start. For a brand-new group,
// hard_state is default and conf lists the initial voters. A node joining an existing group
// starts with an empty log and conf = the membership it is being added into (current voters,
// learners including itself): the initial membership is not in the log, and replaying the
// log's single-node changes onto the current membership converges to it.
struct BootState {
  HardState hard_state;
  ConfState conf;
  LogIndex applied;  // last index already applied to the state machine (snapshot index, or more)
};

struct SoftState {
  NodeId leader;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

struct Ready {
  std::optional<SoftState> soft_state;   // set when leader or role changed
  std::optional<HardState> hard_state;   // set when changed; persist before sending messages
  std::vector<Entry> entries;            // append to storage (truncating any conflict)
  std::optional<Snapshot> snapshot;      // received snapshot: install in storage and state machine
  std::vector<Entry> committed_entries;  // apply in order
  std::vector<Message> messages;         // send after persisting
  std::vector<ReadState> read_states;    // serve once applied >= index
  bool must_sync = false;                // entries or vote/term changed: fsync before sending
  // 1, 2, 3, ... per RawNode, set by ready(): accept() and persisted() assert that they get the
  // Readies in the contract's order. The application must not change it.
  uint64_t number = 0;
};

struct FollowerProgress {
  NodeId id;
  LogIndex match;
  LogIndex next;
  bool learner = false;
  bool recent_active = false;
  const char* state = "probe";  // probe | replicate | snapshot
  // While a snapshot streams to it: bytes it acknowledged, of the image's size (else 0, 0).
  uint64_t snapshot_bytes_sent = 0;
  uint64_t snapshot_bytes_total = 0;
};

// A read-only view for status displays.
struct NodeStatus {
  NodeId id;
  Role role = Role::kFollower;
  NodeId leader;
  Term term;
  NodeId vote;
  LogIndex commit;
  LogIndex applied;
  LogIndex last_index;
  ConfState conf;
  std::vector<FollowerProgress> progress;  // leader only
  uint64_t ticks_since_leader_contact = 0;
  NodeId transferee;  // leadership transfer in progress to this node, or kNoNode
};

class RawNode {
 public:
  // REQUIRES: storage outlives the node; storage holds the log matching boot.hard_state.
  RawNode(const Config& config, LogStorage* storage, const BootState& boot);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  void tick();
  // Feeds a message from a peer. Messages for another group or node are an error.
  Status step(const Message& m);

  // Leader only: appends `data` to the log. Returns the index it will have if committed.
  // Errors: FailedPrecondition when not leader or transferring leadership; ResourceExhausted
  // when uncommitted_bytes_max would be exceeded.
  Result<LogIndex> propose(std::string data);
  Result<LogIndex> propose_conf_change(const ConfChange& cc);
  // Called by the application when it applies a committed kConfChange entry; returns the new
  // membership to persist alongside.
  ConfState apply_conf_change(const ConfChange& cc);

  // Requests a linearizable read point. The result arrives in Ready::read_states with the same
  // context (which should be unique). Dropped silently if no leader is known; callers time out.
  void read_index(std::string context);

  // Asks the leader (this node must be leader) to hand leadership to `to`.
  Status transfer_leader(NodeId to);
  // Starts an election now (tests and operator commands).
  void campaign();

  bool has_ready() const;
  Ready ready();
  void advance(const Ready& ready);  // accept(ready) then persisted(ready)
  // Handed off; committed entries applied. REQUIRES: `ready` is the one ready() returned last.
  void accept(const Ready& ready);
  // Its writes are durable. REQUIRES: `ready` is the oldest accepted Ready not yet persisted,
  // and no Ready is taken but not yet accepted.
  void persisted(const Ready& ready);

  // The application tells the core it applied up to `index` out of band (e.g. snapshot restore).
  NodeStatus status() const;
  bool is_leader() const;
  NodeId leader() const;
  Term term() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Encode/decode ConfChange for entry data.
std::string encode_conf_change(const ConfChange& cc);
Result<ConfChange> decode_conf_change(std::string_view data);

}  // namespace bw::raft
