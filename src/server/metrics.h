// The node's Prometheus metrics (docs/monitoring.md lists them): a plain copy of what the node
// reports, taken on its event loop (Node::metrics_snapshot, node_metrics.cc), and its conversion
// into prometheus-cpp's MetricFamily values and the text exposition format, done on an HTTP
// thread. Nothing here touches the node.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/histogram.h"

namespace bw::server {

struct FollowerMetrics {
  uint64_t id = 0;
  uint64_t match = 0;
  uint64_t lag_entries = 0;  // the leader's last index - match
  bool learner = false;
  bool recent_active = false;
  uint64_t snapshot_bytes_sent = 0;  // while a snapshot streams to it, else 0
  uint64_t snapshot_bytes_total = 0;
};

struct PeerMetrics {
  uint64_t id = 0;
  bool connected = false;
  uint64_t frames_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t frames_received = 0;
  uint64_t bytes_received = 0;
  uint64_t frames_dropped = 0;
  uint64_t bytes_queued = 0;
};

struct MetricsSnapshot {
  std::string version;
  uint64_t node_id = 0;
  uint64_t group = 1;
  std::string role;  // leader | follower | candidate | learner ...; raft::role_name
  uint64_t term = 0;
  uint64_t leader_id = 0;  // 0: none known
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t voters = 0;
  uint64_t learners = 0;
  std::vector<FollowerMetrics> followers;  // leader only

  uint64_t proposals = 0;
  uint64_t entries_applied = 0;
  uint64_t commands = 0;
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t forwarded = 0;
  uint64_t read_index_rounds = 0;
  uint64_t read_index_answered = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_installed = 0;
  uint64_t snapshot_last_bytes = 0;
  uint64_t snapshot_last_duration_ms = 0;
  bool snapshot_in_progress = false;

  uint64_t connections = 0;
  uint64_t connections_total = 0;
  uint64_t rejected_connections = 0;
  uint64_t rss_bytes = 0;
  uint64_t keys = 0;
  uint64_t store_bytes = 0;  // kv::Store::memory_bytes_estimate
  uint64_t maxmemory_bytes = 0;
  uint64_t evicted_keys = 0;
  uint64_t output_limit_disconnections = 0;
  double uptime_seconds = 0;
  std::vector<PeerMetrics> peers;

  LatencyCounts fsync_latency;
  LatencyCounts commit_latency;
  std::map<std::string, LatencyCounts> command_latency;  // by command name
  std::map<std::string, uint64_t> command_failures;      // by command name
};

// A Prometheus histogram from power-of-two microsecond buckets: `le` in seconds (2^i µs), counts
// cumulative, the last bucket +Inf, sum in seconds. The count is the buckets' total, so it always
// matches the +Inf bucket even if a concurrent record tore the copy.
prometheus::ClientMetric::Histogram to_prometheus_histogram(const LatencyCounts& c);

std::vector<prometheus::MetricFamily> metric_families(const MetricsSnapshot& s);
// The text exposition format (version 0.0.4).
std::string render_metrics(const MetricsSnapshot& s);
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace bw::server
