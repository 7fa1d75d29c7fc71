#include "raft/quorum.h"

#include <algorithm>
#include <limits>

#include "common/assert.h"

namespace bw::raft::quorum {

const char* vote_result_name(VoteResult r) {
  switch (r) {
    case VoteResult::kPending:
      return "pending";
    case VoteResult::kLost:
      return "lost";
    case VoteResult::kWon:
      return "won";
  }
  return "unknown";
}

LogIndex majority_commit_index(const std::vector<NodeId>& voters, const AckedIndexFn& acked) {
  if (voters.empty()) return LogIndex(std::numeric_limits<uint64_t>::max());
  std::vector<LogIndex> indexes;
  indexes.reserve(voters.size());
  for (NodeId v : voters) indexes.push_back(acked(v).value_or(LogIndex(0)));
  // Sorted descending, the entry at position n/2 is held by n/2+1 voters: a majority.
  std::sort(indexes.begin(), indexes.end(), std::greater<>());
  return indexes[voters.size() / 2];
}

VoteResult majority_vote_result(const std::vector<NodeId>& voters, const VoteFn& vote) {
  if (voters.empty()) return VoteResult::kWon;  // the empty half of a non-joint config
  size_t yes = 0;
  size_t missing = 0;
  for (NodeId v : voters) {
    std::optional<bool> answer = vote(v);
    if (!answer.has_value()) {
      ++missing;
    } else if (*answer) {
      ++yes;
    }
  }
  const size_t quorum = voters.size() / 2 + 1;
  if (yes >= quorum) return VoteResult::kWon;
  if (yes + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

LogIndex joint_commit_index(const std::vector<NodeId>& incoming,
                            const std::vector<NodeId>& outgoing, const AckedIndexFn& acked) {
  BW_ASSERT(!incoming.empty(), "a configuration needs at least one voter");
  return std::min(majority_commit_index(incoming, acked), majority_commit_index(outgoing, acked));
}

VoteResult joint_vote_result(const std::vector<NodeId>& incoming,
                             const std::vector<NodeId>& outgoing, const VoteFn& vote) {
  VoteResult a = majority_vote_result(incoming, vote);
  VoteResult b = majority_vote_result(outgoing, vote);
  if (a == b) return a;
  if (a == VoteResult::kLost || b == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace bw::raft::quorum
