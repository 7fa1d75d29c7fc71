// ReadIndex (Raft thesis §6.4): a read point is the commit index at request time, released
// once a heartbeat round proves this node was still leader then. Requests between two ready()
// calls share one round; up to Config::read_rounds_with_requests_max such rounds are in flight at
// once; above 1, a request waits for one round trip, not for the end of the round before it
// plus its own.
//
// Confirmation: each member's newest acknowledged round is kept (read_acked_). A member that
// acknowledges round j > k also received a heartbeat of this term sent after round k started,
// so round k is confirmed as soon as a quorum of voters acknowledged rounds >= k, whatever the
// order the answers arrive in and whether k's own heartbeats were lost. A confirmed round
// releases every older one.
//
// Lease-based reads (thesis §6.4.1): every periodic heartbeat is a round too. When a quorum
// acknowledges a round sent at tick S, none of them will vote for another candidate before
// their own election timeout has run from the moment they received it (leader stickiness), so
// no other leader can exist before S + election_ticks; we serve reads without a round until
// S + election_ticks - 1 (one tick of slack for tick phase differences; clock rates are
// assumed equal within that). Outside the lease, reads fall back to a round.
//
// The promise has two holes, both closed: a follower that restarts forgets it (it refuses
// votes for an election timeout after booting: bound_by_lease in raft.cc), and a leadership
// transfer's target is voted for regardless of it (after sending TimeoutNow a leader takes no
// lease for the rest of its term: maybe_send_timeout_now).
#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "common/codec.h"
#include "raft/quorum.h"
#include "raft/raft_impl.h"

