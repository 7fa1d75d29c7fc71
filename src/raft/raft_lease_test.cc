// Lease reads (ReadOnlyOption::kLeaseBased) against the two ways a leader's lease could outlive
// the followers' promise not to vote: a follower restart, and a leadership transfer. Each
// scenario runs with the fix and with its planted bug, which must produce a stale read: a read
// served at an index below what another leader had already committed when it was asked.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>

#include "raft/raft.h"
#include "raft/raft_testing.h"

namespace bw::raft {
namespace {

using testing::TestCluster;

constexpr uint32_t kElectionTicks = 10;

NodeId N(uint64_t v) {
  return NodeId(v);
}

Config lease_config(PlantedBug bug = PlantedBug::kNone) {
  Config c;
  c.group = GroupId(3);
  c.election_ticks = kElectionTicks;
  c.heartbeat_ticks = 1;
  c.check_quorum = true;
  c.pre_vote = true;
  c.read_only = ReadOnlyOption::kLeaseBased;
  c.planted_bugs = static_cast<uint32_t>(bug);
  return c;
}

// Node 1 leads term 1 with "a" committed at index 2, and holds a lease.
void elect_one_with_lease(TestCluster& c) {
  c.add_voters(3);
  c.node(N(1)).campaign();
  c.stabilize();
  ASSERT_TRUE(c.node(N(1)).is_leader());
  ASSERT_TRUE(c.node(N(1)).propose("a").ok());
  c.stabilize();
  for (NodeId id : c.ids()) c.tick(id, 1);
  c.stabilize();
}

// Ticks every listed node once (the lease assumes equal clock rates), then lets the listed
// nodes exchange messages until quiet. Messages to other nodes stay queued, in order.
void tick_among(TestCluster& c, std::initializer_list<uint64_t> nodes) {
  for (uint64_t id : nodes) c.tick(N(id), 1);
  for (bool moved = true; moved;) {
    moved = false;
    for (uint64_t id : nodes) moved |= c.process_ready(N(id));
    for (uint64_t id : nodes) moved |= c.deliver_to(N(id)) > 0;
  }
}

LogIndex max_commit(TestCluster& c) {
  LogIndex out;
  for (NodeId id : c.ids()) out = std::max(out, c.node(id).status().commit);
  return out;
}

NodeId leader_of_highest_term(TestCluster& c) {
  NodeId out;
  for (NodeId id : c.ids()) {
    if (c.node(id).is_leader() && (out == kNoNode || c.node(id).term() > c.node(out).term())) {
      out = id;
    }
  }
  return out;
}

struct ReadOutcome {
  bool served = false;  // node 1, cut off from the others, can only answer from its lease
  bool stale = false;   // below what was committed somewhere when it was asked
};

ReadOutcome read_on_old_leader(TestCluster& c) {
  const LogIndex committed = max_commit(c);
  c.member(N(1)).read_states.clear();
  c.node(N(1)).read_index("late");
  c.stabilize();
  const std::vector<ReadState>& reads = c.member(N(1)).read_states;
  if (reads.empty()) return {};
  return ReadOutcome{true, reads[0].index < committed};
}

// Node 2 acknowledges the lease round of node 1 and restarts; node 3, which missed the round,
// campaigns while node 1 is cut off and its lease still runs.
void restart_scenario(TestCluster& c) {
  elect_one_with_lease(c);
  c.partition({N(3)});
  for (uint32_t k = 0; k < kElectionTicks; ++k) tick_among(c, {1, 2, 3});
  c.restart(N(2));
  c.partition({N(1)});
  c.node(N(3)).campaign();  // 3 has heard from no leader for an election timeout
  c.stabilize();
  if (c.node(N(3)).is_leader()) {
    ASSERT_TRUE(c.node(N(3)).propose("b").ok());
    c.stabilize();
  }
}

TEST(RaftLease, RestartedFollowerRefusesVotesForAnElectionTimeout) {
  TestCluster c(lease_config());
  restart_scenario(c);
  EXPECT_EQ(c.node(N(3)).status().role, Role::kPreCandidate);
  EXPECT_EQ(c.node(N(3)).term(), Term(1));
  ReadOutcome read = read_on_old_leader(c);
  EXPECT_TRUE(read.served);  // its lease still runs, and nobody else could commit
  EXPECT_FALSE(read.stale);
  // Once an election timeout has passed since the boot (and so the lease has run out), the
  // majority side elects a leader and commits again.
  for (uint32_t k = 0; k < 3 * kElectionTicks; ++k) {
    if (c.node(N(2)).is_leader() || c.node(N(3)).is_leader()) break;
    for (NodeId id : c.ids()) c.tick(id, 1);
    c.stabilize();
  }
  const NodeId leader = leader_of_highest_term(c);
  ASSERT_TRUE(leader == N(2) || leader == N(3));
  ASSERT_TRUE(c.node(leader).propose("b").ok());
  c.stabilize();
  read = read_on_old_leader(c);
  EXPECT_FALSE(read.served);
}

TEST(RaftLease, PlantedVoteRightAfterRestartServesAStaleRead) {
  TestCluster c(lease_config(PlantedBug::kVoteRightAfterRestart));
  restart_scenario(c);
  ASSERT_TRUE(c.node(N(3)).is_leader());
  EXPECT_TRUE(read_on_old_leader(c).stale);
}

TEST(RaftLease, RestartedFollowerHonoursTimeoutNowAtOnce) {
  TestCluster c(lease_config());
  elect_one_with_lease(c);
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(3)).ok());
  c.process_ready(N(1));
  c.deliver_to(N(3));  // TimeoutNow
  c.restart(N(2));
  c.partition({N(1)});
  c.stabilize();
  EXPECT_TRUE(c.node(N(3)).is_leader());  // 2 voted, forced, without waiting out its boot
}

