// RawNode behaviour, driven through a small in-memory cluster (raft_testing.h).
#include "raft/raft.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bw::raft
