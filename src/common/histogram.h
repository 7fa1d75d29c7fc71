// Latency histograms with power-of-two microsecond buckets, the shape every Bellwether latency
// is kept in (command latencies, fsync, proposal to commit) and exported from (INFO, the
// Prometheus endpoint): bucket i counts latencies in [2^(i-1), 2^i) µs, bucket 0 those below
// 1 µs, and the last bucket also takes everything longer than its bound.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace bw {

inline constexpr size_t kLatencyBuckets = 26;  // the last finite bound is 2^24 µs, about 16.8 s

inline size_t latency_bucket(uint64_t us) {
  return std::min<size_t>(static_cast<size_t>(std::bit_width(us)), kLatencyBuckets - 1);
}

// Plain counts: for one thread, or a copy of an AtomicLatencyCounts.
struct LatencyCounts {
  std::array<uint64_t, kLatencyBuckets> counts{};
  uint64_t count = 0;
  uint64_t sum_us = 0;

  void record(uint64_t us) {
    ++counts[latency_bucket(us)];
    ++count;
    sum_us += us;
  }
};

// Recorded by one thread, read by any: every field is a relaxed atomic, so recording costs three
// uncontended increments. A copy taken during a record may be torn across fields (the count one
// ahead of the buckets); readers that need consistency derive the count from the buckets.
class AtomicLatencyCounts {
 public:
  void record(uint64_t us) {
    counts_[latency_bucket(us)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }
  LatencyCounts copy() const {
    LatencyCounts c;
    for (size_t i = 0; i < kLatencyBuckets; ++i) {
      c.counts[i] = counts_[i].load(std::memory_order_relaxed);
    }
    c.count = count_.load(std::memory_order_relaxed);
    c.sum_us = sum_us_.load(std::memory_order_relaxed);
    return c;
  }

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace bw
