// ReadIndex rounds on a leader, driven one Ready and one message at a time: several rounds with
// requests in flight, answers out of order or lost, step-down with rounds out, the bound on
// rounds with requests.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "raft/raft_testing.h"

namespace bw::raft {
namespace {

using testing::TestCluster;

NodeId N(uint64_t v) {
  return NodeId(v);
}

// The tests of several rounds in flight run with this bound; the default is
// kReadRoundsWithRequestsMax.
constexpr size_t kRounds = 4;

Config read_config(size_t rounds) {
  Config c;
  c.group = GroupId(7);
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.read_rounds_with_requests_max = rounds;
  return c;
}

// A cluster with node 1 elected and one entry of its term committed everywhere; afterwards the
// test moves every message itself.
class ReadRounds : public ::testing::Test {
 protected:
  void start(size_t voters, size_t rounds = kRounds) {
    c_ = std::make_unique<TestCluster>(read_config(rounds));
    c_->add_voters(voters);
    c_->node(N(1)).campaign();
    c_->stabilize();
    ASSERT_TRUE(c_->node(N(1)).is_leader());
    ASSERT_TRUE(c_->node(N(1)).propose("a").ok());
    c_->stabilize();
    ASSERT_EQ(c_->node(N(1)).status().commit, LogIndex(2));
  }

  // One Ready of `id` (if any): its read states are recorded, its messages returned.
  std::vector<Message> pass(NodeId id) {
    if (!c_->node(id).has_ready()) return {};
    Ready rd = c_->node(id).ready();
    for (const ReadState& rs : rd.read_states) released_[id].push_back(rs.context);
    c_->node(id).advance(rd);
    return rd.messages;
  }

  // The leader's read round started by its next Ready: the round id its heartbeats carry, or
  // "" if the Ready started none. Each heartbeat is kept by its recipient's id.
  std::string start_round() {
    std::string round;
    for (Message& m : pass(N(1))) {
      if (m.type != MessageType::kHeartbeat) continue;
      EXPECT_TRUE(round.empty() || round == m.context) << "one round per Ready";
      round = m.context;
      heartbeats_[{m.context, m.to}] = std::move(m);
    }
    return round;
  }

  // Follower `from` receives round `round`'s heartbeat and its answer reaches the leader.
  void ack(const std::string& round, NodeId from) {
    auto it = heartbeats_.find({round, from});
    ASSERT_NE(it, heartbeats_.end());
    ASSERT_TRUE(c_->node(from).step(it->second).ok());
    for (const Message& m : pass(from)) {
      ASSERT_EQ(m.type, MessageType::kHeartbeatResp);
      ASSERT_TRUE(c_->node(N(1)).step(m).ok());
    }
    // The leader's Ready carries what the answer released, and any round it let start.
    started_after_ack_ = start_round();
  }

  const std::vector<std::string>& released() { return released_[N(1)]; }
  void requests_wait_at_the_bound(size_t bound);

