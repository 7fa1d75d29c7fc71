// The replicated state machine: applies committed entry payloads (command.h) to the keyspace
// deterministically and evaluates read-only commands. Redis 7 semantics and error texts for the
// string and keyspace commands; only strings exist as a type.
//
// Include this header for the whole kv API (Reply, encode_write, encode_expire_key, Store).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kv/command.h"
#include "kv/keyspace.h"
#include "kv/reply.h"

namespace bw::kv {

// A keyspace notification as Redis emits it: event names follow Redis ("set", "del", "expired",
// "expire", "incrby", "incrbyfloat", "append", "setrange", "rename_from", "rename_to", "persist").
struct KeyEvent {
  std::string key;
  std::string event;
  bool operator==(const KeyEvent&) const = default;
};

// Bounds on work done by one read command.
inline constexpr size_t kScanCountMax = 100000;     // SCAN COUNT is clamped to this
inline constexpr size_t kRandomKeyProbesMax = 100;  // expired keys skipped by RANDOMKEY

// Not thread safe; owned by the node's event loop. Replicas that apply the same payloads at the
// same indexes hold identical state (and snapshot() returns identical bytes).
class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  Store(Store&&) = default;
  Store& operator=(Store&&) = default;

  // Applies a committed entry payload at log index `index`. Deterministic: uses only the payload
  // (its now_ms is the time for every expiry decision) and `index`. Returns the reply for the
  // client that proposed it. Appends keyspace events to *events when non-null.
  // REQUIRES: index > applied_index(). A payload that does not decode is a BW_ASSERT failure (the
  // log is checksummed; a bad entry here is a bug).
  Reply apply(uint64_t index, std::string_view payload, std::vector<KeyEvent>* events = nullptr);

  // Evaluates a read-only command locally (argv[0] is the name, any case), hiding keys whose
  // deadline <= now_ms. `random` seeds RANDOMKEY. Commands: GET MGET EXISTS STRLEN GETRANGE TTL
  // PTTL EXPIRETIME PEXPIRETIME TYPE KEYS SCAN RANDOMKEY DBSIZE GETVER. Errors for arity, syntax
  // and unknown commands come back as error Replies. GETVER key answers [value, version] or a nil
  // bulk. SCAN cursors are the next 64-bit key hash to visit (the same on every node, so a scan
  // may continue on another node); COUNT records are visited per call (plus the rest of the last
  // hash's keys). DBSIZE, like Redis's, counts keys whose deadline passed until they are removed.
  Reply read(std::span<const std::string_view> argv, int64_t now_ms, uint64_t random) const;

  // Active expiry, leader side: up to `max` (key, deadline) pairs with deadline <= now_ms,
  // resuming where the previous call stopped and starting over once it reaches the end, so
  // repeated calls cycle through all expired keys. Propose encode_expire_key for each.
  std::vector<std::pair<std::string, int64_t>> expired_keys(int64_t now_ms, size_t max);

  // Full image: versioned, checksummed encoding of applied_index and every key (format in
  // snapshot.cc).
  std::string snapshot() const;
  // Replaces the contents with `image`. On error (corrupt or unknown-version image) the store is
  // left empty with applied_index 0.
  Status restore(std::string_view image);

  uint64_t applied_index() const { return applied_index_; }
  // Keys held, including those whose deadline passed but that are not removed yet.
  size_t key_count() const { return keys_.size(); }
  // Heap bytes held by keys, values and indexes (an estimate: allocator overhead approximated).
  size_t memory_bytes_estimate() const { return keys_.memory_bytes_estimate(); }

 private:
  Keyspace keys_;
  uint64_t applied_index_ = 0;
  // expired_keys() resume point (leader-local, not part of the replicated state).
  int64_t expiry_cursor_deadline_ms_ = 0;
  std::string expiry_cursor_key_;
};

}  // namespace bw::kv
