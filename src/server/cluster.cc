#include "server/cluster.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "server/admin_client.h"
#include "server/backup_tool.h"
#include "server/cluster_tls.h"
#include "server/config.h"
#include "server/local_process.h"

namespace bw::server {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kStartTimeout = std::chrono::seconds(20);
constexpr auto kQueryTimeout = std::chrono::milliseconds(1000);

std::string cluster_id_for(const fs::path& dir) {
  fs::path p = dir / "cluster-id";
  if (fs::exists(p)) return read_text_file(p);
  std::random_device rd;
  std::string id = fmt::format("{:08x}{:08x}", rd(), rd());
  std::ofstream(p) << id << "\n";
  return id;
}

// cluster up --restore: every node's data directory from the backup file, as `bellwether
// restore` makes it. Directories that exist already are refused (restore_member says why).
bool restore_nodes(const ClusterUpOptions& o, const fs::path& dir, const std::string& cluster_id,
                   const std::string& peers) {
  auto parsed = parse_peers(peers);
  if (!parsed.ok()) return false;
  spdlog::set_level(spdlog::level::warn);  // storage's progress lines are noise here
  for (int i = 1; i <= o.nodes; ++i) {
    RestoreOptions r{.from = o.restore,
                     .data_dir = (dir / fmt::format("node{}", i)).string(),
                     .id = NodeId(static_cast<uint64_t>(i)),
                     .peers = *parsed,
                     .cluster_id = cluster_id};
    auto info = restore_member(r);
    if (!info.ok()) {
      std::fprintf(stderr, "cluster up: restore: %s\n",
                   std::string(info.status().message()).c_str());
      return false;
    }
    if (i == 1) {
      std::printf("Restored %s (cluster %s, index %llu) into %d node(s)\n", o.restore.c_str(),
                  info->cluster_id.c_str(),
                  static_cast<unsigned long long>(info->meta.index.value()), o.nodes);
    }
  }
  return true;
}

}  // namespace

