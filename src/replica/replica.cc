#include "replica/replica.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "common/codec.h"

namespace bw::replica {

namespace {

constexpr const char* kNotApplied =
    "TRYAGAIN leader changed before the write committed; it was not applied";
constexpr const char* kCoveredBySnapshot =
    "TIMEOUT the write's log position was replaced by a snapshot from the leader before it "
    "applied here; it may or may not have been applied";
constexpr const char* kWriteTimeout =
    "TIMEOUT the write was not confirmed in time; it may or may not have been applied";
constexpr const char* kNoLeader = "TRYAGAIN no leader";
constexpr const char* kReadTimeout = "TIMEOUT read index not confirmed in time";

}  // namespace

Replica::Replica(const Options& options, const Io& io, Boot boot) : options_(options), io_(io) {
  BW_ASSERT(io_.clock != nullptr);
  BW_ASSERT(io_.transport != nullptr);
  BW_ASSERT(io_.disk != nullptr);
  if (bug(DriverBug::kReadContextWithoutEpoch)) options_.boot_epoch = 0;  // PLANTED BUG
  raft::BootState& state = boot.state;
  // A snapshot covers only committed entries, whatever the durable commit index says.
  if (state.hard_state.commit < state.applied) state.hard_state.commit = state.applied;
  store_ = std::move(boot.store);
  conf_ = state.conf;
  applied_ = state.applied;
  commit_ = state.hard_state.commit;
  submitted_hard_state_ = state.hard_state;
  durable_hard_state_ = state.hard_state;
  raft_ = std::make_unique<raft::RawNode>(options_.raft, io_.disk->log(), state);
  next_tick_ms_ = io_.clock->monotonic_ms() + options_.tick_ms;
}

Replica::~Replica() = default;

// ---- inputs ----------------------------------------------------------------------------------

uint32_t Replica::tick_for_time_passed() {
  const int64_t now = io_.clock->monotonic_ms();
  if (now < next_tick_ms_) return 0;
  const int64_t due = (now - next_tick_ms_) / options_.tick_ms + 1;
  const uint32_t max = bug(DriverBug::kTicksIgnorePauses) ? 1  // PLANTED BUG
                                                          : catch_up_ticks_max(options_.raft);
  const auto ticks = static_cast<uint32_t>(std::min<int64_t>(due, max));
  for (uint32_t i = 0; i < ticks; ++i) raft_->tick();
  if (bug(DriverBug::kTicksIgnorePauses)) {
    next_tick_ms_ = now + options_.tick_ms;
  } else {
    next_tick_ms_ += due * options_.tick_ms;
  }
  return ticks;
}

void Replica::tick() {
  ++ticks_;
  if (!catches_up_ticks()) {
    raft_->tick();
  } else {
    catch_up_ticks();
  }
  expire_requests();
  if (raft_->is_leader() && !expirations_paused_) propose_expirations();
  // Read rounds whose answer was lost (a dropped message, a leader change) are asked again.
  for (auto it = issued_reads_.begin(); it != issued_reads_.end();) {
    if (ticks_ - it->second.issued_tick >= options_.read_retry_ticks) {
      for (PendingRead& r : it->second.reads) unissued_reads_.push_back(std::move(r));
      it = issued_reads_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Replica::step(const raft::Message& m) {
  catch_up_ticks();
  return raft_->step(m);
}

Result<LogIndex> Replica::propose(std::string payload, WriteDone done, uint64_t tag) {
  catch_up_ticks();
  Result<LogIndex> index = raft_->propose(std::move(payload));
  if (!index.ok()) return index;
  const int64_t deadline_ms = io_.clock->now_ms() + options_.request_timeout_ms;
  answer_replaced(index->value());
  // Filled in place: the completion moves once, into the table.
  PendingWrite& w = pending_writes_[index->value()];
  w.term = raft_->term();
  w.done = std::move(done);
  w.tag = tag;
  w.deadline_ms = deadline_ms;
  w.proposed_us = io_.clock->monotonic_us();
  write_deadlines_.emplace_back(deadline_ms, index->value());
  ++counters_.proposals;
  return index;
}

Result<LogIndex> Replica::propose_conf_change(const raft::ConfChange& cc, WriteDone done) {
  catch_up_ticks();
  Result<LogIndex> index = raft_->propose_conf_change(cc);
  if (!index.ok() || !done) return index;
  const int64_t deadline_ms = io_.clock->now_ms() + options_.request_timeout_ms;
  answer_replaced(index->value());
  pending_writes_[index->value()] =
      PendingWrite{.term = raft_->term(), .done = std::move(done), .deadline_ms = deadline_ms};
  write_deadlines_.emplace_back(deadline_ms, index->value());
  return index;
}

// A proposal of an earlier term of ours still waits at `index`, which a new proposal now takes:
// its entry was cut from this log (a later leader's replaced it, then this node was elected
// again with a shorter log). A leader's log holds every committed entry, so the old one never
// committed and never will: it is answered now instead of being dropped unanswered.
void Replica::answer_replaced(uint64_t index) {
  auto it = pending_writes_.find(index);
  if (it == pending_writes_.end()) return;
  PendingWrite old = std::move(it->second);
  pending_writes_.erase(it);
  old.done(absl::AbortedError(kNotApplied), kv::Reply::ok());
}

void Replica::read(ReadDone done) {
  unissued_reads_.push_back(PendingRead{
      .done = std::move(done), .deadline_ms = io_.clock->now_ms() + options_.request_timeout_ms});
}

Status Replica::transfer_leader(NodeId to) {
  return raft_->transfer_leader(to);
}

void Replica::campaign() {
  raft_->campaign();
}

void Replica::flush() {
  // A read index is judged now (a lease-based one by the lease as of now): count the time a
  // stopped process lost first.
  catch_up_ticks();
  issue_reads();
  handle_ready();
}

void Replica::on_durable(uint64_t seq) {
  BW_ASSERT(seq < next_write_seq_, "write {} reported durable before it was submitted", seq);
  durable_seq_ = std::max(durable_seq_, seq);
  // Finish what became durable first (its messages leave, raft counts our own entries towards
  // commits), so the next Ready already carries the commits this write made possible.
  finish_readies();
  handle_ready();
}

// ---- the Ready loop --------------------------------------------------------------------------

void Replica::handle_ready() {
  do {
    while (raft_->has_ready()) {
      raft::Ready rd = raft_->ready();
      if (rd.soft_state) on_soft_state(*rd.soft_state);
      bool sync = rd.must_sync || rd.snapshot.has_value() || !rd.entries.empty();
      if (rd.hard_state) {
        sync = sync || rd.hard_state->term != submitted_hard_state_.term ||
               rd.hard_state->vote != submitted_hard_state_.vote;
        submitted_hard_state_ = *rd.hard_state;
      }
      uint64_t seq = 0;
      if (rd.hard_state || !rd.entries.empty() || rd.snapshot) {
        if (sync) seq = next_write_seq_++;
        io_.disk->write(storage::WriteBatch{.group = options_.raft.group,
                                            .hard_state = rd.hard_state,
                                            .entries = rd.entries,
                                            .snapshot = rd.snapshot},
                        seq, sync);
      }
      if (raft_->is_leader() && io_.observer) {
        io_.observer->on_leader_ready(raft_->term(), *io_.disk->log());
      }
      if (rd.hard_state && rd.hard_state->commit != commit_) {
        commit_ = rd.hard_state->commit;
        if (io_.observer) io_.observer->on_commit(rd.hard_state->term, commit_, *io_.disk->log());
      }
      Unfinished u{.ready = std::move(rd), .seq = seq};
      // A leader's appends do not depend on its own write (thesis §10.2.1): they leave now,
      // unless a term or vote not yet durable stands behind them.
      const bool vote_durable = submitted_hard_state_.term == durable_hard_state_.term &&
                                submitted_hard_state_.vote == durable_hard_state_.vote;
      if ((raft_->is_leader() && vote_durable) ||
          (seq != 0 && bug(DriverBug::kAckBeforePersist))) {  // PLANTED BUG (second clause)
        send(u.ready.messages);
        u.sent = true;
      } else {
        send_independent(u.ready.messages);  // the rest wait for this and earlier Readies
      }
      // Committed entries never run past what this node persisted: apply them now. Reads the
      // Ready confirmed likewise wait only for the apply.
      for (const raft::Entry& e : u.ready.committed_entries) apply(e);
      on_read_states(u.ready.read_states);
      raft_->accept(u.ready);
      u.ready.committed_entries.clear();
      serve_reads();
      unfinished_.push_back(std::move(u));
    }
    finish_readies();
  } while (raft_->has_ready());
}

// Finishes, in order, every Ready whose writes are durable (or needed no sync): its messages
// leave, a received snapshot is loaded, raft learns it persisted.
void Replica::finish_readies() {
  while (!unfinished_.empty() &&
         (unfinished_.front().seq == 0 || unfinished_.front().seq <= durable_seq_)) {
    Unfinished u = std::move(unfinished_.front());
    unfinished_.pop_front();
    if (u.ready.hard_state) durable_hard_state_ = *u.ready.hard_state;
    if (!u.sent) send(u.ready.messages);
    if (u.ready.snapshot) install_snapshot(*u.ready.snapshot);
    raft_->persisted(u.ready);
  }
  serve_reads();
}

// Messages that acknowledge nothing this node persists (a heartbeat's answer, a ReadIndex
// request of this follower) leave without waiting for the disk: they vouch only that this node
// has seen no newer term, which holds whether or not its state is durable yet (as etcd's raft
// with asynchronous storage writes: only append, vote and snapshot answers wait). Otherwise a
// leader's ReadIndex round would wait for its followers' fsyncs under write load.
void Replica::send_independent(std::vector<raft::Message>& messages) {
  auto waits = [](const raft::Message& m) {
    return m.type != raft::MessageType::kHeartbeatResp && m.type != raft::MessageType::kReadIndex;
  };
  auto rest = std::stable_partition(messages.begin(), messages.end(), waits);
  for (auto it = rest; it != messages.end(); ++it) io_.transport->send(std::move(*it));
  messages.erase(rest, messages.end());
}

void Replica::send(std::vector<raft::Message>& messages) {
  for (raft::Message& m : messages) {
    if (m.type == raft::MessageType::kAppend) {
      ++counters_.append_messages_sent;
      counters_.entries_sent += m.entries.size();
    }
    io_.transport->send(std::move(m));
  }
  messages.clear();
}

void Replica::apply(const raft::Entry& e) {
  if (e.index <= applied_) {
    // Covered by an installed snapshot: whatever the entry was, its proposer gets an answer.
    if (!bug(DriverBug::kForgetWritesUnderSnapshot))
      answer_writes_through(e.index, kCoveredBySnapshot);
    return;
  }
  BW_ASSERT(e.index == applied_ + 1, "apply gap: {} after {}", e.index, applied_);
  // What the proposer gets: the store's reply to a kv command, OK for any other entry (built
  // only then: a kv entry's reply replaces it).
  const bool kv_entry = e.type != raft::EntryType::kConfChange && !e.data.empty();
  kv::Reply reply = kv_entry ? kv::Reply() : kv::Reply::ok();
  const kv::ApplyEffects* effects = nullptr;
  if (e.type == raft::EntryType::kConfChange) {
    Result<raft::ConfChange> cc = raft::decode_conf_change(e.data);
    BW_ASSERT(cc.ok(), "undecodable conf change at {}", e.index);
    conf_ = raft_->apply_conf_change(*cc);
    ++counters_.conf_changes_applied;
    // The member directory follows: a removed node leaves it, an added one with a record
    // (context) is recorded or re-pointed. A promotion without a record keeps the old one.
    if (cc->type == raft::ConfChangeType::kRemoveNode) {
      store_.remove_member(cc->node.value());
    } else if (!cc->context.empty()) {
      Result<kv::Member> member = kv::decode_member(cc->context);
      if (member.ok()) store_.set_member(cc->node.value(), std::move(*member));
    }
    // The membership as of this index, durable with the next synced write.
    io_.disk->write(storage::WriteBatch{.group = options_.raft.group, .conf = conf_}, 0, false);
  } else if (!e.data.empty()) {
    effects_.clear();
    reply = store_.apply(e.index.value(), e.data, &effects_);
    effects = &effects_;
  }
  applied_ = e.index;
  ++counters_.entries_applied;
  // The write waiting here leaves the table before the observer runs (it may propose, which
  // moves the table's entries): one lookup per entry.
  auto it = pending_writes_.find(e.index.value());
  if (it == pending_writes_.end()) {
    if (io_.observer) io_.observer->on_applied(e, effects, 0, &reply);
    return;
  }
  PendingWrite w = std::move(it->second);
  pending_writes_.erase(it);
  if (io_.observer) io_.observer->on_applied(e, effects, w.tag, &reply);
  if (w.term == e.term) {
    if (w.proposed_us != 0) {
      commit_latency_.record(
          static_cast<uint64_t>(std::max<int64_t>(0, io_.clock->monotonic_us() - w.proposed_us)));
    }
    w.done(OkStatus(), reply);
  } else {
    // Another leader's entry took this index: ours was never committed.
    w.done(absl::AbortedError(kNotApplied), reply);
  }
}

void Replica::install_snapshot(const raft::Snapshot& snap) {
  if (snap.data.empty()) {
    store_ = kv::Store();  // a group's initial snapshot (its membership only): nothing stored
  } else {
    const Status st = store_.restore(snap.data);
    BW_ASSERT(st.ok(), "snapshot at {} does not restore: {}", snap.meta.index, st);
  }
  applied_ = snap.meta.index;
  conf_ = snap.meta.conf;
  ++counters_.snapshots_installed;
  if (!bug(DriverBug::kForgetWritesUnderSnapshot)) {  // PLANTED BUG when skipped
    answer_writes_through(snap.meta.index, kCoveredBySnapshot);
  }
  if (io_.observer) io_.observer->on_snapshot_installed(snap.meta);
}

// Answers every waiting write at or below `index` with `why` (an unknown outcome), in index
// order: the table's own order follows the addresses the allocator gave it, which would make a
// simulated run depend on the heap's layout.
void Replica::answer_writes_through(LogIndex index, const char* why) {
  std::vector<std::pair<uint64_t, PendingWrite>> answered;
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->first <= index.value()) {
      answered.emplace_back(it->first, std::move(it->second));
      pending_writes_.erase(it++);
    } else {
      ++it;
    }
  }
  std::ranges::sort(answered, {}, &std::pair<uint64_t, PendingWrite>::first);
  for (auto& [i, w] : answered) w.done(absl::DeadlineExceededError(why), kv::Reply::ok());
}

uint64_t Replica::oldest_pending_write() const {
  uint64_t oldest = 0;
  for (const auto& [index, w] : pending_writes_) {
    if (oldest == 0 || index < oldest) oldest = index;
  }
  return oldest;
}

void Replica::on_soft_state(const raft::SoftState& ss) {
  leader_ = ss.leader;
  role_ = ss.role;
  if (!raft_->is_leader()) extend_leases_index_ = 0;
  if (raft_->is_leader() && extend_leases_index_ == 0 && options_.lease_extension_ms > 0) {
    // Failover rule: before this leader expires any lease or election holder, every one still
    // live gets one more (maximum) leaderless gap, so the time without a leader never ends a
    // client's lease early.
    Result<LogIndex> index =
        raft_->propose(kv::encode_extend_leases(options_.lease_extension_ms, io_.clock->now_ms()));
    if (index.ok()) extend_leases_index_ = index->value();
  }
  if (io_.observer) io_.observer->on_role_change(ss, raft_->term());
}

// ---- reads -----------------------------------------------------------------------------------

std::string Replica::next_read_context() {
  std::string ctx;
  ByteWriter w(&ctx);
  w.u64(options_.boot_epoch);
  w.u64(next_read_ctx_++);
  return ctx;
}

void Replica::issue_reads() {
  // One ReadIndex round at a time: reads arriving while it is out wait for it and then share
  // the next one, so under load a round carries many reads instead of many rounds a few each.
  if (unissued_reads_.empty() || !issued_reads_.empty()) return;
  ReadBatch batch{.reads = std::move(unissued_reads_), .issued_tick = ticks_};
  unissued_reads_.clear();
  batch.deadline_ms = batch.reads.front().deadline_ms;
  for (const PendingRead& r : batch.reads)
    batch.deadline_ms = std::min(batch.deadline_ms, r.deadline_ms);
  std::string ctx = next_read_context();
  raft_->read_index(ctx);
  ++counters_.read_index_rounds;
  issued_reads_.emplace(std::move(ctx), std::move(batch));
}

void Replica::on_read_states(std::vector<raft::ReadState>& states) {
  for (raft::ReadState& rs : states) {
    auto it = issued_reads_.find(rs.context);
    if (it == issued_reads_.end()) continue;  // timed out, answered by a retry, or not ours
    reads_awaiting_apply_.emplace(rs.index.value(), std::move(it->second));
    issued_reads_.erase(it);
  }
}

void Replica::serve_reads() {
  while (!reads_awaiting_apply_.empty() &&
         reads_awaiting_apply_.begin()->first <= applied_.value()) {
    ReadBatch batch = std::move(reads_awaiting_apply_.begin()->second);
    reads_awaiting_apply_.erase(reads_awaiting_apply_.begin());
    for (PendingRead& r : batch.reads) r.done(OkStatus());
  }
}

size_t Replica::pending_reads() const {
  size_t n = unissued_reads_.size();
  for (const auto& [ctx, b] : issued_reads_) n += b.reads.size();
  for (const auto& [index, b] : reads_awaiting_apply_) n += b.reads.size();
  return n;
}

kv::Reply Replica::evaluate_read(std::span<const std::string_view> argv, uint64_t random) const {
  const int64_t now_ms = io_.clock->now_ms();
  if (bug(DriverBug::kReadsUseLocalClock)) {  // PLANTED BUG
    return store_.read_with_expiry_clock(argv, now_ms, now_ms, random);
  }
  return store_.read(argv, now_ms, random);
}

// ---- timers and leader duties ----------------------------------------------------------------

void Replica::expire_requests() {
  const int64_t now = io_.clock->now_ms();
  while (!write_deadlines_.empty() && write_deadlines_.front().first <= now) {
    auto it = pending_writes_.find(write_deadlines_.front().second);
    write_deadlines_.pop_front();
    if (it == pending_writes_.end()) continue;
    PendingWrite w = std::move(it->second);
    pending_writes_.erase(it);
    w.done(absl::DeadlineExceededError(kWriteTimeout), kv::Reply::ok());
  }
  for (auto it = issued_reads_.begin(); it != issued_reads_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    std::vector<PendingRead> reads = std::move(it->second.reads);
    it = issued_reads_.erase(it);
    for (PendingRead& r : reads) {
      if (r.deadline_ms <= now) {
        r.done(leader_ == kNoNode ? absl::UnavailableError(kNoLeader)
                                  : absl::DeadlineExceededError(kReadTimeout));
      } else {
        unissued_reads_.push_back(std::move(r));  // batched with one that timed out; ask again
      }
    }
  }
}

namespace {

// Proposes encode(key, detail) for each due (key, detail) not already proposed, remembering the
// proposal's index; proposals applied (or lost) are forgotten first, so a key still due is
// proposed again. Returns how many were proposed.
template <typename Key, typename Due, typename Encode>
size_t propose_due(raft::RawNode& raft, LogIndex applied,
                   absl::flat_hash_map<Key, uint64_t>& in_flight, const Due& due, Encode encode) {
  absl::erase_if(in_flight, [&](const auto& e) { return e.second <= applied.value(); });
  size_t proposed = 0;
  for (const auto& [key, detail] : due) {
    if (in_flight.contains(key)) continue;
    Result<LogIndex> index = raft.propose(encode(key, detail));
    if (!index.ok()) break;
    in_flight[key] = index->value();
    ++proposed;
  }
  return proposed;
}

}  // namespace

// Leader only: deletes expired keys, and ends lapsed leases and election holders, through the log.
void Replica::propose_expirations() {
  const int64_t now = io_.clock->now_ms();
  const size_t max = options_.expire_keys_per_tick;
  counters_.expired_keys_proposed +=
      propose_due(*raft_, applied_, expiring_keys_, store_.expired_keys(now, max),
                  [&](const std::string& key, int64_t deadline) {
                    return kv::encode_expire_key(key, deadline, now);
                  });
  // Failover rule: nothing lease-like expires before this leader's extension entry applied.
  if (extend_leases_index_ == 0 || applied_.value() < extend_leases_index_) return;
  propose_due(
      *raft_, applied_, expiring_leases_, store_.expired_leases(now, max),
      [&](uint64_t id, int64_t deadline) { return kv::encode_expire_lease(id, deadline, now); });
  propose_due(*raft_, applied_, expiring_names_, store_.expired_elections(now, max),
              [&](const std::string& name, uint64_t token) {
                return kv::encode_expire_election(name, token, now);
              });
}

}  // namespace bw::replica
