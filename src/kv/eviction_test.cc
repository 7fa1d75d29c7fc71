#include "kv/eviction.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "kv/store.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;

TEST(KvMemoryEstimate, CountsKeysValuesAndOverhead) {
  Harness h;
  EXPECT_EQ(h.store().memory_bytes_estimate(), 0u);
  h.run({"SET", "k", std::string(100, 'v')});
  EXPECT_EQ(h.store().memory_bytes_estimate(), 1 + 100 + kRecordOverheadBytes);
  h.run({"EXPIRE", "k", "100"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), 1 + 100 + kRecordOverheadBytes + kIndexEntryBytes);
  h.run({"APPEND", "k", "xx"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), 1 + 102 + kRecordOverheadBytes + kIndexEntryBytes);
  h.run({"DEL", "k"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), 0u);
}

TEST(KvMemoryEstimate, SameContentsSameFigureWhateverTheHistory) {
  Harness a;
  Harness b;
  for (int i = 0; i < 2000; ++i) a.run({"SET", fmt::format("key:{}", i), "value"});
  for (int i = 100; i < 2000; ++i) a.run({"DEL", fmt::format("key:{}", i)});
  for (int i = 0; i < 100; ++i) b.run({"SET", fmt::format("key:{}", i), "value"});
  EXPECT_EQ(a.store().memory_bytes_estimate(), b.store().memory_bytes_estimate());
  // A snapshot restored elsewhere gives the same figure too.
  Store c;
  ASSERT_TRUE(c.restore(a.store().snapshot()).ok());
  EXPECT_EQ(c.memory_bytes_estimate(), a.store().memory_bytes_estimate());
}

TEST(KvEviction, PolicyNamesRoundTrip) {
  for (auto p :
       {EvictionPolicy::kNoEviction, EvictionPolicy::kAllKeysLru, EvictionPolicy::kAllKeysLfu,
        EvictionPolicy::kAllKeysRandom, EvictionPolicy::kVolatileLru, EvictionPolicy::kVolatileLfu,
        EvictionPolicy::kVolatileRandom, EvictionPolicy::kVolatileTtl}) {
    EXPECT_EQ(parse_eviction_policy(eviction_policy_name(p)), p);
  }
  EXPECT_EQ(parse_eviction_policy("ALLKEYS-LRU"), EvictionPolicy::kAllKeysLru);
  EXPECT_FALSE(parse_eviction_policy("lru").has_value());
}

TEST(KvEviction, NoEvictionChoosesNothing) {
  Harness h;
  h.run({"SET", "a", "1"});
  EXPECT_TRUE(h.store().choose_evictions(EvictionPolicy::kNoEviction, 5, 1000, 1).keys.empty());
}

TEST(KvEviction, FreesAtLeastWhatIsAsked) {
  Harness h;
  for (int i = 0; i < 1000; ++i) h.run({"SET", fmt::format("key:{}", i), std::string(100, 'v')});
  const size_t per_key = 7 + 100 + kRecordOverheadBytes;  // "key:NNN"
  EvictionChoice c = h.store().choose_evictions(EvictionPolicy::kAllKeysRandom, 5, 10 * per_key, 7);
  EXPECT_GE(c.bytes, 10 * per_key - 10 * 2);  // keys "key:N" are shorter
  EXPECT_LE(c.keys.size(), 11u);
  std::set<std::string> distinct(c.keys.begin(), c.keys.end());
  EXPECT_EQ(distinct.size(), c.keys.size());
  // Bounded per entry however much is asked.
  c = h.store().choose_evictions(EvictionPolicy::kAllKeysRandom, 5, SIZE_MAX, 7);
  EXPECT_EQ(c.keys.size(), kEvictKeysPerEntryMax);
}

TEST(KvEviction, LruPrefersKeysNotTouched) {
  Harness h;
  for (int i = 0; i < 200; ++i) h.run({"SET", fmt::format("key:{}", i), "v"});
  // Touch every key but the first 20 (reads served on this node).
  for (int i = 20; i < 200; ++i) h.store().touch(fmt::format("key:{}", i), 1);
  size_t old_hits = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    EvictionChoice c = h.store().choose_evictions(EvictionPolicy::kAllKeysLru, 10, 1, seed);
    ASSERT_EQ(c.keys.size(), 1u);
    int n = std::stoi(c.keys[0].substr(4));
    if (n < 20) ++old_hits;
  }
  // With 10 samples of 200 keys of which 20 are old, a sample holds an old key with probability
  // 1 - 0.9^10 = 65%; random choice would pick one 10% of the time.
  EXPECT_GE(old_hits, 20u);
}

TEST(KvEviction, LfuPrefersRarelyUsedKeys) {
  Harness h;
  for (int i = 0; i < 100; ++i) h.run({"SET", fmt::format("key:{}", i), "v"});
  for (int round = 0; round < 50; ++round) {
    for (int i = 10; i < 100; ++i) {
      h.store().touch(fmt::format("key:{}", i), static_cast<uint64_t>(round * 7919 + i));
    }
  }
  size_t rare_hits = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    EvictionChoice c = h.store().choose_evictions(EvictionPolicy::kAllKeysLfu, 10, 1, seed);
    ASSERT_EQ(c.keys.size(), 1u);
    if (std::stoi(c.keys[0].substr(4)) < 10) ++rare_hits;
  }
  EXPECT_GE(rare_hits, 20u);
}

TEST(KvEviction, VolatilePoliciesOnlyTakeKeysWithDeadline) {
  Harness h;
  for (int i = 0; i < 100; ++i) h.run({"SET", fmt::format("p:{}", i), "v"});
  EXPECT_TRUE(
      h.store().choose_evictions(EvictionPolicy::kVolatileLru, 5, SIZE_MAX, 1).keys.empty());
  h.run({"SET", "t:far", "v", "EX", "1000"});
  h.run({"SET", "t:near", "v", "EX", "10"});
  h.run({"SET", "t:mid", "v", "EX", "100"});
  EvictionChoice ttl = h.store().choose_evictions(EvictionPolicy::kVolatileTtl, 5, 1, 1);
  ASSERT_EQ(ttl.keys.size(), 1u);
  EXPECT_EQ(ttl.keys[0], "t:near");
  for (auto p : {EvictionPolicy::kVolatileLru, EvictionPolicy::kVolatileLfu,
                 EvictionPolicy::kVolatileRandom, EvictionPolicy::kVolatileTtl}) {
    EvictionChoice c = h.store().choose_evictions(p, 5, SIZE_MAX, 3);
    EXPECT_EQ(c.keys.size(), 3u) << eviction_policy_name(p);
    for (const std::string& k : c.keys) EXPECT_EQ(k.substr(0, 2), "t:");
  }
}

TEST(KvEviction, EvictEntryDeletesOnEveryReplicaWithEvents) {
  Harness h;
  h.run({"SET", "a", "1"});
  h.run({"SET", "b", "2"});
  std::vector<std::string> keys = {"a", "missing", "b"};
  h.take_events();
  Reply r = h.propose(encode_evict_keys(keys, h.now_ms()));
  std::vector<KeyEvent> events = h.take_events();
  EXPECT_EQ(testing::render(r), "(integer) 2");
  EXPECT_EQ(h.store().key_count(), 0u);
  EXPECT_EQ(h.store().evicted_keys(), 2u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (KeyEvent{"a", "evicted"}));
  EXPECT_EQ(events[1], (KeyEvent{"b", "evicted"}));
}

}  // namespace
}  // namespace bw::kv
