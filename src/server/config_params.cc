#include "server/config_params.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "net/peer_auth.h"
#include "server/args.h"
#include "server/output_limits.h"
#include "server/pubsub.h"

namespace bw::server {

namespace {

Status invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

std::string lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

// Redis's integer config check: its error texts, word for word.
template <typename T>
Status parse_integer(std::string_view text, T min, T max, T* out) {
  T v{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return invalid("argument couldn't be parsed into an integer");
  }
  if (v < min || v > max) {
    return invalid(fmt::format("argument must be between {} and {} inclusive", min, max));
  }
  *out = v;
  return OkStatus();
}

Status parse_memory(std::string_view text, uint64_t min, uint64_t max, uint64_t* out) {
  std::optional<uint64_t> v = parse_memory_value(text);
  if (!v) return invalid("argument must be a memory value");
  if (*v < min || *v > max) {
    return invalid(fmt::format("argument must be between {} and {} inclusive", min, max));
  }
  *out = *v;
  return OkStatus();
}

Status parse_yes_no(std::string_view text, bool* out) {
  if (iequals(text, "yes") || iequals(text, "true")) {
    *out = true;
  } else if (iequals(text, "no") || iequals(text, "false")) {
    *out = false;
  } else {
    return invalid("argument must be 'yes' or 'no'");
  }
  return OkStatus();
}

std::string host_of(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

std::string port_of(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon == std::string::npos ? "" : address.substr(colon + 1);
}

std::string format_peers(const NodeConfig& c) {
  std::string out;
  for (const PeerSpec& p : c.peers) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}={}/{}", p.id, p.client_address, p.peer_address);
  }
  return out;
}

std::string yes_no(bool v) {
  return v ? "yes" : "no";
}

// ---- the table ---------------------------------------------------------------------------------

// Why values are immutable, shared by several entries.
constexpr std::string_view kAtStart = "read once at start";
constexpr std::string_view kAgree = "must agree on every node (Raft timing): restart every node";
constexpr std::string_view kReplica = "copied into the replica at start";
constexpr std::string_view kFixed = "fixed; reported for Redis tools";
constexpr std::string_view kNewConnections = "connections opened afterwards";
constexpr std::string_view kTlsReload =
    "connections opened afterwards: the TLS context is rebuilt (also on SIGHUP); open ones keep "
    "theirs";

#define BW_GET(expr) +[]([[maybe_unused]] const NodeConfig& c) -> std::string { return expr; }
#define BW_PARSE(body) +[](NodeConfig * c, std::string_view v) -> Status body

const ConfigParam kParams[] = {
    // Identity and addresses.
    {"id", "id", FileValue::kNumber, "this node's id", kAtStart, false,
     BW_GET(std::to_string(c.id.value())), nullptr},
    {"cluster-id", "cluster-id", FileValue::kString, "cluster identity; peers must agree", kAtStart,
     false, BW_GET(c.cluster_id), nullptr},
    {"listen", "listen", FileValue::kString, "client address host:port", kAtStart, false,
     BW_GET(c.listen), nullptr},
    {"bind", "", FileValue::kNone, "the host of listen (Redis's name)", kAtStart, false,
     BW_GET(host_of(c.listen)), nullptr},
    {"port", "", FileValue::kNone, "the port of listen (Redis's name)", kAtStart, false,
     BW_GET(port_of(c.listen)), nullptr},
    {"peer-listen", "peer-listen", FileValue::kString,
     "peer address (default: client port + 10000)", kAtStart, false, BW_GET(c.peer_listen),
     nullptr},
    {"peer-advertise", "peer-advertise", FileValue::kString,
     "with join: the peer address members dial", kAtStart, false, BW_GET(c.peer_advertise),
     nullptr},
    {"peers", "peers", FileValue::kString,
     "founding voters id=host:port/peer-host:port,... (first start only)", kAtStart, false,
     BW_GET(format_peers(c)), nullptr},
    {"join", "join", FileValue::kString, "host:port of a member to join (first start only)",
     kAtStart, false, BW_GET(c.join), nullptr},
    {"dir", "data-dir", FileValue::kString, "data directory", kAtStart, false, BW_GET(c.data_dir),
     nullptr},
    {"cluster-secret-file", "cluster-secret-file", FileValue::kString,
     "file of the secret peers prove (two lines while rotating: the first proves, either is "
     "accepted); empty: none",
     "re-read by CONFIG SET (also of the same path); applies to peer links opened afterwards", true,
     BW_GET(c.cluster_secret_file), BW_PARSE({
       if (!v.empty()) {
         auto secrets = net::load_cluster_secrets(std::string(v));
         if (!secrets.ok()) return invalid(std::string(to_std(secrets.status().message())));
       }
       c->cluster_secret_file = std::string(v);
       return OkStatus();
     })},
    // Raft and storage.
    {"tick-ms", "tick-ms", FileValue::kNumber, "Raft tick in milliseconds", kAgree, false,
     BW_GET(std::to_string(c.tick_ms)), nullptr},
    {"election-ticks", "election-ticks", FileValue::kNumber,
     "election timeout in ticks (randomized up to twice as long)", kAgree, false,
     BW_GET(std::to_string(c.election_ticks)), nullptr},
    {"heartbeat-ticks", "heartbeat-ticks", FileValue::kNumber, "heartbeat interval in ticks",
     kAgree, false, BW_GET(std::to_string(c.heartbeat_ticks)), nullptr},
    {"read-mode", "read-mode", FileValue::kString,
     "linearizable | lease: how reads confirm leadership", "Raft's read option is set at start",
     false, BW_GET(c.read_mode == ReadMode::kLease ? "lease" : "linearizable"), BW_PARSE({
       if (v == "linearizable") {
         c->read_mode = ReadMode::kLinearizable;
       } else if (v == "lease") {
         c->read_mode = ReadMode::kLease;
       } else {
         return invalid("argument(s) must be one of the following: linearizable, lease");
       }
       return OkStatus();
     })},
    {"appendfsync", "fsync", FileValue::kString,
     "always | no (flag: always | none): fsync the log before acknowledging",
     "durability promise of acknowledged writes; the log is opened with it", false,
     BW_GET(c.fsync == FsyncPolicy::kAlways ? "always" : "no"), BW_PARSE({
       if (v == "always") {
         c->fsync = FsyncPolicy::kAlways;
       } else if (v == "none" || v == "no") {
         c->fsync = FsyncPolicy::kNone;
       } else {
         return invalid("argument(s) must be one of the following: always, no");
       }
       return OkStatus();
     })},
    {"wal-preallocate-bytes", "wal-preallocate-bytes", FileValue::kNumber,
     "zeros kept written ahead of the log's end, so an fsync changes no file size; 0: none",
     "the log is opened with it", false, BW_GET(std::to_string(c.wal_preallocate_bytes)), BW_PARSE({
       return parse_integer<uint64_t>(v, 0, kWalPreallocateBytesMax, &c->wal_preallocate_bytes);
     })},
    {"snapshot-entries", "snapshot-entries", FileValue::kNumber,
     "take a snapshot after this many applied entries", "read at each applied batch", true,
     BW_GET(std::to_string(c.snapshot_entries)), BW_PARSE({
       return parse_integer<uint64_t>(v, 1, kSnapshotEntriesMax, &c->snapshot_entries);
     })},
    {"snapshot-keep-entries", "snapshot-keep-entries", FileValue::kNumber,
     "log entries kept behind a snapshot for slow followers", "read at each snapshot", true,
     BW_GET(std::to_string(c.snapshot_keep_entries)), BW_PARSE({
       return parse_integer<uint64_t>(v, 0, kSnapshotEntriesMax, &c->snapshot_keep_entries);
     })},
    {"request-timeout-ms", "request-timeout-ms", FileValue::kNumber,
     "a command with no reply by then gets an error", kReplica, false,
     BW_GET(std::to_string(c.request_timeout_ms)), nullptr},
    {"expire-keys-per-tick", "expire-keys-per-tick", FileValue::kNumber,
     "active expiry: deletions proposed per tick, at most", kReplica, false,
     BW_GET(std::to_string(c.expire_keys_per_tick)), nullptr},
    {"shutdown-transfer-ms", "shutdown-transfer-ms", FileValue::kNumber,
     "SHUTDOWN / SIGTERM: time allowed for handing leadership over", "read at shutdown", true,
     BW_GET(std::to_string(c.shutdown_transfer_ms)), BW_PARSE({
       return parse_integer<uint32_t>(v, 0, kShutdownTransferMsMax, &c->shutdown_transfer_ms);
     })},
    // Clients.
    {"readonly-default", "readonly-default", FileValue::kBool,
     "connections start in READONLY mode (stale local reads)", kNewConnections, true,
     BW_GET(yes_no(c.readonly_default)),
     BW_PARSE({ return parse_yes_no(v, &c->readonly_default); })},
    {"requirepass", "requirepass", FileValue::kString,
     "the default user's password until the replicated ACL state defines users",
     "CONFIG SET replicates it as ACL SETUSER default resetpass >password", true,
     BW_GET(c.requirepass), BW_PARSE({
       c->requirepass = std::string(v);
       return OkStatus();
     })},
    {"aclfile", "aclfile", FileValue::kString,
     "ACL file: bootstrap users, ACL LOAD reads it, ACL SAVE writes it", kAtStart, false,
     BW_GET(c.aclfile), nullptr},
    {"protected-mode", "protected-mode", FileValue::kBool,
     "refuse non-loopback clients while the default user has no password", "the next command", true,
     BW_GET(yes_no(c.protected_mode)), BW_PARSE({ return parse_yes_no(v, &c->protected_mode); })},
    {"proto-max-bulk-len", "proto-max-bulk-len", FileValue::kNumber,
     "largest argument in bytes (memory units allowed: 512mb)",
     "every connection, for the commands it reads next", true,
     BW_GET(std::to_string(c.protocol.bulk_bytes_max)), BW_PARSE({
       return parse_memory(v, kProtoMaxBulkLenMin, kProtoMaxBulkLenMax,
                           &c->protocol.bulk_bytes_max);
     })},
    {"client-output-bytes-max", "client-output-bytes-max", FileValue::kNumber,
     "ceiling on any client's unwritten replies, whatever its class's "
     "client-output-buffer-limit: beyond it the client is disconnected",
     "every connection, at its next reply", true,
     BW_GET(std::to_string(c.session.output_bytes_max)), BW_PARSE({
       uint64_t bytes = 0;
       BW_RETURN_IF_ERROR(parse_memory(v, kClientOutputBytesMin, kClientOutputBytesMax, &bytes));
       c->session.output_bytes_max = bytes;
       return OkStatus();
     })},
    // Overload protection (docs/security.md).
    {"maxclients", "maxclients", FileValue::kNumber,
     "connections (client and sentinel ports) beyond which a new one is refused",
     "new connections; the open-files limit is raised to fit if it can be", true,
     BW_GET(std::to_string(c.maxclients)), BW_PARSE({
       return parse_integer<uint64_t>(v, kMaxClientsMin, kMaxClientsMax, &c->maxclients);
     })},
    {"maxmemory", "maxmemory", FileValue::kNumber,
     "dataset estimate (INFO used_memory) beyond which the leader refuses or evicts (0: none)",
     "the next write this node leads", true, BW_GET(std::to_string(c.maxmemory_bytes)),
     BW_PARSE({ return parse_memory(v, 0, kMaxMemoryMax, &c->maxmemory_bytes); })},
    {"maxmemory-policy", "maxmemory-policy", FileValue::kString,
     "noeviction | allkeys-lru | allkeys-lfu | allkeys-random | volatile-lru | "
     "volatile-lfu | volatile-random | volatile-ttl",
     "the next write this node leads", true,
     BW_GET(std::string(kv::eviction_policy_name(c.maxmemory_policy))), BW_PARSE({
       auto p = kv::parse_eviction_policy(v);
       if (!p) {
         return invalid("argument(s) must be one of the following: " + kv::eviction_policy_names());
       }
       c->maxmemory_policy = *p;
       return OkStatus();
     })},
    {"maxmemory-samples", "maxmemory-samples", FileValue::kNumber,
     "keys sampled per key evicted (LRU, LFU, random)", "the next eviction", true,
     BW_GET(std::to_string(c.maxmemory_samples)), BW_PARSE({
       return parse_integer<uint32_t>(v, kv::kEvictionSamplesMin, kv::kEvictionSamplesMax,
                                      &c->maxmemory_samples);
     })},
    {"client-output-buffer-limit", "client-output-buffer-limit", FileValue::kString,
     "per class (normal, replica, pubsub): hard soft soft-seconds, Redis's syntax",
     "every connection, at its next reply", true,
     BW_GET(format_output_buffer_limits(c.output_limits)), BW_PARSE({
       auto limits = parse_output_buffer_limits(v, c->output_limits);
       if (!limits.ok()) return invalid(std::string(limits.status().message()));
       c->output_limits = *limits;
       return OkStatus();
     })},
    {"client-query-buffer-limit", "client-query-buffer-limit", FileValue::kNumber,
     "unparsed input a client may hold (one command's bytes) before it is disconnected",
     kNewConnections, true, BW_GET(std::to_string(c.protocol.buffer_bytes_max)), BW_PARSE({
       return parse_memory(v, kQueryBufferLimitMin, kQueryBufferLimitMax,
                           &c->protocol.buffer_bytes_max);
     })},
    {"timeout", "timeout", FileValue::kNumber,
     "close a client idle this many seconds (0: never; not blocked or subscribed ones)",
     "checked every second", true, BW_GET(std::to_string(c.idle_timeout_s)), BW_PARSE({
       return parse_integer<uint64_t>(v, 0, kIdleTimeoutSecondsMax, &c->idle_timeout_s);
     })},
    {"notify-keyspace-events", "notify-keyspace-events", FileValue::kString,
     "keyspace notification classes, Redis's letters (KEA ...)", "at once", true,
     BW_GET(c.notify_keyspace_events), BW_PARSE({
       PubSub check;
       BW_RETURN_IF_ERROR(check.set_notify_flags(v));
       c->notify_keyspace_events = check.notify_flags();
       return OkStatus();
     })},
    {"enable-debug-command", "enable-debug-command", FileValue::kString,
     "no | yes | local: who may run DEBUG",
     "as Redis's; the fault-injecting file system is chosen at start", false,
     BW_GET(std::string(debug_command_access_name(c.enable_debug_command))), BW_PARSE({
       auto access = parse_debug_command_access(v);
       if (!access.ok()) return invalid("argument(s) must be one of the following: no, yes, local");
       c->enable_debug_command = *access;
       return OkStatus();
     })},
    {"sentinel-master-name", "sentinel-master-name", FileValue::kString,
     "the master name Sentinel clients ask for", "Sentinel clients hold it; every node agrees",
     false, BW_GET(c.sentinel_master_name), nullptr},
    {"sentinel-listen", "sentinel-listen", FileValue::kString,
     "also answer as a Redis Sentinel on host:port (empty: off)", kAtStart, false,
     BW_GET(c.sentinel_listen), nullptr},
    // TLS for clients (docs/security.md).
    {"tls-port", "tls-port", FileValue::kNumber,
     "TLS client port on listen's host, beside the plain one (0: off)", kAtStart, false,
     BW_GET(std::to_string(c.tls_port)),
     BW_PARSE({ return parse_integer<uint16_t>(v, 0, 65535, &c->tls_port); })},
    {"tls-cert-file", "tls-cert-file", FileValue::kString,
     "PEM certificate chain the TLS port presents", kTlsReload, true, BW_GET(c.tls.cert_file),
     BW_PARSE({
       c->tls.cert_file = std::string(v);
       return OkStatus();
     })},
    {"tls-key-file", "tls-key-file", FileValue::kString,
     "PEM private key of tls-cert-file (unencrypted)", kTlsReload, true, BW_GET(c.tls.key_file),
     BW_PARSE({
       c->tls.key_file = std::string(v);
       return OkStatus();
     })},
    {"tls-ca-cert-file", "tls-ca-cert-file", FileValue::kString,
     "PEM CA bundle that client certificates must chain to", kTlsReload, true,
     BW_GET(c.tls.ca_cert_file), BW_PARSE({
       c->tls.ca_cert_file = std::string(v);
       return OkStatus();
     })},
    {"tls-auth-clients", "tls-auth-clients", FileValue::kString,
     "yes | no | optional: a client certificate is required, not asked for, or verified if "
     "presented",
     kTlsReload, true, BW_GET(std::string(net::tls_verify_name(c.tls.verify_peer))), BW_PARSE({
       auto verify = net::parse_tls_verify(v);
       if (!verify.ok()) {
         return invalid("argument(s) must be one of the following: no, yes, optional");
       }
       c->tls.verify_peer = *verify;
       return OkStatus();
     })},
    {"tls-protocols", "tls-protocols", FileValue::kString,
     "TLS versions accepted, \"TLSv1.2 TLSv1.3\" (empty: those two)", kTlsReload, true,
     BW_GET(c.tls.protocols), BW_PARSE({
       BW_RETURN_IF_ERROR(net::parse_tls_protocols(v).status());
       c->tls.protocols = std::string(v);
       return OkStatus();
     })},
    {"tls-ciphers", "tls-ciphers", FileValue::kString,
     "TLSv1.2 cipher list, OpenSSL's syntax (empty: OpenSSL's default)", kTlsReload, true,
     BW_GET(c.tls.ciphers), BW_PARSE({
       c->tls.ciphers = std::string(v);
       return OkStatus();
     })},
    {"tls-ciphersuites", "tls-ciphersuites", FileValue::kString,
     "TLSv1.3 ciphersuites, OpenSSL's syntax (empty: OpenSSL's default)", kTlsReload, true,
     BW_GET(c.tls.ciphersuites), BW_PARSE({
       c->tls.ciphersuites = std::string(v);
       return OkStatus();
     })},
    {"tls-cluster", "peer-tls", FileValue::kBool,
     "mutual TLS between nodes with the tls-cert-file, tls-key-file and tls-ca-cert-file",
     "every node's peers must agree: restart every node", false, BW_GET(yes_no(c.tls_cluster)),
     nullptr},
    {"masteruser", "masteruser", FileValue::kString,
     "user this node authenticates as on other members' client ports (join, dashboard probes)",
     kNewConnections, true, BW_GET(c.masteruser), BW_PARSE({
       c->masteruser = std::string(v);
       return OkStatus();
     })},
    {"masterauth", "masterauth", FileValue::kString,
     "password this node presents on other members' client ports (empty: no AUTH)", kNewConnections,
     true, BW_GET(c.masterauth), BW_PARSE({
       c->masterauth = std::string(v);
       return OkStatus();
     })},
    // Operations.
    {"metrics-listen", "metrics-listen", FileValue::kString,
     "serve /metrics, /healthz and the dashboard over HTTP on host:port (empty: off)", kAtStart,
     false, BW_GET(c.metrics_listen), nullptr},
    {"slowlog-log-slower-than", "slowlog-log-slower-than", FileValue::kNumber,
     "SLOWLOG: commands taking this many microseconds or more (-1: none, 0: all)", "at once", true,
     BW_GET(std::to_string(c.slowlog_log_slower_than_us)), BW_PARSE({
       return parse_integer<int64_t>(v, -1, std::numeric_limits<int64_t>::max(),
                                     &c->slowlog_log_slower_than_us);
     })},
    {"slowlog-max-len", "slowlog-max-len", FileValue::kNumber, "SLOWLOG: entries kept", "at once",
     true, BW_GET(std::to_string(c.slowlog_max_len)),
     BW_PARSE({ return parse_integer<uint64_t>(v, 0, kSlowlogMaxLenMax, &c->slowlog_max_len); })},
    {"latency-monitor-threshold", "latency-monitor-threshold", FileValue::kNumber,
     "LATENCY: events of at least this many milliseconds are recorded (0: off)", "at once", true,
     BW_GET(std::to_string(c.latency_monitor_threshold_ms)), BW_PARSE({
       return parse_integer<uint64_t>(v, 0, kLatencyThresholdMsMax,
                                      &c->latency_monitor_threshold_ms);
     })},
    {"loglevel", "log-level", FileValue::kString,
     "trace | debug | info | warn | error | critical | off (or Redis's: verbose, notice, "
     "warning, nothing)",
     "at once", true, BW_GET(c.log_level), BW_PARSE({
       if (!parse_log_level(v)) {
         return invalid(
             "argument(s) must be one of the following: trace, debug, verbose, info, notice, "
             "warn, warning, error, critical, off, nothing");
       }
       c->log_level = lower(v);
       return OkStatus();
     })},
    {"log-format", "log-format", FileValue::kString,
     "text | json: log lines as text or one JSON object each", "the logger is built at start",
     false, BW_GET(c.log_format == LogFormat::kJson ? "json" : "text"), BW_PARSE({
       if (v == "text") {
         c->log_format = LogFormat::kText;
       } else if (v == "json") {
         c->log_format = LogFormat::kJson;
       } else {
         return invalid("argument(s) must be one of the following: text, json");
       }
       return OkStatus();
     })},
    // Fixed values Redis tools ask for (redis-benchmark, redis-cli).
    {"save", "", FileValue::kNone, "no RDB snapshots: every write is in the log", kFixed, false,
     BW_GET(""), nullptr},
    {"appendonly", "", FileValue::kNone, "no AOF: the Raft log plays its part", kFixed, false,
     BW_GET("no"), nullptr},
    {"databases", "", FileValue::kNone, "one database (SELECT 0 only)", kFixed, false, BW_GET("1"),
     nullptr},
    {"cluster-enabled", "", FileValue::kNone, "one Raft group, no Redis Cluster slots", kFixed,
     false, BW_GET("no"), nullptr},
};

#undef BW_GET
#undef BW_PARSE

}  // namespace

