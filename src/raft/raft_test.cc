// RawNode behaviour, driven through a small in-memory cluster (raft_testing.h).
#include "raft/raft.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/assert.h"
#include "raft/raft_testing.h"

namespace bw::raft {
namespace {

using testing::TestCluster;

Config base_config() {
  Config c;
  c.group = GroupId(7);
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  return c;
}

NodeId N(uint64_t v) {
  return NodeId(v);
}

// Elects `id` by campaigning and stabilizing.
void elect(TestCluster& c, NodeId id) {
  c.node(id).campaign();
  c.stabilize();
  ASSERT_TRUE(c.node(id).is_leader());
}

TEST(RawNodeTest, ThreeNodesElectALeaderAndReplicate) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  EXPECT_EQ(c.node(N(2)).leader(), N(1));
  EXPECT_EQ(c.node(N(3)).leader(), N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  ASSERT_TRUE(c.node(N(1)).propose("b").ok());
  c.stabilize();
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.member(id).applied, (std::vector<std::string>{"a", "b"})) << id.value();
    EXPECT_EQ(c.node(id).status().commit, LogIndex(3));
  }
}

TEST(RawNodeTest, ElectionByTimeout) {
  TestCluster c(base_config());
  c.add_voters(3);
  for (int t = 0; t < 40 && !c.node(N(1)).is_leader() && !c.node(N(2)).is_leader() &&
                  !c.node(N(3)).is_leader();
       ++t) {
    for (NodeId id : c.ids()) c.tick(id, 1);
    c.stabilize();
  }
  int leaders = 0;
  for (NodeId id : c.ids()) leaders += c.node(id).is_leader();
  EXPECT_EQ(leaders, 1);
}

TEST(RawNodeTest, SingleNodeCommitsOnlyAfterPersisting) {
  TestCluster c(base_config());
  c.add_voters(1);
  c.node(N(1)).campaign();
  ASSERT_TRUE(c.node(N(1)).is_leader());
  Ready rd = c.node(N(1)).ready();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_EQ(c.node(N(1)).status().commit, LogIndex(0));
  ASSERT_TRUE(c.storage(N(1)).append(rd.entries).ok());
  c.node(N(1)).advance(rd);
  EXPECT_EQ(c.node(N(1)).status().commit, LogIndex(1));
}

// Pipelined writes (raft.h): a second Ready may be taken while the first one's entries are
// still on their way to the disk; the leader counts itself, and so commits, only what
// persisted() has confirmed, Ready by Ready.
TEST(RawNodeTest, PipelinedReadiesCommitOnlyWhatPersistedConfirmed) {
  TestCluster c(base_config());
  c.add_voters(1);
  RawNode& n = c.node(N(1));
  n.campaign();
  ASSERT_TRUE(n.is_leader());
  Ready first = n.ready();  // the leader's empty entry at 1
  ASSERT_EQ(first.entries.size(), 1u);
  ASSERT_TRUE(c.storage(N(1)).append(first.entries).ok());
  n.accept(first);

  ASSERT_TRUE(n.propose("a").ok());
  ASSERT_TRUE(n.has_ready());
  Ready second = n.ready();  // taken while the first is not yet durable
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries[0].index, LogIndex(2));
  EXPECT_TRUE(second.committed_entries.empty());
  ASSERT_TRUE(c.storage(N(1)).append(second.entries).ok());
  n.accept(second);
  EXPECT_EQ(n.status().commit, LogIndex(0));
  EXPECT_FALSE(n.has_ready());

  n.persisted(first);
  EXPECT_EQ(n.status().commit, LogIndex(1));
  ASSERT_TRUE(n.has_ready());
  Ready third = n.ready();  // applies 1 while the second's write is still in flight
  ASSERT_EQ(third.committed_entries.size(), 1u);
  EXPECT_EQ(third.committed_entries[0].index, LogIndex(1));
  n.accept(third);
  EXPECT_EQ(n.status().commit, LogIndex(1));

  n.persisted(second);
  EXPECT_EQ(n.status().commit, LogIndex(2));
  n.persisted(third);
  Ready fourth = n.ready();
  ASSERT_EQ(fourth.committed_entries.size(), 1u);
  EXPECT_EQ(fourth.committed_entries[0].data, "a");
  n.advance(fourth);
}

