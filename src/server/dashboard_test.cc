#include "server/dashboard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace bw::server {
namespace {

using nlohmann::json;

NodeProbe answered(std::string id, std::map<std::string, std::string> info) {
  NodeProbe p;
  p.id = std::move(id);
  p.address = "127.0.0.1:700" + p.id;
  p.info = std::move(info);
  return p;
}

std::map<std::string, std::string> node_info(std::string id, std::string role, std::string term,
                                             std::string leader, std::string applied) {
  return {{"raft_node_id", id},
          {"raft_cluster_id", "prod"},
          {"raft_role", role},
          {"raft_term", term},
          {"raft_leader_id", leader},
          {"raft_commit_index", applied},
          {"raft_applied_index", applied},
          {"raft_last_index", applied},
          {"total_commands_processed", "1000"}};
}

const json* node(const json& doc, const std::string& id) {
  for (const auto& n : doc["nodes"]) {
    if (n["id"] == id) return &n;
  }
  return nullptr;
}

TEST(DashboardJson, NamesTheLeaderOfTheHighestTermAndTheLagBehindIt) {
  auto leader = node_info("2", "leader", "7", "2", "500");
  leader["raft_peer3"] =
      "addr=127.0.0.1:7003,peer_addr=x,role=learner,match=90,"
      "snapshot_sent=1000,snapshot_total=4000";
  leader["cmdstat_set"] = "calls=40,usec=800,usec_per_call=20.00,rejected_calls=0,failed_calls=1";
  leader["latency_percentiles_usec_set"] = "p50=16.001,p99=64.003,p99.9=128.007";
  std::vector<NodeProbe> probes = {
      answered("1", node_info("1", "leader", "5", "1", "300")),  // deposed, cut off
      answered("2", leader),
      answered("3", node_info("3", "follower", "7", "2", "90")),
  };
  const json doc = json::parse(cluster_json(probes, "3", 1234));
  EXPECT_EQ(doc["self"], "3");
  EXPECT_EQ(doc["cluster_id"], "prod");
  EXPECT_EQ(doc["time_ms"], 1234);
  EXPECT_EQ(doc["leader"]["id"], "2");
  EXPECT_EQ(doc["leader"]["term"], 7);
  EXPECT_EQ((*node(doc, "3"))["lag"], 410);
  EXPECT_EQ((*node(doc, "3"))["learner"], true);
  EXPECT_EQ((*node(doc, "3"))["snapshot"]["sent"], 1000);
  EXPECT_EQ((*node(doc, "3"))["snapshot"]["total"], 4000);
  EXPECT_EQ((*node(doc, "2"))["learner"], false);
  EXPECT_EQ((*node(doc, "2"))["commands"]["set"]["calls"], 40);
  EXPECT_EQ((*node(doc, "2"))["commands"]["set"]["failed"], 1);
  EXPECT_DOUBLE_EQ((*node(doc, "2"))["commands"]["set"]["p99"].get<double>(), 64.003);
}

TEST(DashboardJson, NodesThatDidNotAnswerSayWhyAndNoLeaderIsNull) {
  NodeProbe down;
  down.id = "1";
  down.address = "127.0.0.1:7001";
  down.outcome = ProbeOutcome::kDown;
  down.reason = "connection refused";
  NodeProbe paused = down;
  paused.id = "2";
  paused.outcome = ProbeOutcome::kNoReply;
  std::vector<NodeProbe> probes = {down, paused,
                                   answered("3", node_info("3", "candidate", "9", "0", "10"))};
  const json doc = json::parse(cluster_json(probes, "3", 0));
  EXPECT_TRUE(doc["leader"].is_null());
  EXPECT_EQ((*node(doc, "1"))["state"], "down");
  EXPECT_EQ((*node(doc, "1"))["reason"], "connection refused");
  EXPECT_EQ((*node(doc, "2"))["state"], "unreachable");
  EXPECT_EQ((*node(doc, "3"))["role"], "candidate");
  EXPECT_TRUE((*node(doc, "3"))["lag"].is_null());  // no leader to measure it against
}

TEST(DashboardJson, FieldsThatAreNotNumbersBecomeNullAndBadBytesDoNotThrow) {
  auto info = node_info("1", "leader", "x", "1", "12");
  info["raft_cluster_id"] = std::string("bad\xff", 4);
  const json doc = json::parse(cluster_json({answered("1", info)}, "1", 0));
  EXPECT_TRUE((*node(doc, "1"))["term"].is_null());
  EXPECT_EQ((*node(doc, "1"))["applied"], 12);
}

TEST(DashboardPage, IsOnePageThatPollsTheClusterApi) {
  const std::string_view page = dashboard_page();
  EXPECT_EQ(page.substr(0, 15), "<!doctype html>");
  EXPECT_NE(page.find("fetch(\"/api/cluster\""), std::string_view::npos);
  EXPECT_NE(page.find("id=\"leader\""), std::string_view::npos);
  // Everything is inline: the page works where the browser reaches nothing but the node.
  EXPECT_EQ(page.find("src=\"http"), std::string_view::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string_view::npos);
}

TEST(DashboardJson, ErrorDocumentCarriesTheReason) {
  const json doc = json::parse(cluster_error_json("cannot reach 127.0.0.1:7001", 5));
  EXPECT_EQ(doc["error"], "cannot reach 127.0.0.1:7001");
  EXPECT_EQ(doc["time_ms"], 5);
}

}  // namespace
}  // namespace bw::server

namespace bw::server {
namespace {

TEST(DashboardProbeAddress, WildcardHostsBecomeLoopback) {
  EXPECT_EQ(dashboard_probe_address("0.0.0.0:7001"), "127.0.0.1:7001");
  EXPECT_EQ(dashboard_probe_address("[::]:7001"), "127.0.0.1:7001");
  EXPECT_EQ(dashboard_probe_address(":7001"), "127.0.0.1:7001");
  EXPECT_EQ(dashboard_probe_address("10.0.0.5:7001"), "10.0.0.5:7001");
}

}  // namespace
}  // namespace bw::server
