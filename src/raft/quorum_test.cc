#include "raft/quorum.h"

#include <gtest/gtest.h>

#include <map>

namespace bw::raft::quorum {
namespace {

std::vector<NodeId> ids(std::initializer_list<uint64_t> v) {
  std::vector<NodeId> out;
  for (uint64_t x : v) out.push_back(NodeId(x));
  return out;
}

TEST(Quorum, MajorityCommitIndexTable) {
  struct Case {
    std::vector<NodeId> voters;
    std::map<uint64_t, uint64_t> acked;
    uint64_t want;
  };
  const std::vector<Case> cases = {
      {ids({1}), {{1, 5}}, 5},
      {ids({1}), {}, 0},
      {ids({1, 2}), {{1, 5}, {2, 3}}, 3},
      {ids({1, 2, 3}), {{1, 5}, {2, 3}, {3, 9}}, 5},
      {ids({1, 2, 3}), {{1, 5}}, 0},
      {ids({1, 2, 3}), {{1, 5}, {2, 4}}, 4},
      {ids({1, 2, 3, 4}), {{1, 8}, {2, 7}, {3, 6}, {4, 5}}, 6},
      {ids({1, 2, 3, 4, 5}), {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}}, 3},
      {ids({1, 2, 3, 4, 5}), {{1, 9}, {2, 9}}, 0},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    LogIndex got = majority_commit_index(c.voters, [&](NodeId id) -> std::optional<LogIndex> {
      auto it = c.acked.find(id.value());
      if (it == c.acked.end()) return std::nullopt;
      return LogIndex(it->second);
    });
    EXPECT_EQ(got, LogIndex(c.want)) << "case " << k;
  }
}

TEST(Quorum, JointCommitIndexIsTheMinimumOfBothHalves) {
  std::map<uint64_t, uint64_t> acked = {{1, 9}, {2, 9}, {3, 2}, {4, 1}, {5, 1}};
  auto fn = [&](NodeId id) -> std::optional<LogIndex> { return LogIndex(acked[id.value()]); };
  EXPECT_EQ(joint_commit_index(ids({1, 2, 3}), {}, fn), LogIndex(9));
  EXPECT_EQ(joint_commit_index(ids({1, 2, 3}), ids({3, 4, 5}), fn), LogIndex(1));
  EXPECT_EQ(joint_commit_index(ids({1, 2, 3}), ids({1, 2, 4}), fn), LogIndex(9));
}

TEST(Quorum, VoteResultTable) {
  struct Case {
    std::vector<NodeId> voters;
    std::map<uint64_t, bool> votes;
    VoteResult want;
  };
  const std::vector<Case> cases = {
      {ids({1}), {}, VoteResult::kPending},
      {ids({1}), {{1, true}}, VoteResult::kWon},
      {ids({1}), {{1, false}}, VoteResult::kLost},
      {ids({1, 2}), {{1, true}}, VoteResult::kPending},
      {ids({1, 2}), {{1, true}, {2, false}}, VoteResult::kLost},
      {ids({1, 2, 3}), {{1, true}, {2, true}}, VoteResult::kWon},
      {ids({1, 2, 3}), {{1, true}, {2, false}}, VoteResult::kPending},
      {ids({1, 2, 3}), {{1, false}, {2, false}}, VoteResult::kLost},
      {ids({1, 2, 3, 4}), {{1, true}, {2, true}}, VoteResult::kPending},
      {ids({1, 2, 3, 4}), {{1, true}, {2, true}, {3, false}, {4, false}}, VoteResult::kLost},
      {{}, {}, VoteResult::kWon},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    VoteResult got = majority_vote_result(c.voters, [&](NodeId id) -> std::optional<bool> {
      auto it = c.votes.find(id.value());
      if (it == c.votes.end()) return std::nullopt;
      return it->second;
    });
    EXPECT_EQ(got, c.want) << "case " << k << ": " << vote_result_name(got);
  }
}

TEST(Quorum, JointVoteNeedsBothHalves) {
  std::map<uint64_t, bool> votes = {{1, true}, {2, true}, {4, false}, {5, false}};
  auto fn = [&](NodeId id) -> std::optional<bool> {
    auto it = votes.find(id.value());
    if (it == votes.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(joint_vote_result(ids({1, 2, 3}), {}, fn), VoteResult::kWon);
  EXPECT_EQ(joint_vote_result(ids({1, 2, 3}), ids({3, 4, 5}), fn), VoteResult::kLost);
  EXPECT_EQ(joint_vote_result(ids({1, 2, 3}), ids({1, 3, 6}), fn), VoteResult::kPending);
  EXPECT_EQ(joint_vote_result(ids({1, 2, 3}), ids({1, 2, 6}), fn), VoteResult::kWon);
}

}  // namespace
}  // namespace bw::raft::quorum
