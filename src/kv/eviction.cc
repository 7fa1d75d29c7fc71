#include "kv/eviction.h"

#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"

namespace bw::kv {

namespace {

struct PolicyName {
  EvictionPolicy policy;
  std::string_view name;
};
constexpr PolicyName kPolicies[] = {
    {EvictionPolicy::kVolatileLru, "volatile-lru"},
    {EvictionPolicy::kVolatileLfu, "volatile-lfu"},
    {EvictionPolicy::kVolatileRandom, "volatile-random"},
    {EvictionPolicy::kVolatileTtl, "volatile-ttl"},
    {EvictionPolicy::kAllKeysLru, "allkeys-lru"},
    {EvictionPolicy::kAllKeysLfu, "allkeys-lfu"},
    {EvictionPolicy::kAllKeysRandom, "allkeys-random"},
    {EvictionPolicy::kNoEviction, "noeviction"},
};

bool volatile_only(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLru || p == EvictionPolicy::kVolatileLfu ||
         p == EvictionPolicy::kVolatileRandom || p == EvictionPolicy::kVolatileTtl;
}

// True if `a` is a better eviction candidate than `b` under `p`.
bool better(EvictionPolicy p, const Record& a, const Record& b) {
  switch (p) {
    case EvictionPolicy::kAllKeysLru:
    case EvictionPolicy::kVolatileLru:
      return a.access_seq < b.access_seq;
    case EvictionPolicy::kAllKeysLfu:
    case EvictionPolicy::kVolatileLfu:
      if (a.lfu_counter != b.lfu_counter) return a.lfu_counter < b.lfu_counter;
      return a.access_seq < b.access_seq;
    case EvictionPolicy::kVolatileTtl:
      return a.deadline_ms < b.deadline_ms;
    default:
      return false;  // random: the first draw stands
  }
}

// A record at a random position of the (hash, key) order.
const Record* draw(const Keyspace& keys, std::mt19937_64& rng) {
  auto it = keys.lower_bound(rng());
  if (it == keys.end()) it = keys.begin();
  return it == keys.end() ? nullptr : it->rec;
}

}  // namespace

std::string_view eviction_policy_name(EvictionPolicy p) {
  for (const PolicyName& n : kPolicies) {
    if (n.policy == p) return n.name;
  }
  return "noeviction";
}

std::optional<EvictionPolicy> parse_eviction_policy(std::string_view name) {
  for (const PolicyName& n : kPolicies) {
    if (absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()),
                               absl::string_view(n.name.data(), n.name.size()))) {
      return n.policy;
    }
  }
  return std::nullopt;
}

std::string eviction_policy_names() {
  std::string out;
  for (const PolicyName& n : kPolicies) {
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

EvictionChoice choose_evictions(const Keyspace& keys, EvictionPolicy policy, uint32_t samples,
                                size_t bytes_to_free, uint64_t random) {
  EvictionChoice out;
  if (policy == EvictionPolicy::kNoEviction || keys.size() == 0) return out;
  const bool volatile_keys = volatile_only(policy);
  if (volatile_keys && keys.volatile_count() == 0) return out;
  std::mt19937_64 rng(random);
  absl::flat_hash_set<std::string_view> chosen;
  auto take = [&](const Record* rec) {
    chosen.insert(rec->key);
    out.keys.push_back(rec->key);
    out.bytes += Keyspace::record_bytes(*rec);
  };
  const size_t candidates = volatile_keys ? keys.volatile_count() : keys.size();
  while (out.bytes < bytes_to_free && out.keys.size() < kEvictKeysPerEntryMax &&
         out.keys.size() < candidates) {
    const Record* best = nullptr;
    if (policy == EvictionPolicy::kVolatileTtl) {
      // The deadline index is ordered by deadline: the nearest one not taken yet is the best.
      for (const auto& d : keys.deadlines()) {
        if (!chosen.contains(d.rec->key)) {
          best = d.rec;
          break;
        }
      }
    } else {
      const size_t probes = volatile_keys ? samples * kVolatileProbesPerSample : samples;
      size_t found = 0;
      for (size_t i = 0; i < probes && found < samples; ++i) {
        const Record* rec = draw(keys, rng);
        if (rec == nullptr || chosen.contains(rec->key)) continue;
        if (volatile_keys && rec->deadline_ms == 0) continue;
        ++found;
        if (best == nullptr || better(policy, *rec, *best)) best = rec;
      }
      if (best == nullptr) {
        // Draws kept hitting keys already chosen (or without deadline): walk an index instead.
        if (volatile_keys) {
          for (const auto& d : keys.deadlines()) {
            if (!chosen.contains(d.rec->key)) {
              best = d.rec;
              break;
            }
          }
        } else {
          for (auto it = keys.begin(); it != keys.end(); ++it) {
            if (!chosen.contains(it->rec->key)) {
              best = it->rec;
              break;
            }
          }
        }
      }
    }
    if (best == nullptr) break;
    take(best);
  }
  return out;
}

}  // namespace bw::kv
