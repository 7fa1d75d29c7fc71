#include "sim/node.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "common/checksum.h"

namespace bw::sim {

Node::Node(const NodeOptions& options, NodeEnv* env, std::unique_ptr<Disk> disk)
    : options_(options), env_(env), disk_(std::move(disk)) {
  BW_ASSERT(env_ != nullptr);
  BW_ASSERT(disk_ != nullptr);
  boot();
}

Node::~Node() = default;

void Node::boot() {
  if (const Status s = disk_->status(); !s.ok()) {
    env_->checker().on_recovery_failure(id(), s.ToString());
    return;
  }
  raft::BootState boot = disk_->boot_state();
  // A snapshot covers only committed entries, whatever the durable commit index says.
  if (boot.hard_state.commit < boot.applied) boot.hard_state.commit = boot.applied;
  const raft::Snapshot snap = disk_->durable_snapshot();
  BW_ASSERT(machine_.restore(snap.data).ok());
  conf_ = boot.conf;
  applied_ = boot.applied;
  commit_ = boot.hard_state.commit;
  hard_term_ = boot.hard_state.term;
  hard_vote_ = boot.hard_state.vote;
  role_ = raft::Role::kFollower;
  env_->checker().on_restart(id(), commit_, applied_);
  raft_ = std::make_unique<raft::RawNode>(options_.raft, disk_->log(), boot);
}

void Node::tick() {
  BW_ASSERT(running());
  raft_->tick();
  after_input();
}

void Node::step(const raft::Message& m) {
  BW_ASSERT(running());
  // Errors are messages the core refuses (stale, foreign); the network may deliver anything.
  (void)raft_->step(m);
  after_input();
}

Result<LogIndex> Node::propose(const Command& c) {
  BW_ASSERT(running());
  Result<LogIndex> index = raft_->propose(encode_command(c));
  after_input();
  return index;
}

Status Node::propose_conf_change(const raft::ConfChange& cc) {
  BW_ASSERT(running());
  Result<LogIndex> index = raft_->propose_conf_change(cc);
  after_input();
  return index.status();
}

void Node::read(std::string context) {
  BW_ASSERT(running());
  raft_->read_index(std::move(context));
  after_input();
}

Status Node::transfer_leader(NodeId to) {
  BW_ASSERT(running());
  Status s = raft_->transfer_leader(to);
  after_input();
  return s;
}

void Node::after_input() {
  observe_role();
  handle_ready();
}

void Node::observe_role() {
  if (raft_->is_leader()) env_->checker().on_leader(id(), raft_->term());
}

// The Ready contract, pipelined (raft.h): write everything the Ready asks to persist, apply
// its committed entries, accept it and go on to the next; a Ready finishes (its messages leave,
// raft learns its writes are durable) once the disk has synced it and all before it.
void Node::handle_ready() {
  while (running() && raft_->has_ready()) {
    raft::Ready rd = raft_->ready();
    if (rd.soft_state && rd.soft_state->role != role_) {
      role_ = rd.soft_state->role;
      env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                                   .kind = TraceKind::kRole,
                                   .node = id().value(),
                                   .a = static_cast<uint64_t>(role_),
                                   .b = raft_->term().value(),
                                   .c = rd.soft_state->leader.value()});
      env_->on_role_change(id(), role_);
    }
    bool must_sync = rd.must_sync || rd.snapshot.has_value() || !rd.entries.empty();
    WriteBatch batch;
    batch.snapshot = rd.snapshot;
    batch.entries = rd.entries;
    batch.hard_state = rd.hard_state;
    if (rd.hard_state) {
      must_sync =
          must_sync || rd.hard_state->term != hard_term_ || rd.hard_state->vote != hard_vote_;
      hard_term_ = rd.hard_state->term;
      hard_vote_ = rd.hard_state->vote;
    }
    if (batch.snapshot || !batch.entries.empty() || batch.hard_state) {
      const Status s = disk_->write(std::move(batch));
      BW_ASSERT(s.ok(), "{}", s.ToString());
    }
    if (raft_->is_leader()) env_->checker().on_leader_log(id(), raft_->term(), *disk_->log());
    if (rd.hard_state && rd.hard_state->commit != commit_) {
      env_->checker().on_commit(id(), rd.hard_state->term, rd.hard_state->commit, *disk_->log());
      commit_ = rd.hard_state->commit;
      env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                                   .kind = TraceKind::kCommit,
                                   .node = id().value(),
                                   .a = commit_.value(),
                                   .b = rd.hard_state->term.value()});
      if (raft_->is_leader()) env_->on_leader_commit(id());
    }
    // Committed entries never run past what is durable here: apply them without waiting.
    for (const raft::Entry& e : rd.committed_entries) apply(e);
    for (raft::ReadState& rs : rd.read_states) {
      if (pending_reads_.size() < kPendingReadsMax) pending_reads_.push_back(std::move(rs));
    }
    raft_->accept(rd);
    serve_reads();
    Unfinished u{.ready = std::move(rd), .awaiting_sync = must_sync};
    if (must_sync) {
      if (options_.ack_before_persist) {
        send_messages(&u.ready.messages);
        u.sent = true;
      }
      env_->schedule_sync(id());
    }
    unfinished_.push_back(std::move(u));
  }
  if (running()) finish_readies();
}

