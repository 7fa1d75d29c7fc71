// The node's operations HTTP endpoint: the pages it serves and the copy of the node's state
// they are rendered from (docs/monitoring.md). The copy is taken on the event loop; rendering
// runs on the HTTP server's threads.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "server/dashboard.h"
#include "server/info.h"
#include "server/metrics.h"
#include "server/node.h"

namespace bw::server {

Status Node::start_ops_http() {
  if (config_.metrics_listen.empty()) return OkStatus();
  ops_http_ = std::make_unique<OpsHttpServer>(io_);
  OpsHttpServer* http = ops_http_.get();
  http->add_get("/metrics", [this, http](const HttpRequest&) {
    std::optional<MetricsSnapshot> s =
        http->run_on_loop<MetricsSnapshot>([this] { return metrics_snapshot(); });
    if (!s) return OpsHttpServer::unavailable();
    return HttpResponse{.content_type = kMetricsContentType, .body = render_metrics(*s)};
  });
  http->add_get("/healthz", [this, http](const HttpRequest&) {
    std::optional<std::string> role = http->run_on_loop<std::string>([this] {
      return std::string(stopping_ ? "stopping" : raft::role_name(raft_status().role));
    });
    if (!role) return OpsHttpServer::unavailable();
    return HttpResponse{
        .status = *role == "stopping" ? 503 : 200,
        .body = fmt::format("{} {}\n", *role == "stopping" ? "stopping" : "ok", *role)};
  });
  // The dashboard: the page, and the cluster as this node finds it by asking every member over
  // RESP (blocking, on the HTTP thread, never on the loop).
  http->add_get("/", [](const HttpRequest&) {
    return HttpResponse{.content_type = "text/html; charset=utf-8",
                        .body = std::string(dashboard_page())};
  });
  http->add_get("/api/cluster", [this, http,
                                 self = dashboard_probe_address(member_client_address()),
                                 id = std::to_string(config_.id.value())](const HttpRequest&) {
    // masterauth may change at run time: read on the loop, which owns the configuration.
    std::optional<ClientConnectOptions> connect =
        http->run_on_loop<ClientConnectOptions>([this] { return member_connect_options(); });
    if (!connect) return OpsHttpServer::unavailable();
    auto probes = probe_cluster(self, kDashboardInfoSections, *connect);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (!probes.ok()) {
      return HttpResponse{.status = 503,
                          .content_type = "application/json",
                          .body = cluster_error_json(to_std(probes.status().message()), now)};
    }
    return HttpResponse{.content_type = "application/json", .body = cluster_json(*probes, id, now)};
  });
  if (Status st = http->start(config_.metrics_listen); !st.ok()) {
    return absl::Status(st.code(), fmt::format("metrics-listen: {}", st.message()));
  }
  spdlog::info("node {}: metrics on http://{}/metrics, dashboard on http://{}/", config_.id,
               config_.metrics_listen, config_.metrics_listen);
  return OkStatus();
}

MetricsSnapshot Node::metrics_snapshot() const {
  MetricsSnapshot s;
  s.version = BW_VERSION;
  s.node_id = config_.id.value();
  s.group = kDataGroup.value();
  const raft::NodeStatus st = raft_status();
  s.role = raft::role_name(st.role);
  s.term = st.term.value();
  s.leader_id = st.leader.value();
  s.commit_index = st.commit.value();
  s.applied_index = replica_->applied().value();
  s.last_index = st.last_index.value();
  s.snapshot_index = snapshot_index_.value();
  s.voters = st.conf.voters.size();
  s.learners = st.conf.learners.size();
  for (const raft::FollowerProgress& p : st.progress) {
    if (p.id == config_.id) continue;
    s.followers.push_back(FollowerMetrics{
        .id = p.id.value(),
        .match = p.match.value(),
        .lag_entries = st.last_index > p.match ? st.last_index.value() - p.match.value() : 0,
        .learner = p.learner,
        .recent_active = p.recent_active,
        .snapshot_bytes_sent = p.snapshot_bytes_sent,
        .snapshot_bytes_total = p.snapshot_bytes_total});
  }

  const NodeCounters c = counters();
  const replica::Counters& rc = replica_->counters();
  s.proposals = rc.proposals;
  s.entries_applied = rc.entries_applied;
  s.commands = c.commands;
  s.writes = c.writes;
  s.reads = c.reads;
  s.forwarded = c.forwarded;
  s.read_index_rounds = c.read_index_rounds;
  s.read_index_answered = c.read_index_answered;
  s.snapshots_taken = c.snapshots_taken;
  s.snapshots_installed = c.snapshots_installed;
  s.snapshot_last_bytes = c.snapshot_last_bytes;
  s.snapshot_last_duration_ms = c.snapshot_last_duration_ms;
  s.snapshot_in_progress = snapshot_in_progress();

  s.connections = sessions_.size();
  s.connections_total = c.connections_total;
  s.rejected_connections = c.rejected_connections;
  s.rss_bytes = resident_memory_bytes();
  s.keys = store().key_count();
  s.store_bytes = store().memory_bytes_estimate();
  s.maxmemory_bytes = config_.maxmemory_bytes;
  s.evicted_keys = store().evicted_keys();
  s.output_limit_disconnections = c.output_limit_disconnections;
  s.uptime_seconds = static_cast<double>(now_ms() - started_ms_) / 1e3;
  for (const auto& [id, link] : linked_peers_) {
    const net::PeerStats p = peer_stats(id);
    s.peers.push_back(PeerMetrics{.id = id.value(),
                                  .connected = p.connected,
                                  .frames_sent = p.frames_sent,
                                  .bytes_sent = p.bytes_sent,
                                  .frames_received = p.frames_received,
                                  .bytes_received = p.bytes_received,
                                  .frames_dropped = p.frames_dropped,
                                  .bytes_queued = p.bytes_queued});
  }

  s.fsync_latency = storage_->fsync_latency().copy();
  s.commit_latency = replica_->commit_latency();
  static_assert(LatencyHistogram::kBuckets == kLatencyBuckets, "one bucket layout");
  for (const auto& [name, stat] : command_stats_.commands()) {
    if (stat.latency.count == 0) continue;  // only ever rejected
    LatencyCounts& l = s.command_latency[name];
    std::copy(stat.latency.counts.begin(), stat.latency.counts.end(), l.counts.begin());
    l.count = stat.latency.count;
    l.sum_us = stat.latency.sum_us;
    s.command_failures[name] = stat.failed_calls;
  }
  return s;
}

}  // namespace bw::server
