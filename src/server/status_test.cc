#include "server/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace bw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::chrono::milliseconds kReplyTimeout{1000};

NodeProbe answered(std::string id, std::map<std::string, std::string> info) {
  NodeProbe p;
  p.id = std::move(id);
  p.address = "127.0.0.1:700" + p.id;
  p.info = std::move(info);
  return p;
}

NodeProbe silent(std::string id, ProbeOutcome outcome, std::string reason = "") {
  NodeProbe p;
  p.id = std::move(id);
  p.address = "127.0.0.1:700" + p.id;
  p.outcome = outcome;
  p.reason = std::move(reason);
  return p;
}

std::map<std::string, std::string> leader_info() {
  return {{"raft_node_id", "1"},
          {"raft_role", "leader"},
          {"raft_term", "4"},
          {"raft_leader_id", "1"},
          {"raft_commit_index", "120"},
          {"raft_applied_index", "120"},
          {"raft_last_index", "125"},
          {"raft_peer1", "addr=127.0.0.1:7001,peer_addr=127.0.0.1:17001"},
          {"raft_peer2",
           "addr=127.0.0.1:7002,peer_addr=127.0.0.1:17002,link=down,"
           "last_heard_ms=3200"},
          {"raft_peer3",
           "addr=127.0.0.1:7003,peer_addr=127.0.0.1:17003,link=up,"
           "last_heard_ms=-1"}};
}

// The line of node `id` (the table's rows start with the id).
std::string row_of(const std::string& table, const std::string& id) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(id + " ", 0) == 0) return line;
  }
  return "";
}

TEST(RenderStatus, AnsweringNodesShowTheirProgressAndLagBehindTheLeader) {
  auto follower = leader_info();
  follower["raft_role"] = "follower";
  follower["raft_applied_index"] = "100";
  follower["raft_last_leader_contact_ms"] = "40";
  std::string t =
      render_status({answered("1", leader_info()), answered("2", follower)}, kReplyTimeout);
  EXPECT_THAT(t, HasSubstr("LAST CONTACT / STATE"));
  EXPECT_THAT(row_of(t, "1"), HasSubstr("leader"));
  std::string f = row_of(t, "2");
  EXPECT_THAT(f, HasSubstr("follower"));
  EXPECT_THAT(f, HasSubstr(" 25 "));  // 125 - 100
  EXPECT_THAT(f, HasSubstr("leader heard 40 ms ago"));
}

TEST(RenderStatus, DownAndUnreachableNodesShowTheFreshestLastHeard) {
  auto follower = leader_info();
  follower["raft_role"] = "follower";
  follower["raft_peer2"] = "addr=127.0.0.1:7002,link=down,last_heard_ms=9000";
  follower["raft_peer3"] = "addr=127.0.0.1:7003,link=up,last_heard_ms=1500";
  std::string t = render_status(
      {answered("1", leader_info()), silent("2", ProbeOutcome::kDown, "connection refused"),
       silent("3", ProbeOutcome::kNoReply), answered("4", follower)},
      kReplyTimeout);
  std::string down = row_of(t, "2");
  EXPECT_THAT(down, HasSubstr("down"));
  EXPECT_THAT(down, HasSubstr("connection refused; last heard 3.2 s ago"));  // the leader's view
  std::string paused = row_of(t, "3");
  EXPECT_THAT(paused, HasSubstr("unreachable"));
  // The leader never heard from it; node 4 did.
  EXPECT_THAT(paused, HasSubstr("no reply in 1000 ms; last heard 1.5 s ago"));
}

TEST(RenderStatus, NeverHeardAndUnreportedAreSaidSo) {
  auto old_leader = leader_info();
  old_leader.erase("raft_peer2");
  std::string t =
      render_status({answered("1", old_leader), silent("2", ProbeOutcome::kDown, "refused"),
                     silent("3", ProbeOutcome::kNoReply)},
                    kReplyTimeout);
  EXPECT_THAT(row_of(t, "2"), HasSubstr("last heard ?"));
  EXPECT_THAT(row_of(t, "3"), HasSubstr("never heard since the other nodes started"));
}