TEST(RaftLease, WholeClusterRestartElectsALeader) {
  TestCluster c(lease_config());
  elect_one_with_lease(c);
  for (NodeId id : c.ids()) c.restart(id);
  uint32_t ticks = 0;
  for (; ticks < 4 * kElectionTicks && leader_of_highest_term(c) == kNoNode; ++ticks) {
    for (NodeId id : c.ids()) c.tick(id, 1);
    c.stabilize();
  }
  ASSERT_NE(leader_of_highest_term(c), kNoNode) << "no leader after " << ticks << " ticks";
}

// A round sent just before TimeoutNow is acknowledged after it; then the transfer is aborted
// while the target, which got TimeoutNow, is already winning.
void aborted_transfer_scenario(TestCluster& c) {
  elect_one_with_lease(c);
  c.tick(N(1), 1);  // a lease round leaves with the TimeoutNow
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(3)).ok());
  c.process_ready(N(1));
  c.deliver_to(N(2));
  c.process_ready(N(2));
  c.deliver_to(N(1));                                    // 2's acknowledgement completes the round
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(1)).ok());  // abort
  EXPECT_EQ(c.node(N(1)).status().transferee, kNoNode);
  c.deliver_to(N(3));  // the round and TimeoutNow: 3 campaigns
  c.partition({N(1)});
  c.stabilize();
  ASSERT_TRUE(c.node(N(3)).is_leader());
  ASSERT_TRUE(c.node(N(3)).propose("b").ok());
  c.stabilize();
}

TEST(RaftLease, AbortedTransferDoesNotRestoreTheLease) {
  TestCluster c(lease_config());
  aborted_transfer_scenario(c);
  EXPECT_FALSE(read_on_old_leader(c).served);
}

TEST(RaftLease, PlantedLeaseExtendedAfterAbortedTransferServesAStaleRead) {
  TestCluster c(lease_config(PlantedBug::kLeaseExtendedAfterTransfer));
  aborted_transfer_scenario(c);
  EXPECT_TRUE(read_on_old_leader(c).stale);
}

// TimeoutNow is delayed past the transfer timeout; rounds sent after the transfer ended are
// acknowledged by 2, which still votes for 3 once TimeoutNow arrives.
void late_timeout_now_scenario(TestCluster& c) {
  elect_one_with_lease(c);
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(3)).ok());
  c.process_ready(N(1));  // TimeoutNow, held in the queue: 3 stalls and neither ticks nor hears
  for (uint32_t k = 0; k < kElectionTicks + 2; ++k) tick_among(c, {1, 2});
  EXPECT_EQ(c.node(N(1)).status().transferee, kNoNode);  // timed out
  EXPECT_TRUE(c.node(N(1)).is_leader());
  c.deliver_to(N(3));  // TimeoutNow at last, then the heartbeats that queued behind it
  c.partition({N(1)});
  c.stabilize();
  ASSERT_TRUE(c.node(N(3)).is_leader());
  ASSERT_TRUE(c.node(N(3)).propose("b").ok());
  c.stabilize();
}

TEST(RaftLease, NoLeaseForTheRestOfTheTermAfterTimeoutNow) {
  TestCluster c(lease_config());
  late_timeout_now_scenario(c);
  EXPECT_FALSE(read_on_old_leader(c).served);
}

TEST(RaftLease, PlantedLeaseExtendedAfterLateTimeoutNowServesAStaleRead) {
  TestCluster c(lease_config(PlantedBug::kLeaseExtendedAfterTransfer));
  late_timeout_now_scenario(c);
  EXPECT_TRUE(read_on_old_leader(c).stale);
}

// A failed transfer costs lease reads for the rest of the term only: reads still complete
// with a round, and the next leader holds a lease again.
TEST(RaftLease, ReadsTakeARoundAfterAFailedTransferAndTheNextTermLeases) {
  TestCluster c(lease_config());
  elect_one_with_lease(c);
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(3)).ok());
  c.partition({N(3)});
  c.stabilize();  // TimeoutNow lost
  for (uint32_t k = 0; k < kElectionTicks; ++k) tick_among(c, {1, 2});
  ASSERT_EQ(c.node(N(1)).status().transferee, kNoNode);
  c.member(N(1)).read_states.clear();
  c.node(N(1)).read_index("round");
  c.process_ready(N(1));
  EXPECT_TRUE(c.member(N(1)).read_states.empty());  // its round is on the way to 2
  c.stabilize();
  ASSERT_EQ(c.member(N(1)).read_states.size(), 1u);
  EXPECT_EQ(c.member(N(1)).read_states[0].context, "round");

  c.heal();
  ASSERT_TRUE(c.node(N(1)).transfer_leader(N(2)).ok());
  c.stabilize();
  ASSERT_TRUE(c.node(N(2)).is_leader());
  for (NodeId id : c.ids()) c.tick(id, 1);
  c.stabilize();
  c.node(N(2)).read_index("lease");
  c.process_ready(N(2));
  ASSERT_EQ(c.member(N(2)).read_states.size(), 1u);  // from the new term's lease, no round
  EXPECT_EQ(c.member(N(2)).read_states[0].context, "lease");
}

}  // namespace
}  // namespace bw::raft