// The core enforces the order of the pipelined contract: persisted() takes the oldest accepted
// Ready not yet persisted, and only after accept().
TEST(RawNodeTest, PersistedOutOfOrderFailsLoudly) {
  TestCluster c(base_config());
  c.add_voters(1);
  RawNode& n = c.node(N(1));
  n.campaign();
  Ready first = n.ready();
  ASSERT_TRUE(c.storage(N(1)).append(first.entries).ok());
  EXPECT_DEATH(n.persisted(first), "taken but not accepted");
  n.accept(first);
  ASSERT_TRUE(n.propose("a").ok());
  Ready second = n.ready();
  ASSERT_TRUE(c.storage(N(1)).append(second.entries).ok());
  EXPECT_DEATH(n.accept(first), "accept\\(\\) of Ready 1, but the one taken is 2");
  EXPECT_DEATH(n.persisted(second), "taken but not accepted");
  n.accept(second);
  EXPECT_DEATH(n.persisted(second), "Ready 2, but the oldest one not yet persisted is 1");
  n.persisted(first);
  EXPECT_DEATH(n.persisted(first), "Ready 1, but the oldest one not yet persisted is 2");
  n.persisted(second);
  EXPECT_EQ(n.status().commit, LogIndex(2));
}

// Runs ticks on every node and stabilizes, `n` times.
void tick_all(TestCluster& c, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    for (NodeId id : c.ids()) c.tick(id, 1);
    c.stabilize();
  }
}

TEST(RawNodeTest, PreVoteKeepsARejoiningNodeFromDeposingTheLeader) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  const Term term = c.node(N(1)).term();
  c.partition({N(3)});
  for (int k = 0; k < 100; ++k) {
    c.tick(N(3), 1);
    c.tick(N(1), 1);
    c.stabilize();
  }
  EXPECT_EQ(c.node(N(3)).term(), term) << "pre-votes must not raise the term";
  EXPECT_EQ(c.node(N(3)).status().role, Role::kPreCandidate);
  c.heal();
  tick_all(c, 30);
  EXPECT_TRUE(c.node(N(1)).is_leader());
  EXPECT_EQ(c.node(N(1)).term(), term);
  EXPECT_EQ(c.node(N(3)).leader(), N(1));
}

TEST(RawNodeTest, WithoutPreVoteARejoiningNodeDisruptsTheTerm) {
  Config cfg = base_config();
  cfg.pre_vote = false;
  cfg.check_quorum = false;
  TestCluster c(cfg);
  c.add_voters(3);
  elect(c, N(1));
  const Term term = c.node(N(1)).term();
  c.partition({N(3)});
  for (int k = 0; k < 100; ++k) c.tick(N(3), 1);
  c.stabilize();
  c.heal();
  tick_all(c, 30);
  EXPECT_GT(c.node(N(1)).term(), term);  // the contrast that makes the test above meaningful
}

TEST(RawNodeTest, CheckQuorumLeaderStepsDownWhenCutOff) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(1)});
  // The first check after the partition still sees the answers from before it; the second
  // finds no one: the leader steps down within two election timeouts.
  for (int k = 0; k < 19; ++k) c.tick(N(1), 1);
  EXPECT_TRUE(c.node(N(1)).is_leader());
  c.tick(N(1), 1);
  EXPECT_FALSE(c.node(N(1)).is_leader());
  EXPECT_EQ(c.node(N(1)).status().role, Role::kFollower);
}

TEST(RawNodeTest, CheckQuorumLeaderStaysWhileAQuorumAnswers) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(3)});
  for (int k = 0; k < 50; ++k) {
    c.tick(N(1), 1);
    c.stabilize();
  }
  EXPECT_TRUE(c.node(N(1)).is_leader());
}

// Tests that elect a new leader while the old one lives (cut off) turn check-quorum off, so that
// followers do not ignore the campaign for an election timeout (leader stickiness).
Config no_stickiness() {
  Config cfg = base_config();
  cfg.check_quorum = false;
  return cfg;
}

// Processes readies and delivers messages until `id` leads (bounded).
void run_until_leader(TestCluster& c, NodeId id) {
  for (int round = 0; round < 20 && !c.node(id).is_leader(); ++round) {
    for (NodeId other : c.ids()) c.process_ready(other);
    c.deliver_all();
  }
  BW_ASSERT(c.node(id).is_leader(), "node {} did not become leader", id);
}

