#include "server/metrics.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <deque>
#include <iterator>
#include <limits>
#include <string_view>
#include <utility>

namespace bw::server {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

constexpr double kMicrosPerSecond = 1e6;
// Every role raft::role_name names: one series each, 1 for the node's current role.
constexpr std::array<std::string_view, 5> kRoles = {"leader", "follower", "candidate",
                                                    "pre-candidate", "learner"};

// Collects families; gauge() etc. add a sample with labels to one. References to families stay
// valid while more are added (a deque).
class FamilyBuilder {
 public:
  explicit FamilyBuilder(std::deque<MetricFamily>* out) : out_(out) {}

  MetricFamily& family(std::string name, std::string help, MetricType type) {
    out_->push_back(MetricFamily{.name = std::move(name), .help = std::move(help), .type = type});
    return out_->back();
  }
  void gauge(MetricFamily& f, double value, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }
  void counter(MetricFamily& f, double value, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  void histogram(MetricFamily& f, const LatencyCounts& c, Labels labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    m.histogram = to_prometheus_histogram(c);
    f.metric.push_back(std::move(m));
  }
  // A single-sample gauge or counter family.
  void one_gauge(std::string name, std::string help, double value, Labels labels = {}) {
    gauge(family(std::move(name), std::move(help), MetricType::Gauge), value, std::move(labels));
  }
  void one_counter(std::string name, std::string help, double value, Labels labels = {}) {
    counter(family(std::move(name), std::move(help), MetricType::Counter), value,
            std::move(labels));
  }

 private:
  std::deque<MetricFamily>* out_;
};

double d(uint64_t v) {
  return static_cast<double>(v);
}

void add_raft(FamilyBuilder& b, const MetricsSnapshot& s, const Labels& g) {
  MetricFamily& role = b.family("bellwether_role",
                                "1 for the node's current Raft role in the group, 0 for the others",
                                MetricType::Gauge);
  for (std::string_view r : kRoles) {
    Labels l = g;
    l.push_back({"role", std::string(r)});
    b.gauge(role, r == s.role ? 1 : 0, std::move(l));
  }
  b.one_gauge("bellwether_term", "Current Raft term", d(s.term), g);
  b.one_gauge("bellwether_leader_id", "Id of the leader this node knows of (0: none)",
              d(s.leader_id), g);
  b.one_gauge("bellwether_commit_index", "Highest log index known committed", d(s.commit_index), g);
  b.one_gauge("bellwether_applied_index", "Highest log index applied to the store",
              d(s.applied_index), g);
  b.one_gauge("bellwether_last_index", "Last index in this node's log", d(s.last_index), g);
  b.one_gauge("bellwether_snapshot_index", "Log index of the latest snapshot", d(s.snapshot_index),
              g);
  b.one_gauge("bellwether_voters", "Voting members of the group", d(s.voters), g);
  b.one_gauge("bellwether_learners", "Non-voting members of the group", d(s.learners), g);
  b.one_counter("bellwether_proposals_total", "Log entries this node proposed as leader",
                d(s.proposals), g);
  b.one_counter("bellwether_commits_total",
                "Committed log entries applied on this node since it started", d(s.entries_applied),
                g);

  if (s.followers.empty()) return;  // a leader lists its followers; the families only then
  MetricFamily& match = b.family("bellwether_follower_match_index",
                                 "Leader only: highest log index known replicated on the follower",
                                 MetricType::Gauge);
  MetricFamily& lag = b.family(
      "bellwether_follower_lag_entries",
      "Leader only: entries the follower is behind the leader's last index", MetricType::Gauge);
  MetricFamily& active =
      b.family("bellwether_follower_active",
               "Leader only: 1 if the leader heard from the follower recently", MetricType::Gauge);
  MetricFamily& snap_sent = b.family(
      "bellwether_follower_snapshot_sent_bytes",
      "Leader only: bytes of a snapshot streaming to the follower it acknowledged (else 0)",
      MetricType::Gauge);
  MetricFamily& snap_total = b.family(
      "bellwether_follower_snapshot_total_bytes",
      "Leader only: size of the snapshot streaming to the follower (else 0)", MetricType::Gauge);
  for (const FollowerMetrics& f : s.followers) {
    Labels l = g;
    l.push_back({"peer", std::to_string(f.id)});
    l.push_back({"learner", f.learner ? "1" : "0"});
    b.gauge(match, d(f.match), l);
    b.gauge(lag, d(f.lag_entries), l);
    b.gauge(active, f.recent_active ? 1 : 0, l);
    b.gauge(snap_sent, d(f.snapshot_bytes_sent), l);
    b.gauge(snap_total, d(f.snapshot_bytes_total), l);
  }
}

void add_requests(FamilyBuilder& b, const MetricsSnapshot& s, const Labels& g) {
  b.one_counter("bellwether_commands_total", "Commands received from clients", d(s.commands));
  b.one_counter("bellwether_writes_total", "Write commands received (led or forwarded)",
                d(s.writes), g);
  b.one_counter("bellwether_reads_total", "Read commands received", d(s.reads), g);
  b.one_counter("bellwether_forwarded_total", "Commands forwarded to the leader", d(s.forwarded),
                g);
  b.one_counter("bellwether_read_index_rounds_total", "ReadIndex rounds this node started",
                d(s.read_index_rounds), g);
  b.one_counter("bellwether_read_index_answered_total",
                "As leader: ReadIndex requests of other nodes answered", d(s.read_index_answered),
                g);
  b.one_counter("bellwether_snapshots_taken_total", "Snapshots this node wrote of its store",
                d(s.snapshots_taken), g);
  b.one_counter("bellwether_snapshots_installed_total", "Snapshots installed from a leader",
                d(s.snapshots_installed), g);
  b.one_gauge("bellwether_snapshot_last_size_bytes", "Size of the last snapshot this node wrote",
              d(s.snapshot_last_bytes), g);
  b.one_gauge("bellwether_snapshot_last_duration_seconds",
              "Time the last snapshot this node wrote took", d(s.snapshot_last_duration_ms) / 1e3,
              g);
  b.one_gauge("bellwether_snapshot_in_progress", "1 while a snapshot is being written",
              s.snapshot_in_progress ? 1 : 0, g);
}

void add_process(FamilyBuilder& b, const MetricsSnapshot& s) {
  b.one_gauge("bellwether_build_info", "Always 1; the version label names the build", 1,
              {{"version", s.version}});
  b.one_gauge("bellwether_node_id", "This node's id", d(s.node_id));
  b.one_gauge("bellwether_uptime_seconds", "Time since the node started", s.uptime_seconds);
  b.one_gauge("bellwether_connections", "Client connections open", d(s.connections));
  b.one_counter("bellwether_connections_total", "Client connections accepted",
                d(s.connections_total));
  b.one_counter("bellwether_rejected_connections_total", "Client connections refused (maxclients)",
                d(s.rejected_connections));
  b.one_gauge("bellwether_resident_memory_bytes", "Resident set size of the node process",
              d(s.rss_bytes));
  b.one_gauge("bellwether_keys", "Keys in the store", d(s.keys),
              {{"group", std::to_string(s.group)}});
  b.one_gauge("bellwether_store_bytes",
              "Dataset estimate of the store, what maxmemory is judged against", d(s.store_bytes),
              {{"group", std::to_string(s.group)}});
  b.one_gauge("bellwether_maxmemory_bytes", "The maxmemory setting (0: no limit)",
              d(s.maxmemory_bytes));
  b.one_counter("bellwether_evicted_keys_total", "Keys deleted by applied eviction entries",
                d(s.evicted_keys), {{"group", std::to_string(s.group)}});
  b.one_counter("bellwether_client_output_buffer_limit_disconnections_total",
                "Clients disconnected for breaking an output buffer limit",
                d(s.output_limit_disconnections));
  if (s.peers.empty()) return;
  MetricFamily& connected = b.family("bellwether_peer_connected",
                                     "1 while the link to the peer is up", MetricType::Gauge);
  MetricFamily& frames_sent = b.family("bellwether_peer_sent_frames_total",
                                       "Frames written to the peer", MetricType::Counter);
  MetricFamily& bytes_sent = b.family("bellwether_peer_sent_bytes_total",
                                      "Bytes written to the peer", MetricType::Counter);
  MetricFamily& frames_received = b.family("bellwether_peer_received_frames_total",
                                           "Frames received from the peer", MetricType::Counter);
  MetricFamily& bytes_received = b.family("bellwether_peer_received_bytes_total",
                                          "Bytes received from the peer", MetricType::Counter);
  MetricFamily& dropped =
      b.family("bellwether_peer_dropped_frames_total",
               "Frames to the peer dropped unsent (queue full or link down)", MetricType::Counter);
  MetricFamily& queued = b.family("bellwether_peer_queued_bytes",
                                  "Bytes waiting to be sent to the peer", MetricType::Gauge);
  for (const PeerMetrics& p : s.peers) {
    Labels l{{"peer", std::to_string(p.id)}};
    b.gauge(connected, p.connected ? 1 : 0, l);
    b.counter(frames_sent, d(p.frames_sent), l);
    b.counter(bytes_sent, d(p.bytes_sent), l);
    b.counter(frames_received, d(p.frames_received), l);
    b.counter(bytes_received, d(p.bytes_received), l);
    b.counter(dropped, d(p.frames_dropped), l);
    b.gauge(queued, d(p.bytes_queued), l);
  }
}

void add_latencies(FamilyBuilder& b, const MetricsSnapshot& s, const Labels& g) {
  b.histogram(b.family("bellwether_fsync_duration_seconds",
                       "Time of each fdatasync of the write-ahead log", MetricType::Histogram),
              s.fsync_latency);
  b.histogram(b.family("bellwether_proposal_commit_duration_seconds",
                       "From a leader's proposal of an entry to its apply, for its own proposals",
                       MetricType::Histogram),
              s.commit_latency, g);
  if (s.command_latency.empty()) return;
  MetricFamily& commands = b.family(
      "bellwether_command_duration_seconds",
      "From receipt of a command to its reply being ready, by command", MetricType::Histogram);
  for (const auto& [name, counts] : s.command_latency)
    b.histogram(commands, counts, {{"command", name}});
  MetricFamily& failed =
      b.family("bellwether_command_failures_total",
               "Commands that ran and answered with an error, by command", MetricType::Counter);
  for (const auto& [name, n] : s.command_failures) b.counter(failed, d(n), {{"command", name}});
}

}  // namespace

ClientMetric::Histogram to_prometheus_histogram(const LatencyCounts& c) {
  ClientMetric::Histogram h;
  h.bucket.reserve(kLatencyBuckets);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    cumulative += c.counts[i];
    const bool last = i + 1 == kLatencyBuckets;  // also holds everything longer: +Inf
    const double le = last ? std::numeric_limits<double>::infinity()
                           : static_cast<double>(uint64_t{1} << i) / kMicrosPerSecond;
    h.bucket.push_back({.cumulative_count = cumulative, .upper_bound = le});
  }
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(c.sum_us) / kMicrosPerSecond;
  return h;
}

std::vector<MetricFamily> metric_families(const MetricsSnapshot& s) {
  std::deque<MetricFamily> families;
  FamilyBuilder b(&families);
  const Labels group{{"group", std::to_string(s.group)}};
  add_process(b, s);
  add_raft(b, s, group);
  add_requests(b, s, group);
  add_latencies(b, s, group);
  return {std::make_move_iterator(families.begin()), std::make_move_iterator(families.end())};
}

std::string render_metrics(const MetricsSnapshot& s) {
  return prometheus::TextSerializer().Serialize(metric_families(s));
}

}  // namespace bw::server