int cluster_up(const std::string& self_exe, const ClusterUpOptions& o) {
  if (o.nodes < 1 || o.nodes > 9) {
    std::fprintf(stderr, "cluster up: --nodes must be between 1 and 9\n");
    return 2;
  }
  if (o.base_port < 1 || o.base_port + o.nodes - 1 + kMetricsPortOffset > 65535) {
    std::fprintf(stderr, "cluster up: --base-port must leave room for the metrics ports (+%d)\n",
                 kMetricsPortOffset);
    return 2;
  }
  fs::path dir = fs::absolute(o.dir);
  fs::create_directories(dir);
  // The health checks authenticate with --pass, else with the password given to the nodes.
  ClientConnectOptions connect = o.connect;
  if (connect.pass.empty()) connect.pass = o.requirepass;
  fs::path pid_file = dir / "cluster.pids";
  if (fs::exists(pid_file)) {
    std::istringstream in(read_text_file(pid_file));
    pid_t p = 0;
    while (in >> p) {
      if (kill(p, 0) == 0) {
        std::fprintf(stderr,
                     "cluster up: a cluster from %s is still running (pid %d); run `bellwether "
                     "cluster down --dir %s` first\n",
                     dir.c_str(), p, o.dir.c_str());
        return 1;
      }
    }
  }
  if (!o.restore.empty() && !fs::exists(dir / "cluster-id")) {
    // A restored cluster keeps the backup's id (clients and tools may know it).
    auto info = inspect_backup(o.restore);
    if (!info.ok()) {
      std::fprintf(stderr, "cluster up: %s\n", std::string(info.status().message()).c_str());
      return 1;
    }
    std::ofstream(dir / "cluster-id") << info->cluster_id << "\n";
  }
  std::string cluster_id = cluster_id_for(dir);
  std::string peers;
  std::vector<std::string> endpoints;
  std::vector<std::string> metrics;
  for (int i = 1; i <= o.nodes; ++i) {
    endpoints.push_back(fmt::format("127.0.0.1:{}", o.base_port + i - 1));
    metrics.push_back(fmt::format("127.0.0.1:{}", o.base_port + i - 1 + kMetricsPortOffset));
    peers += fmt::format("{}{}={}", i == 1 ? "" : ",", i, endpoints.back());
  }
  if (!o.restore.empty() && !restore_nodes(o, dir, cluster_id, peers)) return 1;
  std::vector<std::string> server_args = o.server_args;
  if (o.tls) {
    Status made = make_cluster_tls(dir);
    for (int i = 1; made.ok() && i <= o.nodes; ++i) made = make_node_cert(dir, i);
    if (!made.ok()) {
      std::fprintf(stderr, "cluster up: %s\n", std::string(made.message()).c_str());
      return 1;
    }
    // Saved in server-args: `cluster add` starts its node with them too.
    for (const std::string& a : cluster_tls_args(dir)) server_args.push_back(a);
  }
  if (!o.requirepass.empty()) {  // masterauth: the nodes' own connections (join, probes) too
    server_args.insert(server_args.end(),
                       {"--requirepass", o.requirepass, "--masterauth", o.requirepass});
  }
  std::vector<pid_t> pids;
  for (int i = 1; i <= o.nodes; ++i) {
    std::vector<std::string> args = {
        "server",       "--id",           std::to_string(i),
        "--listen",     endpoints[i - 1], "--peers",
        peers,          "--data-dir",     (dir / fmt::format("node{}", i)).string(),
        "--cluster-id", cluster_id,       "--metrics-listen",
        metrics[i - 1]};
    args.insert(args.end(), server_args.begin(), server_args.end());
    if (o.tls) {
      for (const std::string& a : node_tls_args(dir, i, o.base_port + i - 1)) args.push_back(a);
    }
    pids.push_back(spawn(self_exe, args, dir / fmt::format("node{}.log", i)));
  }
  {
    std::ofstream out(pid_file);
    for (pid_t p : pids) out << p << "\n";
    std::ofstream nodes(dir / "nodes");
    std::ofstream args(dir / "server-args");
    for (const std::string& a : server_args) args << a << "\n";
    args.close();
    // It may hold the password: readable by its owner only.
    fs::permissions(dir / "server-args", fs::perms::owner_read | fs::perms::owner_write);
    for (int i = 1; i <= o.nodes; ++i) {
      nodes << i << " " << o.base_port + i - 1 << " up\n";
      std::ofstream(dir / fmt::format("node{}.pid", i)) << pids[i - 1] << "\n";
    }
  }

  // Wait until every node answers and one of them leads.
  auto deadline = Clock::now() + kStartTimeout;
  std::string leader;
  bool all_up = false;
  while (Clock::now() < deadline) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (!alive(pids[i])) {
        fs::path log = dir / fmt::format("node{}.log", i + 1);
        std::fprintf(stderr, "cluster up: node %zu exited during start; the end of %s:\n%s\n",
                     i + 1, log.c_str(), tail(log, 15).c_str());
        stop_pids(pids);
        fs::remove(pid_file);
        return 1;
      }
    }
    all_up = true;
    leader.clear();
    for (const auto& e : endpoints) {
      auto m = info_raft(e, kQueryTimeout, connect);
      if (m.empty()) all_up = false;
      if (m["raft_role"] == "leader") leader = e;
    }
    if (all_up && !leader.empty()) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!all_up || leader.empty()) {
    std::fprintf(stderr, "cluster up: no leader elected within %lld s; logs are in %s\n",
                 static_cast<long long>(kStartTimeout.count()), dir.c_str());
    stop_pids(pids);
    fs::remove(pid_file);
    return 1;
  }
  std::printf("Bellwether cluster of %d nodes is up (cluster id %s, data in %s)\n", o.nodes,
              cluster_id.c_str(), dir.c_str());
  for (int i = 0; i < o.nodes; ++i) {
    std::printf("  node %d  %s  %s  metrics http://%s/metrics  pid %d  log %s\n", i + 1,
                endpoints[i].c_str(), endpoints[i] == leader ? "leader  " : "follower",
                metrics[i].c_str(), pids[i], (dir / fmt::format("node{}.log", i + 1)).c_str());
  }
  for (int i = 0; i < o.learners; ++i) {
    if (cluster_add(self_exe, ClusterAddOptions{.dir = o.dir, .learner = true}) != 0) {
      std::fprintf(stderr, "cluster up: a learner did not start; stopping the cluster\n");
      cluster_down(o.dir);
      return 1;
    }
  }
  std::printf("Try: redis-cli -p %d set greeting hello && redis-cli -p %d get greeting\n",
              o.base_port, o.base_port + o.nodes - 1);
  if (o.tls) {
    std::printf(
        "TLS: node i serves TLS clients on its port + %d (certificate required); peers "
        "use mutual TLS and the secret in %s\n",
        kTlsPortOffset, cluster_tls_paths(dir).secret.c_str());
    std::printf("Connect: %s\n", redis_cli_tls_command(dir, o.base_port).c_str());
  }
  std::printf("Dashboard: http://%s/ (any node's metrics address)\n", metrics[0].c_str());
  std::fflush(stdout);
  if (o.detach) {
    std::printf("Detached. Stop with: bellwether cluster down --dir %s\n", o.dir.c_str());
    return 0;
  }
  std::printf("Press Ctrl-C to stop the cluster.\n");
  std::fflush(stdout);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  while (true) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGCHLD) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] > 0 && !alive(pids[i])) {
          std::fprintf(stderr, "node %zu (pid %d) exited; see %s\n", i + 1, pids[i],
                       (dir / fmt::format("node{}.log", i + 1)).c_str());
          pids[i] = -pids[i];
        }
      }
      continue;
    }
    break;
  }
  std::printf("\nStopping the cluster...\n");
  cluster_down(o.dir);  // every node in cluster.pids, including those `cluster add` started
  for (pid_t p : pids) {
    if (p > 0) waitpid(p, nullptr, WNOHANG);
  }
  return 0;
}