TEST(RawNodeTest, DivergentLogIsRepairedWithFewProbes) {
  TestCluster c(no_stickiness());
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(1)});
  for (int k = 0; k < 50; ++k) ASSERT_TRUE(c.node(N(1)).propose(fmt::format("old{}", k)).ok());
  c.stabilize();
  elect(c, N(2));
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(c.node(N(2)).propose(fmt::format("new{}", k)).ok());
  c.stabilize();
  c.heal();
  size_t rejects = 0;
  c.log = [&](const std::string& line) {
    if (line.find("reject hint") != std::string::npos) ++rejects;
  };
  tick_all(c, 3);
  EXPECT_EQ(c.node(N(1)).leader(), N(2));
  EXPECT_LE(rejects, 2u) << "fast backtracking skips the whole stale term at once";
  const std::vector<std::string> want = c.member(N(2)).applied;
  EXPECT_EQ(want.size(), 5u);
  EXPECT_EQ(c.member(N(1)).applied, want);
  EXPECT_EQ(c.node(N(1)).status().last_index, c.node(N(2)).status().last_index);
}

// Raft paper §5.4.2 / Figure 8: a leader must not commit an entry of an earlier term just
// because a majority stores it. Returns node 2's commit index when a majority holds the
// old entry but not yet the new leader's own.
LogIndex commit_when_old_entry_is_on_a_majority(uint32_t bugs) {
  Config cfg = no_stickiness();
  cfg.append_entries_max = 1;  // so that the old entry travels alone
  cfg.planted_bugs = bugs;
  TestCluster c(cfg);
  c.add_voters(5);
  c.node(N(1)).campaign();
  c.stabilize();
  c.partition({N(1), N(2)});
  BW_ASSERT(c.node(N(1)).propose("x").ok());  // index 2, term 1: reaches 2 only
  c.stabilize();
  c.partition({N(1)});
  c.node(N(2)).campaign();
  run_until_leader(c, N(2));
  // Leader 2 (term 2) probes with its empty entry, is rejected, then sends x alone.
  size_t holding_x = 0;
  for (int round = 0; round < 10 && holding_x < 3; ++round) {
    for (NodeId id : c.ids()) c.process_ready(id);
    c.deliver_all();
    holding_x = 0;
    for (const FollowerProgress& p : c.node(N(2)).status().progress) {
      holding_x += p.match >= LogIndex(2);
    }
  }
  BW_ASSERT(holding_x >= 3, "x on {} nodes", holding_x);
  BW_ASSERT(c.node(N(2)).status().last_index == LogIndex(3));
  return c.node(N(2)).status().commit;
}

TEST(RawNodeTest, LeaderCommitsOnlyCurrentTermEntriesByCounting) {
  EXPECT_EQ(commit_when_old_entry_is_on_a_majority(0), LogIndex(1));
  EXPECT_EQ(commit_when_old_entry_is_on_a_majority(
                static_cast<uint32_t>(PlantedBug::kCommitPreviousTermByCount)),
            LogIndex(2));
}

TEST(RawNodeTest, OldTermEntryCommitsWithTheNewLeadersEntry) {
  TestCluster c(no_stickiness());
  c.add_voters(5);
  elect(c, N(1));
  c.partition({N(1), N(2)});
  ASSERT_TRUE(c.node(N(1)).propose("x").ok());
  c.stabilize();
  c.partition({N(1)});
  elect(c, N(2));
  EXPECT_EQ(c.node(N(2)).status().commit, LogIndex(3));
  EXPECT_EQ(c.member(N(5)).applied, std::vector<std::string>{"x"});
}

TEST(RawNodeTest, ReadIndexOnLeaderWaitsForAHeartbeatRound) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  c.node(N(1)).read_index("r1");
  c.node(N(1)).read_index("r2");
  Ready rd = c.node(N(1)).ready();
  EXPECT_TRUE(rd.read_states.empty());
  size_t heartbeats = 0;
  for (const Message& m : rd.messages) heartbeats += m.type == MessageType::kHeartbeat;
  EXPECT_EQ(heartbeats, 2u) << "two reads, one round";
  c.node(N(1)).advance(rd);
  for (Message& m : rd.messages) ASSERT_TRUE(c.node(m.to).step(m).ok());
  c.stabilize();
  ASSERT_EQ(c.member(N(1)).read_states.size(), 2u);
  EXPECT_EQ(c.member(N(1)).read_states[0].index, LogIndex(2));
  EXPECT_EQ(c.member(N(1)).read_states[1].context, "r2");
}

