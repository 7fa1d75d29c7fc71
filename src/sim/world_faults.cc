// The fault schedule. Storms (faults on) alternate with calm spells (network healed, every node
// up) so that the cluster also spends time healthy and operations complete. Operator actions
// (membership changes, leadership transfers, snapshots) run in both.
#include <algorithm>
#include <tuple>

#include "common/assert.h"
#include "sim/world.h"

namespace bw::sim {
namespace {

constexpr uint64_t kStormUsMin = 1'000'000;
constexpr uint64_t kStormUsMax = 3'000'000;
constexpr uint64_t kCalmUsMin = 500'000;
constexpr uint64_t kCalmUsMax = 1'500'000;
constexpr uint64_t kFaultGapUsMin = 20'000;
constexpr uint64_t kFaultGapUsMax = 250'000;
constexpr uint64_t kOperatorGapUsMin = 50'000;
constexpr uint64_t kOperatorGapUsMax = 400'000;
constexpr uint64_t kCalmSyncUsMax = 1'000;
constexpr uint64_t kStormSyncUsMax = 20'000;

bool contains(const std::vector<NodeId>& v, NodeId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

}  // namespace

void World::calm_network() {
  NetworkOptions o;
  o.latency_us_min = 100;
  o.latency_us_max = 1'500;
  network_.set_options(o);
  sync_us_max_ = kCalmSyncUsMax;
}

void World::on_phase(bool storm) {
  storm_ = storm;
  trace_.add(TraceEvent{.time_us = now_us_, .kind = TraceKind::kPhase, .a = storm ? 1u : 0u});
  if (storm) {
    sync_us_max_ = kStormSyncUsMax;
    fault_weather();
    schedule(rng_.range(kFaultGapUsMin, kFaultGapUsMax), EventKind::kFault, 0, 0);
    schedule(rng_.range(kStormUsMin, kStormUsMax), EventKind::kPhase, 0, 0);
    return;
  }
  ++heal_generation_;
  network_.heal();
  calm_network();
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    if (node(id) != nullptr && !node(id)->running()) restart_node(id);
    if (slots_[id].paused) resume_node(id);
  }
  schedule(rng_.range(kCalmUsMin, kCalmUsMax), EventKind::kPhase, 0, 1);
}

void World::on_fault() {
  if (!storm_) return;
  schedule(rng_.range(kFaultGapUsMin, kFaultGapUsMax), EventKind::kFault, 0, 0);
  if (rng_.chance(extra_pause_probability_)) {
    fault_pause();
    return;
  }
  const uint64_t dice = rng_.index(10);
  if (dice < 3) {
    fault_partition();
  } else if (dice < 5) {
    fault_crash();
  } else if (dice < 7) {
    fault_pause();
  } else if (dice < 9) {
    fault_weather();
  } else {
    ++heal_generation_;
    network_.heal();
    trace_.add(TraceEvent{.time_us = now_us_, .kind = TraceKind::kHeal});
  }
}

void World::fault_weather() {
  NetworkOptions o;
  o.latency_us_min = 100;
  o.latency_us_max = rng_.range(1'000, 30'000);
  o.drop_probability = static_cast<double>(rng_.index(200)) / 1000.0;
  o.duplicate_probability = static_cast<double>(rng_.index(100)) / 1000.0;
  o.spike_probability = static_cast<double>(rng_.index(50)) / 1000.0;
  o.latency_spike_us_max = rng_.range(o.latency_us_max, 300'000);
  network_.set_options(o);
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kNetwork,
                        .a = static_cast<uint64_t>(o.drop_probability * 1000),
                        .b = static_cast<uint64_t>(o.duplicate_probability * 1000),
                        .c = o.latency_us_max});
}

