// Proposals, membership changes (one server at a time, applied when the application applies
// the entry) and leadership transfer.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "common/codec.h"
#include "raft/raft_impl.h"

namespace bw::raft {

namespace {

// Version 1: type and node. Version 2 adds the context (still reads version 1, with none).
constexpr uint8_t kConfChangeVersion = 2;
constexpr uint8_t kConfChangeVersionNoContext = 1;

void insert_sorted(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it == v.end() || *it != id) v.insert(it, id);
}

void erase_sorted(std::vector<NodeId>& v, NodeId id) {
  auto it = std::lower_bound(v.begin(), v.end(), id);
  if (it != v.end() && *it == id) v.erase(it);
}

}  // namespace

// ---- proposals -----------------------------------------------------------------------------

Result<LogIndex> RawNode::Impl::propose(std::string data) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(fmt::format("not leader (leader is {})", leader_));
  }
  if (transferee_ != kNoNode) {
    return absl::FailedPreconditionError(fmt::format("transferring leadership to {}", transferee_));
  }
  if (config_.uncommitted_bytes_max != 0 && uncommitted_bytes_ > 0 &&
      uncommitted_bytes_ + data.size() > config_.uncommitted_bytes_max) {
    return absl::ResourceExhaustedError(fmt::format(
        "{} uncommitted bytes: limit {}", uncommitted_bytes_, config_.uncommitted_bytes_max));
  }
  append_entry(EntryType::kNormal, std::move(data));
  return log_.last_index();
}

Result<LogIndex> RawNode::Impl::propose_conf_change(const ConfChange& cc) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(fmt::format("not leader (leader is {})", leader_));
  }
  if (transferee_ != kNoNode) {
    return absl::FailedPreconditionError(fmt::format("transferring leadership to {}", transferee_));
  }
  // One change at a time, and only once an entry of this term is applied (which fixes the
  // single-server-change bug after leader changes: see docs/raft.md).
  if (pending_conf_index_ > log_.applied()) {
    return absl::FailedPreconditionError(
        fmt::format("membership change pending until index {} is applied (applied {})",
                    pending_conf_index_, log_.applied()));
  }
  if (!voters_outgoing_.empty()) {
    return absl::FailedPreconditionError("a joint configuration is in force");
  }
  if (cc.node == kNoNode) return absl::InvalidArgumentError("conf change without a node");
  if (cc.context.size() > kConfChangeContextBytesMax) {
    return absl::InvalidArgumentError(fmt::format("conf change context of {} bytes: limit {}",
                                                  cc.context.size(), kConfChangeContextBytesMax));
  }
  const bool last_voter = voters_.size() == 1 && voters_.front() == cc.node;
  if (last_voter && cc.type != ConfChangeType::kAddVoter) {
    return absl::InvalidArgumentError(fmt::format("cannot remove the last voter {}", cc.node));
  }
  append_entry(EntryType::kConfChange, encode_conf_change(cc));
  pending_conf_index_ = log_.last_index();
  return log_.last_index();
}

// ---- membership ----------------------------------------------------------------------------

ConfState RawNode::Impl::conf_state() const {
  return ConfState{voters_, learners_, voters_outgoing_};
}

void RawNode::Impl::set_conf(const ConfState& conf) {
  voters_ = conf.voters;
  learners_ = conf.learners;
  voters_outgoing_ = conf.voters_outgoing;
  for (auto* v : {&voters_, &learners_, &voters_outgoing_}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  for (NodeId id : learners_) {
    BW_ASSERT(!is_voter(id), "node {} both voter and learner", id);
  }
  std::map<NodeId, Progress> next;
  auto keep = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    Progress pr = it != progress_.end() ? it->second : new_progress(log_.last_index() + 1);
    pr.learner = learner;
    next.emplace(id, std::move(pr));
  };
  for (NodeId id : voters_) keep(id, false);
  for (NodeId id : voters_outgoing_) {
    if (!next.count(id)) keep(id, false);
  }
  for (NodeId id : learners_) keep(id, true);
  progress_ = std::move(next);
  for (auto it = outgoing_snapshots_.begin(); it != outgoing_snapshots_.end();) {
    it = progress_.count(it->first) ? std::next(it) : outgoing_snapshots_.erase(it);
  }
}

