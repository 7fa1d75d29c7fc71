// Membership from the command line: `bellwether member ...` against any running cluster, and
// `cluster add` / `cluster remove` on a local cluster started by `cluster up`.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "server/admin_client.h"
#include "server/cluster.h"
#include "server/cluster_tls.h"
#include "server/config.h"
#include "server/local_process.h"

namespace bw::server {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kRequestTimeout = std::chrono::milliseconds(10000);
constexpr auto kRetryDelay = std::chrono::milliseconds(200);

// Sends `argv` to `endpoint` until it answers something other than TRYAGAIN (or cannot be
// reached), or `timeout` passed. Prints what it is waiting for once.
Result<std::string> command_with_retries(const std::string& endpoint,
                                         const std::vector<std::string>& argv,
                                         std::chrono::milliseconds timeout,
                                         const ClientConnectOptions& connect = {}) {
  const auto deadline = Clock::now() + timeout;
  std::string last_wait;
  while (true) {
    Result<std::string> r = admin_command(endpoint, argv, kRequestTimeout, connect);
    const std::string message = r.ok() ? "" : std::string(r.status().message());
    const bool retry =
        !r.ok() && (absl::StartsWith(message, "TRYAGAIN") || absl::IsUnavailable(r.status()) ||
                    absl::IsDeadlineExceeded(r.status()));
    if (!retry || Clock::now() >= deadline) return r;
    if (message != last_wait) {
      std::fprintf(stderr, "waiting: %s\n", message.c_str());
      last_wait = message;
    }
    std::this_thread::sleep_for(kRetryDelay);
  }
}

constexpr auto kQueryTimeout = std::chrono::milliseconds(1000);

// The value of `key=` in "a=1,b=2" ("" if absent).
std::string field(const std::string& list, const std::string& key) {
  for (size_t at = 0; at < list.size();) {
    size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    std::string part = list.substr(at, end - at);
    if (part.rfind(key + "=", 0) == 0) return part.substr(key.size() + 1);
    at = end + 1;
  }
  return "";
}

// The local cluster's node table (dir/nodes): "label port state" per line, state "up" or
// "removed"; labels and ports are never reused.
struct LocalNode {
  int label = 0;
  int port = 0;
  bool removed = false;
};

std::vector<LocalNode> read_nodes(const fs::path& dir) {
  std::vector<LocalNode> out;
  std::istringstream in(read_text_file(dir / "nodes"));
  LocalNode n;
  std::string state;
  while (in >> n.label >> n.port >> state) {
    n.removed = state == "removed";
    out.push_back(n);
  }
  return out;
}

void write_nodes(const fs::path& dir, const std::vector<LocalNode>& nodes) {
  std::ofstream out(dir / "nodes.tmp");
  for (const LocalNode& n : nodes) {
    out << n.label << " " << n.port << " " << (n.removed ? "removed" : "up") << "\n";
  }
  out.close();
  fs::rename(dir / "nodes.tmp", dir / "nodes");
}

std::string endpoint_of(const LocalNode& n) {
  return fmt::format("127.0.0.1:{}", n.port);
}

// A member of the local cluster that answers, or "".
std::string any_running_endpoint(const std::vector<LocalNode>& nodes,
                                 const ClientConnectOptions& connect) {
  for (const LocalNode& n : nodes) {
    if (!n.removed && !info_raft(endpoint_of(n), kQueryTimeout, connect).empty()) {
      return endpoint_of(n);
    }
  }
  return "";
}

// How `cluster add`/`remove` talk to the nodes of a local cluster: with the password `cluster up
// --requirepass` gave them (kept in the directory's server-args file), on their plain ports.
ClientConnectOptions local_connect(const fs::path& dir) {
  ClientConnectOptions connect;
  std::istringstream args(read_text_file(dir / "server-args"));
  for (std::string a; std::getline(args, a);) {
    if (a == "--requirepass") std::getline(args, connect.pass);
  }
  return connect;
}

}  // namespace

int run_member(const MemberCliOptions& o) {
  if (o.action == "list") {
    auto info = info_raft(o.endpoint, kQueryTimeout, o.connect);
    if (info.empty()) {
      std::fprintf(stderr, "member list: cannot reach %s\n", o.endpoint.c_str());
      return 1;
    }
    std::printf("%-4s %-8s %-21s %-21s %-7s %10s\n", "ID", "ROLE", "ADDRESS", "PEER ADDRESS",
                "LEADER", "MATCH");
    for (const auto& [k, v] : info) {
      if (k.rfind("raft_peer", 0) != 0) continue;
      const std::string id = k.substr(9);
      const std::string match = field(v, "match");
      std::printf("%-4s %-8s %-21s %-21s %-7s %10s\n", id.c_str(), field(v, "role").c_str(),
                  field(v, "addr").c_str(), field(v, "peer_addr").c_str(),
                  info["raft_leader_id"] == id ? "yes" : "", match.empty() ? "-" : match.c_str());
    }
    return 0;
  }
  std::vector<std::string> argv{"MEMBER", o.action};
  argv.insert(argv.end(), o.args.begin(), o.args.end());
  Result<std::string> r =
      command_with_retries(o.endpoint, argv, std::chrono::milliseconds(o.timeout_ms), o.connect);
  if (!r.ok()) {
    std::fprintf(stderr, "member %s: %s\n", o.action.c_str(),
                 std::string(r.status().message()).c_str());
    return 1;
  }
  if (o.action == "add") {
    std::printf(
        "added node %s as a learner; promote it once caught up: bellwether member "
        "promote %s --endpoint %s\n",
        r->c_str(), r->c_str(), o.endpoint.c_str());
  } else {
    std::printf("%s\n", r->c_str());
  }
  return 0;
}

