#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <limits>
#include <thread>

#include "server/http_server.h"

namespace bw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const prometheus::MetricFamily* find_family(const std::vector<prometheus::MetricFamily>& fs,
                                            std::string_view name) {
  auto it = std::ranges::find(fs, name, &prometheus::MetricFamily::name);
  return it == fs.end() ? nullptr : &*it;
}

std::string label(const prometheus::ClientMetric& m, std::string_view name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

TEST(PrometheusHistogram, BucketsAreCumulativeSecondsWithInfLast) {
  LatencyCounts c;
  c.record(0);                  // bucket 0: below 1 µs
  c.record(3);                  // [2, 4) µs: le 4 µs
  c.record(1000);               // [512, 1024) µs
  c.record(1000);               //
  c.record(uint64_t{1} << 40);  // beyond the last finite bound: only +Inf
  const auto h = to_prometheus_histogram(c);
  ASSERT_EQ(h.bucket.size(), kLatencyBuckets);
  EXPECT_EQ(h.bucket[0].upper_bound, 1e-6);
  EXPECT_EQ(h.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(h.bucket[1].cumulative_count, 1u);
  EXPECT_DOUBLE_EQ(h.bucket[2].upper_bound, 4e-6);
  EXPECT_EQ(h.bucket[2].cumulative_count, 2u);
  EXPECT_EQ(h.bucket[9].cumulative_count, 2u);
  EXPECT_DOUBLE_EQ(h.bucket[10].upper_bound, 1024e-6);
  EXPECT_EQ(h.bucket[10].cumulative_count, 4u);
  EXPECT_EQ(h.bucket[kLatencyBuckets - 2].cumulative_count, 4u);
  EXPECT_EQ(h.bucket.back().upper_bound, std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.bucket.back().cumulative_count, 5u);
  EXPECT_EQ(h.sample_count, 5u);
  EXPECT_DOUBLE_EQ(h.sample_sum, static_cast<double>(3 + 2000 + (uint64_t{1} << 40)) / 1e6);
  for (size_t i = 1; i < h.bucket.size(); ++i) {
    EXPECT_LT(h.bucket[i - 1].upper_bound, h.bucket[i].upper_bound);
    EXPECT_LE(h.bucket[i - 1].cumulative_count, h.bucket[i].cumulative_count);
  }
}

TEST(PrometheusHistogram, CountFollowsTheBucketsOfATornCopy) {
  LatencyCounts c;
  c.record(10);
  c.count = 2;  // as if a record landed between the copy of the buckets and of the count
  EXPECT_EQ(to_prometheus_histogram(c).sample_count, 1u);
}

TEST(AtomicLatencyCounts, CopiesWhatWasRecorded) {
  AtomicLatencyCounts a;
  a.record(5);
  a.record(70);
  const LatencyCounts c = a.copy();
  EXPECT_EQ(c.count, 2u);
  EXPECT_EQ(c.sum_us, 75u);
  EXPECT_EQ(c.counts[latency_bucket(5)], 1u);
  EXPECT_EQ(c.counts[latency_bucket(70)], 1u);
}

MetricsSnapshot leader_snapshot() {
  MetricsSnapshot s;
  s.version = "0.1.0";
  s.node_id = 1;
  s.role = "leader";
  s.term = 3;
  s.leader_id = 1;
  s.commit_index = 100;
  s.last_index = 105;
  s.followers.push_back({.id = 2, .match = 100, .lag_entries = 5});
  s.followers.push_back({.id = 3, .match = 90, .lag_entries = 15, .learner = true});
  s.peers.push_back({.id = 2, .connected = true, .frames_sent = 7, .bytes_sent = 700});
  s.fsync_latency.record(150);
  s.commit_latency.record(900);
  s.command_latency["set"].record(40);
  s.command_latency["set"].record(2000);
  s.command_failures["set"] = 1;
  return s;
}

TEST(MetricFamilies, RoleIsOneSeriesPerRoleWithOnlyTheCurrentSet) {
  const auto fs = metric_families(leader_snapshot());
  const auto* role = find_family(fs, "bellwether_role");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(role->type, prometheus::MetricType::Gauge);
  int ones = 0;
  for (const auto& m : role->metric) {
    EXPECT_EQ(label(m, "group"), "1");
    if (m.gauge.value == 1) {
      ++ones;
      EXPECT_EQ(label(m, "role"), "leader");
    }
  }
  EXPECT_EQ(ones, 1);
  EXPECT_EQ(role->metric.size(), 5u);
}

TEST(MetricFamilies, FollowerLagOnlyOnALeader) {
  MetricsSnapshot s = leader_snapshot();
  auto fs = metric_families(s);
  const auto* lag = find_family(fs, "bellwether_follower_lag_entries");
  ASSERT_NE(lag, nullptr);
  ASSERT_EQ(lag->metric.size(), 2u);
  EXPECT_EQ(label(lag->metric[0], "peer"), "2");
  EXPECT_EQ(lag->metric[0].gauge.value, 5);
  EXPECT_EQ(label(lag->metric[1], "peer"), "3");
  EXPECT_EQ(label(lag->metric[1], "learner"), "1");
  EXPECT_EQ(lag->metric[1].gauge.value, 15);

  s.role = "follower";
  s.followers.clear();
  fs = metric_families(s);
  EXPECT_EQ(find_family(fs, "bellwether_follower_lag_entries"), nullptr);
}

TEST(MetricFamilies, CommandLatencyByCommand) {
  const auto fs = metric_families(leader_snapshot());
  const auto* cmd = find_family(fs, "bellwether_command_duration_seconds");
  ASSERT_NE(cmd, nullptr);
  EXPECT_EQ(cmd->type, prometheus::MetricType::Histogram);
  ASSERT_EQ(cmd->metric.size(), 1u);
  EXPECT_EQ(label(cmd->metric[0], "command"), "set");
  EXPECT_EQ(cmd->metric[0].histogram.sample_count, 2u);
  EXPECT_DOUBLE_EQ(cmd->metric[0].histogram.sample_sum, 2040e-6);
}

TEST(MetricFamilies, NamesAreUniqueAndPrefixed) {
  const auto fs = metric_families(leader_snapshot());
  std::vector<std::string> names;
  for (const auto& f : fs) {
    EXPECT_TRUE(f.name.starts_with("bellwether_")) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    if (f.type == prometheus::MetricType::Counter) {
      EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
    }
    names.push_back(f.name);
  }
  std::ranges::sort(names);
  EXPECT_EQ(std::ranges::adjacent_find(names), names.end());
}

TEST(RenderMetrics, TextFormat) {
  const std::string text = render_metrics(leader_snapshot());
  EXPECT_THAT(text, HasSubstr("# TYPE bellwether_fsync_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("bellwether_fsync_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("bellwether_fsync_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("bellwether_term{group=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("bellwether_command_duration_seconds_count{command=\"set\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("bellwether_peer_sent_bytes_total{peer=\"2\"} 700\n"));
  EXPECT_THAT(text, Not(HasSubstr("nan")));
}

// The HTTP server hands work to a loop thread and answers 503 once the loop no longer runs.
TEST(OpsHttpServer, RunsHandlersThroughTheLoop) {
  asio::io_context loop(1);
  auto work = asio::make_work_guard(loop);
  std::thread loop_thread([&] { loop.run(); });
  const std::thread::id loop_id = loop_thread.get_id();

  OpsHttpServer server(loop, OpsHttpOptions{.loop_timeout_ms = 2000});
  server.add_get("/where", [&](const HttpRequest&) {
    auto on_loop = server.run_on_loop<bool>([&] { return std::this_thread::get_id() == loop_id; });
    if (!on_loop) return OpsHttpServer::unavailable();
    return HttpResponse{.body = *on_loop ? "loop" : "elsewhere"};
  });
  ASSERT_TRUE(server.start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);

  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/where");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "loop");
  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  work.reset();
  loop.stop();
  loop_thread.join();
  res = client.Get("/where");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  server.stop();
}

TEST(OpsHttpServer, BusyPortIsAnError) {
  asio::io_context loop(1);
  OpsHttpServer first(loop);
  ASSERT_TRUE(first.start("127.0.0.1:0").ok());
  OpsHttpServer second(loop);
  const Status st = second.start(fmt::format("127.0.0.1:{}", first.port()));
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("127.0.0.1"));
}

}  // namespace
}  // namespace bw::server
