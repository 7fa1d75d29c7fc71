#include "server/info.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "server/node.h"

namespace bw::server {

namespace {

constexpr std::string_view kVersion = BW_VERSION;  // the CMake project version
constexpr std::string_view kRedisCompatVersion = "7.0.0";

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f}G", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f}M", static_cast<double>(b) / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.2f}K", static_cast<double>(b) / (1ull << 10));
  return fmt::format("{}B", b);
}

std::string host_of(const std::string& addr) {
  return addr.substr(0, addr.rfind(':'));
}
std::string port_of(const std::string& addr) {
  return addr.substr(addr.rfind(':') + 1);
}

std::string join_ids(const std::vector<NodeId>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i].value());
  }
  return out;
}

void section_server(const Node& n, std::string& o) {
  const auto& c = n.config();
  o += "# Server\r\n";
  o += fmt::format("redis_version:{}\r\n", kRedisCompatVersion);
  o += fmt::format("bellwether_version:{}\r\n", kVersion);
  o += "redis_mode:standalone\r\n";
  o += "os:Linux\r\narch_bits:64\r\nmultiplexing_api:epoll\r\n";
  o += fmt::format("process_id:{}\r\n", getpid());
  o += fmt::format("run_id:{}-{}\r\n", c.cluster_id, c.id);
  o += fmt::format("tcp_port:{}\r\n", port_of(c.listen));
  int64_t up = (wall_ms() - n.started_ms()) / 1000;
  o += fmt::format("uptime_in_seconds:{}\r\nuptime_in_days:{}\r\n", up, up / 86400);
  o += fmt::format("hz:{}\r\n", 1000 / std::max<uint32_t>(c.tick_ms, 1));
  o += "\r\n";
}

void section_clients(const Node& n, std::string& o) {
  o += "# Clients\r\n";
  o += fmt::format("connected_clients:{}\r\n", n.session_count());
  o += fmt::format("blocked_clients:0\r\ntracking_clients:0\r\nmaxclients:{}\r\n\r\n",
                   n.effective_maxclients());
}

void section_memory(const Node& n, std::string& o) {
  uint64_t used = n.used_memory();
  uint64_t rss = resident_memory_bytes();
  o += "# Memory\r\n";
  o += fmt::format("used_memory:{}\r\nused_memory_human:{}\r\n", used, human_bytes(used));
  o += fmt::format("used_memory_rss:{}\r\nused_memory_rss_human:{}\r\n", rss, human_bytes(rss));
  const NodeConfig& c = n.config();
  o += fmt::format("maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n",
                   c.maxmemory_bytes, human_bytes(c.maxmemory_bytes),
                   kv::eviction_policy_name(c.maxmemory_policy));
  o += fmt::format("maxmemory_samples:{}\r\n\r\n", c.maxmemory_samples);
}

void section_persistence(const Node& n, std::string& o) {
  const SaveState& save = n.save_state();
  const uint64_t applied = n.raft_status().applied.value();
  const uint64_t saved = n.snapshot_index().value();
  o += "# Persistence\r\n";
  o += fmt::format("loading:0\r\nrdb_changes_since_last_save:{}\r\n",
                   applied > saved ? applied - saved : 0);
  o += fmt::format("rdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\n",
                   n.snapshot_in_progress() ? 1 : 0, save.last_save_unix_s);
  o += fmt::format("rdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\n",
                   save.last_ok ? "ok" : "err", save.last_duration_s);
  o += "aof_enabled:0\r\n";
  o +=
      fmt::format("wal_fsync:{}\r\n", n.config().fsync == FsyncPolicy::kAlways ? "always" : "none");
  o +=
      fmt::format("snapshot_index:{}\r\nbackups_held:{}\r\n", n.snapshot_index(), n.backups_held());
  o += fmt::format("snapshots_taken:{}\r\nsnapshots_installed:{}\r\n\r\n",
                   n.counters().snapshots_taken, n.counters().snapshots_installed);
}

void section_stats(const Node& n, std::string& o) {
  const auto& k = n.counters();
  o += "# Stats\r\n";
  o += fmt::format("total_connections_received:{}\r\n", k.connections_total);
  o += fmt::format("total_commands_processed:{}\r\n", k.commands);
  o += fmt::format("total_writes:{}\r\ntotal_reads:{}\r\n", k.writes, k.reads);
  o += fmt::format("writes_forwarded:{}\r\nforwards_resent:{}\r\nread_index_rounds:{}\r\n",
                   k.forwarded, k.forwards_resent, k.read_index_rounds);
  o += fmt::format("read_index_answered:{}\r\n", k.read_index_answered);
  o += fmt::format("raft_append_messages_sent:{}\r\nraft_entries_sent:{}\r\n",
                   k.append_messages_sent, k.entries_sent);
  o += fmt::format("wal_writes:{}\r\nwal_fsyncs:{}\r\nwal_entries_written:{}\r\n", k.wal_writes,
                   k.wal_fsyncs, k.wal_entries_written);
  o += fmt::format("expired_keys_proposed:{}\r\n", k.expired_keys_proposed);
  o += fmt::format("evicted_keys:{}\r\nrejected_connections:{}\r\n", n.store().evicted_keys(),
                   k.rejected_connections);
  o += fmt::format("client_output_buffer_limit_disconnections:{}\r\n",
                   k.output_limit_disconnections);
  o += fmt::format("oom_rejected_writes:{}\r\neviction_entries_proposed:{}\r\n", k.oom_rejections,
                   k.eviction_entries_proposed);
  o += fmt::format("total_error_replies:{}\r\n\r\n", n.command_stats().total_errors());
}

