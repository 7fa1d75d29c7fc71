// The replicated state machine: applies committed entry payloads (command.h) to the keyspace
// deterministically and evaluates read-only commands. Redis 7 semantics and error texts for the
// string and keyspace commands; only strings exist as a type.
//
// Include this header for the whole kv API (Reply, encode_write, encode_expire_key, Store).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/codec.h"
#include "common/status.h"
#include "kv/command.h"
#include "kv/coordination.h"
#include "kv/eviction.h"
#include "kv/keyspace.h"
#include "kv/reply.h"

namespace bw::kv {

class Applier;
struct DecodedBatch;
struct DecodedAcl;

// A keyspace notification as Redis emits it: event names follow Redis ("set", "del", "expired",
// "expire", "incrby", "incrbyfloat", "append", "setrange", "rename_from", "rename_to", "persist").
struct KeyEvent {
  std::string key;
  std::string event;
  bool operator==(const KeyEvent&) const = default;
};

// A PUBLISH (or SPUBLISH: `shard`) applied from the log; every node delivers it to its own
// subscribers in log order.
struct Published {
  std::string channel;
  std::string message;
  bool shard = false;  // SPUBLISH: for SSUBSCRIBE's subscribers only
  bool operator==(const Published&) const = default;
};

// A change of an election/lock name's holder. Events: "elect" (a new holder won; refreshes by
// the same holder emit nothing), "resign" (ELECT.RESIGN / UNLOCK), "expired" (expire entry or a
// lapsed holder replaced by a new winner, which then also emits "elect"). After "resign" and
// "expired" the name is free: wake the blocked ELECT/LOCK waiters of `name`.
struct NameEvent {
  std::string name;
  std::string event;
  uint64_t token = 0;  // the token the event is about (new holder's for "elect")
  bool operator==(const NameEvent&) const = default;
};

// Everything an applied entry tells the node besides its reply, each list in apply order.
// Keys deleted by a lease's expiry emit KeyEvent "expired", by LEASE REVOKE "del".
struct ApplyEffects {
  std::vector<KeyEvent> key_events;
  std::vector<Published> published;
  std::vector<NameEvent> name_events;
  void clear() {
    key_events.clear();
    published.clear();
    name_events.clear();
  }
};

// A member of the cluster as the member directory records it: how clients and peers reach it.
struct Member {
  std::string client_address;  // host:port (RESP)
  std::string peer_address;    // host:port of the peer listener
  bool operator==(const Member&) const = default;
};
inline constexpr size_t kMemberAddressBytesMax = 255;
// The member record carried by a membership change (raft::ConfChange::context).
std::string encode_member(const Member& m);
// Errors: InvalidArgument for bytes that are not a member record or addresses over the bound.
Result<Member> decode_member(std::string_view bytes);

// An ACL user as the replicated state holds it: the server's canonical definition (opaque to
// kv) and the log index of the user's last change.
struct AclUserRecord {
  std::string definition;
  uint64_t index = 0;
  bool operator==(const AclUserRecord&) const = default;
};

// Bounds on work done by one read command.
inline constexpr size_t kScanCountMax = 100000;     // SCAN, HSCAN, SSCAN COUNT is clamped to this
inline constexpr size_t kRandomKeyProbesMax = 100;  // expired keys skipped by RANDOMKEY

// Not thread safe; owned by the node's event loop. Replicas that apply the same payloads at the
// same indexes hold identical state (and snapshot() returns identical bytes), and read() gives
// them identical answers whatever their wall clocks, remaining times apart.
class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  Store(Store&&) = default;
  Store& operator=(Store&&) = default;

  // Applies a committed entry payload at log index `index`. Deterministic: uses only the payload,
  // `index` and the replicated state. The entry's time, used for every expiry decision and every
  // relative deadline it computes, is max(payload now_ms, clock_ms()); clock_ms() then becomes
  // it. Returns the reply for the client that proposed it. Appends keyspace events to *events
  // when non-null.
  // REQUIRES: index > applied_index(). A payload that does not decode is a BW_ASSERT failure (the
  // log is checksummed; a bad entry here is a bug).
  Reply apply(uint64_t index, std::string_view payload, std::vector<KeyEvent>* events = nullptr);
  // The same, appending every effect (key events, PUBLISH messages, election changes) to
  // *effects (not cleared first). REQUIRES: effects != nullptr.
  Reply apply(uint64_t index, std::string_view payload, ApplyEffects* effects);

