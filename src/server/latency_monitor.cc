#include "server/latency_monitor.h"

#include <fmt/format.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "resp/command_table.h"

namespace bw::server {

void LatencyMonitor::add(std::string_view event, uint64_t ms, int64_t unix_s) {
  auto it = events_.find(event);
  if (it == events_.end()) {
    if (events_.size() >= kEventsMax) return;
    it = events_.emplace(std::string(event), Event{}).first;
  }
  Event& e = it->second;
  e.max_ms = std::max(e.max_ms, ms);
  if (e.count > 0) {
    Sample& last = e.samples[(e.next + kSamplesMax - 1) % kSamplesMax];
    if (last.unix_s == unix_s) {
      last.ms = std::max(last.ms, ms);
      return;
    }
  }
  e.samples[e.next] = Sample{.unix_s = unix_s, .ms = ms};
  e.next = (e.next + 1) % kSamplesMax;
  e.count = std::min(e.count + 1, kSamplesMax);
}

void LatencyMonitor::write_latest(resp::Writer& w) const {
  w.array(events_.size());
  for (const auto& [name, e] : events_) {
    w.array(4);
    w.bulk(name);
    w.integer(e.latest().unix_s);
    w.integer(static_cast<int64_t>(e.latest().ms));
    w.integer(static_cast<int64_t>(e.max_ms));
  }
}

void LatencyMonitor::write_history(resp::Writer& w, std::string_view event) const {
  auto it = events_.find(event);
  if (it == events_.end()) {
    w.array(0);
    return;
  }
  const Event& e = it->second;
  w.array(e.count);
  for (size_t i = 0; i < e.count; ++i) {
    const Sample& s = e.samples[(e.next + kSamplesMax - e.count + i) % kSamplesMax];
    w.array(2);
    w.integer(s.unix_s);
    w.integer(static_cast<int64_t>(s.ms));
  }
}

size_t LatencyMonitor::reset(std::span<const std::string_view> events) {
  if (events.empty()) {
    size_t n = events_.size();
    events_.clear();
    return n;
  }
  size_t n = 0;
  for (std::string_view name : events) {
    auto it = events_.find(name);
    if (it == events_.end()) continue;
    events_.erase(it);
    ++n;
  }
  return n;
}

std::string LatencyMonitor::doctor(uint64_t threshold_ms) const {
  if (threshold_ms == 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Bellwether "
           "node. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order "
           "to enable it.\n";
  }
  if (events_.empty()) {
    return "Dave, no latency spike was observed during the lifetime of this Bellwether node, not "
           "in the slightest bit.\n";
  }
  std::string out = "Dave, I have observed latency spikes in this Bellwether node.\n\n";
  int i = 1;
  for (const auto& [name, e] : events_) {
    uint64_t sum = 0;
    for (size_t k = 0; k < e.count; ++k) sum += e.samples[k].ms;
    out += fmt::format(
        "{}. {}: {} latency spikes (average {}ms, mean deviation 0ms, period 0 sec). Worst all "
        "time event {}ms.\n",
        i++, name, e.count, e.count == 0 ? 0 : sum / e.count, e.max_ms);
  }
  out +=
      "\nCommands slower than their usual time show in SLOWLOG GET; writes wait for a quorum "
      "fsync, so a slow disk on a majority of the nodes slows every write.\n";
  return out;
}

namespace {

void write_one_histogram(resp::Writer& w, const LatencyHistogram& h) {
  w.map(2);
  w.bulk("calls");
  w.integer(static_cast<int64_t>(h.count));
  w.bulk("histogram_usec");
  size_t buckets = 0;
  for (uint64_t c : h.counts) buckets += c > 0 ? 1 : 0;
  w.map(buckets);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (h.counts[i] == 0) continue;
    cumulative += h.counts[i];
    w.integer(static_cast<int64_t>(LatencyHistogram::bucket_upper_us(i)));
    w.integer(static_cast<int64_t>(cumulative));
  }
}

}  // namespace

void write_latency_histogram(resp::Writer& w, const CommandStats& stats,
                             std::span<const std::string_view> commands) {
  std::vector<std::pair<std::string_view, const LatencyHistogram*>> out;
  const auto& all = stats.commands();
  if (commands.empty()) {
    for (const auto& [name, s] : all) {
      if (s.latency.count > 0) out.emplace_back(name, &s.latency);
    }
  } else {
    for (std::string_view c : commands) {
      std::string name = absl::AsciiStrToLower(absl::string_view(c.data(), c.size()));
      auto it = all.find(name);
      if (it == all.end() || it->second.latency.count == 0) continue;
      bool seen =
          std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == name; });
      if (!seen) out.emplace_back(it->first, &it->second.latency);
    }
  }
  w.map(out.size());
  for (const auto& [name, h] : out) {
    w.bulk(name);
    write_one_histogram(w, *h);
  }
}

}  // namespace bw::server
