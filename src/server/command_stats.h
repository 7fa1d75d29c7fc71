// Per-command statistics of one node: what INFO commandstats / latencystats / errorstats, SLOWLOG,
// LATENCY and the Prometheus command metrics report. Kept on the event-loop thread; readers on
// other threads (the metrics endpoint) take a copy there.
//
// A command's latency runs from the moment the node received it to the moment its reply was
// ready: for a write that includes the quorum fsync, for a linearizable read the ReadIndex round.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace bw::server {

// Latencies in power-of-two microsecond buckets: bucket i counts latencies in
// [2^(i-1), 2^i) µs (bucket 0: below 1 µs); the last bucket also takes everything longer.
struct LatencyHistogram {
  static constexpr size_t kBuckets = 26;  // the last finite bound is 2^24 µs, about 16.8 s
  std::array<uint64_t, kBuckets> counts{};
  uint64_t count = 0;
  uint64_t sum_us = 0;

  void record(uint64_t us);
  // Upper bound of bucket i in microseconds (2^i).
  static uint64_t bucket_upper_us(size_t i) { return uint64_t{1} << i; }
  // The latency below which `p` percent of the recorded ones fall (a bucket's upper bound);
  // 0 with nothing recorded.
  uint64_t percentile_us(double p) const;
};

struct CommandStat {
  uint64_t calls = 0;           // commands that ran (answered with a reply or an error)
  uint64_t usec = 0;            // their latencies, summed
  uint64_t rejected_calls = 0;  // refused before running (arity, wrong state, MULTI errors)
  uint64_t failed_calls = 0;    // ran and answered with an error
  LatencyHistogram latency;
};

class CommandStats {
 public:
  // Distinct error prefixes counted, at most (Redis's errorstats limit): beyond it, further new
  // prefixes are counted under kErrorPrefixOverflow only.
  static constexpr size_t kErrorPrefixesMax = 128;
  static constexpr std::string_view kErrorPrefixOverflow = "ERRORSTATS_OVERFLOW";

  // One answered command. `name` is THE command table's name (lower case; "client|list" style
  // names for subcommands are not used: the container command counts).
  void record(std::string_view name, uint64_t usec, bool failed);
  void record_rejected(std::string_view name);
  // The statistics of one command, created on first use. The reference stays valid for the
  // life of this object (reset() zeroes entries in place), so callers may keep it.
  CommandStat& stat(std::string_view name);
  // An error reply by its prefix ("ERR", "WRONGTYPE", ...): INFO errorstats.
  void record_error(std::string_view prefix);
  // Every error reply counted (INFO stats total_error_replies).
  uint64_t total_errors() const { return total_errors_; }

  // Entries whose counts are all zero (after reset()) are kept: readers skip them as they like.
  const std::map<std::string, CommandStat, std::less<>>& commands() const { return commands_; }
  const std::map<std::string, uint64_t, std::less<>>& errors() const { return errors_; }
  void reset();  // CONFIG RESETSTAT

 private:
  std::map<std::string, CommandStat, std::less<>> commands_;
  std::map<std::string, uint64_t, std::less<>> errors_;
  uint64_t total_errors_ = 0;
};

}  // namespace bw::server
