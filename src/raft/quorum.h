// Quorum arithmetic for majority and joint (C_old,new) configurations: the commit index a set of
// acknowledged indexes supports, and the outcome of a vote tally. Pure functions over plain
// data; table-tested in quorum_test.cc.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "common/ids.h"

namespace bw::raft::quorum {

enum class VoteResult : uint8_t { kPending, kLost, kWon };

const char* vote_result_name(VoteResult r);

// Looks up a voter's acknowledged index; nullopt when the voter has not reported one.
using AckedIndexFn = std::function<std::optional<LogIndex>(NodeId)>;
// Looks up a voter's vote; nullopt when it has not answered yet.
using VoteFn = std::function<std::optional<bool>(NodeId)>;

// The largest index acknowledged by a majority of `voters`. An empty voter set places no
// restriction and yields LogIndex max, so a joint quorum with an empty half reduces to the other.
LogIndex majority_commit_index(const std::vector<NodeId>& voters, const AckedIndexFn& acked);
VoteResult majority_vote_result(const std::vector<NodeId>& voters, const VoteFn& vote);

// A joint configuration needs a majority in both halves; `outgoing` empty means not joint.
LogIndex joint_commit_index(const std::vector<NodeId>& incoming,
                            const std::vector<NodeId>& outgoing, const AckedIndexFn& acked);
VoteResult joint_vote_result(const std::vector<NodeId>& incoming,
                             const std::vector<NodeId>& outgoing, const VoteFn& vote);

}  // namespace bw::raft::quorum
