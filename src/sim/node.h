// One simulated replica: a RawNode, its simulated disk and its register state machine. The
// node's Ready handling (handle_ready + finish_ready) is the one place where the Ready contract
// is implemented for the simulator: persist, wait for the sync, send, apply, advance.
//
// Thread safety: none; owned and driven by the world.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/raft.h"
#include "sim/disk.h"
#include "sim/invariants.h"
#include "sim/register_machine.h"
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
  virtual void on_write_applied(NodeId node, const Command& c, bool changed) = 0;
  // A read registered with read(context) may now be served from node's state machine.
  virtual void on_read_ready(NodeId node, const std::string& context) = 0;
  virtual void on_role_change(NodeId node, raft::Role role) = 0;
  // The node, as leader, advanced its commit index.
  virtual void on_leader_commit(NodeId node) = 0;
  virtual InvariantChecker& checker() = 0;
  virtual Trace& trace() = 0;
};

struct NodeOptions {
  raft::Config raft;                // id, group, timers, limits, planted bugs
  bool ack_before_persist = false;  // planted driver bug: send before the sync
};

class Node {
 public:
  static constexpr size_t kPendingReadsMax = 1024;

  // Starts a node on `disk` (the node owns it). If the disk did not recover, the checker is
  // told and the node stays down.
  Node(const NodeOptions& options, NodeEnv* env, std::unique_ptr<Disk> disk);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeId id() const { return options_.raft.id; }
  bool running() const { return raft_ != nullptr; }
  // REQUIRES: running().
  raft::RawNode& raft() { return *raft_; }

  // Inputs. Each leaves the node with its Ready handled as far as the disk allows.
  void tick();
  void step(const raft::Message& m);
  Result<LogIndex> propose(const Command& c);
  Status propose_conf_change(const raft::ConfChange& cc);
  void read(std::string context);
  Status transfer_leader(NodeId to);

  // The disk finished the write that handle_ready() started.
  void on_synced();
  // Snapshot of the state machine at the applied index, compacting the log up to
  // `retain_entries` before it.
  Status take_snapshot(uint64_t retain_entries);

  // Power loss (REQUIRES: running()): the disk draws from `rng` what of its unsynced writes
  // survives.
  void crash(Rng& rng);
  // Restart from the durable state, with a fresh election seed. REQUIRES: !running(). The node
  // stays down (and the checker is told) if its disk cannot be recovered.
  void restart(uint64_t random_seed);

  // Bumped by every crash; a sync scheduled by an earlier incarnation is void.
  uint64_t incarnation() const { return incarnation_; }
  size_t unsynced_batches() const { return disk_->unsynced_batches(); }
  bool awaiting_sync() const {
    return std::any_of(unfinished_.begin(), unfinished_.end(),
                       [](const Unfinished& u) { return u.awaiting_sync; });
  }
  Disk& disk() { return *disk_; }
  uint64_t snapshots_installed() const { return snapshots_installed_; }
  uint64_t conf_changes_applied() const { return conf_changes_applied_; }
  uint64_t log_entries() { return disk_->log()->last_index() - disk_->log()->first_index() + 1; }
  const RegisterMachine& machine() const { return machine_; }
  LogIndex applied() const { return applied_; }
  LogIndex commit() const { return commit_; }

 private:
  void boot();
  void after_input();
  void handle_ready();
  void finish_readies();
  void send_messages(std::vector<raft::Message>* messages);
  void apply(const raft::Entry& e);
  void serve_reads();
  void observe_role();
  void report_persisted();

  NodeOptions options_;
  NodeEnv* env_;
  std::unique_ptr<Disk> disk_;
  std::unique_ptr<raft::RawNode> raft_;
  RegisterMachine machine_;
  raft::ConfState conf_;  // membership as of applied_
  LogIndex applied_;
  LogIndex commit_;
  Term hard_term_;
  NodeId hard_vote_;
  // Readies taken but not yet finished, in order (raft.h, pipelined writes): each waits for
  // the disk if it must sync, and for every Ready before it.
  struct Unfinished {
    raft::Ready ready;
    bool awaiting_sync = false;
    bool sent = false;  // its messages already left (ack_before_persist)
  };
  std::deque<Unfinished> unfinished_;
  std::deque<raft::ReadState> pending_reads_;
  raft::Role role_ = raft::Role::kFollower;
  uint64_t incarnation_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t conf_changes_applied_ = 0;
};

}  // namespace bw::sim
