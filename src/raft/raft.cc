// RawNode facade and the core of the state machine: roles, elections, ticks, message dispatch
// and the Ready cycle. See raft_impl.h for how the rest is split.
#include "raft/raft.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "raft/quorum.h"
#include "raft/raft_impl.h"

namespace bw::raft {

namespace {

bool is_leader_message(MessageType t) {
  return t == MessageType::kAppend || t == MessageType::kHeartbeat || t == MessageType::kSnapshot;
}

// Spreads seeds so that nodes configured with the same random_seed still draw different
// election timeouts (deterministically).
uint64_t mix_seed(uint64_t seed, NodeId id) {
  return seed ^ (id.value() * 0x9E3779B97F4A7C15ull);
}

}  // namespace

RawNode::Impl::Impl(const Config& config, LogStorage* storage, const BootState& boot)
    : config_(config),
      storage_(storage),
      rng_(mix_seed(config.random_seed, config.id)),
      log_(storage, boot.hard_state.commit, boot.applied, config.planted_bugs == 0),
      term_(boot.hard_state.term),
      vote_(boot.hard_state.vote),
      booted_with_term_(boot.hard_state.term != Term(0)) {
  BW_ASSERT(config_.id != kNoNode, "config.id must be set");
  BW_ASSERT(config_.election_ticks > config_.heartbeat_ticks, "election {} <= heartbeat {}",
            config_.election_ticks, config_.heartbeat_ticks);
  BW_ASSERT(config_.heartbeat_ticks > 0);
  BW_ASSERT(config_.inflight_appends_max > 0);
  BW_ASSERT(config_.read_rounds_with_requests_max > 0 &&
            config_.read_rounds_with_requests_max <= kReadRoundsMax);
  BW_ASSERT(config_.append_entries_max > 0);
  BW_ASSERT(config_.snapshot_chunk_bytes_max > 0);
  BW_ASSERT(config_.read_only == ReadOnlyOption::kSafe || config_.check_quorum,
            "lease-based reads require check_quorum");
  set_conf(boot.conf);
  role_ = is_learner(config_.id) ? Role::kLearner : Role::kFollower;
  randomize_election_timeout();
  prev_soft_ = soft_state();
  prev_hard_ = boot.hard_state;
}

// ---- roles ---------------------------------------------------------------------------------

void RawNode::Impl::reset(Term term) {
  if (term != term_) {
    BW_ASSERT(term > term_, "term went back: {} < {}", term, term_);
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomize_election_timeout();
  abort_transfer();
  votes_.clear();
  for (auto& [id, pr] : progress_) {
    const bool learner = pr.learner;
    pr = new_progress(log_.last_index() + 1);
    pr.learner = learner;
  }
  outgoing_snapshots_.clear();
  clear_reads();
  pending_conf_index_ = LogIndex(0);
  broadcast_pending_ = false;
  uncommitted_bytes_ = 0;
}

void RawNode::Impl::become_follower(Term term, NodeId leader) {
  reset(term);
  leader_ = leader;
  role_ = is_learner(config_.id) ? Role::kLearner : Role::kFollower;
}

void RawNode::Impl::become_pre_candidate() {
  BW_ASSERT(role_ != Role::kLeader, "leader cannot become pre-candidate");
  // Neither term nor vote change: a pre-election must not disturb anyone.
  votes_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void RawNode::Impl::become_candidate() {
  BW_ASSERT(role_ != Role::kLeader, "leader cannot become candidate");
  reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void RawNode::Impl::become_leader() {
  BW_ASSERT(role_ == Role::kCandidate, "{} cannot become leader", role_name(role_));
  role_ = Role::kLeader;
  leader_ = config_.id;
  Progress& self = self_progress();
  self.become_replicate();
  self.maybe_update(log_.persisted());
  // The empty entry commits everything before it (§5.4.2) and gates conf changes and reads.
  append_entry(EntryType::kNormal, {});
  pending_conf_index_ = log_.last_index();
}

void RawNode::Impl::hup(bool transfer) {
  if (role_ == Role::kLeader) return;
  if (!promotable()) return;
  // A committed conf change not yet applied may change who votes: wait for it.
  if (has_unapplied_conf_change()) return;
  start_campaign(config_.pre_vote && !transfer, transfer);
}

void RawNode::Impl::start_campaign(bool pre_vote, bool transfer) {
  Term vote_term;
  if (pre_vote) {
    become_pre_candidate();
    vote_term = term_ + 1;
  } else {
    become_candidate();
    vote_term = term_;
  }
  votes_[config_.id] = true;
  Message self;
  self.from = config_.id;
  self.term = vote_term;
  self.type = pre_vote ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  handle_vote_response(self);  // wins at once in a single-voter group
  if (role_ != (pre_vote ? Role::kPreCandidate : Role::kCandidate)) return;
  for (NodeId id : all_voters()) {
    if (id == config_.id) continue;
    Message m;
    m.type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
    m.to = id;
    m.term = vote_term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (transfer) m.context = std::string(kTransferContext);
    send(std::move(m));
  }
}

void RawNode::Impl::handle_vote_request(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // We may vote again for the one we voted for, vote if we have neither voted nor follow a
  // leader this term, and always pre-vote for a future term (it changes nothing).
  const bool can_vote =
      vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) || (pre && m.term > term_);
  bool up_to_date = log_.is_up_to_date(m.index, m.log_term);
  if (bug(PlantedBug::kVoteWithoutLogCheck)) up_to_date = true;  // PLANTED BUG
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  resp.to = m.from;
  if (can_vote && up_to_date) {
    // A pre-vote answer carries the term it was asked for, so the pre-candidate counts it.
    resp.term = m.term;
    if (!pre) {
      BW_ASSERT(m.term == term_, "vote for term {} at term {}", m.term, term_);
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
  }
  send(std::move(resp));
}

// Whether we may have promised a leader, by acknowledging it, not to help elect anyone else
// within an election timeout of that acknowledgement: its lease (raft_read.cc) rests on it.
// Only CheckQuorum (required by lease reads) makes the promise.
bool RawNode::Impl::bound_by_lease() const {
  if (!config_.check_quorum) return false;
  if (leader_ != kNoNode && election_elapsed_ < config_.election_ticks) return true;
  // A restart forgets whom we answered, and when. Any acknowledgement preceded the boot, so
  // refusing for one election timeout from the boot outlasts the promise (the acknowledged
  // round's lease ends election_ticks - 1 after it was sent). Our own election timer fires at
  // election_ticks from boot at the earliest, so this never delays our own campaign. A node
  // that booted at term 0 has never acknowledged a leader (the answer waits for the term to be
  // persisted), so a brand-new group elects at once.
  if (bug(PlantedBug::kVoteRightAfterRestart)) return false;  // PLANTED BUG
  return booted_with_term_ && now_ticks_ < config_.election_ticks;
}

void RawNode::Impl::handle_vote_response(const Message& m) {
  const bool pre = m.type == MessageType::kPreVoteResp;
  if (pre != (role_ == Role::kPreCandidate)) return;  // a late answer to another campaign
  if (!is_voter(m.from)) return;
  votes_.emplace(m.from, !m.reject);
  const quorum::VoteResult result =
      quorum::joint_vote_result(voters_, voters_outgoing_, [this](NodeId id) {
        auto it = votes_.find(id);
        return it == votes_.end() ? std::optional<bool>() : std::optional<bool>(it->second);
      });
  if (result == quorum::VoteResult::kWon) {
    if (pre) {
      start_campaign(/*pre_vote=*/false, /*transfer=*/false);
    } else {
      become_leader();
    }
  } else if (result == quorum::VoteResult::kLost) {
    become_follower(term_, kNoNode);
  }
}

// ---- time ----------------------------------------------------------------------------------

void RawNode::Impl::tick() {
  ++now_ticks_;
  if (role_ == Role::kLeader) {
    ticks_since_leader_contact_ = 0;
    tick_heartbeat();
  } else {
    ++ticks_since_leader_contact_;
    tick_election();
  }
}

void RawNode::Impl::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_ticks_) {
    election_elapsed_ = 0;
    hup(/*transfer=*/false);
  }
}

void RawNode::Impl::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum && !quorum_active()) {
      become_follower(term_, kNoNode);  // CheckQuorum: we may be on the minority side
      return;
    }
  }
  tick_transfer();
  tick_snapshot_retransmit();
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(heartbeat_context());
  }
}

