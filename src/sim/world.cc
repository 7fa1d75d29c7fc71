#include "sim/world.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"
#include "sim/sim_disk.h"
#include "sim/storage_disk.h"

namespace bw::sim {

World::World(const SimOptions& options)
    : options_(options),
      rng_(options.seed),
      trace_(options.trace_stream, options.trace_freeze_us),
      checker_(options.nodes + 1),
      network_(options.nodes + 1),
      nodes_max_(options.nodes + 1),
      slots_(options.nodes + 2) {
  BW_ASSERT(options.nodes >= 1);
  // Per-run Raft settings, drawn from the seed: small append and chunk limits make entries and
  // snapshots travel in many pieces; small inflight windows exercise flow control.
  raft_template_.group = GroupId(1);
  raft_template_.election_ticks = kElectionTicks;
  raft_template_.heartbeat_ticks = kHeartbeatTicks;
  raft_template_.pre_vote = rng_.chance(0.75);
  raft_template_.check_quorum = rng_.chance(0.75);
  static constexpr uint64_t kAppendBytes[] = {1, 64, 1024, 1 << 20};
  raft_template_.append_bytes_max = kAppendBytes[rng_.index(4)];
  static constexpr uint32_t kAppendEntries[] = {1, 4, 4096};
  raft_template_.append_entries_max = kAppendEntries[rng_.index(3)];
  static constexpr uint32_t kInflight[] = {1, 4, 256};
  raft_template_.inflight_appends_max = kInflight[rng_.index(3)];
  static constexpr uint64_t kChunkBytes[] = {16, 256, 1 << 20};
  raft_template_.snapshot_chunk_bytes_max = kChunkBytes[rng_.index(3)];
  // Small WAL segments rotate and get removed after compaction many times per run.
  static constexpr uint64_t kSegmentBytes[] = {4 << 10, 64 << 10, 4 << 20};
  segment_bytes_max_ = kSegmentBytes[rng_.index(3)];
  // Lease reads (they need check-quorum) in some runs, and clocks that disagree: expiry must
  // still look the same from every node.
  if (rng_.chance(0.3)) {
    raft_template_.read_only = raft::ReadOnlyOption::kLeaseBased;
    raft_template_.check_quorum = true;
  }
  clock_skew_ms_.resize(nodes_max_ + 1);
  for (int64_t& skew : clock_skew_ms_) {
    skew = rng_.chance(0.5) ? 0 : static_cast<int64_t>(rng_.range(0, 1000)) - 500;
  }
  switch (options.plant) {
    case Plant::kCommitPreviousTermByCount:
      raft_template_.planted_bugs =
          static_cast<uint32_t>(raft::PlantedBug::kCommitPreviousTermByCount);
      // Figure 8 needs short-lived leaders and old entries that reach followers one at a time.
      raft_template_.append_entries_max = 1;
      raft_template_.inflight_appends_max = 1;
      leader_kill_probability_ = 0.5;
      commit_kill_probability_ = 0.3;
      break;
    case Plant::kVoteWithoutLogCheck:
      raft_template_.planted_bugs = static_cast<uint32_t>(raft::PlantedBug::kVoteWithoutLogCheck);
      break;
    case Plant::kReadIndexWithoutHeartbeat:
      raft_template_.planted_bugs =
          static_cast<uint32_t>(raft::PlantedBug::kReadIndexWithoutHeartbeat);
      // Without check-quorum a deposed leader keeps believing it leads for longer (and lease
      // reads, which need check-quorum, are off).
      raft_template_.check_quorum = false;
      raft_template_.read_only = raft::ReadOnlyOption::kSafe;
      break;
    case Plant::kApplyUncommitted:
      raft_template_.planted_bugs = static_cast<uint32_t>(raft::PlantedBug::kApplyUncommitted);
      break;
    case Plant::kDurableBeforeFsync:
      // What it risks is a correlated power loss of a majority.
      power_cut_probability_ = 0.3;
      break;
    case Plant::kAckBeforePersist:
      driver_bugs_ = static_cast<uint32_t>(replica::DriverBug::kAckBeforePersist);
      break;
    case Plant::kReadContextWithoutEpoch:
      driver_bugs_ = static_cast<uint32_t>(replica::DriverBug::kReadContextWithoutEpoch);
      bounce_probability_ = 0.8;
      break;
    case Plant::kReadsUseLocalClock:
      driver_bugs_ = static_cast<uint32_t>(replica::DriverBug::kReadsUseLocalClock);
      break;
    case Plant::kForgetWritesUnderSnapshot:
      driver_bugs_ = static_cast<uint32_t>(replica::DriverBug::kForgetWritesUnderSnapshot);
      break;
    case Plant::kVoteRightAfterRestart:
      // Lease reads on a leader while a restarted follower helps elect another.
      raft_template_.planted_bugs = static_cast<uint32_t>(raft::PlantedBug::kVoteRightAfterRestart);
      raft_template_.read_only = raft::ReadOnlyOption::kLeaseBased;
      raft_template_.check_quorum = true;
      bounce_probability_ = 0.8;
      break;
    case Plant::kLeaseExtendedAfterTransfer:
      raft_template_.planted_bugs =
          static_cast<uint32_t>(raft::PlantedBug::kLeaseExtendedAfterTransfer);
      raft_template_.read_only = raft::ReadOnlyOption::kLeaseBased;
      raft_template_.check_quorum = true;
      transfer_probability_ = 0.6;
      break;
    case Plant::kTicksIgnorePauses:
      // A paused leader resumes believing its lease still runs.
      driver_bugs_ = static_cast<uint32_t>(replica::DriverBug::kTicksIgnorePauses);
      extra_pause_probability_ = 0.5;
      raft_template_.read_only = raft::ReadOnlyOption::kLeaseBased;
      raft_template_.check_quorum = true;
      break;
    case Plant::kNone:
      break;
  }

  raft::ConfState conf;
  for (uint32_t id = 1; id <= options.nodes; ++id) conf.voters.push_back(NodeId(id));
  for (uint32_t id = 1; id <= options.nodes; ++id) start_node(id, make_disk(id, &conf));
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    schedule(rng_.range(0, kTickUs - 1), EventKind::kTick, id, 0);
  }
  clients_.resize(options.nodes + 1);
  for (uint32_t c = 0; c < clients_.size(); ++c) {
    clients_[c].id = c;
    schedule(rng_.range(0, kThinkUsMax), EventKind::kClientIssue, c, 0);
  }
  calm_network();
  // Calm first so that a leader is elected, then storms and calm spells alternate.
  if (options.faults) schedule(rng_.range(300'000, 800'000), EventKind::kPhase, 0, 1);
  schedule(rng_.range(50'000, 300'000), EventKind::kOperator, 0, 0);
}

