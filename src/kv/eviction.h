// Choosing keys to evict when the dataset is over maxmemory (Redis's maxmemory-policy). The
// leader calls choose_evictions() and proposes the keys it returns in one encode_evict_keys
// entry; every node deletes exactly those keys when the entry applies ("evicted" events), so
// nodes never decide evictions on their own.
//
// Sampling is Redis's approximation: for each key to evict, `samples` keys are drawn at random
// and the best candidate among them (least recently used, least frequently used, nearest
// deadline, or any) is taken. LRU/LFU use the access tracking of the node that chooses
// (Record::access_seq, lfu_counter): local to it, never replicated.
//
// Thread safety: none; pure functions over a Keyspace the caller owns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/keyspace.h"

namespace bw::kv {

enum class EvictionPolicy : uint8_t {
  kNoEviction,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
};

// Redis's names: "noeviction", "allkeys-lru", ... (lower case).
std::string_view eviction_policy_name(EvictionPolicy p);
// Case-insensitive; nullopt for an unknown name.
std::optional<EvictionPolicy> parse_eviction_policy(std::string_view name);
// "noeviction, allkeys-lru, ..." in Redis's order, for error messages.
std::string eviction_policy_names();

// Redis's maxmemory-samples bounds (default 5).
inline constexpr uint32_t kEvictionSamplesMin = 1;
inline constexpr uint32_t kEvictionSamplesMax = 64;
// Most keys one eviction entry deletes; the leader proposes another entry if that was not enough.
inline constexpr size_t kEvictKeysPerEntryMax = 256;
// volatile-*: random probes per sample before falling back to the deadline index (the keys with
// a deadline may be a small part of the keyspace).
inline constexpr size_t kVolatileProbesPerSample = 4;

struct EvictionChoice {
  std::vector<std::string> keys;  // distinct, in the order chosen
  size_t bytes = 0;               // what deleting them takes off memory_bytes_estimate()
};

// Keys whose deletion frees at least `bytes_to_free` (by Keyspace::record_bytes), at most
// kEvictKeysPerEntryMax of them, each the best of `samples` random draws under `policy`.
// Returns fewer (possibly none) when the policy has no candidates left (volatile-* without keys
// that have a deadline, noeviction always). `random` seeds the draws.
EvictionChoice choose_evictions(const Keyspace& keys, EvictionPolicy policy, uint32_t samples,
                                size_t bytes_to_free, uint64_t random);

}  // namespace bw::kv
