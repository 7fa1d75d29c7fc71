// The driver of ONE Raft group: its RawNode, its log on the node's disk, its kv state machine,
// the proposals and reads waiting on it, and the Ready loop. The Ready contract (raft.h) is
// handled here and nowhere else: the server hosts one Replica per group and the simulator
// constructs the very same class for its nodes, passing simulated I/O where the server passes
// real I/O (the TigerBeetle shape).
//
// Seams, all injected (replica/io.h):
//   Clock      the wall clock a leader stamps into entries (expiry) and deadlines are kept in;
//   Transport  where raft messages go;
//   Disk       the group's durable log: write() applies a batch to the live log at once and
//              queues it; the host calls on_durable(seq) as writes become durable, in order;
//   Observer   what the host wants to hear: role changes, applied entries and their effects,
//              snapshots installed, commits (the simulator's invariant checker listens here).
//
// The Ready loop (pipelined, raft.h): take a Ready; write what it asks to persist (sync only
// when entries, a snapshot, or a new term or vote must be durable); apply its committed entries
// now (they never run past what this node has persisted) and release its confirmed reads;
// accept it and take the next. A Ready finishes, in order, once it and every earlier Ready are
// durable: its messages leave (a leader's appends leave at once unless a term or vote not yet
// durable stands behind them, thesis §10.2.1), a received snapshot is loaded into the store,
// and raft is told it persisted. A received snapshot thus reaches the store only once durable.
//
// Requests:
//   propose(payload, done)  leader only; `done` runs exactly once: with the entry's reply once
//                           applied, or an error whose message is the RESP error to send: the
//                           entry was overwritten by another leader's (not applied), the entry's
//                           position was covered by an installed snapshot (outcome unknown), or
//                           the deadline passed (outcome unknown).
//   read(done)              a linearizable read point: reads submitted before flush() share one
//                           ReadIndex round; `done(OK)` runs once applied >= the read index (then
//                           evaluate on store()), or `done(error)` at the deadline. Read contexts
//                           carry the boot epoch, so an answer addressed to an earlier
//                           incarnation of this node never releases a read of this one.
//
// Leader duties driven by tick(): it proposes the deletion of keys whose TTL passed and the end
// of lapsed leases and election holders (after its lease-extension entry applied: nothing
// lease-like expires because a failover took time).
//
// Thread safety: none; one thread drives a replica and calls on_durable from that thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/histogram.h"
#include "common/inline_function.h"
#include "common/status.h"
#include "kv/store.h"
#include "raft/raft.h"
#include "replica/io.h"

namespace bw::replica {

// Bugs that can be planted in the driver to prove the simulator's checkers catch them; all off
// in production.
enum class DriverBug : uint32_t {
  kNone = 0,
  kAckBeforePersist = 1u << 0,           // send a Ready's messages before its writes are durable
  kReadContextWithoutEpoch = 1u << 1,    // read contexts restart at the same values every boot
  kReadsUseLocalClock = 1u << 2,         // reads judge expiry with this node's clock, not the log's
  kForgetWritesUnderSnapshot = 1u << 3,  // writes covered by a snapshot are never answered
  kTicksIgnorePauses = 1u << 4,  // one tick per host timer call, whatever time passed meanwhile
};

struct Options {
  raft::Config raft;
  // With lease-based reads, raft ticks follow Clock::monotonic_ms(): before any input, every
  // whole tick_ms that passed since the last tick is ticked (at most catch_up_ticks_max at
  // once), so a leader that was stopped or starved resumes with its lease as old as it really is
  // (it takes a heartbeat round before serving a read). ReadIndex reads do not depend on time:
  // without leases each tick() call is one tick, and a stall only delays timers (elections),
  // never makes a read stale; that avoids a leader stepping down the moment it resumes from a
  // stall its followers may not even have noticed. 0: one tick per tick() call always.
  uint32_t tick_ms = 0;
  // Unique per start of this node (a random 64-bit number, or a persisted counter): part of
  // every read context, so answers to a previous incarnation's requests never match.
  uint64_t boot_epoch = 0;
  int64_t request_timeout_ms = 5000;
  uint32_t read_retry_ticks = 4;     // an unanswered ReadIndex round is asked again after this
  size_t expire_keys_per_tick = 64;  // expiry proposals per tick, per kind
  // Failover rule: a new leader first extends every live lease and election holder by this
  // (the longest a leaderless gap can last: two election timeouts, in ms).
  int64_t lease_extension_ms = 0;
  uint32_t planted_bugs = 0;  // bitwise OR of DriverBug; tests only
};

// More than any lease or election timeout spans (2 * election_ticks): ticking further after a
// long pause changes nothing but the work done.
inline uint32_t catch_up_ticks_max(const raft::Config& c) {
  return 2 * c.election_ticks + 1;
}

// What a node read back from its disk for this group.
struct Boot {
  raft::BootState state;
  kv::Store store;  // restored from the snapshot at state.applied (empty for none)
};

struct Counters {
  uint64_t read_index_rounds = 0;
  uint64_t expired_keys_proposed = 0;
  uint64_t snapshots_installed = 0;
  uint64_t conf_changes_applied = 0;
  uint64_t proposals = 0;             // entries proposed here as leader (kv writes)
  uint64_t entries_applied = 0;       // committed entries applied to the store (every kind)
  uint64_t append_messages_sent = 0;  // kAppend messages handed to the transport
  uint64_t entries_sent = 0;          // the entries they carried
};

class Replica {
 public:
  // `done` for proposals: OK with the reply of the applied entry, or an error whose message is
  // the full RESP error text. Completions are kept inline, not allocated: one is stored per
  // request. The capacities fit the server's (where the reply goes, and for a read the command
  // line to evaluate; its call sites assert it); a larger one is kept on the heap.
  static constexpr size_t kWriteDoneBytesMax = 64;
  static constexpr size_t kReadDoneBytesMax = 96;
  using WriteDone = InlineFunction<void(const Status&, const kv::Reply&), kWriteDoneBytesMax>;
  using ReadDone = InlineFunction<void(const Status&), kReadDoneBytesMax>;