std::span<const ConfigParam> config_params() {
  return kParams;
}

const ConfigParam* find_config_param(std::string_view name) {
  for (const ConfigParam& p : kParams) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> config_get(
    const NodeConfig& config, std::span<const std::string_view> patterns) {
  std::vector<std::pair<std::string, std::string>> hits;
  for (const ConfigParam& p : kParams) {
    const std::string name(p.name);
    for (std::string_view pattern : patterns) {
      if (fnmatch(std::string(pattern).c_str(), name.c_str(), FNM_CASEFOLD) == 0) {
        hits.emplace_back(name, p.get(config));
        break;
      }
    }
  }
  return hits;
}

std::optional<std::string> config_set(NodeConfig* config,
                                      std::span<const std::string_view> names_and_values) {
  if (names_and_values.empty() || names_and_values.size() % 2 != 0) return "ERR syntax error";
  auto failed = [](std::string_view arg, std::string_view why) {
    return fmt::format("ERR CONFIG SET failed (possibly related to argument '{}') - {}", arg, why);
  };
  // First every name, as Redis 7 does: an unknown one wins over any other error.
  std::vector<const ConfigParam*> params;
  for (size_t i = 0; i < names_and_values.size(); i += 2) {
    const ConfigParam* p = find_config_param(names_and_values[i]);
    if (p == nullptr) {
      return fmt::format("ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                         names_and_values[i]);
    }
    params.push_back(p);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i]->mutable_at_run_time || params[i]->parse == nullptr) {
      return failed(names_and_values[2 * i], "can't set immutable config");
    }
    if (std::find(params.begin(), params.begin() + static_cast<ptrdiff_t>(i), params[i]) !=
        params.begin() + static_cast<ptrdiff_t>(i)) {
      return failed(names_and_values[2 * i], "duplicate parameter");
    }
  }
  // Then the values, on a copy: all of them or none.
  NodeConfig next = *config;
  for (size_t i = 0; i < params.size(); ++i) {
    Status st = params[i]->parse(&next, names_and_values[2 * i + 1]);
    if (!st.ok()) {
      return failed(names_and_values[2 * i],
                    std::string_view(st.message().data(), st.message().size()));
    }
  }
  *config = std::move(next);
  return std::nullopt;
}