World::~World() = default;

NodeOptions World::node_options(NodeId id) {
  NodeOptions o;
  o.replica.raft = raft_template_;
  o.replica.raft.id = id;
  o.replica.raft.random_seed = rng_.next();
  o.replica.boot_epoch = rng_.next();
  o.replica.tick_ms = static_cast<uint32_t>(kTickUs / 1000);
  o.replica.request_timeout_ms = static_cast<int64_t>(kClientTimeoutUs / 1000);
  o.replica.lease_extension_ms = int64_t{2} * kElectionTicks * (kTickUs / 1000);
  o.replica.planted_bugs = driver_bugs_;
  o.clock_skew_ms = clock_skew_ms_[id.value()];
  return o;
}

std::unique_ptr<Disk> World::make_disk(uint32_t id, const raft::ConfState* conf) {
  if (options_.disk == DiskKind::kModel) {
    return conf != nullptr ? SimDisk::bootstrapped(*conf) : std::make_unique<SimDisk>();
  }
  const StorageDiskOptions o{.node = NodeId(id),
                             .group = raft_template_.group,
                             .seed = rng_.next(),
                             .segment_bytes_max = segment_bytes_max_,
                             .durable_before_fsync = options_.plant == Plant::kDurableBeforeFsync};
  if (conf != nullptr) return StorageDisk::bootstrapped(o, *conf);
  return std::make_unique<StorageDisk>(o);
}

void World::start_node(uint32_t id, std::unique_ptr<Disk> disk) {
  BW_ASSERT(slots_[id].node == nullptr);
  slots_[id].node = std::make_unique<Node>(node_options(NodeId(id)), this, std::move(disk));
}

Node* World::node(uint32_t id) {
  return id >= 1 && id < slots_.size() ? slots_[id].node.get() : nullptr;
}

Node* World::running(uint32_t id) {
  Node* n = node(id);
  return n != nullptr && n->running() ? n : nullptr;
}

Node* World::available(uint32_t id) {
  Node* n = running(id);
  return n != nullptr && !slots_[id].paused ? n : nullptr;
}

Node* World::leader() {
  Node* best = nullptr;
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    Node* n = available(id);
    if (n == nullptr || !n->raft().is_leader()) continue;
    if (best == nullptr || n->raft().term() > best->raft().term()) best = n;
  }
  return best;
}

void World::schedule(uint64_t delay_us, EventKind kind, uint32_t node_id, uint64_t arg) {
  queue_.push(Event{now_us_ + delay_us, next_seq_++, kind, node_id, arg});
}

SimResult World::run() {
  while (result_.steps < options_.steps && !queue_.empty() && !checker_.failed()) {
    const Event e = queue_.top();
    queue_.pop();
    BW_ASSERT(e.time_us >= now_us_);
    now_us_ = e.time_us;
    ++result_.steps;
    dispatch(e);
  }
  result_.virtual_us = now_us_;
  result_.leaders = checker_.leaders_seen();
  for (const Slot& slot : slots_) {
    if (slot.node == nullptr) continue;
    result_.snapshots_installed += slot.node->snapshots_installed();
    result_.torn_tails += slot.node->disk().torn_tails();
    result_.conf_changes_applied =
        std::max(result_.conf_changes_applied, slot.node->conf_changes_applied());
  }
  if (!checker_.failed()) {
    const LinearizabilityResult lin = check_history(history_, committed_, kBootstrapIndex);
    if (!lin.linearizable) {
      result_.violation = Violation{lin.invariant, lin.explanation};
      result_.violation_us = lin.violation_us;
    }
  } else {
    result_.violation = checker_.violation();
    result_.violation_us = now_us_;
  }
  for (const Operation& op : history_) {
    ++result_.ops;
    if (op.outcome == Outcome::kOk) ++result_.ops_ok;
    if (op.outcome == Outcome::kFail) ++result_.ops_failed;
    if (op.outcome == Outcome::kUnknown) ++result_.ops_unknown;
  }
  if (result_.violation) {
    trace_.add(TraceEvent{.time_us = now_us_, .kind = TraceKind::kViolation});
    result_.recent_trace = trace_.recent();
  }
  result_.trace_hash = trace_.hash();
  return result_;
}