  // Evaluates a read-only command locally (argv[0] is the name, any case). Whether a key, lease or
  // election holder exists is judged at clock_ms(), the log's time, never at a local clock: every
  // replica at the same applied index gives the same answer whatever its wall clock says (with
  // clock skew, judging by wall clocks would let two replicas disagree, and break linearizable
  // reads on every node). A key whose deadline passed therefore stays visible until an entry
  // whose time is past it applies (the leader's expire entry, or any other later entry).
  // `now_ms` is the serving node's wall clock, used only to count down remaining times: TTL,
  // PTTL, LEASE TTL and ELECT.LEADER's remaining-ms answer deadline - max(clock_ms(), now_ms),
  // clamped at 0 as Redis clamps, so a key that exists by the log but whose deadline has passed
  // on this node's clock answers TTL 0 and PTTL 0. EXPIRETIME and PEXPIRETIME answer the stored
  // deadline. `random` seeds RANDOMKEY. Commands: GET MGET EXISTS STRLEN GETRANGE TTL PTTL
  // EXPIRETIME PEXPIRETIME TYPE KEYS SCAN RANDOMKEY DBSIZE GETVER. Errors for syntax and
  // unknown commands come back as error Replies. GETVER key answers [value, version] or a nil
  // bulk. SCAN cursors are the next 64-bit key hash to visit (the same on every node, so a scan
  // may continue on another node); COUNT records are visited per call (plus the rest of the last
  // hash's keys). DBSIZE, like Redis's, counts keys whose deadline passed until they are removed.
  // Also: LEASE TTL id (remaining ms, -2 if unknown or lapsed) and ELECT.LEADER name
  // ([holder, token, remaining-ms] or a nil array).
  // REQUIRES: argv fits the arity THE command table (resp) gives its name (the server checks it).
  Reply read(std::span<const std::string_view> argv, int64_t now_ms, uint64_t random) const;
  // read() judging existence at `expiry_now_ms` instead of clock_ms(); remaining times count
  // from max(expiry_now_ms, local_now_ms). read(argv, t, r) is
  // read_with_expiry_clock(argv, clock_ms(), t, r). Judging at a wall clock is what replicas
  // must not do (see read()): for tests, and for simulations that plant that bug.
  Reply read_with_expiry_clock(std::span<const std::string_view> argv, int64_t expiry_now_ms,
                               int64_t local_now_ms, uint64_t random) const;

  // WATCH: the version of `key` (log index of its last change), 0 if absent or expired by
  // clock_ms() (judged like read()).
  uint64_t version_of(std::string_view key) const;
  // For blocked ELECT/LOCK: true if `name` has no holder whose deadline is after clock_ms(). A
  // holder lapsed by the wall clock keeps the name until an entry past its deadline applies (the
  // leader's encode_expire_election entry, which also emits NameEvent "expired").
  // For blocked list pops: true if `key` holds a list (judged at clock_ms(), like read()).
  bool list_ready(std::string_view key) const;
  bool election_free(std::string_view name) const;

  // Active expiry, leader side: up to `max` (key, deadline) pairs with deadline <= now_ms,
  // resuming where the previous call stopped and starting over once it reaches the end, so
  // repeated calls cycle through all expired keys. Propose encode_expire_key for each. `now_ms`
  // is the leader's wall clock (here and below): the leader decides when to propose expiry, and
  // the key stays visible to reads until that entry (or a later one) applies.
  std::vector<std::pair<std::string, int64_t>> expired_keys(int64_t now_ms, size_t max);
  // The same for leases: up to `max` (id, deadline) with deadline <= now_ms, cycling. Propose
  // encode_expire_lease for each, but only after this leader's encode_extend_leases entry has
  // applied (failover rule).
  std::vector<std::pair<uint64_t, int64_t>> expired_leases(int64_t now_ms, size_t max);
  // The same for election/lock holders: (name, token). Propose encode_expire_election for each.
  std::vector<std::pair<std::string, uint64_t>> expired_elections(int64_t now_ms, size_t max);