int cluster_down(const std::string& dir_arg) {
  fs::path pid_file = fs::absolute(dir_arg) / "cluster.pids";
  if (!fs::exists(pid_file)) {
    std::fprintf(stderr, "cluster down: no running cluster recorded in %s\n", pid_file.c_str());
    return 1;
  }
  std::istringstream in(read_text_file(pid_file));
  std::vector<pid_t> pids;
  pid_t p = 0;
  while (in >> p) {
    if (p > 0 && kill(p, 0) == 0) pids.push_back(p);
  }
  stop_pids(pids);
  fs::remove(pid_file);
  std::printf("Stopped %zu node(s).\n", pids.size());
  return 0;
}

int run_failover(const std::string& endpoint, const std::string& to, uint32_t timeout_ms,
                 const ClientConnectOptions& connect) {
  auto info = info_raft(endpoint, kQueryTimeout, connect);
  if (info.empty()) {
    std::fprintf(stderr, "failover: cannot reach %s\n", endpoint.c_str());
    return 1;
  }
  const std::string leader_id = info["raft_leader_id"];
  auto peer = info.find("raft_peer" + leader_id);
  if (peer == info.end()) {
    std::fprintf(stderr, "failover: %s knows no leader now; try again\n", endpoint.c_str());
    return 1;
  }
  const std::string leader = peer->second.substr(5, peer->second.find(',') - 5);  // "addr=..."
  std::vector<std::string> argv{"FAILOVER"};
  if (!to.empty()) {
    size_t colon = to.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "failover: --to '%s' is not host:port\n", to.c_str());
      return 2;
    }
    argv.insert(argv.end(), {"TO", to.substr(0, colon), to.substr(colon + 1)});
  }
  argv.insert(argv.end(), {"TIMEOUT", std::to_string(timeout_ms)});
  // The leader answers once the transfer ended (or TIMEOUT passed).
  auto r =
      admin_command(leader, argv, std::chrono::milliseconds(timeout_ms) + kQueryTimeout, connect);
  if (!r.ok()) {
    std::fprintf(stderr, "failover: %s: %s\n", leader.c_str(),
                 std::string(r.status().message()).c_str());
    return 1;
  }
  std::printf("leadership moved from node %s (%s) to node %s\n", leader_id.c_str(), leader.c_str(),
              info_raft(leader, kQueryTimeout, connect)["raft_leader_id"].c_str());
  return 0;
}

}  // namespace bw::server