  std::unique_ptr<TestCluster> c_;
  std::map<std::pair<std::string, NodeId>, Message> heartbeats_;
  std::map<NodeId, std::vector<std::string>> released_;
  std::string started_after_ack_;
};

TEST_F(ReadRounds, ANewRoundStartsWithoutWaitingForTheRoundsOut) {
  start(3);
  c_->node(N(1)).read_index("r1");
  const std::string first = start_round();
  ASSERT_FALSE(first.empty());
  c_->node(N(1)).read_index("r2");
  c_->node(N(1)).read_index("r3");
  const std::string second = start_round();
  ASSERT_FALSE(second.empty()) << "requests arriving while a round is out get their own round";
  EXPECT_NE(first, second);
  EXPECT_EQ(heartbeats_.size(), 4u) << "two rounds to two followers; r2 and r3 share one";
  EXPECT_TRUE(start_round().empty()) << "no requests, no round";
  ack(first, N(2));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"});
  ack(second, N(3));
  EXPECT_EQ(released(), (std::vector<std::string>{"r1", "r2", "r3"}));
}

TEST_F(ReadRounds, ANewerRoundsQuorumReleasesTheOlderRounds) {
  start(3);
  std::vector<std::string> rounds;
  for (const char* ctx : {"r1", "r2", "r3"}) {
    c_->node(N(1)).read_index(ctx);
    rounds.push_back(start_round());
  }
  ack(rounds[2], N(3));  // the newest answer first
  EXPECT_EQ(released(), (std::vector<std::string>{"r1", "r2", "r3"}));
  ack(rounds[0], N(2));  // late answers release nothing twice
  ack(rounds[1], N(3));
  EXPECT_EQ(released().size(), 3u);
}

// Five voters: no round gets a quorum of its own answers, but the answers for round 1 or any
// newer round do.
TEST_F(ReadRounds, AnswersForDifferentRoundsMakeAQuorumForTheOldest) {
  start(5);
  c_->node(N(1)).read_index("r1");
  const std::string first = start_round();
  c_->node(N(1)).read_index("r2");
  const std::string second = start_round();
  ack(second, N(2));
  EXPECT_TRUE(released().empty()) << "leader and 2: two of five";
  ack(first, N(3));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"}) << "1, 2 (newer round) and 3";
  ack(first, N(4));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"}) << "round 2: only 1 and 2 answered it";
  ack(second, N(5));
  EXPECT_EQ(released(), (std::vector<std::string>{"r1", "r2"}));
}

// Answers for an older round never count for a newer one: they may predate its start.
TEST_F(ReadRounds, AnswersForAnOlderRoundDoNotConfirmANewerOne) {
  start(5);
  c_->node(N(1)).read_index("r1");
  const std::string first = start_round();
  c_->node(N(1)).read_index("r2");
  const std::string second = start_round();
  ack(first, N(3));
  ack(first, N(4));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"});
  ack(second, N(2));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"}) << "round 2: only 1 and 2 answered it";
  ack(second, N(5));
  EXPECT_EQ(released(), (std::vector<std::string>{"r1", "r2"}));
}

TEST_F(ReadRounds, ALostRoundIsCoveredByTheNextOne) {
  start(3);
  c_->node(N(1)).read_index("lost");
  const std::string lost = start_round();
  c_->node(N(1)).read_index("next");
  const std::string next = start_round();
  heartbeats_.erase({lost, N(2)});  // every heartbeat of the first round is lost
  heartbeats_.erase({lost, N(3)});
  ack(next, N(2));
  EXPECT_EQ(released(), (std::vector<std::string>{"lost", "next"}));
}

TEST_F(ReadRounds, ALostNewestRoundIsRepeatedByThePeriodicHeartbeat) {
  start(3);
  c_->node(N(1)).read_index("r1");
  const std::string round = start_round();
  heartbeats_.clear();  // lost
  c_->tick(N(1), 1);    // heartbeat_ticks = 1
  const std::vector<Message> msgs = pass(N(1));
  size_t repeated = 0;
  for (const Message& m : msgs) {
    if (m.type != MessageType::kHeartbeat) continue;
    EXPECT_EQ(m.context, round);
    heartbeats_[{m.context, m.to}] = m;
    ++repeated;
  }
  EXPECT_EQ(repeated, 2u);
  ack(round, N(3));
  EXPECT_EQ(released(), std::vector<std::string>{"r1"});
}

TEST_F(ReadRounds, RoundsInFlightDieWithTheTerm) {
  start(3);
  c_->node(N(1)).read_index("r1");
  const std::string first = start_round();
  c_->node(N(1)).read_index("r2");
  const std::string second = start_round();
  // Node 2's answers are ready, but a message of a later term reaches the leader first.
  ASSERT_TRUE(c_->node(N(2)).step(heartbeats_.at({first, N(2)})).ok());
  ASSERT_TRUE(c_->node(N(2)).step(heartbeats_.at({second, N(2)})).ok());
  const std::vector<Message> answers = pass(N(2));
  ASSERT_EQ(answers.size(), 2u);
  Message later = answers[0];
  later.type = MessageType::kHeartbeat;
  later.term = Term(c_->node(N(1)).status().term.value() + 1);
  later.context.clear();
  ASSERT_TRUE(c_->node(N(1)).step(later).ok());
  EXPECT_FALSE(c_->node(N(1)).is_leader());
  for (const Message& m : answers) ASSERT_TRUE(c_->node(N(1)).step(m).ok());
  pass(N(1));
  EXPECT_TRUE(released().empty()) << "answers of the old term release nothing";
}

// Fills `bound` rounds, then two requests wait; one confirmed round lets them share a new one.
void ReadRounds::requests_wait_at_the_bound(size_t bound) {
  start(3, bound);
  std::vector<std::string> rounds;
  for (size_t k = 0; k < bound; ++k) {
    c_->node(N(1)).read_index(fmt::format("r{}", k));
    rounds.push_back(start_round());
    ASSERT_FALSE(rounds.back().empty()) << "round " << k;
  }
  c_->node(N(1)).read_index("w1");
  EXPECT_TRUE(start_round().empty()) << "bound reached: no round";
  c_->node(N(1)).read_index("w2");
  EXPECT_FALSE(c_->node(N(1)).has_ready());
  ack(rounds[0], N(2));  // one round confirmed: the waiting requests get one round
  EXPECT_EQ(released(), std::vector<std::string>{"r0"});
  const std::string shared = started_after_ack_;
  ASSERT_FALSE(shared.empty());
  EXPECT_EQ(heartbeats_.count({shared, N(2)}) + heartbeats_.count({shared, N(3)}), 2u);
  ack(shared, N(3));
  EXPECT_EQ(released().size(), bound + 2);
  EXPECT_EQ(released().back(), "w2");
}

TEST_F(ReadRounds, RequestsWaitAtTheBoundAndShareTheNextRound) {
  requests_wait_at_the_bound(kRounds);
}

TEST_F(ReadRounds, WithTheDefaultBoundRequestsWaitForTheRoundOut) {
  requests_wait_at_the_bound(kReadRoundsWithRequestsMax);
}

}  // namespace
}  // namespace bw::raft