bool RawNode::Impl::quorum_active() {
  const quorum::VoteResult result =
      quorum::joint_vote_result(voters_, voters_outgoing_, [this](NodeId id) {
        auto it = progress_.find(id);
        const bool active = id == config_.id || (it != progress_.end() && it->second.recent_active);
        return std::optional<bool>(active);
      });
  for (auto& [id, pr] : progress_) pr.recent_active = id == config_.id;
  return result == quorum::VoteResult::kWon;
}

void RawNode::Impl::randomize_election_timeout() {
  randomized_election_ticks_ =
      config_.election_ticks + static_cast<uint32_t>(rng_() % config_.election_ticks);
}

// ---- messages ------------------------------------------------------------------------------

Status RawNode::Impl::validate(const Message& m) const {
  if (m.group != config_.group) {
    return absl::InvalidArgumentError(
        fmt::format("message for group {} delivered to group {}", m.group, config_.group));
  }
  if (m.to != config_.id) {
    return absl::InvalidArgumentError(
        fmt::format("message for node {} delivered to node {}", m.to, config_.id));
  }
  if (m.from == kNoNode || m.from == config_.id) {
    return absl::InvalidArgumentError(fmt::format("message from invalid sender {}", m.from));
  }
  if (m.type == MessageType::kAppend) {
    Term prev_term = m.log_term;
    for (size_t k = 0; k < m.entries.size(); ++k) {
      const Entry& e = m.entries[k];
      if (e.index != m.index + 1 + k || e.term < prev_term || e.term > m.term) {
        return absl::InvalidArgumentError(
            fmt::format("append from {}: malformed entry {} at position {}", m.from, e.index, k));
      }
      prev_term = e.term;
    }
  }
  return OkStatus();
}

