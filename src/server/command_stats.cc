#include "server/command_stats.h"

#include <bit>

namespace bw::server {

void LatencyHistogram::record(uint64_t us) {
  const size_t i = std::min<size_t>(static_cast<size_t>(std::bit_width(us)), kBuckets - 1);
  ++counts[i];
  ++count;
  sum_us += us;
}

uint64_t LatencyHistogram::percentile_us(double p) const {
  if (count == 0) return 0;
  const double want = p / 100.0 * static_cast<double>(count);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (static_cast<double>(seen) >= want && seen > 0) return bucket_upper_us(i);
  }
  return bucket_upper_us(kBuckets - 1);
}

CommandStat& CommandStats::stat(std::string_view name) {
  auto it = commands_.find(name);
  if (it == commands_.end()) it = commands_.emplace(std::string(name), CommandStat{}).first;
  return it->second;
}

void CommandStats::record(std::string_view name, uint64_t usec, bool failed) {
  CommandStat& s = stat(name);
  ++s.calls;
  s.usec += usec;
  if (failed) ++s.failed_calls;
  s.latency.record(usec);
}

void CommandStats::record_rejected(std::string_view name) {
  ++stat(name).rejected_calls;
}

void CommandStats::record_error(std::string_view prefix) {
  ++total_errors_;
  auto it = errors_.find(prefix);
  if (it == errors_.end()) {
    if (errors_.size() >= kErrorPrefixesMax) prefix = kErrorPrefixOverflow;
    it = errors_.try_emplace(std::string(prefix), 0).first;
  }
  ++it->second;
}

void CommandStats::reset() {
  for (auto& [name, s] : commands_) s = CommandStat{};
  errors_.clear();
  total_errors_ = 0;
}

}  // namespace bw::server