TEST(RawNodeTest, ReadIndexIsNotServedByACutOffLeader) {
  Config cfg = base_config();
  cfg.check_quorum = false;
  TestCluster c(cfg);
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(1)});
  c.node(N(1)).read_index("r");
  for (int k = 0; k < 5; ++k) {
    c.tick(N(1), 1);
    c.stabilize();
  }
  EXPECT_TRUE(c.member(N(1)).read_states.empty());
}

TEST(RawNodeTest, ReadIndexWaitsForTheLeadersFirstCommit) {
  TestCluster c(base_config());
  c.add_voters(3);
  c.node(N(1)).campaign();
  run_until_leader(c, N(1));
  c.node(N(1)).read_index("early");
  EXPECT_EQ(c.node(N(1)).status().commit, LogIndex(0));
  c.stabilize();
  ASSERT_EQ(c.member(N(1)).read_states.size(), 1u);
  EXPECT_EQ(c.member(N(1)).read_states[0].index, LogIndex(1));
}

TEST(RawNodeTest, ReadIndexOnFollowerAsksTheLeader) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  c.node(N(3)).read_index("f");
  c.stabilize();
  ASSERT_EQ(c.member(N(3)).read_states.size(), 1u);
  EXPECT_EQ(c.member(N(3)).read_states[0].index, LogIndex(2));
  EXPECT_EQ(c.member(N(3)).read_states[0].context, "f");
  EXPECT_TRUE(c.member(N(1)).read_states.empty());
}

TEST(RawNodeTest, LeaseReadNeedsNoRoundWhileTheLeaseHolds) {
  Config cfg = base_config();
  cfg.read_only = ReadOnlyOption::kLeaseBased;
  TestCluster c(cfg);
  c.add_voters(3);
  elect(c, N(1));
  c.tick(N(1), 1);  // a heartbeat round acknowledged by a quorum starts the lease
  c.stabilize();
  c.node(N(1)).read_index("lease");
  Ready rd = c.node(N(1)).ready();
  ASSERT_EQ(rd.read_states.size(), 1u);
  EXPECT_EQ(rd.read_states[0].index, LogIndex(1));
  EXPECT_TRUE(rd.messages.empty());
  c.node(N(1)).advance(rd);
  // Cut off, the lease runs out before any other node could be elected: reads need a round,
  // which cannot complete.
  c.partition({N(1)});
  for (int k = 0; k < 9; ++k) {
    c.tick(N(1), 1);
    c.stabilize();
  }
  c.member(N(1)).read_states.clear();
  c.node(N(1)).read_index("late");
  c.stabilize();
  EXPECT_TRUE(c.member(N(1)).read_states.empty());
  EXPECT_TRUE(c.node(N(1)).is_leader());
}

TEST(RawNodeTest, TransferLeadership) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(2)});
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();  // 2 lags behind
  c.heal();
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(2)).ok());
  EXPECT_EQ(c.node(N(1)).status().transferee, N(2));
  EXPECT_EQ(c.node(N(1)).propose("refused").status().code(), absl::StatusCode::kFailedPrecondition);
  c.stabilize();
  EXPECT_TRUE(c.node(N(2)).is_leader());
  EXPECT_EQ(c.node(N(1)).leader(), N(2));
  EXPECT_EQ(c.member(N(2)).applied, std::vector<std::string>{"a"});
}

TEST(RawNodeTest, TransferTimesOutAndProposalsResume) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(2)});
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(2)).ok());
  for (int k = 0; k < 9; ++k) {
    c.tick(N(1), 1);
    c.stabilize();
  }
  EXPECT_EQ(c.node(N(1)).status().transferee, N(2));
  c.tick(N(1), 1);
  EXPECT_EQ(c.node(N(1)).status().transferee, kNoNode);
  EXPECT_TRUE(c.node(N(1)).is_leader());
  EXPECT_TRUE(c.node(N(1)).propose("b").ok());
  EXPECT_FALSE(c.node(N(1)).transfer_leader(N(9)).ok());
  EXPECT_FALSE(c.node(N(2)).transfer_leader(N(3)).ok());
}

