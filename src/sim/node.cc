#include "sim/node.h"

#include <utility>

#include "common/assert.h"
#include "common/checksum.h"

namespace bw::sim {

Node::Node(const NodeOptions& options, NodeEnv* env, std::unique_ptr<sim::Disk> disk)
    : options_(options), env_(env), disk_(std::move(disk)) {
  BW_ASSERT(env_ != nullptr);
  BW_ASSERT(disk_ != nullptr);
  boot();
}

Node::~Node() = default;

int64_t Node::now_ms() const {
  return kEpochMs + static_cast<int64_t>(env_->now_us() / 1000) + options_.clock_skew_ms;
}

void Node::boot() {
  if (const Status s = disk_->status(); !s.ok()) {
    env_->checker().on_recovery_failure(id(), s.ToString());
    return;
  }
  replica::Boot boot{.state = disk_->boot_state()};
  const raft::Snapshot snap = disk_->durable_snapshot();
  if (!snap.data.empty()) {  // the bootstrap snapshot holds membership only
    const Status s = boot.store.restore(snap.data);
    BW_ASSERT(s.ok(), "durable snapshot does not restore: {}", s.ToString());
  }
  role_ = raft::Role::kFollower;
  last_seq_written_ = 0;
  replica_ = std::make_unique<replica::Replica>(
      options_.replica,
      replica::Io{.clock = this, .transport = this, .disk = this, .observer = this},
      std::move(boot));
  env_->checker().on_restart(id(), replica_->commit(), replica_->applied());
}

void Node::tick() {
  BW_ASSERT(running());
  replica_->tick();
  after_input();
}

void Node::step(const raft::Message& m) {
  BW_ASSERT(running());
  // Errors are messages the core refuses (stale, foreign); the network may deliver anything.
  (void)replica_->step(m);
  after_input();
}

Result<LogIndex> Node::propose(std::string payload, replica::Replica::WriteDone done) {
  BW_ASSERT(running());
  Result<LogIndex> index = replica_->propose(std::move(payload), std::move(done));
  after_input();
  return index;
}

Status Node::propose_conf_change(const raft::ConfChange& cc) {
  BW_ASSERT(running());
  Result<LogIndex> index = replica_->propose_conf_change(cc);
  after_input();
  return index.status();
}

void Node::read(replica::Replica::ReadDone done) {
  BW_ASSERT(running());
  replica_->read(std::move(done));
  after_input();
}

Status Node::transfer_leader(NodeId to) {
  BW_ASSERT(running());
  Status s = replica_->transfer_leader(to);
  after_input();
  return s;
}

void Node::after_input() {
  if (!running()) return;
  replica_->flush();
  if (replica_->is_leader()) env_->checker().on_leader(id(), replica_->raft().term());
  env_->checker().on_requests_checked(id(), replica_->oldest_pending_write(), replica_->applied());
}

void Node::on_synced() {
  if (!running()) return;
  disk_->sync();
  report_persisted();
  replica_->on_durable(last_seq_written_);
  after_input();
}

// ---- the replica's seams ---------------------------------------------------------------------

void Node::send(raft::Message m) {
  env_->send(std::move(m));
}

void Node::write(storage::WriteBatch batch, uint64_t seq, bool sync) {
  WriteBatch w{.snapshot = std::move(batch.snapshot),
               .entries = std::move(batch.entries),
               .hard_state = batch.hard_state,
               .conf = std::move(batch.conf)};
  const Status s = disk_->write(std::move(w));
  BW_ASSERT(s.ok(), "{}", s.ToString());
  if (sync) {
    last_seq_written_ = seq;
    env_->schedule_sync(id());
  }
}

void Node::on_role_change(const raft::SoftState& ss, Term term) {
  if (ss.role == role_) return;
  role_ = ss.role;
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kRole,
                               .node = id().value(),
                               .a = static_cast<uint64_t>(role_),
                               .b = term.value(),
                               .c = ss.leader.value()});
  env_->on_role_change(id(), role_);
}

void Node::on_leader_ready(Term term, raft::LogStorage& log) {
  env_->checker().on_leader_log(id(), term, log);
}

void Node::on_commit(Term term, LogIndex commit, raft::LogStorage& log) {
  env_->checker().on_commit(id(), term, commit, log);
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kCommit,
                               .node = id().value(),
                               .a = commit.value(),
                               .b = term.value()});
  if (replica_ != nullptr && replica_->is_leader()) env_->on_leader_commit(id());
}

void Node::on_applied(const raft::Entry& e, const kv::ApplyEffects*, uint64_t, kv::Reply*) {
  env_->checker().on_apply(id(), e.index, e.term, checksum64(e.data));
  env_->on_entry_applied(id(), e);
  if (e.type != raft::EntryType::kConfChange) return;
  ++conf_changes_applied_;
  Result<raft::ConfChange> cc = raft::decode_conf_change(e.data);
  BW_ASSERT(cc.ok());
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kConfApplied,
                               .node = id().value(),
                               .peer = cc->node.value(),
                               .a = static_cast<uint64_t>(cc->type),
                               .b = e.index.value()});
}

void Node::on_snapshot_installed(const raft::SnapshotMeta& meta) {
  env_->checker().on_snapshot_restored(id(), meta.index);
  ++snapshots_installed_;
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kSnapshotInstall,
                               .node = id().value(),
                               .a = meta.index.value(),
                               .b = meta.term.value()});
}

// ---- host duties -----------------------------------------------------------------------------

Status Node::take_snapshot(uint64_t retain_entries) {
  BW_ASSERT(running());
  const LogIndex applied = replica_->applied();
  if (applied <= disk_->snapshot_index()) return absl::FailedPreconditionError("nothing new");
  const uint64_t keep = std::min(retain_entries, applied.value());
  const LogIndex compacted = applied - keep;
  const Status s =
      disk_->snapshot(applied, replica_->conf(), replica_->store().snapshot(), compacted);
  report_persisted();  // taking it may have flushed earlier writes
  BW_RETURN_IF_ERROR(s);
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kSnapshot,
                               .node = id().value(),
                               .a = applied.value(),
                               .b = compacted.value()});
  return OkStatus();
}

void Node::report_persisted() {
  for (const PersistedEntry& e : disk_->take_persisted()) env_->checker().on_persisted(id(), e);
}

void Node::crash(Rng& rng) {
  BW_ASSERT(running());
  replica_.reset();  // waiting requests die with the process
  ++incarnation_;
  const size_t unsynced = disk_->unsynced_batches();
  const uint64_t how = disk_->crash(rng);
  report_persisted();
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kCrash,
                               .node = id().value(),
                               .a = unsynced,
                               .b = how});
}

void Node::restart(uint64_t random_seed, uint64_t boot_epoch) {
  BW_ASSERT(!running());
  options_.replica.raft.random_seed = random_seed;
  options_.replica.boot_epoch = boot_epoch;
  boot();
  if (!running()) return;
  env_->trace().add(TraceEvent{.time_us = env_->now_us(),
                               .kind = TraceKind::kRestart,
                               .node = id().value(),
                               .a = replica_->commit().value(),
                               .b = replica_->applied().value()});
  after_input();
}

}  // namespace bw::sim
