// Operator subcommands: run a local cluster of node processes, and move its leadership.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/admin_client.h"

namespace bw::server {

// A local cluster's node serves its metrics (--metrics-listen) on its client port plus this:
// clear of the peer ports (+10000) for every base port up to 55535.
inline constexpr int kMetricsPortOffset = 1000;

struct ClusterUpOptions {
  int nodes = 3;
  int learners = 0;  // started after the voters, joined with --join (cluster_add)
  int base_port = 7001;
  std::string dir = "bellwether-cluster";
  bool detach = false;
  std::vector<std::string> server_args;  // extra flags passed to every `bellwether server`
  std::string restore;  // a backup file every node starts from (restore_member), if not empty
  // Passed to every node as --requirepass; cluster up authenticates with it.
  std::string requirepass;
  // Client TLS on each node's port + kTlsPortOffset with client certificates required, mutual
  // TLS between nodes and a cluster secret; the CA and certificates are made (cluster_tls.h).
  bool tls = false;
  // The credentials the health checks authenticate with (--user, --pass); they ask the plain
  // client ports the nodes are started with, so TLS settings are not used.
  ClientConnectOptions connect;
};

// Starts the nodes, waits until a leader is elected, prints the endpoints. In the foreground it
// stops them all on SIGINT/SIGTERM; detached it returns and `cluster down` stops them.
int cluster_up(const std::string& self_exe, const ClusterUpOptions& options);
int cluster_down(const std::string& dir);

struct ClusterAddOptions {
  std::string dir = "bellwether-cluster";
  bool learner = false;         // stay a learner (default: promoted to voter once caught up)
  uint32_t timeout_ms = 60000;  // for joining, catching up and the promotion
};
// Starts one more node in a local cluster's directory: it joins through a running member,
// catches up, and (unless a learner) is promoted.
int cluster_add(const std::string& self_exe, const ClusterAddOptions& options);
// Removes local node `label` (node<label> in the directory) from the membership, then stops it.
int cluster_remove(const std::string& dir, int label, uint32_t timeout_ms);

struct MemberCliOptions {
  std::string endpoint = "127.0.0.1:7001";
  std::string action;  // list | add | promote | remove | replace
  std::vector<std::string> args;
  ClientConnectOptions connect;  // --tls --cacert --cert --key --user --pass
  uint32_t timeout_ms = 60000;   // TRYAGAIN answers (catching up, electing) are retried this long
};
int run_member(const MemberCliOptions& options);
// Sends FAILOVER [TO host port] TIMEOUT ms to the leader of `endpoint`'s cluster and waits for
// the outcome: leadership moves to `to` (a client address), or to the most caught-up follower.
// `connect`: the credentials (--user, --pass); the leader is asked on its plain client port.
int run_failover(const std::string& endpoint, const std::string& to, uint32_t timeout_ms,
                 const ClientConnectOptions& connect);

}  // namespace bw::server