namespace bw::raft {

namespace {

std::string encode_round(uint64_t id) {
  std::string out;
  ByteWriter(&out).u64(id);
  return out;
}

std::optional<uint64_t> decode_round(const std::string& context) {
  ByteReader r(context);
  Result<uint64_t> id = r.u64();
  if (!id.ok() || !r.done()) return std::nullopt;
  return *id;
}

}  // namespace

void RawNode::Impl::read_index(std::string context) {
  if (role_ == Role::kLeader) {
    handle_read_request(std::move(context), config_.id);
    return;
  }
  if (leader_ == kNoNode) return;  // dropped: the caller times out and retries
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = leader_;
  m.context = std::move(context);
  send(std::move(m));
}

bool RawNode::Impl::committed_in_term() const {
  return log_.term_or_zero(log_.committed()) == term_;
}

void RawNode::Impl::handle_read_request(std::string context, NodeId from) {
  BW_ASSERT(role_ == Role::kLeader);
  if (!committed_in_term()) {
    // Our commit index may lag the previous leader's until our first entry commits.
    if (reads_await_commit_.size() < config_.pending_reads_max) {
      reads_await_commit_.push_back(ReadRequest{std::move(context), from});
    }
    return;
  }
  const bool single_voter = voters_.size() == 1 && voters_outgoing_.empty();
  const bool lease = config_.read_only == ReadOnlyOption::kLeaseBased && lease_valid();
  if (bug(PlantedBug::kReadIndexWithoutHeartbeat) || lease || single_voter) {  // PLANTED BUG
    release_read(log_.committed(), std::move(context), from);
    return;
  }
  if (reads_unsent_.size() < config_.pending_reads_max) {
    reads_unsent_.push_back(ReadRequest{std::move(context), from});
  }
}

void RawNode::Impl::release_read(LogIndex index, std::string context, NodeId from) {
  if (from == config_.id) {
    read_states_.push_back(ReadState{index, std::move(context)});
    return;
  }
  Message m;
  m.type = MessageType::kReadIndexResp;
  m.to = from;
  m.index = index;
  m.context = std::move(context);
  send(std::move(m));
}

void RawNode::Impl::release_deferred_reads() {
  if (role_ != Role::kLeader || reads_await_commit_.empty() || !committed_in_term()) return;
  std::vector<ReadRequest> reads = std::move(reads_await_commit_);
  reads_await_commit_.clear();
  for (ReadRequest& r : reads) handle_read_request(std::move(r.context), r.from);
}

bool RawNode::Impl::lease_valid() const {
  return transferee_ == kNoNode && now_ticks_ < lease_until_ticks_;
}

RawNode::Impl::ReadRound& RawNode::Impl::new_read_round() {
  ReadRound round;
  round.id = ++read_round_seq_;
  round.sent_tick = now_ticks_;
  round.index = log_.committed();
  round.requests = std::move(reads_unsent_);
  reads_unsent_.clear();
  read_acked_[config_.id] = round.id;
  read_rounds_.push_back(std::move(round));
  return read_rounds_.back();
}

// Requests that arrived since the last round started (from this node's clients and from
// followers) get a round of their own at the next ready(), without waiting for the rounds
// already out, while fewer than read_rounds_with_requests_max rounds with requests are in flight;
// beyond that they wait and share the round started when one is confirmed. Only ready() starts
// rounds, so the requests of one event-loop pass share one. The round goes to voters only:
// learners' answers do not count.
bool RawNode::Impl::read_round_startable() const {
  if (reads_unsent_.empty()) return false;
  if (read_rounds_.size() >= kReadRoundsMax) return false;  // wait for answers
  const auto with_requests = std::count_if(read_rounds_.begin(), read_rounds_.end(),
                                           [](const ReadRound& r) { return !r.requests.empty(); });
  return static_cast<size_t>(with_requests) < config_.read_rounds_with_requests_max;
}

void RawNode::Impl::start_read_round() {
  if (!read_round_startable()) return;
  broadcast_heartbeat(encode_round(new_read_round().id), /*voters_only=*/true);
}

std::string RawNode::Impl::heartbeat_context() {
  // With leases, each periodic heartbeat is a round that can extend the lease.
  if (config_.read_only == ReadOnlyOption::kLeaseBased && committed_in_term() &&
      read_rounds_.size() < kReadRoundsMax) {
    return encode_round(new_read_round().id);
  }
  // Otherwise repeat the newest round, so a lost round is retried; acknowledging it confirms
  // every older round too.
  if (read_rounds_.empty()) return {};
  return encode_round(read_rounds_.back().id);
}

bool RawNode::Impl::read_round_confirmed(uint64_t id) const {
  return quorum::joint_vote_result(voters_, voters_outgoing_, [&](NodeId v) {
           auto it = read_acked_.find(v);
           return it != read_acked_.end() && it->second >= id ? std::optional<bool>(true)
                                                              : std::optional<bool>();
         }) == quorum::VoteResult::kWon;
}

void RawNode::Impl::handle_read_ack(NodeId from, const std::string& context) {
  std::optional<uint64_t> id = decode_round(context);
  if (!id.has_value() || *id > read_round_seq_) return;
  uint64_t& acked = read_acked_[from];
  acked = std::max(acked, *id);  // an answer overtaken by a newer one adds nothing
  // The newest round in flight that a quorum now covers (none newer than this member's newest
  // answer can be covered); a confirmed round confirms every older one, so the scan stops at the
  // first hit.
  auto confirmed = read_rounds_.rend();
  for (auto it = read_rounds_.rbegin(); it != read_rounds_.rend(); ++it) {
    if (it->id <= acked && read_round_confirmed(it->id)) {
      confirmed = it;
      break;
    }
  }
  if (confirmed == read_rounds_.rend()) return;
  const uint64_t upto = confirmed->id;
  // This round proves leadership as of every earlier one too.
  while (!read_rounds_.empty() && read_rounds_.front().id <= upto) {
    ReadRound round = std::move(read_rounds_.front());
    read_rounds_.pop_front();
    if (!lease_forfeited_ || bug(PlantedBug::kLeaseExtendedAfterTransfer)) {  // PLANTED BUG
      lease_until_ticks_ =
          std::max(lease_until_ticks_, round.sent_tick + config_.election_ticks - 1);
    }
    for (ReadRequest& r : round.requests) {
      release_read(round.index, std::move(r.context), r.from);
    }
  }
  // Requests that waited at the bound get their round at the next ready() (has_ready() says
  // so), together with any that arrive in the rest of this pass.
}

void RawNode::Impl::clear_reads() {
  reads_unsent_.clear();
  reads_await_commit_.clear();
  read_rounds_.clear();
  read_acked_.clear();
  lease_until_ticks_ = 0;
  // A TimeoutNow of an earlier term can start an election only for a term up to ours, where
  // votes already cast keep a second leader out: the next term's leader starts unbound.
  lease_forfeited_ = false;
}

}  // namespace bw::raft