ConfState conf_of(TestCluster& c, NodeId id) {
  return c.node(id).status().conf;
}

TEST(RawNodeTest, LearnerIsAddedPromotedAndRemoved) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  const NodeId learner = c.add_joiner();
  ASSERT_TRUE(c.node(N(1)).propose_conf_change({ConfChangeType::kAddLearner, learner}).ok());
  EXPECT_EQ(c.node(N(1)).propose_conf_change({ConfChangeType::kAddVoter, learner}).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "one change at a time";
  c.stabilize();
  tick_all(c, 2);
  EXPECT_EQ(c.node(learner).status().role, Role::kLearner);
  EXPECT_EQ(c.member(learner).applied, std::vector<std::string>{"a"});
  EXPECT_EQ(conf_of(c, N(1)).learners, std::vector<NodeId>{learner});
  // A learner never campaigns, and a partition of one voter still leaves a quorum of 3.
  tick_all(c, 50);
  EXPECT_TRUE(c.node(N(1)).is_leader());

  ASSERT_TRUE(c.node(N(1)).propose_conf_change({ConfChangeType::kAddVoter, learner}).ok());
  c.stabilize();
  EXPECT_EQ(c.node(learner).status().role, Role::kFollower);
  EXPECT_EQ(conf_of(c, N(1)).voters.size(), 4u);
  EXPECT_TRUE(conf_of(c, N(1)).learners.empty());
  // With four voters, commits need three of them.
  c.partition({N(2), N(3)});
  ASSERT_TRUE(c.node(N(1)).propose("b").ok());
  c.stabilize();
  EXPECT_EQ(c.member(N(1)).applied.size(), 1u);
  c.heal();
  tick_all(c, 2);
  EXPECT_EQ(c.member(N(1)).applied.size(), 2u);

  ASSERT_TRUE(c.node(N(1)).propose_conf_change({ConfChangeType::kRemoveNode, learner}).ok());
  c.stabilize();
  EXPECT_EQ(conf_of(c, N(1)).voters, (std::vector<NodeId>{N(1), N(2), N(3)}));
}

TEST(RawNodeTest, RemovedLeaderStepsDownAndAnotherIsElected) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose_conf_change({ConfChangeType::kRemoveNode, N(1)}).ok());
  c.stabilize();
  EXPECT_FALSE(c.node(N(1)).is_leader());
  tick_all(c, 40);
  const bool other_leads = c.node(N(2)).is_leader() || c.node(N(3)).is_leader();
  EXPECT_TRUE(other_leads);
  EXPECT_EQ(conf_of(c, N(2)).voters, (std::vector<NodeId>{N(2), N(3)}));
  EXPECT_FALSE(c.node(N(1)).is_leader());
}

TEST(RawNodeTest, ConfChangeWaitsForTheLeadersFirstEntry) {
  TestCluster c(base_config());
  c.add_voters(3);
  c.node(N(1)).campaign();
  run_until_leader(c, N(1));
  EXPECT_FALSE(c.node(N(1)).propose_conf_change({ConfChangeType::kAddLearner, N(4)}).ok());
  c.stabilize();
  EXPECT_TRUE(c.node(N(1)).propose_conf_change({ConfChangeType::kAddLearner, N(4)}).ok());
  EXPECT_FALSE(c.node(N(1)).propose_conf_change({ConfChangeType::kRemoveNode, N(1)}).ok());
}

TEST(RawNodeTest, SnapshotIsStreamedInChunksAndInstalled) {
  Config cfg = base_config();
  cfg.snapshot_chunk_bytes_max = 4;
  TestCluster c(cfg);
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(3)});
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(c.node(N(1)).propose(fmt::format("v{}", k)).ok());
  c.stabilize();
  ASSERT_TRUE(c.compact(N(1), c.member(N(1)).applied_index).ok());
  c.heal();
  size_t chunks = 0;
  c.log = [&](const std::string& line) {
    if (line.find("Snapshot term") != std::string::npos) ++chunks;
  };
  tick_all(c, 3);
  EXPECT_GT(chunks, 5u);
  EXPECT_EQ(c.member(N(3)).applied, c.member(N(1)).applied);
  EXPECT_EQ(c.storage(N(3)).first_index(), c.storage(N(1)).first_index());
  ASSERT_TRUE(c.node(N(1)).propose("after").ok());
  c.stabilize();
  EXPECT_EQ(c.member(N(3)).applied.back(), "after");
}

