// Per-operation counts and latencies of a load run, and their JSON summary: shared by resp-load
// and etcd-load so that both print the same fields.
//
//   {"requests", "errors", "p50_ms", "p99_ms", "avg_ms", "max_ms"}  (+ "misses" for reads)
//
// requests counts completed requests, failed ones included; errors those that failed; latencies
// are those of the successful requests. Percentiles are nearest-rank.
//
// Thread safety: none; each thread keeps its own OpStats and merges them at the end.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace bw::bench {

// Latency samples reserved up front at most, per operation and thread (16 MiB of them).
inline constexpr uint64_t kLatencySamplesReserveMax = 1 << 22;

struct OpStats {
  std::vector<uint32_t> latencies_us;  // successful requests only
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t misses = 0;  // reads that found no value (not errors)

  void ok(std::chrono::steady_clock::duration latency) {
    requests++;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
    latencies_us.push_back(static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX)));
  }
  void failed() {
    requests++;
    errors++;
  }
  void merge(const OpStats& o) {
    latencies_us.insert(latencies_us.end(), o.latencies_us.begin(), o.latencies_us.end());
    requests += o.requests;
    errors += o.errors;
    misses += o.misses;
  }
};

// Nearest-rank percentile of sorted samples, in milliseconds.
inline double percentile_ms(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1] / 1000.0;
}

inline double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

// The summary of one operation's stats (sorts its samples).
inline nlohmann::ordered_json summarize(OpStats* s, bool with_misses) {
  std::sort(s->latencies_us.begin(), s->latencies_us.end());
  double sum_us = 0;
  for (uint32_t us : s->latencies_us) sum_us += us;
  const size_t ok = s->latencies_us.size();
  nlohmann::ordered_json j;
  j["requests"] = s->requests;
  j["errors"] = s->errors;
  if (with_misses) j["misses"] = s->misses;
  j["p50_ms"] = round3(percentile_ms(s->latencies_us, 0.50));
  j["p99_ms"] = round3(percentile_ms(s->latencies_us, 0.99));
  j["avg_ms"] = round3(ok == 0 ? 0 : sum_us / static_cast<double>(ok) / 1000.0);
  j["max_ms"] = round3(ok == 0 ? 0 : s->latencies_us.back() / 1000.0);
  return j;
}

// The JSON line of a mixed run: totals, then "read" and "update". Sorts the samples.
// rps: successful requests per second of `seconds`.
inline nlohmann::ordered_json mixed_summary(std::string_view workload, OpStats* read,
                                            OpStats* update, double seconds) {
  OpStats all;
  all.merge(*read);
  all.merge(*update);
  nlohmann::ordered_json j;
  j["workload"] = std::string(workload);
  nlohmann::ordered_json total = summarize(&all, false);
  for (auto& [k, v] : total.items()) j[k] = v;
  j["seconds"] = round3(seconds);
  const auto ok = static_cast<double>(all.requests - all.errors);
  j["rps"] = std::round(seconds > 0 ? ok / seconds * 10.0 : 0) / 10.0;
  j["read"] = summarize(read, true);
  j["update"] = summarize(update, false);
  return j;
}

}  // namespace bw::bench