int cluster_add(const std::string& self_exe, const ClusterAddOptions& o) {
  const fs::path dir = fs::absolute(o.dir);
  std::vector<LocalNode> nodes = read_nodes(dir);
  if (nodes.empty()) {
    std::fprintf(stderr, "cluster add: no cluster started by `cluster up` in %s\n", dir.c_str());
    return 1;
  }
  const ClientConnectOptions connect = local_connect(dir);
  const std::string join = any_running_endpoint(nodes, connect);
  if (join.empty()) {
    std::fprintf(stderr, "cluster add: no node of %s answers\n", dir.c_str());
    return 1;
  }
  LocalNode n;
  for (const LocalNode& m : nodes) {
    n.label = std::max(n.label, m.label + 1);
    n.port = std::max(n.port, m.port + 1);
  }
  const std::string endpoint = endpoint_of(n);
  // A node with a TLS port joins through a member's TLS port (docs/operations.md).
  const std::string join_at =
      has_cluster_tls(dir) ? shift_port(join, kTlsPortOffset).value_or(join) : join;
  std::vector<std::string> args = {"server",
                                   "--join",
                                   join_at,
                                   "--listen",
                                   endpoint,
                                   "--data-dir",
                                   (dir / fmt::format("node{}", n.label)).string(),
                                   "--cluster-id",
                                   read_text_file(dir / "cluster-id"),
                                   "--metrics-listen",
                                   fmt::format("127.0.0.1:{}", n.port + kMetricsPortOffset)};
  std::istringstream extra(read_text_file(dir / "server-args"));
  for (std::string a; std::getline(extra, a);) {
    if (!a.empty()) args.push_back(a);
  }
  if (has_cluster_tls(dir)) {  // started by `cluster up --tls`: a certificate of its own
    if (Status made = make_node_cert(dir, n.label); !made.ok()) {
      std::fprintf(stderr, "cluster add: %s\n", std::string(made.message()).c_str());
      return 1;
    }
    for (const std::string& a : node_tls_args(dir, n.label, n.port)) args.push_back(a);
  }
  const fs::path log = dir / fmt::format("node{}.log", n.label);
  const pid_t pid = spawn(self_exe, args, log);
  std::ofstream(dir / "cluster.pids", std::ios::app) << pid << "\n";
  std::ofstream(dir / fmt::format("node{}.pid", n.label)) << pid << "\n";
  nodes.push_back(n);
  write_nodes(dir, nodes);

  // Wait until it serves: joined, and caught up to the commit index it sees.
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  std::string id;
  while (Clock::now() < deadline) {
    if (!alive(pid)) {
      std::fprintf(stderr, "cluster add: the node exited; the end of %s:\n%s\n", log.c_str(),
                   tail(log, 15).c_str());
      return 1;
    }
    auto info = info_raft(endpoint, kQueryTimeout, connect);
    if (!info.empty() && info["raft_leader_id"] != "0" &&
        info["raft_applied_index"] == info["raft_commit_index"]) {
      id = info["raft_node_id"];
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  if (id.empty()) {
    std::fprintf(stderr, "cluster add: node %d did not catch up in %u ms; see %s\n", n.label,
                 o.timeout_ms, log.c_str());
    return 1;
  }
  if (!o.learner) {
    auto r = command_with_retries(endpoint, {"MEMBER", "PROMOTE", id},
                                  std::chrono::milliseconds(o.timeout_ms), connect);
    if (!r.ok()) {
      std::fprintf(stderr, "cluster add: node %s joined as a learner but was not promoted: %s\n",
                   id.c_str(), std::string(r.status().message()).c_str());
      return 1;
    }
  }
  std::printf("  node %d  %s  %s  node id %s  pid %d  log %s\n", n.label, endpoint.c_str(),
              o.learner ? "learner" : "voter  ", id.c_str(), pid, log.c_str());
  std::fflush(stdout);
  return 0;
}

int cluster_remove(const std::string& dir_arg, int label, uint32_t timeout_ms) {
  const fs::path dir = fs::absolute(dir_arg);
  std::vector<LocalNode> nodes = read_nodes(dir);
  auto it = std::find_if(nodes.begin(), nodes.end(),
                         [&](const LocalNode& n) { return n.label == label && !n.removed; });
  if (it == nodes.end()) {
    std::fprintf(stderr, "cluster remove: no node %d in %s\n", label, dir.c_str());
    return 1;
  }
  const std::string endpoint = endpoint_of(*it);
  const ClientConnectOptions connect = local_connect(dir);
  const std::string id = info_raft(endpoint, kQueryTimeout, connect)["raft_node_id"];
  if (id.empty()) {
    std::fprintf(stderr, "cluster remove: node %d (%s) does not answer\n", label, endpoint.c_str());
    return 1;
  }
  auto r = command_with_retries(endpoint, {"MEMBER", "REMOVE", id},
                                std::chrono::milliseconds(timeout_ms), connect);
  if (!r.ok()) {
    std::fprintf(stderr, "cluster remove: %s\n", std::string(r.status().message()).c_str());
    return 1;
  }
  const pid_t pid =
      static_cast<pid_t>(std::atoi(read_text_file(dir / fmt::format("node{}.pid", label)).c_str()));
  if (pid > 0) stop_pids({pid});
  it->removed = true;
  write_nodes(dir, nodes);
  std::printf("node %d (node id %s, %s) removed and stopped; its data stays in %s\n", label,
              id.c_str(), endpoint.c_str(), (dir / fmt::format("node{}", label)).c_str());
  return 0;
}

}  // namespace bw::server
