// The simulated world behind run_simulation(): the event queue in virtual time, the nodes and
// their disks, the network, the clients and the fault schedule. Internal to the simulator.
//
// Implementation is split by concern: world.cc (event loop, nodes, message delivery),
// world_clients.cc (the client workload and its history), world_faults.cc (storms, faults and
// operator actions).
//
// Thread safety: none; one world per run.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "sim/invariants.h"
#include "sim/linearizability.h"
#include "sim/network.h"
#include "sim/node.h"
#include "sim/rng.h"
#include "sim/simulator.h"
#include "sim/trace.h"

namespace bw::sim {

class World final : public NodeEnv {
 public:
  explicit World(const SimOptions& options);
  ~World() override;

  SimResult run();

  // NodeEnv.
  uint64_t now_us() const override { return now_us_; }
  void send(raft::Message m) override;
  void schedule_sync(NodeId node) override;
  void on_role_change(NodeId node, raft::Role role) override;
  void on_leader_commit(NodeId node) override;
  void on_entry_applied(NodeId node, const raft::Entry& e) override;
  InvariantChecker& checker() override { return checker_; }
  Trace& trace() override { return trace_; }

 private:
  // Virtual-time constants. Ticks are 10 ms, so elections take 100-200 ms.
  static constexpr uint64_t kTickUs = 10'000;
  static constexpr uint32_t kElectionTicks = 10;
  static constexpr uint32_t kHeartbeatTicks = 2;
  static constexpr uint64_t kClientTimeoutUs = 1'500'000;
  static constexpr uint64_t kClientLatencyUsMax = 500;
  static constexpr uint64_t kThinkUsMax = 20'000;
  static constexpr size_t kKeys = 3;
  static constexpr uint64_t kBootstrapIndex = 1;  // the disks' initial snapshot (empty store)
  static constexpr size_t kInboxMax = 64;
  static constexpr uint64_t kLogEntriesMax = 400;  // a node snapshots when its log is longer

  enum class EventKind : uint8_t {
    kTick,
    kDeliver,
    kSync,
    kClientIssue,
    kClientArrive,
    kClientTimeout,
    kFault,
    kOperator,
    kRestart,
    kResume,
    kHeal,
    kPhase,
    kCrash,  // arg = incarnation the crash is meant for
    kKill,   // a short-lived leader: crash or isolate; arg = incarnation
  };
  struct Event {
    uint64_t time_us;
    uint64_t seq;  // FIFO among events at the same time
    EventKind kind;
    uint32_t node;
    uint64_t arg;
    bool operator>(const Event& o) const {
      return time_us != o.time_us ? time_us > o.time_us : seq > o.seq;
    }
  };
  struct Slot {
    std::unique_ptr<Node> node;  // null until the node first starts
    bool paused = false;
    bool sync_deferred = false;  // a sync completed while paused
    std::deque<uint32_t> inbox;  // clients whose requests arrived while paused
  };
  struct Request {
    std::vector<std::string> argv;  // the command (for a transaction: how it reads)
    bool write = false;
    bool transaction = false;  // MULTI/EXEC of `commands` with WATCH `watched`
    std::vector<std::vector<std::string>> commands;
    std::vector<std::pair<std::string, uint64_t>> watched;
  };
  struct Client {
    uint32_t id = 0;
    uint64_t seq = 0;
    bool busy = false;
    size_t op = 0;  // index into history_
    NodeId target;
    Request request;
    // What its replies taught it: the last version seen per key, a lease id, an election token.
    std::array<uint64_t, 3> versions{};
    uint64_t lease = 0;
    uint64_t token = 0;
  };

  // world.cc
  void schedule(uint64_t delay_us, EventKind kind, uint32_t node, uint64_t arg);
  void dispatch(const Event& e);
  void deliver(uint64_t slot);
  void on_tick(uint32_t node);
  void on_sync(uint32_t node, uint64_t incarnation);
  Node* node(uint32_t id);
  Node* running(uint32_t id);    // started and not crashed
  Node* available(uint32_t id);  // running and not paused
  NodeOptions node_options(NodeId id);
  // A node's disk: blank, or holding the bootstrap snapshot with membership `conf`.
  std::unique_ptr<Disk> make_disk(uint32_t id, const raft::ConfState* conf);
  void start_node(uint32_t id, std::unique_ptr<Disk> disk);
  Node* leader();
  void trace_message(TraceKind kind, const raft::Message& m);

  // world_clients.cc
  void client_issue(uint32_t client);
  void client_arrive(uint32_t client, uint64_t seq);
  void client_execute(Node* n, uint32_t client);
  Request next_request(Client& c);
  void on_write_done(uint32_t client, uint64_t seq, const Status& st, const kv::Reply& reply);
  void on_read_done(Node* n, uint32_t client, uint64_t seq, const Status& st);
  void learn(Client& c, const kv::Reply& reply);
  void client_timeout(uint32_t client, uint64_t seq);
  void client_complete(Client& c, Outcome outcome);
  void resume_inbox(uint32_t node);

  // world_faults.cc
  void on_phase(bool storm);
  void on_fault();
  void on_operator();
  void fault_partition();
  void fault_crash();
  void crash_node(uint32_t id);
  void power_cut();
  void kill_leader(uint32_t id, uint64_t incarnation);
  void check_commit_durability(Node* leader);
  void isolate(uint32_t id);
  void fault_pause();
  void fault_weather();
  void calm_network();
  void op_membership();
  void op_transfer();
  void op_snapshot();
  void restart_node(uint32_t id);
  void resume_node(uint32_t id);

  SimOptions options_;
  Rng rng_;
  Trace trace_;
  InvariantChecker checker_;
  Network network_;
  uint32_t nodes_max_;                   // initial voters plus one spare
  std::vector<Slot> slots_;              // by node id; slot 0 unused
  std::vector<raft::Message> messages_;  // in flight, by slot
  std::vector<uint64_t> free_messages_;
  std::vector<Client> clients_;
  std::vector<Operation> history_;
  std::map<uint64_t, CommittedEntry> committed_;  // every index applied anywhere, first seen
  std::vector<int64_t> clock_skew_ms_;            // by node id, drawn per run
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  uint64_t now_us_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t sync_us_max_ = 1'000;
  bool storm_ = false;
  // Targeted faults (storms only): a new leader is crashed or isolated within a few round trips
  // (the schedules of Raft's Figure 8), and power fails while a sync is in flight.
  double leader_kill_probability_ = 0.15;
  double commit_kill_probability_ = 0.01;
  double kill_crash_probability_ = 0.5;  // else the killed leader is isolated
  double sync_crash_probability_ = 0.02;
  // A power cut takes every running node down at once (a crash fault, storms only).
  double power_cut_probability_ = 0.05;
  // Restart within a few ms of a crash, while messages to the old incarnation are in flight.
  double bounce_probability_ = 0.1;
  double transfer_probability_ = 0;     // extra leadership transfers among operator actions
  double extra_pause_probability_ = 0;  // extra pauses among storm faults
  uint64_t segment_bytes_max_ = 0;      // the storage disk's WAL segments, drawn per run
  uint64_t heal_generation_ = 0;
  raft::Config raft_template_;
  uint32_t driver_bugs_ = 0;  // replica::DriverBug planted in every node
  SimResult result_;
};

}  // namespace bw::sim