void World::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::kTick:
      on_tick(e.node);
      return;
    case EventKind::kDeliver:
      deliver(e.arg);
      return;
    case EventKind::kSync:
      on_sync(e.node, e.arg);
      return;
    case EventKind::kClientIssue:
      client_issue(e.node);
      return;
    case EventKind::kClientArrive:
      client_arrive(e.node, e.arg);
      return;
    case EventKind::kClientTimeout:
      client_timeout(e.node, e.arg);
      return;
    case EventKind::kFault:
      on_fault();
      return;
    case EventKind::kOperator:
      on_operator();
      return;
    case EventKind::kRestart:
      restart_node(e.node);
      return;
    case EventKind::kResume:
      resume_node(e.node);
      return;
    case EventKind::kHeal:
      if (e.arg == heal_generation_) {
        network_.heal();
        trace_.add(TraceEvent{.time_us = now_us_, .kind = TraceKind::kHeal});
      }
      return;
    case EventKind::kPhase:
      on_phase(e.arg != 0);
      return;
    case EventKind::kCrash:
      if (Node* n = running(e.node); n != nullptr && n->incarnation() == e.arg) crash_node(e.node);
      return;
    case EventKind::kKill:
      kill_leader(e.node, e.arg);
      return;
  }
}

void World::on_tick(uint32_t id) {
  schedule(kTickUs, EventKind::kTick, id, 0);
  if (Node* n = available(id)) n->tick();
}

void World::schedule_sync(NodeId id) {
  Node* n = node(static_cast<uint32_t>(id.value()));
  BW_ASSERT(n != nullptr);
  const uint64_t delay_us = rng_.range(50, sync_us_max_);
  schedule(delay_us, EventKind::kSync, static_cast<uint32_t>(id.value()), n->incarnation());
  if (storm_ && rng_.chance(sync_crash_probability_)) {
    schedule(rng_.range(0, delay_us - 1), EventKind::kCrash, static_cast<uint32_t>(id.value()),
             n->incarnation());
  }
}

void World::on_sync(uint32_t id, uint64_t incarnation) {
  Node* n = running(id);
  if (n == nullptr || n->incarnation() != incarnation) return;
  if (slots_[id].paused) {
    slots_[id].sync_deferred = true;
    return;
  }
  n->on_synced();
}

void World::trace_message(TraceKind kind, const raft::Message& m) {
  // Heartbeats dominate and say little; keep them out of the readable trace but in the hash.
  TraceEvent e{.time_us = now_us_,
               .kind = kind,
               .node = kind == TraceKind::kDeliver ? m.to.value() : m.from.value(),
               .peer = kind == TraceKind::kDeliver ? m.from.value() : m.to.value(),
               .a = static_cast<uint64_t>(m.type),
               .b = m.term.value(),
               .c = m.index.value(),
               .d = m.entries.size()};
  const bool routine =
      m.type == raft::MessageType::kHeartbeat || m.type == raft::MessageType::kHeartbeatResp;
  trace_.add(e, !routine);
}

void World::send(raft::Message m) {
  const uint64_t to = m.to.value();
  if (to < 1 || to > nodes_max_ || m.from.value() < 1 || m.from.value() > nodes_max_) {
    trace_message(TraceKind::kDrop, m);
    return;
  }
  const std::vector<uint64_t> delays = network_.fate(rng_, m.from, m.to);
  if (delays.empty()) {
    trace_message(TraceKind::kDrop, m);
    return;
  }
  for (size_t i = 0; i < delays.size(); ++i) {
    uint64_t slot;
    if (free_messages_.empty()) {
      slot = messages_.size();
      messages_.emplace_back();
    } else {
      slot = free_messages_.back();
      free_messages_.pop_back();
    }
    messages_[slot] = i + 1 == delays.size() ? std::move(m) : m;
    schedule(delays[i], EventKind::kDeliver, static_cast<uint32_t>(to), slot);
  }
}

void World::deliver(uint64_t slot) {
  raft::Message m = std::move(messages_[slot]);
  free_messages_.push_back(slot);
  const auto to = static_cast<uint32_t>(m.to.value());
  Node* n = available(to);
  // A cut that appeared while the message was in flight loses it too.
  if (n == nullptr || !network_.link_up(m.from, m.to)) {
    trace_message(TraceKind::kDrop, m);
    return;
  }
  trace_message(TraceKind::kDeliver, m);
  n->step(m);
}

}  // namespace bw::sim
