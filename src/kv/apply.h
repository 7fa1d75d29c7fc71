// Internal to kv: executes one parsed write command against the keyspace at one log index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "kv/command_internal.h"
#include "kv/coordination.h"
#include "kv/keyspace.h"
#include "kv/reply.h"
#include "kv/store.h"

namespace bw::kv {

// Redis's reply to a command on a key holding another type.
inline constexpr std::string_view kWrongTypeError =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
Reply wrong_type();

// One entry's worth of writes. `now_ms` is the entry's time: keys whose deadline <= now_ms are
// absent for these writes and are removed lazily (with an "expired" event) when touched.
// Leases and election holders are live while deadline > now_ms; a lapsed one still present
// (its expire entry not applied yet) counts as absent for every command except LEASE REVOKE and
// ELECT.RESIGN/UNLOCK, which remove it.
class Applier {
 public:
  // `effects` may be null (nothing is reported).
  Applier(Keyspace* keys, Coordination* coord, uint64_t index, int64_t now_ms,
          ApplyEffects* effects)
      : keys_(*keys), coord_(*coord), index_(index), now_ms_(now_ms), effects_(effects) {}

  Reply run(const WriteCmd& cmd);
  // The commands that follow are items of a MULTI/EXEC entry.
  void set_in_transaction() { in_transaction_ = true; }
  // Active expiry: deletes `key` iff its deadline is still `deadline_ms` and has passed.
  Reply expire_key(std::string_view key, int64_t deadline_ms);
  // Expire entries for leases and holders, and the failover extension (command.h, kinds 5-7).
  Reply expire_lease(uint64_t id, int64_t deadline_ms);
  Reply expire_election(std::string_view name, uint64_t token);
  Reply extend(int64_t extra_ms);
  // Eviction (kind 8): deletes each key present, "evicted" events; replies the count.
  Reply evict(std::span<const std::string_view> keys);
  // The error a write fenced with (name, token) gets, or nullopt if token is name's live token.
  std::optional<Reply> check_fence(std::string_view name, uint64_t token) const;

 private:
  Record* live(std::string_view key);
  // live(key) if it holds `type`; null if absent, or (with *error set to WRONGTYPE) if it holds
  // another type.
  Record* live_typed(std::string_view key, ValueType type, Reply* error);
  // A new key holding an empty value of `type`, versioned at this entry. REQUIRES: key absent.
  Record* create(std::string_view key, ValueType type);
  const Lease* live_lease(uint64_t id) const;
  const Holder* live_holder(std::string_view name) const;
  void emit(std::string_view key, std::string_view event);
  void emit_name(std::string_view name, std::string_view event, uint64_t token);
  // Writes `value` into `key` (creating it), stamps the version, applies `ttl` and attaches the
  // key to `lease_id` (0 detaches: every overwrite without LEASE does).
  Record* store(std::string_view key, std::string_view value, WriteCmd::Ttl ttl,
                int64_t deadline_ms, uint64_t lease_id = 0);
  void assign(Record* rec, std::string_view value);
  void remove(Record* rec, std::string_view event);

  Reply set(const WriteCmd& cmd);
  Reply getex(const WriteCmd& cmd);
  Reply mset(const WriteCmd& cmd);
  Reply del(const WriteCmd& cmd);
  Reply incr(const WriteCmd& cmd);
  Reply incrbyfloat(const WriteCmd& cmd);
  Reply append(const WriteCmd& cmd);
  Reply setrange(const WriteCmd& cmd);
  Reply expire(const WriteCmd& cmd);
  Reply persist(const WriteCmd& cmd);
  Reply rename(const WriteCmd& cmd);
  Reply copy(const WriteCmd& cmd);
  Reply cas(const WriteCmd& cmd);
  Reply lease_grant(const WriteCmd& cmd);
  Reply lease_keepalive(const WriteCmd& cmd);
  Reply lease_revoke(const WriteCmd& cmd);
  // Deletes every key of lease `id` (events `live_event` / "expired" for keys past their own
  // deadline) and the lease. Returns the live keys deleted.
  int64_t end_lease(uint64_t id, std::string_view live_event);
  Reply campaign(const WriteCmd& cmd);
  Reply elect_keepalive(const WriteCmd& cmd);
  Reply resign(const WriteCmd& cmd);
  Reply publish(const WriteCmd& cmd);
  Reply hash_write(const WriteCmd& cmd);  // hash.cc
  Reply set_write(const WriteCmd& cmd);   // set.cc
  Reply smove(const WriteCmd& cmd);       // set.cc
  Reply set_store(const WriteCmd& cmd);   // set.cc: SINTERSTORE SUNIONSTORE SDIFFSTORE
  Reply list_write(const WriteCmd& cmd);  // list.cc
  Reply lmove(const WriteCmd& cmd);
  Reply lmpop(const WriteCmd& cmd);
  Reply blocking_pop(const WriteCmd& cmd);
  std::vector<std::string> list_pop(Record* rec, bool left, size_t count);
  size_t list_push(std::string_view key, Record* rec, bool left,
                   std::span<const std::string_view> elements);
  // "<prefix> token 5 for 'x' is stale; the current token is 7" and its siblings.
  Reply holder_error(std::string_view prefix, std::string_view name, uint64_t token) const;

  Keyspace& keys_;
  Coordination& coord_;
  const uint64_t index_;
  const int64_t now_ms_;
  ApplyEffects* const effects_;
  bool in_transaction_ = false;
};

// The two times a read uses (Store::read's contract). `expiry_ms` decides whether keys, leases
// and holders exist. Remaining times (TTL, PTTL, LEASE TTL, ELECT.LEADER) count down from the
// later of it and `local_ms`, the serving node's wall clock, and stop at 0 as Redis's TTL does.
struct ReadClock {
  int64_t expiry_ms;
  int64_t local_ms;

  // REQUIRES: deadline_ms > expiry_ms (the thing exists).
  int64_t remaining_ms(int64_t deadline_ms) const {
    int64_t left = 0;
    // Overflows only for callers' clocks near INT64_MIN; the true value is then huge.
    if (__builtin_sub_overflow(deadline_ms, std::max(expiry_ms, local_ms), &left)) {
      return INT64_MAX;
    }
    return std::max<int64_t>(left, 0);
  }
};

// The record of `key` unless absent or its deadline is at or before `expiry_ms` (read.cc).
const Record* live_record(const Keyspace& keys, std::string_view key, int64_t expiry_ms);

// Evaluates a read-only command (Store::read's contract).
Reply evaluate_read(const Keyspace& keys, const Coordination& coord,
                    std::span<const std::string_view> argv, ReadClock clock, uint64_t random);

}  // namespace bw::kv