TEST(RenderStatus, MissingAndMalformedFieldsShowAsQuestionMarks) {
  // An empty INFO (a node of another kind, or one still starting) and a garbled one.
  std::map<std::string, std::string> garbled = {{"raft_role", "follower"},
                                                {"raft_term", "x"},
                                                {"raft_applied_index", "18446744073709551616"},
                                                {"raft_commit_index", "-3"},
                                                {"raft_last_leader_contact_ms", ""},
                                                {"raft_peer1", "last_heard_ms=soon"}};
  auto leader = leader_info();
  leader["raft_last_index"] = "";
  leader["raft_peer3"] = "no fields at all";
  std::string t = render_status({answered("1", leader), answered("2", {}), answered("3", garbled),
                                 silent("9", ProbeOutcome::kError, "ERR unknown command")},
                                kReplyTimeout);
  std::string empty = row_of(t, "2");
  EXPECT_THAT(empty, HasSubstr("127.0.0.1:7002"));
  EXPECT_THAT(empty, Not(HasSubstr("leader ")));
  std::string g = row_of(t, "3");
  EXPECT_THAT(g, HasSubstr("follower"));
  EXPECT_THAT(g, Not(HasSubstr("18446744073709551616")));
  EXPECT_THAT(g, Not(HasSubstr("-3")));
  EXPECT_EQ(std::count(g.begin(), g.end(), '?'), 6) << g;  // all but id, address, role
  EXPECT_THAT(row_of(t, "9"), HasSubstr("error"));
  EXPECT_THAT(row_of(t, "9"), HasSubstr("ERR unknown command; last heard ?"));
}

TEST(RenderStatus, ANodeWithoutLeaderSaysForHowLong) {
  auto alone = leader_info();
  alone["raft_role"] = "pre-candidate";
  alone["raft_leader_id"] = "0";
  alone["raft_last_leader_contact_ms"] = "1400";
  std::string row = row_of(render_status({answered("1", alone)}, kReplyTimeout), "1");
  EXPECT_THAT(row, HasSubstr("pre-candidate      4       -"));
  EXPECT_THAT(row, HasSubstr("no leader for 1.4 s"));
}

TEST(RenderStatus, LagFollowsTheLeaderOfTheHighestTerm) {
  auto deposed = leader_info();
  deposed["raft_term"] = "3";
  deposed["raft_last_index"] = "90";
  auto current = leader_info();
  current["raft_term"] = "5";
  current["raft_last_index"] = "200";
  auto follower = leader_info();
  follower["raft_role"] = "follower";
  follower["raft_applied_index"] = "150";
  std::string t = render_status(
      {answered("1", deposed), answered("2", current), answered("3", follower)}, kReplyTimeout);
  EXPECT_THAT(row_of(t, "3"), HasSubstr(" 50 "));
}

TEST(RenderStatus, ShowsASnapshotStreamingToACatchingUpNode) {
  auto info = leader_info();
  info["raft_peer3"] =
      "addr=127.0.0.1:7003,peer_addr=127.0.0.1:17003,role=learner,match=0,next=1,"
      "state=snapshot,active=1,snapshot_sent=1200000,snapshot_total=4000000,link=up,"
      "last_heard_ms=20";
  std::map<std::string, std::string> learner{{"raft_node_id", "3"},
                                             {"raft_role", "learner"},
                                             {"raft_term", "4"},
                                             {"raft_leader_id", "1"},
                                             {"raft_commit_index", "0"},
                                             {"raft_applied_index", "0"},
                                             {"raft_last_leader_contact_ms", "10"}};
  const std::string table =
      render_status({answered("1", info), answered("3", learner)}, kReplyTimeout);
  EXPECT_THAT(row_of(table, "3"), HasSubstr("snapshot 1.2/4.0 MB sent"));
  EXPECT_THAT(row_of(table, "3"), HasSubstr("learner"));
  EXPECT_THAT(row_of(table, "3"), HasSubstr(" 125 "));  // entries behind the leader's log
  EXPECT_THAT(row_of(table, "1"), Not(HasSubstr("snapshot")));
}

}  // namespace
}  // namespace bw::server
