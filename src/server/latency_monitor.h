// LATENCY: Redis's latency monitor. Events (`command`, `fast-command`, ...) that took at least
// NodeConfig::latency_monitor_threshold_ms are recorded per second: LATEST and HISTORY read them
// back in Redis's reply formats. LATENCY HISTOGRAM reads the per-command histograms of
// CommandStats.
//
// Thread safety: none; the node's event-loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "resp/writer.h"
#include "server/command_stats.h"

namespace bw::server {

class LatencyMonitor {
 public:
  // Samples kept per event (Redis's LATENCY_TS_LEN): one per second, the newest ones.
  static constexpr size_t kSamplesMax = 160;
  // Distinct events kept, at most (the node records a handful; a bound all the same).
  static constexpr size_t kEventsMax = 64;

  // A sample of `ms` for `event` at `unix_s`; samples of one second keep the largest.
  void add(std::string_view event, uint64_t ms, int64_t unix_s);
  // LATENCY LATEST: [event, time, latest ms, max ms] per event.
  void write_latest(resp::Writer& w) const;
  // LATENCY HISTORY event: [time, ms] per sample, oldest first.
  void write_history(resp::Writer& w, std::string_view event) const;
  // LATENCY RESET [event...]: how many events were reset (all with no names).
  size_t reset(std::span<const std::string_view> events);
  // LATENCY DOCTOR: a short human-readable report.
  std::string doctor(uint64_t threshold_ms) const;

 private:
  struct Sample {
    int64_t unix_s = 0;
    uint64_t ms = 0;
  };
  struct Event {
    std::array<Sample, kSamplesMax> samples{};
    size_t next = 0;  // where the next new sample goes
    size_t count = 0;
    uint64_t max_ms = 0;
    const Sample& latest() const { return samples[(next + kSamplesMax - 1) % kSamplesMax]; }
  };
  std::map<std::string, Event, std::less<>> events_;
};

// LATENCY HISTOGRAM [command...]: for each command (all that ran, with none named) a map of its
// calls and cumulative counts per power-of-two microsecond bucket, in Redis's shape.
void write_latency_histogram(resp::Writer& w, const CommandStats& stats,
                             std::span<const std::string_view> commands);

}  // namespace bw::server