// INFO commandstats, latencystats, errorstats: Redis's formats.
void section_commandstats(const Node& n, std::string& o) {
  o += "# Commandstats\r\n";
  for (const auto& [name, s] : n.command_stats().commands()) {
    if (s.calls == 0 && s.failed_calls == 0 && s.rejected_calls == 0) continue;
    const double per_call =
        s.calls == 0 ? 0.0 : static_cast<double>(s.usec) / static_cast<double>(s.calls);
    o += fmt::format(
        "cmdstat_{}:calls={},usec={},usec_per_call={:.2f},rejected_calls={},failed_calls={}\r\n",
        name, s.calls, s.usec, per_call, s.rejected_calls, s.failed_calls);
  }
  o += "\r\n";
}

void section_latencystats(const Node& n, std::string& o) {
  o += "# Latencystats\r\n";
  for (const auto& [name, s] : n.command_stats().commands()) {
    if (s.latency.count == 0) continue;
    o += fmt::format("latency_percentiles_usec_{}:p50={:.3f},p99={:.3f},p99.9={:.3f}\r\n", name,
                     static_cast<double>(s.latency.percentile_us(50)),
                     static_cast<double>(s.latency.percentile_us(99)),
                     static_cast<double>(s.latency.percentile_us(99.9)));
  }
  o += "\r\n";
}

void section_errorstats(const Node& n, std::string& o) {
  o += "# Errorstats\r\n";
  for (const auto& [prefix, count] : n.command_stats().errors()) {
    o += fmt::format("errorstat_{}:count={}\r\n", prefix, count);
  }
  o += "\r\n";
}

void section_replication(const Node& n, std::string& o) {
  raft::NodeStatus st = n.raft_status();
  o += "# Replication\r\n";
  if (st.role == raft::Role::kLeader) {
    o += "role:master\r\n";
    std::vector<std::string> lines;
    for (const auto& p : st.progress) {
      if (p.id == n.config().id) continue;
      std::optional<PeerSpec> spec = n.peer(p.id);
      std::string addr = spec ? spec->client_address : "?:0";
      lines.push_back(fmt::format("ip={},port={},state={},offset={},lag={}", host_of(addr),
                                  port_of(addr), p.recent_active ? "online" : "wait_bgsave",
                                  p.match, st.last_index - p.match));
    }
    int active = 0;
    for (const auto& p : st.progress) active += (p.id != n.config().id && p.recent_active) ? 1 : 0;
    o += fmt::format("connected_slaves:{}\r\n", active);
    for (size_t i = 0; i < lines.size(); ++i) o += fmt::format("slave{}:{}\r\n", i, lines[i]);
    o += fmt::format("master_replid:{}\r\nmaster_repl_offset:{}\r\n", n.config().cluster_id,
                     st.commit);
  } else {
    o += "role:slave\r\n";
    std::optional<PeerSpec> leader = st.leader == kNoNode ? std::nullopt : n.peer(st.leader);
    std::string addr = leader ? leader->client_address : "?:0";
    o += fmt::format("master_host:{}\r\nmaster_port:{}\r\n", host_of(addr), port_of(addr));
    o += fmt::format("master_link_status:{}\r\n", leader ? "up" : "down");
    uint64_t ago = st.ticks_since_leader_contact * n.config().tick_ms / 1000;
    o += fmt::format("master_last_io_seconds_ago:{}\r\n", leader ? static_cast<int64_t>(ago) : -1);
    o += "master_sync_in_progress:0\r\n";
    o += fmt::format("slave_repl_offset:{}\r\nslave_read_repl_offset:{}\r\n", st.applied,
                     st.applied);
    o += "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\n";
    o += fmt::format("master_replid:{}\r\nmaster_repl_offset:{}\r\n", n.config().cluster_id,
                     st.commit);
  }
  o += "\r\n";
}

