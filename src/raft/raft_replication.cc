// Log replication: appends (batched, pipelined, fast backtracking), heartbeats, snapshot
// streaming in chunks, and the commit rule.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "raft/quorum.h"
#include "raft/raft_impl.h"

namespace bw::raft {

Progress& RawNode::Impl::self_progress() {
  auto it = progress_.find(config_.id);
  BW_ASSERT(it != progress_.end(), "node {} has no progress of its own", config_.id);
  return it->second;
}

Progress RawNode::Impl::new_progress(LogIndex next) const {
  Progress pr(next, config_.inflight_appends_max, config_.inflight_bytes_max);
  // A member just added or reset is presumed alive, so check-quorum does not depose a leader
  // before the member had a chance to answer.
  pr.recent_active = true;
  return pr;
}

void RawNode::Impl::append_entry(EntryType type, std::string data) {
  BW_ASSERT(role_ == Role::kLeader);
  uncommitted_bytes_ += data.size();
  log_.append_leader(Entry{term_, log_.last_index() + 1, type, std::move(data)});
  broadcast_pending_ = true;
}

// ---- leader: sending -----------------------------------------------------------------------

bool RawNode::Impl::send_append(NodeId to, bool allow_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return false;
  Progress& pr = it->second;
  if (pr.paused()) return false;
  BW_ASSERT(pr.next <= log_.last_index() + 1, "next {} beyond last {} for {}", pr.next,
            log_.last_index(), to);
  const LogIndex prev = pr.next - 1;
  Result<Term> prev_term = log_.term(prev);
  Result<std::vector<Entry>> ents = log_.slice(
      pr.next, log_.last_index() + 1, config_.append_bytes_max, config_.append_entries_max);
  if (!prev_term.ok() || !ents.ok()) return send_snapshot(to);  // compacted away
  if (ents->empty() && !allow_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  uint64_t bytes = 0;
  for (const Entry& e : *ents) bytes += e.data.size();
  const LogIndex last = ents->empty() ? prev : ents->back().index;
  // The follower has acknowledged everything: this append only moves its commit index, and its
  // answer would repeat what we know. It answers only if it rejects.
  m.commit_only = ents->empty() && pr.state == ProgressState::kReplicate && pr.match == prev;
  pr.sent_entries(last, ents->size(), bytes);
  m.entries = std::move(*ents);
  send(std::move(m));
  return true;
}

bool RawNode::Impl::send_snapshot(NodeId to) {
  Result<Snapshot> snap = storage_->snapshot();
  if (!snap.ok()) return false;  // being produced: the next heartbeat answer retries
  if (snap->empty()) return false;
  Progress& pr = progress_.at(to);
  pr.become_snapshot(snap->meta.index);
  OutgoingSnapshot& out = outgoing_snapshots_[to];
  out.snap = std::make_shared<const Snapshot>(std::move(*snap));
  out.acked_bytes = 0;
  send_snapshot_chunk(to);
  return true;
}

void RawNode::Impl::send_snapshot_chunk(NodeId to) {
  OutgoingSnapshot& out = outgoing_snapshots_.at(to);
  const std::string& data = out.snap->data;
  BW_ASSERT(out.acked_bytes <= data.size());
  const uint64_t len =
      std::min<uint64_t>(config_.snapshot_chunk_bytes_max, data.size() - out.acked_bytes);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.index = out.snap->meta.index;
  m.log_term = out.snap->meta.term;
  m.commit = log_.committed();
  m.snapshot_meta = out.snap->meta;
  m.snapshot_offset = out.acked_bytes;
  m.snapshot_chunk = data.substr(out.acked_bytes, len);
  m.snapshot_last = out.acked_bytes + len == data.size();
  out.ticks_since_send = 0;
  send(std::move(m));
}

void RawNode::Impl::tick_snapshot_retransmit() {
  // One chunk is in flight per follower; if it or its answer was lost, send it again.
  for (auto& [id, out] : outgoing_snapshots_) {
    if (++out.ticks_since_send >= config_.election_ticks) send_snapshot_chunk(id);
  }
}

void RawNode::Impl::send_heartbeat(NodeId to, const std::string& context) {
  const Progress& pr = progress_.at(to);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  // The follower may not hold entries past its match: never tell it a commit beyond that.
  m.commit = std::min(pr.match, log_.committed());
  m.context = context;
  send(std::move(m));
}

void RawNode::Impl::broadcast_heartbeat(const std::string& context, bool voters_only) {
  for (const auto& [id, pr] : progress_) {
    if (id != config_.id && !(voters_only && pr.learner)) send_heartbeat(id, context);
  }
}

void RawNode::Impl::flush_broadcast() {
  if (!broadcast_pending_) return;
  broadcast_pending_ = false;
  for (const auto& [id, pr] : progress_) {
    if (id != config_.id) send_append(id, /*allow_empty=*/true);
  }
}

// ---- leader: commit ------------------------------------------------------------------------

bool RawNode::Impl::maybe_commit() {
  const LogIndex index = quorum::joint_commit_index(voters_, voters_outgoing_, [this](NodeId id) {
    auto it = progress_.find(id);
    return it == progress_.end() ? std::optional<LogIndex>() : it->second.match;
  });
  if (index <= log_.committed()) return false;
  BW_ASSERT(index <= log_.last_index(), "quorum index {} beyond last {}", index, log_.last_index());
  // §5.4.2: only entries of the current term are committed by counting replicas; earlier ones
  // commit indirectly with them.
  const bool current_term = log_.term_or_zero(index) == term_;
  if (!current_term && !bug(PlantedBug::kCommitPreviousTermByCount)) return false;  // PLANTED
  log_.commit_to(index);
  on_commit_advanced();
  return true;
}

void RawNode::Impl::on_commit_advanced() {
  release_deferred_reads();
}

// ---- follower: receiving -------------------------------------------------------------------

void RawNode::Impl::handle_append(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit matches any leader's log: say where we are.
    resp.index = log_.committed();
    send(std::move(resp));
    return;
  }
  if (std::optional<LogIndex> last_new = log_.maybe_append(m.index, m.log_term, m.entries)) {
    log_.commit_to(std::min(m.commit, *last_new));
    if (m.commit_only && m.entries.empty()) return;
    resp.index = *last_new;
    send(std::move(resp));
    return;
  }
  // Fast backtracking: point the leader at the last entry that may match, skipping whole
  // terms that cannot (§5.3 optimisation, as in etcd-io/raft).
  const LogIndex probe = std::min(m.index, log_.last_index());
  const auto [hint_index, hint_term] = log_.find_conflict_by_term(probe, m.log_term);
  resp.reject = true;
  resp.index = m.index;
  resp.reject_hint = hint_index;
  resp.hint_term = hint_term;
  send(std::move(resp));
}

void RawNode::Impl::handle_heartbeat(const Message& m) {
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message resp;
  resp.type = MessageType::kHeartbeatResp;
  resp.to = m.from;
  resp.context = m.context;
  send(std::move(resp));
}

void RawNode::Impl::handle_snapshot(const Message& m) {
  Message resp;
  resp.type = MessageType::kSnapshotResp;
  resp.to = m.from;
  resp.snapshot_meta = m.snapshot_meta;
  const SnapshotMeta& meta = m.snapshot_meta;
  if (meta.index <= log_.committed()) {
    // Older than what we already have: acknowledge the whole transfer and ignore it.
    incoming_snapshot_.reset();
    resp.index = log_.committed();
    resp.snapshot_last = true;
    resp.snapshot_offset = m.snapshot_offset + m.snapshot_chunk.size();
    send(std::move(resp));
    return;
  }
  if (!incoming_snapshot_.has_value() || incoming_snapshot_->from != m.from ||
      incoming_snapshot_->term != m.term || incoming_snapshot_->meta != meta) {
    incoming_snapshot_ = IncomingSnapshot{m.from, m.term, meta, {}};
  }
  std::string& data = incoming_snapshot_->data;
  if (m.snapshot_offset != data.size()) {
    // A gap (we lost earlier chunks, e.g. on restart) or a duplicate: say where to resume.
    resp.reject = m.snapshot_offset > data.size();
    resp.snapshot_offset = data.size();
    send(std::move(resp));
    return;
  }
  data.append(m.snapshot_chunk);
  resp.snapshot_offset = data.size();
  if (m.snapshot_last) {
    Snapshot snap{meta, std::move(data)};
    incoming_snapshot_.reset();
    restore(snap);
    resp.snapshot_last = true;
    resp.index = meta.index;
  }
  send(std::move(resp));
}

bool RawNode::Impl::restore(const Snapshot& snap) {
  BW_ASSERT(snap.meta.index > log_.committed());
  if (log_.match_term(snap.meta.index, snap.meta.term)) {
    // We already hold the snapshot's last entry: just fast-forward the commit.
    log_.commit_to(snap.meta.index);
    return false;
  }
  log_.restore(snap);
  set_conf(snap.meta.conf);
  if (role_ != Role::kLeader) role_ = is_learner(config_.id) ? Role::kLearner : Role::kFollower;
  return true;
}

// ---- leader: answers -----------------------------------------------------------------------

Status RawNode::Impl::handle_append_response(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return OkStatus();  // removed member
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.index > log_.last_index()) {
    return absl::InternalError(fmt::format("append answer from {} at {} beyond our last {}", m.from,
                                           m.index, log_.last_index()));
  }
  if (m.reject) {
    LogIndex next_probe = m.reject_hint;
    if (m.hint_term > Term(0)) {
      next_probe = log_.find_conflict_by_term(m.reject_hint, m.hint_term).first;
    }
    if (pr.maybe_decrease_to(m.index, next_probe)) {
      if (pr.state == ProgressState::kReplicate) pr.become_probe();
      send_append(m.from, /*allow_empty=*/true);
    }
    return OkStatus();
  }
  const bool was_paused = pr.paused();
  // A probe answered at exactly match (e.g. a follower whose log ends there) also settles it.
  const bool probe_settled = pr.match == m.index && pr.state == ProgressState::kProbe;
  if (!pr.maybe_update(m.index) && !probe_settled) return OkStatus();
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.become_replicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match + 1 >= log_.first_index()) {
        outgoing_snapshots_.erase(m.from);
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.free_le(m.index);
      break;
  }
  if (maybe_commit()) {
    broadcast_pending_ = true;
  } else if (was_paused && !broadcast_pending_) {
    send_append(m.from, /*allow_empty=*/true);
  }
  // Keep the pipeline full: send whatever the window now allows.
  for (uint32_t k = 0; k < config_.inflight_appends_max; ++k) {
    if (!send_append(m.from, /*allow_empty=*/false)) break;
  }
  if (m.from == transferee_) maybe_send_timeout_now(m.from);
  return OkStatus();
}