Status set_config_value(NodeConfig* config, std::string_view name, std::string_view value) {
  const ConfigParam* p = find_config_param(name);
  if (p == nullptr || p->parse == nullptr) {
    return invalid(fmt::format("{}: not a parameter set from text", name));
  }
  Status st = p->parse(config, value);
  if (!st.ok()) {
    return invalid(fmt::format("{}: '{}': {}", p->file_key.empty() ? p->name : p->file_key, value,
                               st.message()));
  }
  return OkStatus();
}

std::optional<uint64_t> parse_memory_value(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc()) return std::nullopt;
  const std::string unit = lower(text.substr(digits));
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},           {"b", 1},
      {"k", 1000},       {"kb", 1024},
      {"m", 1000000},    {"mb", 1024 * 1024},
      {"g", 1000000000}, {"gb", 1024ull * 1024 * 1024},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (n > std::numeric_limits<uint64_t>::max() / factor) return std::nullopt;
    return n * factor;
  }
  return std::nullopt;
}

std::optional<int> parse_log_level(std::string_view text) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"verbose", spdlog::level::debug},     {"info", spdlog::level::info},
      {"notice", spdlog::level::info},       {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
      {"nothing", spdlog::level::off},
  };
  for (const auto& [name, level] : kLevels) {
    if (iequals(text, name)) return static_cast<int>(level);
  }
  return std::nullopt;
}

std::string config_params_markdown() {
  const NodeConfig defaults;
  std::string out =
      "| parameter | flag / file key | default | changes at run time | meaning |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (const ConfigParam& p : kParams) {
    const std::string value = p.get(defaults);
    out += fmt::format(
        "| `{}` | {} | {} | {} | {} |\n", p.name,
        p.file_key.empty() ? "-" : fmt::format("`--{}`", p.file_key),
        value.empty() ? "(empty)" : fmt::format("`{}`", value),
        p.mutable_at_run_time ? fmt::format("yes: {}", p.run_time)
                              : fmt::format("no: {}", p.run_time),
        absl::StrReplaceAll(absl::string_view(p.meaning.data(), p.meaning.size()), {{"|", "\\|"}}));
  }
  return out;
}

}  // namespace bw::server