void Node::on_synced() {
  if (!running()) return;
  disk_->sync();
  const std::vector<PersistedEntry> persisted = disk_->take_persisted();
  for (const PersistedEntry& e : persisted) env_->checker().on_persisted(id(), e);
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kSync,
                               .node = id().value(),
                               .a = persisted.size()});
  // The sync covered every write made so far.
  for (Unfinished& u : unfinished_) u.awaiting_sync = false;
  finish_readies();
  handle_ready();
}

// Finish, in order, every Ready whose writes are durable (or needed no sync): send its messages,
// install its snapshot, tell raft it is persisted.
void Node::finish_readies() {
  while (!unfinished_.empty() && !unfinished_.front().awaiting_sync) {
    Unfinished u = std::move(unfinished_.front());
    unfinished_.pop_front();
    if (!u.sent) send_messages(&u.ready.messages);
    if (u.ready.snapshot) {
      const raft::Snapshot& snap = *u.ready.snapshot;
      BW_ASSERT(machine_.restore(snap.data).ok());
      applied_ = snap.meta.index;
      conf_ = snap.meta.conf;
      env_->checker().on_snapshot_restored(id(), applied_);
      ++snapshots_installed_;
      env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                                   .kind = TraceKind::kSnapshotInstall,
                                   .node = id().value(),
                                   .a = snap.meta.index.value(),
                                   .b = snap.meta.term.value()});
    }
    raft_->persisted(u.ready);
    serve_reads();
  }
}

void Node::send_messages(std::vector<raft::Message>* messages) {
  for (raft::Message& m : *messages) env_->send(std::move(m));
  messages->clear();
}

void Node::apply(const raft::Entry& e) {
  env_->checker().on_apply(id(), e.index, e.term, checksum64(e.data));
  applied_ = e.index;
  if (e.type == raft::EntryType::kConfChange) {
    Result<raft::ConfChange> cc = raft::decode_conf_change(e.data);
    BW_ASSERT(cc.ok(), "undecodable conf change at {}", e.index);
    conf_ = raft_->apply_conf_change(*cc);
    ++conf_changes_applied_;
    // The membership as of applied_, durable with the next sync.
    const Status s = disk_->write(WriteBatch{.conf = conf_});
    BW_ASSERT(s.ok(), "{}", s.ToString());
    env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                                 .kind = TraceKind::kConfApplied,
                                 .node = id().value(),
                                 .peer = cc->node.value(),
                                 .a = static_cast<uint64_t>(cc->type),
                                 .b = e.index.value()});
    return;
  }
  if (e.data.empty()) return;  // a new leader's no-op
  Result<Command> c = decode_command(e.data);
  BW_ASSERT(c.ok(), "undecodable command at {}", e.index);
  const bool changed = machine_.apply(*c);
  env_->on_write_applied(id(), *c, changed);
}

void Node::serve_reads() {
  while (!pending_reads_.empty()) {
    // Read states arrive in index order per leader, but a node may see several leaders.
    auto ready = std::find_if(pending_reads_.begin(), pending_reads_.end(),
                              [this](const raft::ReadState& rs) { return rs.index <= applied_; });
    if (ready == pending_reads_.end()) return;
    const std::string context = std::move(ready->context);
    pending_reads_.erase(ready);
    env_->on_read_ready(id(), context);
  }
}

Status Node::take_snapshot(uint64_t retain_entries) {
  BW_ASSERT(running());
  if (applied_ <= disk_->snapshot_index()) return absl::FailedPreconditionError("nothing new");
  const uint64_t keep = std::min(retain_entries, applied_.value());
  const LogIndex compacted = applied_ - keep;
  const Status s = disk_->snapshot(applied_, conf_, machine_.snapshot(), compacted);
  report_persisted();  // taking it may have flushed earlier writes
  BW_RETURN_IF_ERROR(s);
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kSnapshot,
                               .node = id().value(),
                               .a = applied_.value(),
                               .b = compacted.value()});
  return OkStatus();
}

void Node::report_persisted() {
  for (const PersistedEntry& e : disk_->take_persisted()) env_->checker().on_persisted(id(), e);
}

void Node::crash(Rng& rng) {
  BW_ASSERT(running());
  raft_.reset();
  ++incarnation_;
  unfinished_.clear();
  pending_reads_.clear();
  const size_t unsynced = disk_->unsynced_batches();
  const uint64_t how = disk_->crash(rng);
  report_persisted();
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kCrash,
                               .node = id().value(),
                               .a = unsynced,
                               .b = how});
}

void Node::restart(uint64_t random_seed) {
  BW_ASSERT(!running());
  options_.raft.random_seed = random_seed;
  boot();
  if (!running()) return;
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kRestart,
                               .node = id().value(),
                               .a = commit_.value(),
                               .b = applied_.value()});
  after_input();
}

}  // namespace bw::sim