  // REQUIRES: io members outlive the replica; boot matches disk->log().
  Replica(const Options& options, const Io& io, Boot boot);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Inputs. Each leaves raft's output handled as far as the disk allows, except where noted.
  // The host's tick timer: raft ticks for the time passed (see Options::tick_ms), then the
  // replica's periodic duties (deadlines, read retries, leader expiry proposals).
  void tick();
  // While paused, a leader's tick proposes no expirations (the host's CLIENT PAUSE).
  void set_expirations_paused(bool paused) { expirations_paused_ = paused; }
  // Errors are messages the core refuses (stale, foreign): the network may deliver anything.
  Status step(const raft::Message& m);
  // Leader only. `tag` identifies the proposer to Observer::on_applied (0 = none).
  Result<LogIndex> propose(std::string payload, WriteDone done, uint64_t tag = 0);
  // Leader only. With `done`, it is answered like a write once the change applies (or fails);
  // applying a change also updates the store's member directory from cc.context.
  Result<LogIndex> propose_conf_change(const raft::ConfChange& cc, WriteDone done = nullptr);
  // Queued until flush() (or the next input) issues the round.
  void read(ReadDone done);
  Status transfer_leader(NodeId to);
  void campaign();
  // Issues queued reads and handles ready output. Hosts call it once per event-loop pass.
  void flush();
  // Every write submitted up to and including `seq` is durable.
  void on_durable(uint64_t seq);

  // Introspection.
  raft::RawNode& raft() { return *raft_; }
  const raft::RawNode& raft() const { return *raft_; }
  bool is_leader() const { return raft_->is_leader(); }
  NodeId leader() const { return leader_; }
  NodeId id() const { return options_.raft.id; }
  const kv::Store& store() const { return store_; }
  LogIndex applied() const { return applied_; }
  LogIndex commit() const { return commit_; }
  const raft::ConfState& conf() const { return conf_; }
  const Counters& counters() const { return counters_; }
  // From propose() to the apply of the proposed entry, for this node's own proposals that
  // committed (Clock::monotonic_us).
  const LatencyCounts& commit_latency() const { return commit_latency_; }
  const Options& options() const { return options_; }
  bool has_unfinished_readies() const { return !unfinished_.empty(); }
  // The oldest waiting proposal's index, 0 if none. Invariant: > applied() after every input.
  uint64_t oldest_pending_write() const;
  size_t pending_writes() const { return pending_writes_.size(); }
  size_t pending_reads() const;
  // Reads queued behind a ReadIndex round that ended during the last input: only the next
  // flush() issues them (the server flushes again at once; their clients send nothing meanwhile).
  bool has_reads_to_issue() const { return !unissued_reads_.empty() && issued_reads_.empty(); }
  // Evaluates a read-only command on the store (as of applied()), judging expiry as the log
  // does (kReadsUseLocalClock: as this node's clock does).
  kv::Reply evaluate_read(std::span<const std::string_view> argv, uint64_t random) const;
  // A read served here accessed `key` (LRU/LFU eviction's local access tracking; changes no
  // replicated state).
  void touch(std::string_view key, uint64_t random) { store_.touch(key, random); }