  // Full image: versioned, checksummed encoding of applied_index, clock_ms, every key, lease and
  // election and member (format in snapshot.cc; restore also reads versions 1-3).
  std::string snapshot() const;
  // Replaces the contents with `image`. On error (corrupt or unknown-version image) the store is
  // left empty with applied_index 0 and clock_ms 0.
  Status restore(std::string_view image);

  // The member directory: node id -> addresses, changed only by applied membership changes
  // (and seeded once, identically on every founding member, before the first entry). Part of
  // the snapshot, so a node that catches up by snapshot learns how to reach every member.
  // member_id_max() is the largest id ever recorded: ids of removed nodes are never reused.
  void set_member(uint64_t id, Member m) {
    members_[id] = std::move(m);
    if (id > member_id_max_) member_id_max_ = id;
  }
  void remove_member(uint64_t id) { members_.erase(id); }
  const std::map<uint64_t, Member>& members() const { return members_; }
  uint64_t member_id_max() const { return member_id_max_; }

  // The ACL users (command.h, encode_acl_users), by name. acl_index() is the log index of the
  // last applied ACL change (0: none yet): equal acl_index() on two replicas means equal users.
  const std::map<std::string, AclUserRecord, std::less<>>& acl_users() const { return acl_users_; }
  uint64_t acl_index() const { return acl_index_; }

  uint64_t applied_index() const { return applied_index_; }
  // The log's time: the largest entry time applied so far (0 before any, and after restoring an
  // image older than version 3). Part of the replicated state: equal on every replica at the
  // same applied index, whatever their wall clocks say. Never decreases while entries apply.
  int64_t clock_ms() const { return clock_ms_; }
  // Keys held, including those whose deadline passed but that are not removed yet.
  size_t key_count() const { return keys_.size(); }
  size_t lease_count() const { return coord_.leases().size(); }
  // Election/lock names with a holder (including lapsed ones not removed yet).
  size_t election_count() const { return coord_.elections().size(); }
  // The dataset estimate maxmemory is judged against (INFO used_memory): key and value bytes
  // plus kRecordOverheadBytes per key and kIndexEntryBytes per deadline or lease attachment.
  // A function of the replicated contents only, so it is the same on every node at the same
  // applied index (the process RSS is not: allocator state, the Raft log cache, buffers).
  size_t memory_bytes_estimate() const { return keys_.memory_bytes_estimate(); }

  // maxmemory eviction (eviction.h), leader side: keys to propose with encode_evict_keys.
  EvictionChoice choose_evictions(EvictionPolicy policy, uint32_t samples, size_t bytes_to_free,
                                  uint64_t random) const {
    return kv::choose_evictions(keys_, policy, samples, bytes_to_free, random);
  }
  // An access by a read served on this node, for LRU/LFU (local, not replicated; writes touch
  // the keys they store at apply). Absent keys are ignored. `random` drives the LFU counter.
  void touch(std::string_view key, uint64_t random) {
    if (Record* rec = keys_.find(key)) keys_.touch(rec, random);
  }
  // Keys deleted by applied eviction entries since this process started (INFO evicted_keys).
  uint64_t evicted_keys() const { return evicted_keys_; }

 private:
  Reply apply_batch(Applier& applier, DecodedBatch& batch, uint64_t index, int64_t now_ms);
  Status restore_coordination(ByteReader& r, uint64_t applied);

  Status restore_members(ByteReader& r);
  Status restore_acl(ByteReader& r, uint64_t applied);
  Reply apply_acl(const DecodedAcl& acl, uint64_t index);

  Keyspace keys_;
  Coordination coord_;
  std::map<uint64_t, Member> members_;
  uint64_t member_id_max_ = 0;
  std::map<std::string, AclUserRecord, std::less<>> acl_users_;
  uint64_t acl_index_ = 0;
  uint64_t applied_index_ = 0;
  int64_t clock_ms_ = 0;       // see clock_ms(); always >= 0
  uint64_t evicted_keys_ = 0;  // evicted_keys(); a statistic, not part of the snapshot
  // expired_keys() resume point (leader-local, not part of the replicated state).
  int64_t expiry_cursor_deadline_ms_ = 0;
  std::string expiry_cursor_key_;
  std::pair<int64_t, uint64_t> lease_cursor_{0, 0};  // (deadline, id) last returned
  std::pair<int64_t, std::string> election_cursor_{0, {}};
};

}  // namespace bw::kv