Status RawNode::Impl::step(const Message& m) {
  BW_RETURN_IF_ERROR(validate(m));
  const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    if (vote_request) {
      // Leader stickiness: while we may be part of a live leader's lease, ignore disruptive
      // candidates, unless the leader itself asked for the election (transfer).
      const bool forced = m.context == kTransferContext;
      if (bound_by_lease() && !forced) return OkStatus();
    }
    if (m.type == MessageType::kPreVote) {
      // Never change term on a pre-vote request.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // A granted pre-vote carries the future term; the election will move us there.
    } else {
      become_follower(m.term, is_leader_message(m.type) ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A deposed leader cut off from the cluster: tell it the new term so it steps down
      // (with pre-vote it could not learn it from our elections otherwise).
      Message resp;
      resp.type = MessageType::kAppendResp;
      resp.to = m.from;
      send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResp;
      resp.to = m.from;
      resp.reject = true;
      send(std::move(resp));
    }
    return OkStatus();
  }
  if (vote_request) {
    handle_vote_request(m);
    return OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      return step_leader(m);
    case Role::kCandidate:
    case Role::kPreCandidate:
      return step_candidate(m);
    case Role::kFollower:
    case Role::kLearner:
      return step_follower(m);
  }
  BW_UNREACHABLE("role {}", static_cast<int>(role_));
}

Status RawNode::Impl::step_leader(const Message& m) {
  switch (m.type) {
    case MessageType::kAppendResp:
      return handle_append_response(m);
    case MessageType::kHeartbeatResp:
      handle_heartbeat_response(m);
      return OkStatus();
    case MessageType::kSnapshotResp:
      handle_snapshot_response(m);
      return OkStatus();
    case MessageType::kReadIndex:
      handle_read_request(m.context, m.from);
      return OkStatus();
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      return absl::InternalError(
          fmt::format("{} from {} claims leadership of term {}, which this node leads",
                      message_type_name(m.type), m.from, m.term));
    default:
      return OkStatus();  // late vote answers, stale TimeoutNow, ...
  }
}

Status RawNode::Impl::step_candidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Someone won this term (or, for a pre-candidate, still leads it).
      become_follower(m.term, m.from);
      return step_follower(m);
    case MessageType::kVoteResp:
    case MessageType::kPreVoteResp:
      handle_vote_response(m);
      return OkStatus();
    default:
      return OkStatus();
  }
}

