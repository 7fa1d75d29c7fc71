// The `bellwether` binary: server, cluster up/down, status, wal-dump.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <climits>
#include <iostream>

#include "server/cluster.h"
#include "server/config.h"
#include "server/node.h"
#include "server/status.h"
#include "storage/dump.h"

namespace {

std::string self_exe(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return argv0;
  return std::string(buf, static_cast<size_t>(n));
}

int run_server(bw::server::NodeConfig config, const std::string& peers,
               const std::string& read_mode, const std::string& fsync,
               const std::string& debug_command, const std::string& log_level) {
  using namespace bw::server;
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  if (!peers.empty()) {
    auto parsed = parse_peers(peers);
    if (!parsed.ok()) {
      spdlog::error("{}", parsed.status().message());
      return 2;
    }
    config.peers = *parsed;
  }
  if (read_mode == "lease") {
    config.read_mode = ReadMode::kLease;
  } else if (read_mode != "linearizable") {
    spdlog::error("read-mode: '{}' is not linearizable or lease", read_mode);
    return 2;
  }
  if (fsync == "none") {
    config.fsync = FsyncPolicy::kNone;
  } else if (fsync != "always") {
    spdlog::error("fsync: '{}' is not always or none", fsync);
    return 2;
  }
  auto debug_access = parse_debug_command_access(debug_command);
  if (!debug_access.ok()) {
    spdlog::error("{}", debug_access.status().message());
    return 2;
  }
  config.enable_debug_command = *debug_access;
  if (bw::Status st = finalize(&config); !st.ok()) {
    spdlog::error("{}", st.message());
    return 2;
  }
  asio::io_context io(1);
  Node node(io, config);
  if (bw::Status st = node.start(); !st.ok()) {
    spdlog::error("node {} cannot start: {}", node.config().id, st.message());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("node {}: signal {}, shutting down", config.id, sig);
    node.shutdown([&io] { io.stop(); });
  });
  io.run();
  spdlog::info("node {} stopped", config.id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bellwether: a replicated key-value store that speaks the Redis protocol"};
  app.set_version_flag("--version", "bellwether " BW_VERSION);
  app.require_subcommand(1);

  // server
  bw::server::NodeConfig config;
  std::string peers, read_mode = "linearizable", fsync = "always", log_level = "info";
  std::string debug_command = "no";
  uint64_t id = 0, replaces = 0;
  auto* server = app.add_subcommand("server", "Run one node");
  server->set_config("--config", "", "Read options from a TOML/INI file (flags override it)");
  server->add_option("--id", id, "This node's id (1, 2, ...); with --join, the cluster gives one");
  server->add_option("--join", config.join,
                     "host:port of any member: join that running cluster as a learner "
                     "(instead of --peers)");
  server->add_option("--replace", replaces,
                     "With --join: take over the addresses of this member (being replaced)");
  server->add_option("--listen", config.listen, "Client address host:port")->capture_default_str();
  server->add_option("--peer-listen", config.peer_listen,
                     "Peer address (default: client port + 10000)");
  server->add_option("--peer-advertise", config.peer_advertise,
                     "With --join: the peer address members dial, if not --peer-listen "
                     "(a proxy or NAT in between)");
  server->add_option("--peers", peers,
                     "Every voter: 1=host:port,2=host:port,... (client addresses)");
  server->add_option("--data-dir", config.data_dir, "Data directory (created if missing)")
      ->required();
  server->add_option("--cluster-id", config.cluster_id, "Cluster identity; peers must agree")
      ->capture_default_str();
  server->add_option("--read-mode", read_mode, "linearizable | lease")->capture_default_str();
  server->add_flag("--readonly-default", config.readonly_default,
                   "Connections start in READONLY mode: stale local reads, as a Redis replica's");
  server->add_option("--fsync", fsync, "always | none")->capture_default_str();
  server
      ->add_option("--enable-debug-command", debug_command,
                   "no | yes | local: allow DEBUG (fault injection: FSYNC-DELAY, FSYNC-FAIL, "
                   "SLEEP); local = loopback clients only")
      ->capture_default_str();
  server->add_option("--tick-ms", config.tick_ms, "Raft tick")->capture_default_str();
  server->add_option("--election-ticks", config.election_ticks, "Election timeout in ticks")
      ->capture_default_str();
  server->add_option("--heartbeat-ticks", config.heartbeat_ticks, "Heartbeat interval in ticks")
      ->capture_default_str();
  server
      ->add_option("--snapshot-entries", config.snapshot_entries,
                   "Snapshot after this many entries")
      ->capture_default_str();
  server
      ->add_option("--snapshot-keep-entries", config.snapshot_keep_entries,
                   "Entries kept behind a snapshot for slow followers")
      ->capture_default_str();
  server->add_option("--notify-keyspace-events", config.notify_keyspace_events,
                     "Keyspace notification classes, as Redis's (e.g. KEA)");
  server
      ->add_option("--sentinel-master-name", config.sentinel_master_name,
                   "The master name Sentinel clients ask for (SENTINEL get-master-addr-by-name)")
      ->capture_default_str();
  server->add_option("--sentinel-listen", config.sentinel_listen,
                     "Also answer as a Redis Sentinel on host:port (empty: off; the client port "
                     "answers SENTINEL anyway)");
  server
      ->add_option("--slowlog-log-slower-than", config.slowlog_log_slower_than_us,
                   "SLOWLOG: log commands taking at least this many microseconds (-1: none)")
      ->capture_default_str();
  server->add_option("--slowlog-max-len", config.slowlog_max_len, "SLOWLOG: entries kept")
      ->capture_default_str();
  server
      ->add_option("--latency-monitor-threshold", config.latency_monitor_threshold_ms,
                   "LATENCY: record events taking at least this many milliseconds (0: off)")
      ->capture_default_str();
  server->add_option("--request-timeout-ms", config.request_timeout_ms, "Reply deadline")
      ->capture_default_str();
  server->add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->capture_default_str();

  // cluster up / down
  auto* cluster = app.add_subcommand("cluster", "Run a local cluster of node processes");
  cluster->require_subcommand(1);
  bw::server::ClusterUpOptions up;
  auto* up_cmd = cluster->add_subcommand("up", "Start N nodes on loopback; Ctrl-C stops them");
  up_cmd->add_option("--nodes", up.nodes, "Number of nodes")->capture_default_str();
  up_cmd->add_option("--base-port", up.base_port, "Client port of node 1; node i uses base+i-1")
      ->capture_default_str();
  up_cmd->add_option("--dir", up.dir, "Where data and logs go")->capture_default_str();
  up_cmd->add_flag("--detach,-d", up.detach, "Return once the cluster is up");
  up_cmd->add_option("--server-arg", up.server_args,
                     "Extra flag passed to every node (repeatable)");
  up_cmd
      ->add_option("--learners", up.learners,
                   "Learners (non-voting followers) started after the voters")
      ->capture_default_str();
  bw::server::ClusterAddOptions add;
  auto* add_cmd = cluster->add_subcommand(
      "add", "Start one more node that joins the running local cluster, then promote it");
  add_cmd->add_option("--dir", add.dir, "The cluster's directory")->capture_default_str();
  add_cmd->add_flag("--learner", add.learner, "Keep it a learner (non-voting follower)");
  add_cmd->add_option("--timeout-ms", add.timeout_ms, "Give up after this long")
      ->capture_default_str();
  std::string remove_dir = up.dir;
  int remove_node = 0;
  uint32_t remove_timeout_ms = 60000;
  auto* remove_cmd =
      cluster->add_subcommand("remove", "Remove a node of the local cluster, then stop it");
  remove_cmd->add_option("--dir", remove_dir, "The cluster's directory")->capture_default_str();
  remove_cmd->add_option("--node", remove_node, "The node's number (node<N> in the directory)")
      ->required();
  remove_cmd->add_option("--timeout-ms", remove_timeout_ms, "Give up after this long")
      ->capture_default_str();
  std::string down_dir = up.dir;
  auto* down_cmd = cluster->add_subcommand("down", "Stop a detached cluster");
  down_cmd->add_option("--dir", down_dir, "The cluster's directory")->capture_default_str();

  // status
  std::string endpoint = "127.0.0.1:7001";
  auto* status = app.add_subcommand("status", "Print the role and progress of every node");
  status->add_option("--endpoint", endpoint, "Any node's client address")->capture_default_str();

  // member
  bw::server::MemberCliOptions member_opts;
  auto* member =
      app.add_subcommand("member",
                         "Change the membership: list | add ADDRESS [PEER-ADDRESS] | promote ID | "
                         "remove ID | replace OLD-ID NEW-ID");
  member->add_option("ACTION", member_opts.action, "list, add, promote, remove or replace")
      ->required()
      ->check(CLI::IsMember({"list", "add", "promote", "remove", "replace"}));
  member->add_option("ARGS", member_opts.args, "The action's arguments");
  member->add_option("--endpoint", member_opts.endpoint, "Any node's client address")
      ->capture_default_str();
  member
      ->add_option("--timeout-ms", member_opts.timeout_ms,
                   "Keep retrying while the cluster answers TRYAGAIN (catching up, electing)")
      ->capture_default_str();

  // failover
  std::string failover_endpoint = "127.0.0.1:7001", failover_to;
  uint32_t failover_timeout_ms = 5000;
  auto* failover =
      app.add_subcommand("failover", "Hand leadership to a follower (Redis's FAILOVER)");
  failover->add_option("--endpoint", failover_endpoint, "Any node's client address")
      ->capture_default_str();
  failover->add_option("--to", failover_to,
                       "The new leader's client address (default: the most caught-up follower)");
  failover->add_option("--timeout-ms", failover_timeout_ms, "Give up after this long")
      ->capture_default_str();

  // wal-dump / snapshot-inspect
  std::string dump_dir, snapshot_file;
  auto* wal_dump =
      app.add_subcommand("wal-dump", "Print a data directory: identity, WAL records, snapshots");
  wal_dump->add_option("DIR", dump_dir, "A node's data directory")->required();
  auto* snap_inspect =
      app.add_subcommand("snapshot-inspect", "Verify and describe one snapshot file");
  snap_inspect->add_option("FILE", snapshot_file, "A snapshot file (DIR/snap/...)")->required();

  CLI11_PARSE(app, argc, argv);

  if (wal_dump->parsed() || snap_inspect->parsed()) {
    bw::Status st = wal_dump->parsed() ? bw::storage::dump_data_dir(dump_dir, std::cout)
                                       : bw::storage::inspect_snapshot(snapshot_file, std::cout);
    if (!st.ok()) std::cerr << "problem: " << st.message() << "\n";
    return st.ok() ? 0 : 1;
  }

  if (server->parsed()) {
    config.id = bw::NodeId(id);
    config.join_replaces = bw::NodeId(replaces);
    return run_server(config, peers, read_mode, fsync, debug_command, log_level);
  }
  if (up_cmd->parsed()) return bw::server::cluster_up(self_exe(argv[0]), up);
  if (down_cmd->parsed()) return bw::server::cluster_down(down_dir);
  if (add_cmd->parsed()) return bw::server::cluster_add(self_exe(argv[0]), add);
  if (remove_cmd->parsed()) {
    return bw::server::cluster_remove(remove_dir, remove_node, remove_timeout_ms);
  }
  if (member->parsed()) return bw::server::run_member(member_opts);
  if (status->parsed()) return bw::server::print_status(endpoint);
  if (failover->parsed()) {
    return bw::server::run_failover(failover_endpoint, failover_to, failover_timeout_ms);
  }
  return 0;
}
