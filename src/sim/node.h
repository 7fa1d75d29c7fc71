// One simulated node: the production replica driver (replica::Replica, the real kv store and
// the Ready loop) on a simulated disk, clock and network. This file only adapts the seams:
// virtual time plus the node's clock skew, the world's network, the simulated disk (a write is
// durable at the world's sync event), and the replica's observer hooks feeding the invariant
// checker and the trace.
//
// Thread safety: none; owned and driven by the world.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "raft/raft.h"
#include "replica/replica.h"
#include "sim/disk.h"
#include "sim/invariants.h"
#include "sim/rng.h"
#include "sim/trace.h"

namespace bw::sim {

// What a node needs from the world around it.
class NodeEnv {
 public:
  virtual ~NodeEnv() = default;
  virtual uint64_t now_us() const = 0;
  virtual void send(raft::Message m) = 0;
  // Ask for on_synced() to be called once the disk's write finishes.
  virtual void schedule_sync(NodeId node) = 0;
  virtual void on_role_change(NodeId node, raft::Role role) = 0;
  // The node, as leader, advanced its commit index.
  virtual void on_leader_commit(NodeId node) = 0;
  // An entry applied on `node` (every entry, in log order per node).
  virtual void on_entry_applied(NodeId node, const raft::Entry& e) = 0;
  virtual InvariantChecker& checker() = 0;
  virtual Trace& trace() = 0;
};

struct NodeOptions {
  replica::Options replica;   // raft config, planted driver bugs, timeouts
  int64_t clock_skew_ms = 0;  // this node's wall clock minus the true (virtual) time
};

class Node final : private replica::Clock,
                   private replica::Transport,
                   private replica::Disk,
                   private replica::Observer {
 public:
  // Virtual time 0 is this wall-clock time (1 Jan 2026), so timestamps look like real ones.
  static constexpr int64_t kEpochMs = 1'767'225'600'000;

  // Starts a node on `disk` (the node owns it). If the disk did not recover, the checker is
  // told and the node stays down.
  Node(const NodeOptions& options, NodeEnv* env, std::unique_ptr<sim::Disk> disk);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeId id() const { return options_.replica.raft.id; }
  bool running() const { return replica_ != nullptr; }
  // REQUIRES: running().
  replica::Replica& replica() { return *replica_; }
  raft::RawNode& raft() { return replica_->raft(); }

  // Inputs. Each leaves the node with its Ready handled as far as the disk allows.
  void tick();
  void step(const raft::Message& m);
  Result<LogIndex> propose(std::string payload, replica::Replica::WriteDone done);
  Status propose_conf_change(const raft::ConfChange& cc);
  void read(replica::Replica::ReadDone done);
  Status transfer_leader(NodeId to);

  // The disk finished the writes made so far.
  void on_synced();
  // Snapshot of the state machine at the applied index, compacting the log up to
  // `retain_entries` before it.
  Status take_snapshot(uint64_t retain_entries);

  // Power loss (REQUIRES: running()): the disk draws from `rng` what of its unsynced writes
  // survives.
  void crash(Rng& rng);
  // Restart from the durable state, with a fresh election seed and boot epoch.
  // REQUIRES: !running(). The node stays down (and the checker is told) if its disk cannot be
  // recovered.
  void restart(uint64_t random_seed, uint64_t boot_epoch);

  // Bumped by every crash; a sync scheduled by an earlier incarnation is void.
  uint64_t incarnation() const { return incarnation_; }
  size_t unsynced_batches() const { return disk_->unsynced_batches(); }
  sim::Disk& disk() { return *disk_; }
  uint64_t snapshots_installed() const { return snapshots_installed_; }
  uint64_t conf_changes_applied() const { return conf_changes_applied_; }
  uint64_t log_entries() { return disk_->log()->last_index() - disk_->log()->first_index() + 1; }
  // This node's wall clock (virtual time plus its skew), as the replica sees it.
  int64_t now_ms() const override;
  // Virtual time (no skew): it runs on while the node is paused.
  int64_t monotonic_ms() const override { return static_cast<int64_t>(env_->now_us() / 1000); }
  LogIndex applied() const { return replica_->applied(); }
  LogIndex commit() const { return replica_->commit(); }

 private:
  void boot();
  void after_input();
  void report_persisted();

  // replica::Transport, Disk, Observer.
  void send(raft::Message m) override;
  raft::LogStorage* log() override { return disk_->log(); }
  void write(storage::WriteBatch batch, uint64_t seq, bool sync) override;
  void on_role_change(const raft::SoftState& ss, Term term) override;
  void on_applied(const raft::Entry& e, const kv::ApplyEffects* effects, uint64_t tag,
                  kv::Reply* reply) override;
  void on_snapshot_installed(const raft::SnapshotMeta& meta) override;
  void on_commit(Term term, LogIndex commit, raft::LogStorage& log) override;
  void on_leader_ready(Term term, raft::LogStorage& log) override;

  NodeOptions options_;
  NodeEnv* env_;
  std::unique_ptr<sim::Disk> disk_;
  std::unique_ptr<replica::Replica> replica_;
  raft::Role role_ = raft::Role::kFollower;
  uint64_t last_seq_written_ = 0;  // the newest synced write handed to the disk
  uint64_t incarnation_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t conf_changes_applied_ = 0;
};

}  // namespace bw::sim