void World::fault_partition() {
  auto cut = [this](uint32_t from, uint32_t to) {
    network_.set_link(NodeId(from), NodeId(to), false);
    trace_.add(
        TraceEvent{.time_us = now_us_, .kind = TraceKind::kLinkCut, .node = from, .peer = to});
  };
  Node* l = leader();
  const uint64_t kind = rng_.index(4);
  uint32_t victim = static_cast<uint32_t>(rng_.range(1, nodes_max_));
  if (kind == 0 && l != nullptr) victim = static_cast<uint32_t>(l->id().value());
  if (kind <= 1) {
    isolate(victim);  // one node, often the leader, both ways
  } else if (kind == 2) {
    // Split into two sides.
    std::vector<bool> side(nodes_max_ + 1);
    for (uint32_t id = 1; id <= nodes_max_; ++id) side[id] = rng_.chance(0.5);
    for (uint32_t a = 1; a <= nodes_max_; ++a) {
      for (uint32_t b = 1; b <= nodes_max_; ++b) {
        if (a != b && side[a] != side[b]) cut(a, b);
      }
    }
  } else {
    // Asymmetric: a few one-way cuts, often around the leader.
    const uint64_t cuts = rng_.range(1, nodes_max_);
    for (uint64_t i = 0; i < cuts; ++i) {
      uint32_t from = static_cast<uint32_t>(rng_.range(1, nodes_max_));
      uint32_t to = static_cast<uint32_t>(rng_.range(1, nodes_max_));
      if (l != nullptr && rng_.chance(0.5)) {
        (rng_.chance(0.5) ? from : to) = static_cast<uint32_t>(l->id().value());
      }
      if (from != to) cut(from, to);
    }
  }
  schedule(rng_.range(100'000, 2'000'000), EventKind::kHeal, 0, ++heal_generation_);
}

void World::fault_crash() {
  if (rng_.chance(power_cut_probability_)) {
    power_cut();
    return;
  }
  // Prefer the leader and nodes with unsynced writes: that is where crashes hurt.
  std::vector<uint32_t> candidates;
  const uint64_t dice = rng_.index(10);
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    Node* n = running(id);
    if (n == nullptr) continue;
    if (dice < 3 && !n->raft().is_leader()) continue;
    if (dice >= 3 && dice < 6 && n->unsynced_batches() == 0) continue;
    candidates.push_back(id);
  }
  if (candidates.empty()) {
    for (uint32_t id = 1; id <= nodes_max_; ++id) {
      if (running(id) != nullptr) candidates.push_back(id);
    }
  }
  if (candidates.empty()) return;
  crash_node(candidates[rng_.index(candidates.size())]);
}

void World::crash_node(uint32_t id) {
  Node* n = running(id);
  BW_ASSERT(n != nullptr);
  slots_[id].paused = false;
  slots_[id].sync_deferred = false;
  slots_[id].inbox.clear();
  n->crash(rng_);
  ++result_.crashes;
  // A bounce comes back while messages addressed to the old incarnation are still in flight
  // (read index answers, append acks, duplicates of both).
  const bool bounce = rng_.chance(bounce_probability_);
  schedule(bounce ? rng_.range(1'000, 30'000) : rng_.range(10'000, 1'500'000), EventKind::kRestart,
           id, 0);
}

void World::power_cut() {
  ++result_.power_cuts;
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    if (running(id) != nullptr) crash_node(id);
  }
}

void World::on_role_change(NodeId id, raft::Role role) {
  if (role != raft::Role::kLeader || !storm_ || !rng_.chance(leader_kill_probability_)) return;
  Node* n = node(static_cast<uint32_t>(id.value()));
  schedule(rng_.range(0, 10'000), EventKind::kKill, static_cast<uint32_t>(id.value()),
           n->incarnation());
}

void World::on_leader_commit(NodeId id) {
  if (options_.commit_durability_check)
    check_commit_durability(node(static_cast<uint32_t>(id.value())));
  if (!storm_ || !rng_.chance(commit_kill_probability_)) return;
  Node* n = node(static_cast<uint32_t>(id.value()));
  schedule(rng_.range(0, 2'000), EventKind::kKill, static_cast<uint32_t>(id.value()),
           n->incarnation());
}

void World::check_commit_durability(Node* l) {
  const raft::NodeStatus st = l->raft().status();
  const LogIndex commit = l->commit();
  Result<Term> commit_term = l->disk().log()->term(commit);
  if (!commit_term.ok()) return;
  std::vector<VoterLog> voters;
  for (NodeId id : st.conf.voters) {
    Node* n = node(static_cast<uint32_t>(id.value()));
    VoterLog v;
    v.id = id;
    if (n == nullptr) {  // never started: an empty log
      voters.push_back(v);
      continue;
    }
    if (!n->disk().status().ok()) continue;  // unrecoverable: already a violation
    raft::LogStorage* log = n->disk().log();
    v.last = log->last_index();
    v.last_term = *log->term(v.last);
    std::tie(v.durable_last, v.durable_last_term) = n->disk().durable_last();
    if (commit < log->first_index()) {
      v.has_entry = true;  // covered by its snapshot
    } else {
      Result<Term> t = log->term(commit);
      v.has_entry = t.ok() && *t == *commit_term;
    }
    voters.push_back(v);
  }
  checker_.on_leader_commit(l->id(), commit, voters);
}

void World::kill_leader(uint32_t id, uint64_t incarnation) {
  Node* n = running(id);
  if (!storm_ || n == nullptr || n->incarnation() != incarnation) return;
  if (rng_.chance(kill_crash_probability_)) {
    crash_node(id);
  } else {
    isolate(id);
    schedule(rng_.range(50'000, 1'000'000), EventKind::kHeal, 0, ++heal_generation_);
  }
}

void World::isolate(uint32_t victim) {
  for (uint32_t other = 1; other <= nodes_max_; ++other) {
    if (other == victim) continue;
    for (auto [from, to] : {std::pair{victim, other}, std::pair{other, victim}}) {
      network_.set_link(NodeId(from), NodeId(to), false);
      trace_.add(
          TraceEvent{.time_us = now_us_, .kind = TraceKind::kLinkCut, .node = from, .peer = to});
    }
  }
}

void World::restart_node(uint32_t id) {
  Node* n = node(id);
  if (n == nullptr || n->running()) return;
  const uint64_t seed = rng_.next();
  n->restart(seed, rng_.next());
}

void World::fault_pause() {
  Node* l = leader();
  uint32_t id = static_cast<uint32_t>(rng_.range(1, nodes_max_));
  if (l != nullptr && rng_.chance(0.5)) id = static_cast<uint32_t>(l->id().value());
  if (available(id) == nullptr) return;
  const uint64_t duration_us = rng_.range(50'000, 1'500'000);
  slots_[id].paused = true;
  trace_.add(
      TraceEvent{.time_us = now_us_, .kind = TraceKind::kPause, .node = id, .a = duration_us});
  schedule(duration_us, EventKind::kResume, id, 0);
}

void World::resume_node(uint32_t id) {
  if (!slots_[id].paused) return;
  slots_[id].paused = false;
  trace_.add(TraceEvent{.time_us = now_us_, .kind = TraceKind::kResume, .node = id});
  if (Node* n = running(id)) {
    if (slots_[id].sync_deferred) {
      slots_[id].sync_deferred = false;
      n->on_synced();
    }
    resume_inbox(id);
  }
}

void World::on_operator() {
  schedule(rng_.range(kOperatorGapUsMin, kOperatorGapUsMax), EventKind::kOperator, 0, 0);
  // Keep logs bounded wherever they grew long.
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    Node* n = available(id);
    if (n != nullptr && n->log_entries() > kLogEntriesMax)
      (void)n->take_snapshot(rng_.range(0, 20));
  }
  if (rng_.chance(transfer_probability_)) {
    op_transfer();
    return;
  }
  const uint64_t dice = rng_.index(10);
  if (dice < 3) {
    op_membership();
  } else if (dice < 5) {
    op_transfer();
  } else if (dice < 8) {
    op_snapshot();
  }
}

void World::op_snapshot() {
  // Often the leader: its compaction is what sends lagging followers an InstallSnapshot.
  Node* n = leader();
  if (n == nullptr || rng_.chance(0.5))
    n = available(static_cast<uint32_t>(rng_.range(1, nodes_max_)));
  if (n == nullptr) return;
  (void)n->take_snapshot(rng_.range(0, 5));
}

void World::op_transfer() {
  Node* l = leader();
  if (l == nullptr) return;
  const raft::NodeStatus st = l->raft().status();
  if (st.conf.voters.size() < 2) return;
  const NodeId to = st.conf.voters[rng_.index(st.conf.voters.size())];
  if (to == l->id()) return;
  const Status s = l->transfer_leader(to);
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kTransfer,
                        .node = l->id().value(),
                        .peer = to.value(),
                        .a = s.ok() ? 1u : 0u});
}

void World::op_membership() {
  Node* l = leader();
  if (l == nullptr) return;
  const raft::NodeStatus st = l->raft().status();
  if (!st.conf.voters_outgoing.empty()) return;
  std::vector<raft::ConfChange> choices;
  for (uint32_t id = 1; id <= nodes_max_; ++id) {
    const NodeId n(id);
    const bool voter = contains(st.conf.voters, n);
    const bool learner = contains(st.conf.learners, n);
    if (!voter && !learner) choices.push_back({raft::ConfChangeType::kAddLearner, n});
    if (learner) choices.push_back({raft::ConfChangeType::kAddVoter, n});
    if (learner || (voter && st.conf.voters.size() > 3)) {
      choices.push_back({raft::ConfChangeType::kRemoveNode, n});
    }
  }
  if (choices.empty()) return;
  const raft::ConfChange cc = choices[rng_.index(choices.size())];
  const auto subject = static_cast<uint32_t>(cc.node.value());
  // A node joining for the first time starts with a blank disk and learns the group from the
  // leader's snapshot.
  if (node(subject) == nullptr && cc.type == raft::ConfChangeType::kAddLearner) {
    start_node(subject, make_disk(subject, nullptr));
  }
  const Status s = l->propose_conf_change(cc);
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kConfChange,
                        .node = l->id().value(),
                        .peer = cc.node.value(),
                        .a = static_cast<uint64_t>(cc.type),
                        .b = s.ok() ? 1u : 0u});
}

}  // namespace bw::sim
