// A node's configuration: command-line flags and an optional config file share these keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "kv/eviction.h"
#include "net/tls.h"
#include "resp/parser.h"
#include "server/output_limits.h"
#include "server/session.h"

namespace bw::server {

struct PeerSpec {
  NodeId id;
  std::string client_address;  // host:port clients use (RESP)
  std::string peer_address;    // host:port of the node's peer listener
};

enum class ReadMode : uint8_t { kLinearizable, kLease };
enum class FsyncPolicy : uint8_t { kAlways, kNone };
// Who may run DEBUG (Redis's enable-debug-command): nobody, every client, or clients connected
// from a loopback address.
enum class DebugCommandAccess : uint8_t { kNo, kYes, kLocal };
// How log lines are written: today's text lines, or one JSON object per line (log_format.h).
enum class LogFormat : uint8_t { kText, kJson };

struct NodeConfig {
  NodeId id;
  std::string cluster_id = "bellwether";
  std::string listen = "127.0.0.1:7001";
  std::string peer_listen;  // default: listen's port + 10000
  // Only with join: the peer address the node registers, which every member dials (default:
  // peer_listen). Differs from peer_listen when peers reach it through a proxy or a NAT. (A
  // founding member's is the peer address --peers gives for it.)
  std::string peer_advertise;
  std::vector<PeerSpec> peers;  // founding members (first start only), this node included
  // host:port of any member: a node with no data yet asks the cluster to add it as a learner
  // (MEMBER JOIN) instead of founding one; its id comes from the cluster.
  std::string join;
  NodeId join_replaces;  // with join: the member whose addresses this node takes over
  std::string data_dir;
  // Peer authentication (net/peer_auth.h): a file of one or two secrets (the first proves, either
  // is accepted); empty: peers prove only the cluster id. The secret itself is never in the config.
  std::string cluster_secret_file;
  // Mutual TLS between nodes (Redis's tls-cluster) with the tls-cert-file, tls-key-file and
  // tls-ca-cert-file of the client TLS port.
  bool tls_cluster = false;

  uint32_t tick_ms = 50;
  // Election timeout randomized in [6, 12) ticks = 300-600 ms: a dead leader is replaced in
  // about 0.4 s. Heartbeats every tick keep 6 of them inside the shortest timeout.
  uint32_t election_ticks = 6;
  uint32_t heartbeat_ticks = 1;
  ReadMode read_mode = ReadMode::kLinearizable;
  bool readonly_default = false;  // new connections start in READONLY mode (stale local reads)
  // Authentication (docs/security.md): the default user's password until the replicated ACL
  // state defines users, the aclfile read then and by ACL LOAD / written by ACL SAVE, and
  // protected mode (non-loopback clients refused while the default user has no password).
  std::string requirepass;
  std::string aclfile;
  bool protected_mode = true;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  uint64_t wal_preallocate_bytes = 1 << 20;  // zeros written ahead of the WAL's end; 0: none
  // Anything but kNo also wraps the data directory's file system so that DEBUG FSYNC-DELAY and
  // FSYNC-FAIL can slow down or fail its syncs.
  DebugCommandAccess enable_debug_command = DebugCommandAccess::kNo;

  uint64_t snapshot_entries = 100000;      // take a snapshot after this many applied entries
  uint64_t snapshot_keep_entries = 10000;  // entries kept behind a snapshot for slow followers
  uint32_t request_timeout_ms = 5000;      // a command with no reply by then gets an error
  uint32_t shutdown_transfer_ms = 2000;    // SIGTERM: time allowed for handing over leadership
  uint32_t expire_keys_per_tick = 200;     // active expiry: deletions proposed per tick, at most
  std::string notify_keyspace_events;      // Redis's flags (e.g. "KEA"); empty = none
  // Sentinel-compatible discovery (server/sentinel.h). Every node answers SENTINEL on its client
  // port for the master of this name; sentinel_listen adds a port where the node also behaves as
  // a Sentinel does (empty = none).
  std::string sentinel_master_name = "bellwether";
  std::string sentinel_listen;
  // host:port of the operations HTTP endpoint: Prometheus /metrics and /healthz
  // (docs/monitoring.md). Empty = off.
  std::string metrics_listen;

  // SLOWLOG: commands whose latency (receipt to reply) reaches this many microseconds are
  // logged (-1: none, 0: every command); the log keeps the newest slowlog_max_len entries.
  int64_t slowlog_log_slower_than_us = 10000;
  uint64_t slowlog_max_len = 128;
  // LATENCY: events taking at least this many milliseconds are recorded (0: monitor off).
  uint64_t latency_monitor_threshold_ms = 0;

  // Logging: spdlog's level by name (Redis's loglevel names accepted too, config_params.h) and the
  // line format.
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kText;
  // The file the node was started with (--config), which CONFIG REWRITE writes; empty: none.
  std::string config_file;

  // TLS for clients (Redis's tls-* parameters): tls_port > 0 adds a TLS listener on listen's
  // host beside the plain one. tls.verify_peer is tls-auth-clients (default yes: a client
  // certificate signed by tls-ca-cert-file is required).
  uint16_t tls_port = 0;
  net::TlsOptions tls;
  // The user and password this node's own client connections to other members present (join,
  // the dashboard's probes), as Redis's replica options of these names; empty: none.
  std::string masteruser;
  std::string masterauth;

  SessionLimits session;
  resp::ParserLimits protocol;  // buffer_bytes_max is client-query-buffer-limit

  // Overload protection (docs/security.md, "Overload protection").
  // Connections on the client and sentinel ports together; beyond it a new one gets
  // "-ERR max number of clients reached" and is closed. The open-files limit is raised at start
  // to maxclients + kReservedFds; if it cannot be, maxclients is lowered to fit (logged).
  uint64_t maxclients = 10000;
  // Dataset estimate (kv::Store::memory_bytes_estimate) beyond which the leader refuses writes
  // that may grow memory (noeviction) or proposes evictions; 0 = no limit.
  uint64_t maxmemory_bytes = 0;
  kv::EvictionPolicy maxmemory_policy = kv::EvictionPolicy::kNoEviction;
  uint32_t maxmemory_samples = 5;
  OutputBufferLimits output_limits;  // client-output-buffer-limit
  // Seconds a client may stay idle before it is closed (0 = never); blocked and subscribed
  // clients are exempt, as in Redis.
  uint64_t idle_timeout_s = 0;
};

// "1=127.0.0.1:7001,2=127.0.0.1:7002" or with explicit peer addresses
// "1=127.0.0.1:7001/127.0.0.1:17001,...". Peer address defaults to the client port + 10000.
Result<std::vector<PeerSpec>> parse_peers(std::string_view text);
// host:port with the port shifted by `delta`.
Result<std::string> shift_port(std::string_view address, int delta);
// "no" | "yes" | "local", and back.
Result<DebugCommandAccess> parse_debug_command_access(std::string_view text);
std::string_view debug_command_access_name(DebugCommandAccess access);
// A master name Sentinel clients may ask for: printable, no spaces (the +switch-master message
// separates its fields with spaces), at most kSentinelMasterNameBytesMax bytes.
constexpr size_t kSentinelMasterNameBytesMax = 256;
Status check_sentinel_master_name(std::string_view name);
// Checks the whole configuration and fills defaults (peer_listen, peer_advertise). Error
// messages name the key.
Status finalize(NodeConfig* config);

}  // namespace bw::server