void RawNode::Impl::handle_heartbeat_response(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  if (pr.state == ProgressState::kReplicate && pr.inflights.full()) {
    pr.inflights.free_first_one();  // the window may hold appends that were lost
  }
  if (pr.match < log_.last_index()) send_append(m.from, /*allow_empty=*/true);
  if (!m.context.empty()) handle_read_ack(m.from, m.context);
}

void RawNode::Impl::handle_snapshot_response(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  auto out = outgoing_snapshots_.find(m.from);
  if (pr.state != ProgressState::kSnapshot || out == outgoing_snapshots_.end() ||
      out->second.snap->meta.index != m.snapshot_meta.index) {
    return;  // about a transfer we no longer run
  }
  const uint64_t size = out->second.snap->data.size();
  if (m.snapshot_last) {
    outgoing_snapshots_.erase(out);
    pr.become_probe();
    if (m.index <= log_.last_index()) pr.maybe_update(m.index);
    send_append(m.from, /*allow_empty=*/true);
    return;
  }
  if (m.snapshot_offset > size) return;  // nonsense offset: let the retransmit timer act
  // Progress moves on an answer that acknowledges more; a rejection restarts from the
  // follower's position. Duplicated answers to old chunks are ignored.
  if (m.reject || m.snapshot_offset > out->second.acked_bytes) {
    out->second.acked_bytes = m.snapshot_offset;
    send_snapshot_chunk(m.from);
  }
}

}  // namespace bw::raft
