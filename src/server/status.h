// `bellwether status`: one row per node of a cluster, the nodes that are down or paused included.
// An operator runs it when something is wrong, so nothing a node says (or fails to say) stops it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/admin_client.h"

namespace bw::server {

// How a node answered `INFO raft`.
enum class ProbeOutcome : uint8_t {
  kAnswered,
  kDown,     // the connection was refused or dropped: no process serves the address
  kNoReply,  // no reply before the deadline: paused (SIGSTOP), overloaded or cut off
  kError,    // an error reply, bytes that are not a reply, or no address to ask
};

struct NodeProbe {
  std::string id;       // as the cluster's INFO names it: raft_peer<id>
  std::string address;  // client address; "?" if none is known
  ProbeOutcome outcome = ProbeOutcome::kAnswered;
  std::string reason;                       // why it did not answer, unless kAnswered
  std::map<std::string, std::string> info;  // its INFO raft fields, if kAnswered
};

// An INFO value made of "key=value" pairs separated by commas (a raft_peer<ID> line,
// cmdstat_*, latency_percentiles_usec_*) as a map.
std::map<std::string, std::string> parse_info_pairs(std::string_view value);

// The table for `probes`, a header then one row each, in order. Pure. A field a node did not
// report, or reported in an unexpected form, shows as "?". The last column of a node that did not
// answer says how long ago any answering node last heard from it (the freshest of their views:
// the leader's when it answered, as it hears from every peer at each heartbeat).
std::string render_status(const std::vector<NodeProbe>& probes,
                          std::chrono::milliseconds reply_timeout);

// Asks `endpoint` for `INFO raft` plus `sections`, then every other member it lists concurrently,
// each with a short deadline (a few seconds at most in all). The probes in id order; an error
// naming the cause when `endpoint` itself does not answer as a Bellwether node.
// With connect.tls, `endpoint` is a TLS port and every member is asked on its TLS port, taken to
// be as far from its client port as `endpoint`'s is from its node's (the members' list holds
// client ports only); the probes show the addresses asked.
Result<std::vector<NodeProbe>> probe_cluster(const std::string& endpoint,
                                             const std::vector<std::string>& sections = {},
                                             const ClientConnectOptions& connect = {});

// Asks `endpoint` for the member list, then every other member concurrently, each with a short
// deadline, and prints the table: in a few seconds at most. Returns 0 once the table is printed,
// whatever the nodes' state; 1, after one line on stderr, if `endpoint` itself does not answer.
int print_status(const std::string& endpoint, const ClientConnectOptions& connect = {});

}  // namespace bw::server