TEST(RawNodeTest, SnapshotOlderThanCommitIsAckedAndIgnored) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  Message m;
  m.type = MessageType::kSnapshot;
  m.group = GroupId(7);
  m.from = N(1);
  m.to = N(2);
  m.term = c.node(N(1)).term();
  m.snapshot_meta.index = LogIndex(1);
  m.snapshot_meta.term = m.term;
  m.snapshot_last = true;
  ASSERT_TRUE(c.node(N(2)).step(m).ok());
  Ready rd = c.node(N(2)).ready();
  EXPECT_FALSE(rd.snapshot.has_value());
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].type, MessageType::kSnapshotResp);
  EXPECT_TRUE(rd.messages[0].snapshot_last);
  c.node(N(2)).advance(rd);
}

TEST(RawNodeTest, MessagesForAnotherGroupOrNodeAreErrors) {
  TestCluster c(base_config());
  c.add_voters(3);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.group = GroupId(8);
  m.from = N(2);
  m.to = N(1);
  EXPECT_EQ(c.node(N(1)).step(m).code(), absl::StatusCode::kInvalidArgument);
  m.group = GroupId(7);
  m.to = N(3);
  EXPECT_EQ(c.node(N(1)).step(m).code(), absl::StatusCode::kInvalidArgument);
  m.to = N(1);
  m.from = N(1);
  EXPECT_EQ(c.node(N(1)).step(m).code(), absl::StatusCode::kInvalidArgument);
  m.from = N(2);
  EXPECT_TRUE(c.node(N(1)).step(m).ok());
  Message bad;
  bad.type = MessageType::kAppend;
  bad.group = GroupId(7);
  bad.from = N(2);
  bad.to = N(1);
  bad.term = Term(1);
  bad.entries = {Entry{Term(1), LogIndex(5), EntryType::kNormal, ""}};  // not at index + 1
  EXPECT_EQ(c.node(N(1)).step(bad).code(), absl::StatusCode::kInvalidArgument);
}

TEST(RawNodeTest, RestartKeepsTermVoteAndLog) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  const NodeStatus before = c.node(N(2)).status();
  c.restart(N(2));
  const NodeStatus after = c.node(N(2)).status();
  EXPECT_EQ(after.term, before.term);
  EXPECT_EQ(after.vote, before.vote);
  EXPECT_EQ(after.commit, before.commit);
  EXPECT_EQ(after.last_index, before.last_index);
  tick_all(c, 3);
  ASSERT_TRUE(c.node(N(1)).propose("b").ok());
  c.stabilize();
  EXPECT_EQ(c.member(N(2)).applied, (std::vector<std::string>{"a", "b"}));
}

TEST(RawNodeTest, RestartWithAppliedBeyondAnUnsyncedCommit) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  // A commit-only hard state is written without sync: it may be lost while the state machine
  // (and its applied index) survived.
  c.member(N(2)).hard_state.commit = LogIndex(0);
  c.restart(N(2));
  EXPECT_EQ(c.node(N(2)).status().commit, LogIndex(2));
  EXPECT_EQ(c.node(N(2)).status().applied, LogIndex(2));
}

TEST(RawNodeTest, ProposalsBetweenReadiesShareOneAppendPerFollower) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  for (int k = 0; k < 1000; ++k) ASSERT_TRUE(c.node(N(1)).propose("p").ok());
  Ready rd = c.node(N(1)).ready();
  EXPECT_EQ(rd.entries.size(), 1000u);
  EXPECT_EQ(rd.messages.size(), 2u);
  ASSERT_TRUE(c.storage(N(1)).append(rd.entries).ok());
  c.node(N(1)).advance(rd);
}