void section_raft(const Node& n, std::string& o) {
  raft::NodeStatus st = n.raft_status();
  const auto& c = n.config();
  o += "# Raft\r\n";
  o += fmt::format("raft_node_id:{}\r\nraft_cluster_id:{}\r\n", c.id, c.cluster_id);
  o += fmt::format("raft_role:{}\r\nraft_term:{}\r\nraft_leader_id:{}\r\n",
                   raft::role_name(st.role), st.term, st.leader);
  o += fmt::format("raft_commit_index:{}\r\nraft_applied_index:{}\r\nraft_last_index:{}\r\n",
                   st.commit, st.applied, st.last_index);
  o += fmt::format("raft_first_index:{}\r\n", n.log_first_index());
  o += fmt::format("raft_voters:{}\r\nraft_learners:{}\r\n", join_ids(st.conf.voters),
                   join_ids(st.conf.learners));
  o += fmt::format("raft_refused_peer_handshakes:{}\r\n", n.peer_handshakes_refused());
  o += fmt::format("raft_last_leader_contact_ms:{}\r\n", st.ticks_since_leader_contact * c.tick_ms);
  o += fmt::format("raft_read_mode:{}\r\n",
                   c.read_mode == ReadMode::kLease ? "lease" : "linearizable");
  o += fmt::format("raft_tick_ms:{}\r\nraft_election_ticks:{}\r\nraft_heartbeat_ticks:{}\r\n",
                   c.tick_ms, c.election_ticks, c.heartbeat_ticks);
  for (const MemberView& p : n.members()) {
    o += fmt::format("raft_peer{}:addr={},peer_addr={},role={}", p.id, p.client_address,
                     p.peer_address, p.learner ? "learner" : "voter");
    for (const auto& pr : st.progress) {
      if (pr.id == p.id) {
        o += fmt::format(",match={},next={},state={},active={}", pr.match, pr.next, pr.state,
                         pr.recent_active ? 1 : 0);
        if (pr.snapshot_bytes_total != 0) {
          o += fmt::format(",snapshot_sent={},snapshot_total={}", pr.snapshot_bytes_sent,
                           pr.snapshot_bytes_total);
        }
      }
    }
    if (p.id != c.id) {
      o += fmt::format(",link={},last_heard_ms={}", n.peer_stats(p.id).connected ? "up" : "down",
                       n.peer_last_heard_ms_ago(p.id));
    }
    o += "\r\n";
  }
  o += "\r\n";
}

void section_keyspace(const Node& n, std::string& o) {
  o += "# Keyspace\r\n";
  if (n.store().key_count() > 0) {
    o += fmt::format("db0:keys={},expires=0,avg_ttl=0\r\n", n.store().key_count());
  }
  o += "\r\n";
}

}  // namespace

uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string render_info(const Node& n, std::span<const std::string_view> sections) {
  using Fn = void (*)(const Node&, std::string&);
  struct Section {
    const char* name;
    Fn fn;
    bool in_default;  // Redis leaves commandstats and latencystats out of INFO / INFO default
  };
  const Section all[] = {
      {"server", section_server, true},
      {"clients", section_clients, true},
      {"memory", section_memory, true},
      {"persistence", section_persistence, true},
      {"stats", section_stats, true},
      {"replication", section_replication, true},
      {"raft", section_raft, true},
      {"commandstats", section_commandstats, false},
      {"latencystats", section_latencystats, false},
      {"errorstats", section_errorstats, true},
      {"keyspace", section_keyspace, true},
  };
  std::set<std::string> wanted;
  for (auto s : sections)
    wanted.insert(absl::AsciiStrToLower(absl::string_view(s.data(), s.size())));
  const bool everything = wanted.contains("all") || wanted.contains("everything");
  const bool defaults = wanted.empty() || wanted.contains("default");
  std::string out;
  for (const Section& s : all) {
    if (everything || (defaults && s.in_default) || wanted.contains(s.name)) s.fn(n, out);
  }
  if (out.size() >= 2) out.resize(out.size() - 2);  // Redis ends without the last blank line
  return out;
}

void write_role(const Node& n, resp::Writer& w) {
  raft::NodeStatus st = n.raft_status();
  if (st.role == raft::Role::kLeader) {
    w.array(3);
    w.bulk("master");
    w.integer(static_cast<int64_t>(st.commit.value()));
    size_t followers = 0;
    for (const auto& p : st.progress) followers += p.id != n.config().id ? 1 : 0;
    w.array(followers);
    for (const auto& p : st.progress) {
      if (p.id == n.config().id) continue;
      std::optional<PeerSpec> spec = n.peer(p.id);
      std::string addr = spec ? spec->client_address : "?:0";
      w.array(3);
      w.bulk(host_of(addr));
      w.bulk(port_of(addr));
      w.bulk(std::to_string(p.match.value()));
    }
    return;
  }
  std::optional<PeerSpec> leader = st.leader == kNoNode ? std::nullopt : n.peer(st.leader);
  std::string addr = leader ? leader->client_address : "?:0";
  w.array(5);
  w.bulk("slave");
  w.bulk(host_of(addr));
  w.integer(std::atoi(port_of(addr).c_str()));
  w.bulk(leader ? "connected" : "connect");
  w.integer(static_cast<int64_t>(st.applied.value()));
}

}  // namespace bw::server