Status RawNode::Impl::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      ticks_since_leader_contact_ = 0;
      leader_ = m.from;
      if (m.type == MessageType::kAppend) handle_append(m);
      if (m.type == MessageType::kHeartbeat) handle_heartbeat(m);
      if (m.type == MessageType::kSnapshot) handle_snapshot(m);
      return OkStatus();
    case MessageType::kTimeoutNow:
      hup(/*transfer=*/true);
      return OkStatus();
    case MessageType::kReadIndexResp:
      read_states_.push_back(ReadState{m.index, m.context});
      return OkStatus();
    default:
      return OkStatus();
  }
}

void RawNode::Impl::send(Message m) {
  BW_ASSERT(m.to != config_.id, "message to self");
  BW_ASSERT(m.to != kNoNode);
  m.group = config_.group;
  m.from = config_.id;
  if (m.term == Term(0)) m.term = term_;
  msgs_.push_back(std::move(m));
}

// ---- membership queries --------------------------------------------------------------------

bool RawNode::Impl::is_voter(NodeId id) const {
  return std::binary_search(voters_.begin(), voters_.end(), id) ||
         std::binary_search(voters_outgoing_.begin(), voters_outgoing_.end(), id);
}

bool RawNode::Impl::is_learner(NodeId id) const {
  return std::binary_search(learners_.begin(), learners_.end(), id);
}

bool RawNode::Impl::promotable() const {
  return is_voter(config_.id);
}

