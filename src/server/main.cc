// The `bellwether` binary: server, cluster up/down, status, wal-dump.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <climits>
#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/synchronization/mutex.h"
#include "server/backup_tool.h"
#include "server/cluster.h"
#include "server/config.h"
#include "server/config_params.h"
#include "server/log_format.h"
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

// The flags a config file gives, as command-line arguments. CLI11 2.1 reads a config file only
// for the top-level app (App::_process runs there alone), so the server subcommand's --config is
// applied here: CLI11's own reader parses the file, its keys become flags placed before the
// command line's, and the whole is parsed again; options take the last value given, so the
// command line overrides the file. Keys may sit at the top or in a [server] section.
std::vector<std::string> config_file_args(CLI::App* server, const std::string& path) {
  std::vector<std::string> args;
  for (const CLI::ConfigItem& item : server->get_config_formatter()->from_file(path)) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (!item.parents.empty() && item.parents != std::vector<std::string>{"server"}) continue;
    if (item.inputs.empty()) args.push_back("--" + item.name);
    for (const std::string& value : item.inputs) {
      if (value.empty()) {  // CLI11 reads "--key=" as a missing value, "--key" "" as empty
        args.push_back("--" + item.name);
        args.push_back("");
      } else {
        args.push_back("--" + item.name + "=" + value);  // also for flags: --key=true
      }
    }
  }
  return args;
}

// --tls --cacert --cert --key (unless `tls` is false) and --user --pass on a tool that connects to
// client ports, as redis-cli names them.
void add_connect_flags(CLI::App* cmd, bw::server::ClientConnectOptions* o, bool tls = true) {
  if (tls) {
    cmd->add_flag("--tls", o->tls, "Connect over TLS (to a tls-port)");
    cmd->add_option("--cacert", o->tls_options.ca_cert_file,
                    "CA certificate file verifying the server (default: the system's CAs)");
    cmd->add_option("--cert", o->tls_options.cert_file, "Client certificate file (PEM)");
    cmd->add_option("--key", o->tls_options.key_file, "Client private key file (PEM)");
  }
  cmd->add_option("--user", o->user, "User to AUTH as (default: the default user)");
  cmd->add_option("--pass", o->pass,
                  "Password to AUTH with (default: the REDISCLI_AUTH environment variable)");
}

// The password from REDISCLI_AUTH when --pass is not given, as redis-cli does.
void password_from_environment(bw::server::ClientConnectOptions* o) {
  if (!o->pass.empty()) return;
  if (const char* env = std::getenv("REDISCLI_AUTH"); env != nullptr) o->pass = env;
}

// Server flags given as text: checked by the parameter table (config_params.h), which names the
// parameter in its errors.
struct TextFlags {
  std::string peers;
  std::vector<std::pair<std::string, std::string>> params;  // (parameter, value), if given
};

void set_up_logging(const bw::server::NodeConfig& config,
                    const std::shared_ptr<bw::server::LogContext>& context) {
  using namespace bw::server;
  if (auto level = parse_log_level(config.log_level)) {
    spdlog::set_level(static_cast<spdlog::level::level_enum>(*level));
  }
  if (config.log_format == LogFormat::kJson) {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>(context));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
}

// SIGHUP: the TLS certificate, key and CA files are read again (reload_tls logs the outcome);
// waits for the next one after each.
void reload_on_hangup(asio::signal_set& hangups, bw::server::Node& node) {
  hangups.async_wait([&hangups, &node](const asio::error_code& ec, int) {
    if (ec) return;
    spdlog::info("node {}: SIGHUP, reloading TLS files", node.config().id);
    (void)node.reload_tls();
    reload_on_hangup(hangups, node);
  });
}

