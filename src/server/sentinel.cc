#include "server/sentinel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <initializer_list>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/assert.h"
#include "server/node.h"
#include "server/reply.h"

namespace bw::server {

namespace {

constexpr std::string_view kRedisCompatVersion = "7.0.0";
constexpr std::string_view kVersion = BW_VERSION;  // the CMake project version
// What real Sentinel reports for the settings Bellwether has no counterpart of.
constexpr int64_t kParallelSyncs = 1;
constexpr int64_t kReplicaPriority = 100;  // Redis's default replica-priority
constexpr int64_t kLearnerPriority = 0;    // priority 0: never promoted, as a learner never leads
// The state real Sentinel reports while it elects and promotes a replica: the closest to a Raft
// election.
constexpr std::string_view kElectionFailoverState = "select_slave";

// Sorted: the commands Redis Sentinel serves that a client may use here (its ACL, PUBLISH and
// SHUTDOWN are left out).
constexpr std::array<std::string_view, 12> kSentinelPortCommands = {
    "auth",       "client",       "command", "hello",    "info",      "ping",
    "psubscribe", "punsubscribe", "role",    "sentinel", "subscribe", "unsubscribe"};
static_assert(std::ranges::is_sorted(kSentinelPortCommands));

// Subcommands of real Sentinel that change its monitoring or trigger its failover: Bellwether's
// membership and failover are Raft's, so these are refused with an explanation.
constexpr std::array<std::string_view, 12> kUnsupportedSubcommands = {
    "config",  "debug",           "failover", "flushconfig", "info-cache", "is-master-down-by-addr",
    "monitor", "pending-scripts", "remove",   "reset",       "set",        "simulate-failure"};

std::string lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

// "host:port" (host may be a bracketed IPv6 address) into host and port.
std::pair<std::string, std::string> split_address(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return {std::string(address), "0"};
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {std::string(host), std::string(address.substr(colon + 1))};
}

std::string run_id(const SentinelView& v, NodeId id) {
  return fmt::format("{}-{}", v.cluster_id, id);
}

using Fields = std::vector<std::pair<std::string_view, std::string>>;

// An instance in Sentinel's shape: field/value pairs, every value a bulk string.
void write_fields(resp::Writer& w, const Fields& fields) {
  w.map(fields.size());
  for (const auto& [name, value] : fields) {
    w.bulk(name);
    w.bulk(value);
  }
}

// Joins the flags that hold, in real Sentinel's order.
std::string flags_text(std::initializer_list<std::pair<bool, std::string_view>> flags) {
  std::string out;
  for (const auto& [on, name] : flags) {
    if (!on) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

int64_t contact_ms(const SentinelMember* m) {
  return m != nullptr && m->last_contact_ms > 0 ? m->last_contact_ms : 0;
}

// The state of the link to an instance: Bellwether's peer links keep no command queue.
void add_link_fields(Fields& f) {
  f.emplace_back("link-pending-commands", "0");
  f.emplace_back("link-refcount", "1");
}

void add_ping_fields(Fields& f, const SentinelMember* m) {
  f.emplace_back("last-ping-sent", "0");
  f.emplace_back("last-ok-ping-reply", std::to_string(contact_ms(m)));
  f.emplace_back("last-ping-reply", std::to_string(contact_ms(m)));
}

// How long a member this node cannot reach has been down, as far as it can tell.
int64_t down_ms(const SentinelView& v, const SentinelMember* m) {
  return std::max<int64_t>(0, contact_ms(m) - v.down_after_ms);
}

size_t replica_count(const SentinelView& v) {
  return static_cast<size_t>(
      std::count_if(v.members.begin(), v.members.end(),
                    [&](const SentinelMember& m) { return m.id != v.master; }));
}

void write_master(const SentinelView& v, resp::Writer& w) {
  const SentinelMember* m = v.find(v.master);
  const bool reachable = m != nullptr && m->online;
  const bool s_down = v.master_down || !reachable;
  const auto [host, port] = m != nullptr ? split_address(m->client_address)
                                         : std::pair<std::string, std::string>{"?", "0"};
  Fields f;
  f.emplace_back("name", v.master_name);
  f.emplace_back("ip", host);
  f.emplace_back("port", port);
  f.emplace_back("runid", m != nullptr ? run_id(v, m->id) : "");
  f.emplace_back("flags", flags_text({{s_down, "s_down"},
                                      {v.master_down, "o_down"},
                                      {true, "master"},
                                      {!reachable, "disconnected"},
                                      {v.master_down, "failover_in_progress"}}));
  add_link_fields(f);
  if (v.master_down) f.emplace_back("failover-state", kElectionFailoverState);
  add_ping_fields(f, m);
  if (s_down) {
    f.emplace_back("s-down-time",
                   std::to_string(v.master_down ? v.master_state_ms : down_ms(v, m)));
  }
  if (v.master_down) f.emplace_back("o-down-time", std::to_string(v.master_state_ms));
  f.emplace_back("down-after-milliseconds", std::to_string(v.down_after_ms));
  f.emplace_back("info-refresh", std::to_string(contact_ms(m)));
  f.emplace_back("role-reported", "master");
  f.emplace_back("role-reported-time", std::to_string(v.master_state_ms));
  f.emplace_back("config-epoch", std::to_string(v.config_epoch));
  f.emplace_back("num-slaves", std::to_string(replica_count(v)));
  f.emplace_back("num-other-sentinels", std::to_string(v.members.size() - 1));
  f.emplace_back("quorum", std::to_string(v.quorum));
  f.emplace_back("failover-timeout", std::to_string(v.failover_timeout_ms));
  f.emplace_back("parallel-syncs", std::to_string(kParallelSyncs));
  write_fields(w, f);
}

void write_replica(const SentinelView& v, const SentinelMember& r, resp::Writer& w) {
  const SentinelMember* master = v.find(v.master);
  const auto [host, port] = split_address(r.client_address);
  const auto [master_host, master_port] = master != nullptr
                                              ? split_address(master->client_address)
                                              : std::pair<std::string, std::string>{"?", "0"};
  const bool link_ok = master != nullptr && !v.master_down && r.online;
  Fields f;
  f.emplace_back("name", r.client_address);
  f.emplace_back("ip", host);
  f.emplace_back("port", port);
  f.emplace_back("runid", run_id(v, r.id));
  f.emplace_back("flags",
                 flags_text({{!r.online, "s_down"}, {true, "slave"}, {!r.online, "disconnected"}}));
  add_link_fields(f);
  add_ping_fields(f, &r);
  if (!r.online) f.emplace_back("s-down-time", std::to_string(down_ms(v, &r)));
  f.emplace_back("down-after-milliseconds", std::to_string(v.down_after_ms));
  f.emplace_back("info-refresh", std::to_string(contact_ms(&r)));
  f.emplace_back("role-reported", "slave");
  f.emplace_back("role-reported-time", std::to_string(v.master_state_ms));
  f.emplace_back("master-link-down-time", "0");
  f.emplace_back("master-link-status", link_ok ? "ok" : "err");
  f.emplace_back("master-host", master_host);
  f.emplace_back("master-port", master_port);
  f.emplace_back("slave-priority", std::to_string(r.learner ? kLearnerPriority : kReplicaPriority));
  f.emplace_back("slave-repl-offset", std::to_string(r.offset));
  f.emplace_back("replica-announced", "1");
  write_fields(w, f);
}

void write_sentinel(const SentinelView& v, const SentinelMember& s, resp::Writer& w) {
  const auto [host, port] = split_address(s.client_address);
  Fields f;
  f.emplace_back("name", run_id(v, s.id));
  f.emplace_back("ip", host);
  f.emplace_back("port", port);
  f.emplace_back("runid", run_id(v, s.id));
  f.emplace_back(
      "flags",
      flags_text({{!s.online, "s_down"}, {true, "sentinel"}, {!s.online, "disconnected"}}));
  add_link_fields(f);
  add_ping_fields(f, &s);
  if (!s.online) f.emplace_back("s-down-time", std::to_string(down_ms(v, &s)));
  f.emplace_back("down-after-milliseconds", std::to_string(v.down_after_ms));
  f.emplace_back("last-hello-message", std::to_string(contact_ms(&s)));
  f.emplace_back("voted-leader", "?");
  f.emplace_back("voted-leader-epoch", "0");
  write_fields(w, f);
}

void write_help(resp::Writer& w) {
  constexpr std::string_view kLines[] = {
      "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CKQUORUM <master-name>",
      "    Check that a majority of the cluster's members is reachable.",
      "GET-MASTER-ADDR-BY-NAME <master-name>",
      "    Return the ip and port number of the master (the Raft leader).",
      "MASTER <master-name>",
      "    Show the state and info of the master.",
      "MASTERS",
      "    Show a list of monitored masters and their state (there is one).",
      "MYID",
      "    Return the ID of this node as a Sentinel.",
      "REPLICAS <master-name>",
      "    Show a list of replicas (every member but the leader) and their state.",
      "SENTINELS <master-name>",
      "    Show the other members, each of which answers SENTINEL too.",
      "HELP",
      "    Print this help."};
  w.array(std::size(kLines));
  for (std::string_view l : kLines) w.simple(l);
}

void write_ckquorum(const SentinelView& v, resp::Writer& w) {
  size_t usable = 0;
  for (const SentinelMember& m : v.members) usable += (!m.learner && m.online) ? 1 : 0;
  if (usable >= v.quorum) {
    w.simple(fmt::format("OK {} usable Sentinels. Quorum and failover authorization can be reached",
                         usable));
  } else {
    w.error(fmt::format(
        "NOQUORUM {} usable Sentinels. Not enough available Sentinels to reach the specified "
        "quorum for this master. Not enough available Sentinels to reach the majority and "
        "authorize a failover",
        usable));
  }
}

// Subcommands and their arity, counted as Redis does (SENTINEL included).
struct Subcommand {
  std::string_view name;
  size_t argc;
};
constexpr Subcommand kSubcommands[] = {
    {"ckquorum", 3}, {"get-master-addr-by-name", 3},
    {"help", 2},     {"master", 3},
    {"masters", 2},  {"myid", 2},
    {"replicas", 3}, {"sentinels", 3},
    {"slaves", 3},
};

}  // namespace

const SentinelMember* SentinelView::find(NodeId id) const {
  if (id == kNoNode) return nullptr;
  for (const SentinelMember& m : members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::vector<SentinelMember> sentinel_members(const Node& node) {
  const NodeConfig& c = node.config();
  const raft::NodeStatus st = node.raft_status();
  const int64_t down_after_ms = int64_t{c.election_ticks} * c.tick_ms;
  const int64_t leader_silent_ms = static_cast<int64_t>(st.ticks_since_leader_contact * c.tick_ms);
  std::vector<SentinelMember> out;
  // THE read of the membership: the replicated member directory (voters and learners).
  for (const MemberView& p : node.members()) {
    SentinelMember m{.id = p.id, .client_address = p.client_address};
    m.leader = p.id == st.leader;
    m.learner = std::ranges::find(st.conf.learners, p.id) != st.conf.learners.end();
    if (p.id == c.id) {
      m.last_contact_ms = 0;
      m.offset = st.applied.value();
    } else if (st.role == raft::Role::kLeader) {
      // A follower answers the leader's heartbeats; between check-quorum rounds recent_active is
      // cleared, so an open link counts too (as FAILOVER does).
      auto pr = std::ranges::find(st.progress, p.id, &raft::FollowerProgress::id);
      const bool active = pr != st.progress.end() && pr->recent_active;
      m.online = active || node.peer_stats(p.id).connected;
      m.offset = pr != st.progress.end() ? pr->match.value() : 0;
    } else if (m.leader) {
      m.last_contact_ms = leader_silent_ms;
      m.online = leader_silent_ms < down_after_ms;
    } else {
      // A follower hears nothing from the other followers: it calls one down only once it has
      // tried to reach it (an election) and its link is down.
      const net::PeerStats link = node.peer_stats(p.id);
      const bool tried = link.frames_sent + link.frames_dropped + link.bytes_queued > 0;
      m.online = link.connected || !tried;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<NodeId> SentinelTracker::on_leader_change(NodeId leader, int64_t now_ms) {
  if (leader == current_) return std::nullopt;
  current_ = leader;
  since_ms_ = now_ms;
  if (leader == kNoNode) return std::nullopt;
  const NodeId replaced = last_known_;
  last_known_ = leader;
  if (replaced == kNoNode || replaced == leader) return std::nullopt;
  return replaced;
}

SentinelView SentinelTracker::view(const Node& node, int64_t now_ms) const {
  const NodeConfig& c = node.config();
  const raft::NodeStatus st = node.raft_status();
  SentinelView v;
  v.master_name = c.sentinel_master_name;
  v.cluster_id = c.cluster_id;
  v.self = c.id;
  v.members = sentinel_members(node);
  v.config_epoch = st.term.value();
  v.down_after_ms = int64_t{c.election_ticks} * c.tick_ms;
  // Raft randomizes the election timeout up to twice the base.
  v.failover_timeout_ms = 2 * v.down_after_ms;
  v.quorum = st.conf.voters.size() / 2 + 1;
  // Raft's leader now, not the one of the last Ready (node.h): this is what commands route by.
  v.master = st.leader != kNoNode ? st.leader : last_known_;
  v.master_down = st.leader == kNoNode;
  const bool state_known = v.master_down ? current_ == kNoNode : current_ == st.leader;
  v.master_state_ms = state_known ? std::max<int64_t>(0, now_ms - since_ms_) : 0;
  return v;
}

std::string switch_master_message(const SentinelView& view, NodeId from, NodeId to) {
  const SentinelMember* old_master = view.find(from);
  const SentinelMember* new_master = view.find(to);
  if (old_master == nullptr || new_master == nullptr) return "";
  const auto [old_host, old_port] = split_address(old_master->client_address);
  const auto [new_host, new_port] = split_address(new_master->client_address);
  return fmt::format("{} {} {} {} {}", view.master_name, old_host, old_port, new_host, new_port);
}

void write_sentinel_reply(const SentinelView& v, std::span<const std::string_view> argv,
                          resp::Writer& w) {
  const std::string sub = lower(argv[1]);
  const Subcommand* s = std::ranges::find(kSubcommands, sub, &Subcommand::name);
  if (s == std::end(kSubcommands)) {
    if (std::ranges::find(kUnsupportedSubcommands, sub) != kUnsupportedSubcommands.end()) {
      w.error(fmt::format(
          "ERR SENTINEL {} is not supported: the cluster's membership and failover are Raft's "
          "(use FAILOVER on the leader to hand leadership over)",
          sub));
    } else {
      w.error(unknown_subcommand_message("sentinel", argv[1]));
    }
    return;
  }
  if (argv.size() != s->argc) {
    w.error(fmt::format("ERR wrong number of arguments for 'sentinel|{}' command", sub));
    return;
  }
  if (sub == "help") return write_help(w);
  if (sub == "masters") {
    w.array(1);
    return write_master(v, w);
  }
  if (sub == "myid") return w.bulk(run_id(v, v.self));
  const bool known = argv[2] == v.master_name;  // case-sensitive, as Sentinel's
  if (sub == "get-master-addr-by-name") {
    const SentinelMember* m = known ? v.find(v.master) : nullptr;
    if (m == nullptr) return w.null_array();
    const auto [host, port] = split_address(m->client_address);
    w.array(2);
    w.bulk(host);
    w.bulk(port);
    return;
  }
  if (!known) return w.error("ERR No such master with that name");
  if (sub == "master") return write_master(v, w);
  if (sub == "ckquorum") return write_ckquorum(v, w);
  if (sub == "replicas" || sub == "slaves") {
    w.array(replica_count(v));
    for (const SentinelMember& m : v.members) {
      if (m.id != v.master) write_replica(v, m, w);
    }
    return;
  }
  BW_ASSERT(sub == "sentinels");
  w.array(v.members.size() - 1);
  for (const SentinelMember& m : v.members) {
    if (m.id != v.self) write_sentinel(v, m, w);
  }
}

void write_sentinel_role(const SentinelView& v, resp::Writer& w) {
  w.array(2);
  w.bulk("sentinel");
  w.array(1);
  w.bulk(v.master_name);
}

std::string render_sentinel_info(const Node& node, const SentinelView& v,
                                 std::span<const std::string_view> sections) {
  std::set<std::string> wanted;
  for (std::string_view s : sections) wanted.insert(lower(s));
  const bool everything = wanted.empty() || wanted.contains("default") || wanted.contains("all") ||
                          wanted.contains("everything");
  const NodeConfig& c = node.config();
  std::string o;
  if (everything || wanted.contains("server")) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t up_s = (now_ms - node.started_ms()) / 1000;
    o += "# Server\r\n";
    o +=
        fmt::format("redis_version:{}\r\nbellwether_version:{}\r\n", kRedisCompatVersion, kVersion);
    o += "redis_mode:sentinel\r\nos:Linux\r\narch_bits:64\r\nmultiplexing_api:epoll\r\n";
    o += fmt::format("process_id:{}\r\nrun_id:{}\r\n", ::getpid(), run_id(v, v.self));
    o += fmt::format("tcp_port:{}\r\n", split_address(c.sentinel_listen).second);
    o += fmt::format("uptime_in_seconds:{}\r\nuptime_in_days:{}\r\n\r\n", up_s, up_s / 86400);
  }
  if (everything || wanted.contains("clients")) {
    o += fmt::format("# Clients\r\nconnected_clients:{}\r\n\r\n", node.session_count());
  }
  if (everything || wanted.contains("sentinel")) {
    const SentinelMember* m = v.find(v.master);
    const bool reachable = m != nullptr && m->online;
    const std::string_view status = v.master_down ? "odown" : (reachable ? "ok" : "sdown");
    o += "# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n";
    o += "sentinel_tilt_since_seconds:-1\r\nsentinel_running_scripts:0\r\n";
    o += "sentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\n";
    o += fmt::format("master0:name={},status={},address={},slaves={},sentinels={}\r\n\r\n",
                     v.master_name, status, m != nullptr ? m->client_address : "?:0",
                     replica_count(v), v.members.size());
  }
  if (o.size() >= 2) o.resize(o.size() - 2);  // Redis ends without the last blank line
  return o;
}

bool sentinel_port_command(std::string_view name) {
  return std::ranges::binary_search(kSentinelPortCommands, lower(name));
}

}  // namespace bw::server