std::vector<NodeId> RawNode::Impl::all_voters() const {
  std::vector<NodeId> out = voters_;
  out.insert(out.end(), voters_outgoing_.begin(), voters_outgoing_.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool RawNode::Impl::has_unapplied_conf_change() const {
  if (log_.applied() >= log_.committed()) return false;
  Result<std::vector<Entry>> ents =
      log_.slice(log_.applied() + 1, log_.committed() + 1, UINT64_MAX, SIZE_MAX);
  if (!ents.ok()) return false;
  return std::any_of(ents->begin(), ents->end(),
                     [](const Entry& e) { return e.type == EntryType::kConfChange; });
}

// ---- Ready ---------------------------------------------------------------------------------

LogIndex RawNode::Impl::apply_upper_bound() const {
  if (bug(PlantedBug::kApplyUncommitted)) return log_.persisted();  // PLANTED BUG
  return std::min(log_.committed(), log_.persisted());
}

bool RawNode::Impl::has_ready() const {
  if (ready_outstanding_) return false;
  if (soft_state() != prev_soft_ || hard_state() != prev_hard_) return true;
  if (log_.has_unsent_entries() || log_.has_unsent_snapshot()) return true;
  if (!msgs_.empty() || !read_states_.empty()) return true;
  if (log_.has_next_committed(apply_upper_bound())) return true;
  if (role_ == Role::kLeader && progress_.size() > 1) {
    if (broadcast_pending_ || read_round_startable()) return true;
  }
  return false;
}

Ready RawNode::Impl::ready() {
  BW_ASSERT(!ready_outstanding_, "ready() called again before advance()");
  if (role_ == Role::kLeader) {
    flush_broadcast();
    start_read_round();
  }
  Ready rd;
  if (soft_state() != prev_soft_) rd.soft_state = soft_state();
  const HardState hs = hard_state();
  if (hs != prev_hard_) rd.hard_state = hs;
  rd.entries = log_.take_unsent_entries();
  if (log_.has_unsent_snapshot()) rd.snapshot = log_.take_unsent_snapshot();
  rd.committed_entries =
      log_.next_committed(apply_upper_bound(), config_.committed_bytes_per_ready_max);
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() || hs.term != prev_hard_.term ||
                 hs.vote != prev_hard_.vote;
  if (!rd.committed_entries.empty() && !bug(PlantedBug::kApplyUncommitted)) {
    BW_ASSERT(rd.committed_entries.back().index <= hs.commit, "applying {} beyond commit {}",
              rd.committed_entries.back().index, hs.commit);
  }
  rd.number = ++readies_issued_;
  ready_outstanding_ = true;
  return rd;
}

void RawNode::Impl::advance(const Ready& rd) {
  accept(rd);
  persisted(rd);
}

void RawNode::Impl::accept(const Ready& rd) {
  BW_ASSERT(ready_outstanding_, "accept() without ready()");
  BW_ASSERT(rd.number == readies_issued_, "accept() of Ready {}, but the one taken is {}",
            rd.number, readies_issued_);
  ready_outstanding_ = false;
  readies_accepted_ = rd.number;
  if (rd.soft_state.has_value()) prev_soft_ = *rd.soft_state;
  if (rd.hard_state.has_value()) prev_hard_ = *rd.hard_state;
  if (!rd.committed_entries.empty()) {
    log_.applied_to(rd.committed_entries.back().index);
    if (role_ == Role::kLeader) {
      uint64_t bytes = 0;
      for (const Entry& e : rd.committed_entries) bytes += e.data.size();
      uncommitted_bytes_ -= std::min(uncommitted_bytes_, bytes);
    }
  }
}

void RawNode::Impl::persisted(const Ready& rd) {
  BW_ASSERT(!ready_outstanding_, "persisted() while Ready {} is taken but not accepted",
            readies_issued_);
  // Writes complete in submission order, so their Readies finish in that order too; persisting a
  // later one first would count entries durable that may still be in flight.
  BW_ASSERT(rd.number <= readies_accepted_, "persisted() of Ready {} before its accept()",
            rd.number);
  BW_ASSERT(rd.number == readies_persisted_ + 1,
            "persisted() of Ready {}, but the oldest one not yet persisted is {}", rd.number,
            readies_persisted_ + 1);
  readies_persisted_ = rd.number;
  if (rd.snapshot.has_value()) log_.stable_snap_to(rd.snapshot->meta.index);
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().index, rd.entries.back().term);
  if (role_ == Role::kLeader) {
    // Our own durable entries now count towards the commit quorum.
    if (self_progress().maybe_update(log_.persisted()) && maybe_commit()) {
      broadcast_pending_ = true;
    }
  }
}

NodeStatus RawNode::Impl::status() const {
  NodeStatus s;
  s.id = config_.id;
  s.role = role_;
  s.leader = leader_;
  s.term = term_;
  s.vote = vote_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.last_index = log_.last_index();
  s.conf = conf_state();
  s.ticks_since_leader_contact = ticks_since_leader_contact_;
  s.transferee = transferee_;
  if (role_ == Role::kLeader) {
    for (const auto& [id, pr] : progress_) {
      FollowerProgress fp{id,         pr.match,         pr.next,
                          pr.learner, pr.recent_active, progress_state_name(pr.state)};
      if (auto out = outgoing_snapshots_.find(id); out != outgoing_snapshots_.end()) {
        fp.snapshot_bytes_sent = out->second.acked_bytes;
        fp.snapshot_bytes_total = out->second.snap->data.size();
      }
      s.progress.push_back(fp);
    }
  }
  return s;
}

// ---- RawNode facade ------------------------------------------------------------------------

RawNode::RawNode(const Config& config, LogStorage* storage, const BootState& boot)
    : impl_(std::make_unique<Impl>(config, storage, boot)) {}
RawNode::~RawNode() = default;

void RawNode::tick() {
  impl_->tick();
}
Status RawNode::step(const Message& m) {
  return impl_->step(m);
}
Result<LogIndex> RawNode::propose(std::string data) {
  return impl_->propose(std::move(data));
}
Result<LogIndex> RawNode::propose_conf_change(const ConfChange& cc) {
  return impl_->propose_conf_change(cc);
}
ConfState RawNode::apply_conf_change(const ConfChange& cc) {
  return impl_->apply_conf_change(cc);
}
void RawNode::read_index(std::string context) {
  impl_->read_index(std::move(context));
}
Status RawNode::transfer_leader(NodeId to) {
  return impl_->transfer_leader(to);
}
void RawNode::campaign() {
  impl_->campaign();
}
bool RawNode::has_ready() const {
  return impl_->has_ready();
}
Ready RawNode::ready() {
  return impl_->ready();
}
void RawNode::advance(const Ready& ready) {
  impl_->advance(ready);
}
void RawNode::accept(const Ready& ready) {
  impl_->accept(ready);
}
void RawNode::persisted(const Ready& ready) {
  impl_->persisted(ready);
}
NodeStatus RawNode::status() const {
  return impl_->status();
}
bool RawNode::is_leader() const {
  return impl_->role() == Role::kLeader;
}
NodeId RawNode::leader() const {
  return impl_->leader();
}
Term RawNode::term() const {
  return impl_->term();
}

}  // namespace bw::raft