ConfState RawNode::Impl::apply_conf_change(const ConfChange& cc) {
  ConfState conf = conf_state();
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      erase_sorted(conf.learners, cc.node);
      insert_sorted(conf.voters, cc.node);
      break;
    case ConfChangeType::kAddLearner:
      erase_sorted(conf.voters, cc.node);
      insert_sorted(conf.learners, cc.node);
      break;
    case ConfChangeType::kRemoveNode:
      erase_sorted(conf.voters, cc.node);
      erase_sorted(conf.learners, cc.node);
      break;
  }
  // No voter left is possible only transiently, on a node replaying history onto the
  // membership it joined with (see BootState); such a node is not a voter and cannot campaign.
  std::vector<NodeId> before;
  for (const auto& [id, pr] : progress_) before.push_back(id);
  set_conf(conf);
  if (role_ == Role::kLeader) {
    if (!is_voter(config_.id)) {
      // Removed (or demoted) leaders step down once the change is committed and applied.
      become_follower(term_, kNoNode);
    } else {
      if (transferee_ != kNoNode && !is_voter(transferee_)) abort_transfer();
      if (maybe_commit()) broadcast_pending_ = true;  // a smaller quorum may commit more
      for (const auto& [id, pr] : progress_) {
        if (!std::binary_search(before.begin(), before.end(), id)) send_append(id, true);
      }
    }
  } else if (role_ == Role::kLearner || role_ == Role::kFollower) {
    role_ = is_learner(config_.id) ? Role::kLearner : Role::kFollower;
  } else if (!is_voter(config_.id)) {
    become_follower(term_, kNoNode);  // a candidate that lost its vote
  }
  return conf;
}

// ---- leadership transfer -------------------------------------------------------------------

Status RawNode::Impl::transfer_leader(NodeId to) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(fmt::format("not leader (leader is {})", leader_));
  }
  if (to == config_.id) {
    abort_transfer();
    return OkStatus();  // already leading
  }
  if (!is_voter(to)) {
    return absl::InvalidArgumentError(fmt::format("transfer target {} is not a voter", to));
  }
  if (transferee_ == to) return OkStatus();  // in progress
  transferee_ = to;
  transfer_elapsed_ = 0;
  Progress& pr = progress_.at(to);
  if (pr.match == log_.last_index()) {
    maybe_send_timeout_now(to);
  } else {
    send_append(to, /*allow_empty=*/true);  // catch the target up first
  }
  return OkStatus();
}

void RawNode::Impl::maybe_send_timeout_now(NodeId to) {
  BW_ASSERT(to == transferee_);
  if (progress_.at(to).match != log_.last_index()) return;
  // The target will campaign ignoring the followers' stickiness whenever this reaches it, which
  // may be after the transfer timed out or was aborted, and a follower may grant it a vote right
  // after acknowledging one of our rounds. So no round, sent before or after, proves a lease
  // again in this term: the lease ends here, and reads take a round until the term ends.
  lease_until_ticks_ = 0;
  lease_forfeited_ = true;
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  send(std::move(m));
}

void RawNode::Impl::tick_transfer() {
  if (transferee_ == kNoNode) return;
  const uint32_t timeout =
      config_.transfer_timeout_ticks != 0 ? config_.transfer_timeout_ticks : config_.election_ticks;
  if (++transfer_elapsed_ >= timeout) abort_transfer();
}

// ---- conf change codec ---------------------------------------------------------------------

std::string encode_conf_change(const ConfChange& cc) {
  std::string out;
  ByteWriter w(&out);
  w.u8(kConfChangeVersion);
  w.u8(static_cast<uint8_t>(cc.type));
  w.varint(cc.node.value());
  w.bytes(cc.context);
  return out;
}

Result<ConfChange> decode_conf_change(std::string_view data) {
  ByteReader r(data);
  BW_ASSIGN_OR_RETURN(uint8_t version, r.u8());
  if (version != kConfChangeVersion && version != kConfChangeVersionNoContext) {
    return absl::DataLossError(fmt::format("conf change version {} unknown", version));
  }
  BW_ASSIGN_OR_RETURN(uint8_t type, r.u8());
  if (type > static_cast<uint8_t>(ConfChangeType::kRemoveNode)) {
    return absl::DataLossError(fmt::format("conf change type {} unknown", type));
  }
  BW_ASSIGN_OR_RETURN(uint64_t node, r.varint());
  ConfChange cc{static_cast<ConfChangeType>(type), NodeId(node), {}};
  if (version == kConfChangeVersion) {
    BW_ASSIGN_OR_RETURN(std::string_view context, r.bytes(kConfChangeContextBytesMax));
    cc.context.assign(context);
  }
  if (!r.done()) return absl::DataLossError("trailing bytes after conf change");
  return cc;
}

}  // namespace bw::raft
