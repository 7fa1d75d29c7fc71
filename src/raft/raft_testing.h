// Test and benchmark support: a small in-memory cluster of RawNodes that handles each node's
// Ready exactly as the contract in raft.h says (persist, send, apply, advance), with a message
// queue that can be partitioned, dropped from and delivered step by step. Also the one-line
// renderings of messages and entries that golden scripts print.
//
// Not for production: no bounds on its queues (tests decide how long they run).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raft.h"

namespace bw::raft::testing {

std::string describe_entry(const Entry& e);
std::string describe_entries(const std::vector<Entry>& entries);
std::string describe_message(const Message& m);

class TestCluster {
 public:
  struct Member {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> node;
    Config config;
    HardState hard_state;              // as persisted
    ConfState conf;                    // as persisted (last applied membership)
    std::vector<std::string> applied;  // state machine: data of applied normal entries
    LogIndex applied_index;
    std::vector<ReadState> read_states;
  };

  // `base` is the template for every node's Config (id and seed are set per node).
  explicit TestCluster(Config base);

  // Adds nodes 1..n (continuing the numbering) as voters of a fresh group.
  void add_voters(size_t n);
  // Adds a node with an empty log that boots with the leader's membership plus itself as a
  // learner, ready to be added by a conf change.
  NodeId add_joiner();
  // Recreates a node from its persisted state (unsynced state is kept: MemoryStorage is
  // "durable"). Messages in flight to it are kept.
  void restart(NodeId id);

  Member& member(NodeId id) { return *members_.at(id); }
  RawNode& node(NodeId id) { return *members_.at(id)->node; }
  MemoryStorage& storage(NodeId id) { return *members_.at(id)->storage; }
  std::vector<NodeId> ids() const;

  // Handles one Ready of `id` if it has one; its messages join the queue. Returns whether it
  // had one. `log` (if set) receives a description.
  bool process_ready(NodeId id);
  // Delivers every message queued right now (not those produced meanwhile); returns how many.
  size_t deliver_all();
  // Delivers only messages addressed to `to`.
  size_t deliver_to(NodeId to);
  // process readies and deliver until nothing moves (bounded by `rounds_max`).
  void stabilize(size_t rounds_max = 1000);
  void tick(NodeId id, size_t n);

  // Cuts the listed nodes off from the others (both directions); heal() reconnects all.
  void partition(const std::set<NodeId>& side);
  void heal() { side_.clear(); }
  // Fine-grained queue control for randomized tests: act on the k-th queued message.
  void deliver_index(size_t k);
  void drop_index(size_t k);
  void duplicate_index(size_t k);
  void drop_all_queued() { queue_.clear(); }
  size_t queued() const { return queue_.size(); }

  // Snapshot of node `id`'s state machine at its applied index, then compaction to `index`.
  Status compact(NodeId id, LogIndex index);

  std::function<void(const std::string&)> log;  // narrative output (scripts); may be empty
  // Called for every entry a node applies, and for every snapshot it installs.
  std::function<void(NodeId, const Entry&)> on_apply;
  std::function<void(NodeId, const Snapshot&)> on_snapshot;
  bool verbose_deliver = false;  // deliver_all/deliver_to print each message they deliver

 private:
  bool connected(NodeId a, NodeId b) const;
  void emit(const std::string& line) {
    if (log) log(line);
  }
  void apply(NodeId id, Member& m, const Entry& e);
  void deliver(Message msg);
  std::unique_ptr<RawNode> make_node(Member& m);

  Config base_;
  uint64_t next_id_ = 1;
  std::map<NodeId, std::unique_ptr<Member>> members_;
  std::deque<Message> queue_;
  std::set<NodeId> side_;
  size_t dropped_ = 0;
};

}  // namespace bw::raft::testing
