// Sentinel-compatible discovery. Every node answers Redis Sentinel's discovery commands for the
// cluster from its own view of it: the Raft leader is the master, every other member a replica,
// and every member a sentinel (each answers SENTINEL on its client port). So Sentinel-aware
// clients (redis-py's Sentinel, ioredis's `sentinels`) send writes to the leader, reads to the
// followers, and follow a failover without configuration changes.
//
// When no leader is known (an election is running, or no majority is reachable) the master is
// the last leader this node knew, flagged s_down,o_down,failover_in_progress, as real Sentinel
// reports a master while it fails it over; clients then try the next sentinel or retry. A node
// that has never known a leader answers get-master-addr-by-name with nil.
//
// The replies are pure functions of a SentinelView, the state gathered at the time of the call
// (sentinel_members is the one place that reads the cluster's membership).
//
// Thread safety: none; the node's event-loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "resp/writer.h"

namespace bw::server {

class Node;

// The pub/sub channel a leader change is announced on, as Sentinel does.
inline constexpr std::string_view kSwitchMasterChannel = "+switch-master";

// One member of the cluster as this node sees it.
struct SentinelMember {
  NodeId id;
  std::string client_address;    // host:port clients connect to
  bool leader = false;           // the leader this node follows now
  bool learner = false;          // non-voting: never becomes the leader
  bool online = true;            // reachable, as far as this node can tell
  int64_t last_contact_ms = -1;  // since this node last heard from it; 0 = itself, -1 = unknown
  uint64_t offset = 0;           // log index it is known to hold (replication offset)
};

// The members of the cluster as this node sees them now: the only place that reads the
// membership, so that it changing at run time (learners, added nodes) changes this alone.
std::vector<SentinelMember> sentinel_members(const Node& node);

// Everything the replies need, gathered at the time of the call.
struct SentinelView {
  std::string master_name;
  std::string cluster_id;  // run ids are "<cluster id>-<node id>", as INFO's run_id
  NodeId self;
  std::vector<SentinelMember> members;
  // The leader now; when none is known, the last one known; kNoNode if there never was one.
  NodeId master;
  bool master_down = false;     // no leader known now
  int64_t master_state_ms = 0;  // how long the master has led, or (master_down) been gone
  uint64_t config_epoch = 0;    // Raft term
  int64_t down_after_ms = 0;    // a follower starts an election after this long without a leader
  int64_t failover_timeout_ms = 0;
  size_t quorum = 1;  // a majority of the voters

  const SentinelMember* find(NodeId id) const;
};

// What a node remembers between calls: the leader it follows and the last one it knew.
class SentinelTracker {
 public:
  // Called with each leader this node follows (kNoNode: none known) as it changes. Returns the
  // leader that was replaced when another node now leads after it (the switch to announce).
  std::optional<NodeId> on_leader_change(NodeId leader, int64_t now_ms);

  // The view of `node` as of now_ms, with the leader Raft reports now.
  SentinelView view(const Node& node, int64_t now_ms) const;

 private:
  NodeId current_;     // kNoNode while none is known
  NodeId last_known_;  // the last leader known, kept while none is
  int64_t since_ms_ = 0;
};

// "+switch-master" payload: "<name> <old-ip> <old-port> <new-ip> <new-port>"; empty if either
// member is unknown to the view.
std::string switch_master_message(const SentinelView& view, NodeId from, NodeId to);

// SENTINEL <subcommand> [args]: Redis Sentinel's replies (flat field/value arrays in RESP2,
// maps in RESP3). REQUIRES: argv.size() >= 2 (argv[0] is SENTINEL).
void write_sentinel_reply(const SentinelView& view, std::span<const std::string_view> argv,
                          resp::Writer& w);
// ROLE on the sentinel port: ["sentinel", [master names]].
void write_sentinel_role(const SentinelView& view, resp::Writer& w);
// INFO on the sentinel port: Server, Clients and Sentinel sections in Sentinel's format.
std::string render_sentinel_info(const Node& node, const SentinelView& view,
                                 std::span<const std::string_view> sections);
// The commands a connection on the sentinel port may run, as Redis Sentinel's (case-insensitive).
bool sentinel_port_command(std::string_view name);

}  // namespace bw::server