 private:
  struct PendingWrite {
    Term term;
    WriteDone done;
    uint64_t tag = 0;
    int64_t deadline_ms = 0;
    int64_t proposed_us = 0;  // Clock::monotonic_us at propose(); 0 = not timed
  };
  struct PendingRead {
    ReadDone done;
    int64_t deadline_ms = 0;
  };
  struct ReadBatch {
    std::vector<PendingRead> reads;
    int64_t deadline_ms = 0;  // the earliest of its reads
    uint64_t issued_tick = 0;
  };
  struct Unfinished {  // a Ready taken but not finished (pipelined writes)
    raft::Ready ready;
    uint64_t seq = 0;   // the disk write it waits for; 0 = none
    bool sent = false;  // its messages already left
  };

  bool bug(DriverBug b) const { return (options_.planted_bugs & static_cast<uint32_t>(b)) != 0; }
  bool catches_up_ticks() const {
    return options_.tick_ms != 0 && options_.raft.read_only == raft::ReadOnlyOption::kLeaseBased;
  }
  // Ticks raft for every whole tick_ms passed since the last tick (catches_up_ticks()).
  // Returns how many. Runs before every input: the common case (ReadIndex reads) stays inline.
  uint32_t catch_up_ticks() { return catches_up_ticks() ? tick_for_time_passed() : 0; }
  uint32_t tick_for_time_passed();
  void handle_ready();
  void finish_readies();
  void send(std::vector<raft::Message>& messages);
  void send_independent(std::vector<raft::Message>& messages);
  void apply(const raft::Entry& e);
  void install_snapshot(const raft::Snapshot& snap);
  void answer_writes_through(LogIndex index, const char* why);
  void answer_replaced(uint64_t index);
  void on_soft_state(const raft::SoftState& ss);
  void on_read_states(std::vector<raft::ReadState>& states);
  void serve_reads();
  void issue_reads();
  void expire_requests();
  void propose_expirations();
  std::string next_read_context();

  Options options_;
  Io io_;
  std::unique_ptr<raft::RawNode> raft_;
  kv::Store store_;
  kv::ApplyEffects effects_;  // scratch for apply
  raft::ConfState conf_;      // membership as of applied_
  LogIndex applied_;
  LogIndex commit_;
  NodeId leader_;
  raft::Role role_ = raft::Role::kFollower;
  raft::HardState submitted_hard_state_;  // the newest handed to the disk
  raft::HardState durable_hard_state_;
  uint64_t next_write_seq_ = 1;
  uint64_t durable_seq_ = 0;
  std::deque<Unfinished> unfinished_;

  absl::flat_hash_map<uint64_t, PendingWrite> pending_writes_;  // by log index
  std::deque<std::pair<int64_t, uint64_t>> write_deadlines_;    // (deadline, index), in order
  std::vector<PendingRead> unissued_reads_;
  std::map<std::string, ReadBatch> issued_reads_;            // by ReadIndex context
  std::multimap<uint64_t, ReadBatch> reads_awaiting_apply_;  // by read index
  uint64_t next_read_ctx_ = 1;
  uint64_t ticks_ = 0;
  int64_t next_tick_ms_ = 0;  // monotonic time of the next raft tick (tick_ms != 0)

  uint64_t extend_leases_index_ = 0;  // this leader's failover-rule entry; 0 = not proposed
  absl::flat_hash_map<std::string, uint64_t> expiring_keys_;   // key -> proposal index
  absl::flat_hash_map<uint64_t, uint64_t> expiring_leases_;    // lease id -> proposal index
  absl::flat_hash_map<std::string, uint64_t> expiring_names_;  // name -> proposal index
  Counters counters_;
  LatencyCounts commit_latency_;
  bool expirations_paused_ = false;
};

}  // namespace bw::replica