// Once a follower has acknowledged everything, the append that brings it the new commit index
// is marked commit-only and goes unanswered; a follower that cannot accept one still answers.
TEST(RawNodeTest, CommitOnlyAppendsAreNotAnsweredUnlessRejected) {
  TestCluster c(base_config());
  c.add_voters(3);
  elect(c, N(1));
  c.stabilize();
  ASSERT_EQ(c.queued(), 0u);
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  ASSERT_TRUE(c.process_ready(N(1)));  // the entry goes to both followers
  EXPECT_EQ(c.deliver_all(), 2u);
  ASSERT_TRUE(c.process_ready(N(2)));
  ASSERT_TRUE(c.process_ready(N(3)));
  EXPECT_EQ(c.deliver_all(), 2u);      // their answers
  ASSERT_TRUE(c.process_ready(N(1)));  // commits and tells them
  const LogIndex commit = c.node(N(1)).status().commit;
  EXPECT_EQ(c.queued(), 2u);
  EXPECT_EQ(c.deliver_all(), 2u);
  c.process_ready(N(2));
  c.process_ready(N(3));
  EXPECT_EQ(c.queued(), 0u);  // no answers to the commit-only appends
  for (NodeId id : {N(2), N(3)}) {
    EXPECT_EQ(c.node(id).status().commit, commit) << id.value();
    EXPECT_EQ(c.member(id).applied.back(), "a") << id.value();
  }

  Message m;
  m.type = MessageType::kAppend;
  m.group = base_config().group;
  m.from = N(1);
  m.to = N(2);
  m.term = c.node(N(1)).status().term;
  m.index = c.node(N(2)).status().last_index + 5;  // beyond its log
  m.log_term = m.term;
  m.commit = commit;
  m.commit_only = true;
  ASSERT_TRUE(c.node(N(2)).step(m).ok());
  Ready rd = c.node(N(2)).ready();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].type, MessageType::kAppendResp);
  EXPECT_TRUE(rd.messages[0].reject);
  c.node(N(2)).advance(rd);
}

TEST(RawNodeTest, UncommittedBytesAreBounded) {
  Config cfg = base_config();
  cfg.uncommitted_bytes_max = 10;
  TestCluster c(cfg);
  c.add_voters(3);
  elect(c, N(1));
  c.partition({N(1)});
  EXPECT_TRUE(c.node(N(1)).propose("12345678").ok());
  EXPECT_EQ(c.node(N(1)).propose("12345678").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(RawNodeTest, CommittedEntriesPerReadyAreBounded) {
  Config cfg = base_config();
  cfg.committed_bytes_per_ready_max = 10;
  TestCluster c(cfg);
  c.add_voters(1);
  elect(c, N(1));
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(c.node(N(1)).propose("12345").ok());
  c.process_ready(N(1));  // persists
  Ready rd = c.node(N(1)).ready();
  EXPECT_EQ(rd.committed_entries.size(), 2u);
  c.node(N(1)).advance(rd);
}

TEST(RawNodeTest, ConfChangeCodecRoundTrips) {
  for (ConfChangeType t :
       {ConfChangeType::kAddVoter, ConfChangeType::kAddLearner, ConfChangeType::kRemoveNode}) {
    for (std::string context : {std::string(), std::string("a\0b", 3)}) {
      ConfChange cc{t, N(300), context};
      Result<ConfChange> back = decode_conf_change(encode_conf_change(cc));
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, cc);
    }
  }
  // Version 1 (no context) still decodes.
  Result<ConfChange> v1 = decode_conf_change(std::string("\x01\x01\x05", 3));
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, (ConfChange{ConfChangeType::kAddLearner, N(5), {}}));
  EXPECT_FALSE(decode_conf_change(std::string("\x02\x01\x05\x09x", 5)).ok());  // short context
  EXPECT_FALSE(decode_conf_change("").ok());
  EXPECT_FALSE(decode_conf_change(std::string("\x01\x07\x01", 3)).ok());
  EXPECT_FALSE(decode_conf_change(std::string("\x01\x00\x01\x00", 4)).ok());
}

TEST(RawNodeTest, NamesAreHumanReadable) {
  EXPECT_STREQ(role_name(Role::kPreCandidate), "pre-candidate");
  EXPECT_STREQ(message_type_name(MessageType::kTimeoutNow), "TimeoutNow");
}

}  // namespace
}  // namespace bw::raft
