// Operator subcommands: run a local cluster of node processes, and move its leadership.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bw::server {

struct ClusterUpOptions {
  int nodes = 3;
  int base_port = 7001;
  std::string dir = "bellwether-cluster";
  bool detach = false;
  std::vector<std::string> server_args;  // extra flags passed to every `bellwether server`
};

// Starts the nodes, waits until a leader is elected, prints the endpoints. In the foreground it
// stops them all on SIGINT/SIGTERM; detached it returns and `cluster down` stops them.
int cluster_up(const std::string& self_exe, const ClusterUpOptions& options);
int cluster_down(const std::string& dir);
// Sends FAILOVER [TO host port] TIMEOUT ms to the leader of `endpoint`'s cluster and waits for
// the outcome: leadership moves to `to` (a client address), or to the most caught-up follower.
int run_failover(const std::string& endpoint, const std::string& to, uint32_t timeout_ms);

}  // namespace bw::server