int run_server(bw::server::NodeConfig config, const TextFlags& flags) {
  using namespace bw::server;
  // Abseil's mutex deadlock detector (on in Debian's build) keeps a lock graph updated on every
  // Lock and Unlock: a cost paid on each write (the storage queue, the log's mutex). Tests and
  // the simulator keep it; a serving node leaves it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  for (const auto& [name, value] : flags.params) {
    if (bw::Status st = set_config_value(&config, name, value); !st.ok()) {
      spdlog::error("{}", st.message());
      return 2;
    }
  }
  auto log_context = std::make_shared<LogContext>();
  log_context->node = config.id.value();
  log_context->group = kDataGroup.value();
  set_up_logging(config, log_context);
  if (!flags.peers.empty()) {
    auto parsed = parse_peers(flags.peers);
    if (!parsed.ok()) {
      spdlog::error("{}", parsed.status().message());
      return 2;
    }
    config.peers = *parsed;
  }
  if (bw::Status st = finalize(&config); !st.ok()) {
    spdlog::error("{}", st.message());
    return 2;
  }
  asio::io_context io(1);
  Node node(io, config);
  node.set_log_context(log_context);
  node.set_stop_handler([&io] { io.stop(); });
  if (bw::Status st = node.start(); !st.ok()) {
    spdlog::error("node {} cannot start: {}", node.config().id, st.message());
    return 1;
  }
  asio::signal_set hangups(io, SIGHUP);
  reload_on_hangup(hangups, node);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("node {}: signal {}, shutting down", node.config().id, sig);
    hangups.cancel();
    node.shutdown([&io] { io.stop(); });
  });
  io.run();
  log_event(spdlog::level::info, "node_stopped", {}, "node {} stopped", node.config().id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bellwether: a replicated key-value store that speaks the Redis protocol"};
  app.set_version_flag("--version", "bellwether " BW_VERSION);
  app.require_subcommand(1);

  // server
  bw::server::NodeConfig config;
  // Text values go through the parameter table (config_params.h): flag name -> parameter name.
  static constexpr std::pair<const char*, const char*> kTextParams[] = {
      {"read-mode", "read-mode"},
      {"fsync", "appendfsync"},
      {"wal-preallocate-bytes", "wal-preallocate-bytes"},
      {"enable-debug-command", "enable-debug-command"},
      {"log-level", "loglevel"},
      {"log-format", "log-format"},
      {"proto-max-bulk-len", "proto-max-bulk-len"},
      {"client-output-bytes-max", "client-output-bytes-max"},
      {"maxclients", "maxclients"},
      {"maxmemory", "maxmemory"},
      {"maxmemory-policy", "maxmemory-policy"},
      {"maxmemory-samples", "maxmemory-samples"},
      {"client-output-buffer-limit", "client-output-buffer-limit"},
      {"client-query-buffer-limit", "client-query-buffer-limit"},
      {"timeout", "timeout"},
      {"protected-mode", "protected-mode"},
      {"tls-port", "tls-port"},
      {"tls-cert-file", "tls-cert-file"},
      {"tls-key-file", "tls-key-file"},
      {"tls-ca-cert-file", "tls-ca-cert-file"},
      {"tls-auth-clients", "tls-auth-clients"},
      {"tls-protocols", "tls-protocols"},
      {"tls-ciphers", "tls-ciphers"},
      {"tls-ciphersuites", "tls-ciphersuites"},
      {"masteruser", "masteruser"},
      {"masterauth", "masterauth"},
  };
  std::map<std::string, std::string> text_values;
  for (const auto& [flag, param] : kTextParams) {
    text_values[flag] = bw::server::find_config_param(param)->get(config);
  }
  std::string peers;
  uint64_t id = 0, replaces = 0;
  auto* server = app.add_subcommand("server", "Run one node");
  server->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
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
  // Required, but possibly from the config file: finalize() checks it.
  server->add_option("--data-dir", config.data_dir, "Data directory (created if missing)");
  server->add_option("--cluster-id", config.cluster_id, "Cluster identity; peers must agree")
      ->capture_default_str();
  server->add_option("--cluster-secret-file", config.cluster_secret_file,
                     "File holding the secret every peer must prove (mode 0600; a second line "
                     "is a previous secret still accepted while rotating)");
  server->add_flag("--peer-tls,--tls-cluster", config.tls_cluster,
                   "Mutual TLS between nodes with --tls-cert-file, --tls-key-file and "
                   "--tls-ca-cert-file");
  server->add_option("--read-mode", text_values["read-mode"], "linearizable | lease")
      ->capture_default_str();
  server->add_flag("--readonly-default", config.readonly_default,
                   "Connections start in READONLY mode: stale local reads, as a Redis replica's");
  server->add_option("--requirepass", config.requirepass,
                     "The default user's password until the replicated ACL state defines users");
  server->add_option("--aclfile", config.aclfile,
                     "ACL file (Redis's format): bootstrap users, ACL LOAD and ACL SAVE");
  server
      ->add_option("--protected-mode", text_values["protected-mode"],
                   "yes | no: refuse non-loopback clients while the default user has no "
                   "password")
      ->capture_default_str();
  server->add_option("--fsync", text_values["fsync"], "always | none")->capture_default_str();
  server
      ->add_option("--wal-preallocate-bytes", text_values["wal-preallocate-bytes"],
                   "Zeros written ahead of the log's end (0: none)")
      ->capture_default_str();
  server
      ->add_option("--enable-debug-command", text_values["enable-debug-command"],
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
  server->add_option("--metrics-listen", config.metrics_listen,
                     "Serve Prometheus /metrics and /healthz over HTTP on host:port (empty: off)");
  server->add_option("--request-timeout-ms", config.request_timeout_ms, "Reply deadline")
      ->capture_default_str();
  server->add_option("--log-level", text_values["log-level"], "trace|debug|info|warn|error")
      ->capture_default_str();
  server
      ->add_option("--log-format", text_values["log-format"],
                   "text | json: one JSON object per line with node, group, term and events")
      ->capture_default_str();
  server
      ->add_option("--proto-max-bulk-len", text_values["proto-max-bulk-len"],
                   "Largest argument in bytes (512mb, 1gb, ...)")
      ->capture_default_str();
  server
      ->add_option("--client-output-bytes-max", text_values["client-output-bytes-max"],
                   "Replies not yet written beyond which a client is disconnected")
      ->capture_default_str();
  server->add_option("--maxclients", text_values["maxclients"], "Most client connections")
      ->capture_default_str();
  server
      ->add_option("--maxmemory", text_values["maxmemory"],
                   "Dataset size beyond which writes are refused or keys evicted (0: none)")
      ->capture_default_str();
  server
      ->add_option("--maxmemory-policy", text_values["maxmemory-policy"],
                   "noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, ...")
      ->capture_default_str();
  server
      ->add_option("--maxmemory-samples", text_values["maxmemory-samples"],
                   "Keys sampled per key evicted")
      ->capture_default_str();
  server
      ->add_option("--client-output-buffer-limit", text_values["client-output-buffer-limit"],
                   "Per class: <class> <hard> <soft> <soft-seconds> ... (Redis's syntax)")
      ->capture_default_str();
  server
      ->add_option("--client-query-buffer-limit", text_values["client-query-buffer-limit"],
                   "Unparsed input a client may hold")
      ->capture_default_str();
  server->add_option("--timeout", text_values["timeout"], "Idle client timeout in seconds (0: off)")
      ->capture_default_str();
  server
      ->add_option("--slowlog-log-slower-than", config.slowlog_log_slower_than_us,
                   "SLOWLOG: log commands taking at least this many microseconds (-1: none)")
      ->capture_default_str();
  server->add_option("--slowlog-max-len", config.slowlog_max_len, "SLOWLOG: entries kept")
      ->capture_default_str();
  server
      ->add_option("--latency-monitor-threshold", config.latency_monitor_threshold_ms,
                   "LATENCY: record events of at least this many milliseconds (0: off)")
      ->capture_default_str();
  server
      ->add_option("--shutdown-transfer-ms", config.shutdown_transfer_ms,
                   "SHUTDOWN / SIGTERM: time allowed for handing leadership over")
      ->capture_default_str();
  // TLS for clients and this node's own client credentials: flags named as the parameters,
  // described by the parameter table.
  for (const auto& [flag, param] : kTextParams) {
    if (!std::string_view(flag).starts_with("tls-") &&
        !std::string_view(flag).starts_with("master")) {
      continue;
    }
    server
        ->add_option(fmt::format("--{}", flag), text_values[flag],
                     std::string(bw::server::find_config_param(param)->meaning))
        ->capture_default_str();
  }
  server
      ->add_option("--expire-keys-per-tick", config.expire_keys_per_tick,
                   "Active expiry: deletions proposed per tick, at most")
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
  up_cmd->add_option("--requirepass", up.requirepass,
                     "Password of the default user on every node (--requirepass of each server)");
  up_cmd->add_flag("--tls", up.tls,
                   "Make a CA and certificates (openssl) under --dir; nodes serve TLS clients on "
                   "port + 100 with client certificates required, use mutual TLS and a random "
                   "cluster secret between them");
  up_cmd->add_option("--server-arg", up.server_args,
                     "Extra flag passed to every node (repeatable)");
  add_connect_flags(up_cmd, &up.connect, false);
  up_cmd->add_option("--restore", up.restore,
                     "Seed every node from this backup file (bellwether backup) instead of an "
                     "empty store; the cluster id is the backup's unless --dir has one");
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
  bw::server::ClientConnectOptions status_connect;
  add_connect_flags(status, &status_connect);

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
  add_connect_flags(member, &member_opts.connect);
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
  bw::server::ClientConnectOptions failover_connect;
  add_connect_flags(failover, &failover_connect, false);

  // backup / restore
  bw::server::BackupCliOptions backup_opts;
  auto* backup = app.add_subcommand(
      "backup", "Take a backup of a live cluster through any node's client port (BACKUP command)");
  backup->add_option("--endpoint", backup_opts.endpoint, "Any node's client address")
      ->capture_default_str();
  backup->add_option("--out", backup_opts.out, "The backup file to write")->required();
  add_connect_flags(backup, &backup_opts.connect);
  backup->add_option("--timeout-ms", backup_opts.timeout_ms, "Deadline of each request")
      ->capture_default_str();
  bw::server::RestoreOptions restore_opts;
  std::string restore_peers;
  uint64_t restore_id = 0;
  auto* restore = app.add_subcommand(
      "restore",
      "Make the data directory of one member of a new cluster from a backup file (run it for "
      "every member, then start each with `bellwether server`)");
  restore->add_option("--from", restore_opts.from, "The backup file")->required();
  restore->add_option("--data-dir", restore_opts.data_dir, "New (or empty) data directory")
      ->required();
  restore->add_option("--id", restore_id, "This member's id in the new cluster")->required();
  restore
      ->add_option("--peers", restore_peers,
                   "Every voter of the new cluster: 1=host:port,2=host:port,... (client addresses)")
      ->required();
  restore->add_option("--cluster-id", restore_opts.cluster_id,
                      "The new cluster's id (default: the backup's)");

  // wal-dump / snapshot-inspect
  std::string dump_dir, snapshot_file;
  auto* wal_dump =
      app.add_subcommand("wal-dump", "Print a data directory: identity, WAL records, snapshots");
  wal_dump->add_option("DIR", dump_dir, "A node's data directory")->required();
  auto* snap_inspect =
      app.add_subcommand("snapshot-inspect", "Verify and describe one snapshot file");
  snap_inspect->add_option("FILE", snapshot_file, "A snapshot file (DIR/snap/...)")->required();

  CLI11_PARSE(app, argc, argv);
  if (server->parsed() && server->get_config_ptr()->count() > 0) {
    const std::string path = server->get_config_ptr()->as<std::string>();
    std::vector<std::string> args{argv[0], "server"};
    try {
      for (std::string& a : config_file_args(server, path)) args.push_back(std::move(a));
    } catch (const CLI::Error& e) {
      return app.exit(e);
    }
    int first = 1;  // the arguments after the subcommand's name
    while (first < argc && std::string_view(argv[first]) != "server") ++first;
    for (int i = first + 1; i < argc; ++i) args.emplace_back(argv[i]);
    std::vector<const char*> again;
    for (const std::string& a : args) again.push_back(a.c_str());
    app.clear();
    try {
      app.parse(static_cast<int>(again.size()), again.data());
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
  }

  if (wal_dump->parsed() || snap_inspect->parsed()) {
    bw::Status st = wal_dump->parsed() ? bw::storage::dump_data_dir(dump_dir, std::cout)
                                       : bw::storage::inspect_snapshot(snapshot_file, std::cout);
    if (!st.ok()) std::cerr << "problem: " << st.message() << "\n";
    return st.ok() ? 0 : 1;
  }

  if (server->parsed()) {
    config.id = bw::NodeId(id);
    config.join_replaces = bw::NodeId(replaces);
    if (server->get_config_ptr() != nullptr && server->get_config_ptr()->count() > 0) {
      config.config_file = server->get_config_ptr()->as<std::string>();
    }
    TextFlags flags{.peers = peers, .params = {}};
    for (const auto& [flag, param] : kTextParams) {
      flags.params.emplace_back(param, text_values[flag]);
    }
    return run_server(config, flags);
  }
  for (bw::server::ClientConnectOptions* o :
       {&status_connect, &member_opts.connect, &backup_opts.connect, &up.connect,
        &failover_connect}) {
    password_from_environment(o);
  }
  if (backup->parsed()) return bw::server::run_backup(backup_opts);
  if (restore->parsed()) {
    restore_opts.id = bw::NodeId(restore_id);
    return bw::server::run_restore(restore_opts, restore_peers);
  }
  if (up_cmd->parsed()) return bw::server::cluster_up(self_exe(argv[0]), up);
  if (down_cmd->parsed()) return bw::server::cluster_down(down_dir);
  if (add_cmd->parsed()) return bw::server::cluster_add(self_exe(argv[0]), add);
  if (remove_cmd->parsed()) {
    return bw::server::cluster_remove(remove_dir, remove_node, remove_timeout_ms);
  }
  if (member->parsed()) return bw::server::run_member(member_opts);
  if (status->parsed()) return bw::server::print_status(endpoint, status_connect);
  if (failover->parsed()) {
    return bw::server::run_failover(failover_endpoint, failover_to, failover_timeout_ms,
                                    failover_connect);
  }
  return 0;
}
