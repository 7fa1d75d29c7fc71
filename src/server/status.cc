#include "server/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <future>
#include <optional>
#include <string_view>

#include "absl/strings/ascii.h"
#include "server/admin_client.h"

namespace bw::server {

namespace {

// A paused node accepts the connection (the kernel does) but never answers: this long is
// enough for a live node on a loaded machine and keeps `status` quick.
constexpr std::chrono::milliseconds kNodeReplyTimeout{1000};
// Nodes asked at once, one thread each; a larger cluster is asked in several rounds.
constexpr size_t kProbesInFlightMax = 16;
constexpr std::string_view kUnknown = "?";

using Fields = std::map<std::string, std::string>;

std::string text(const Fields& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() || it->second.empty() ? std::string(kUnknown) : it->second;
}

template <typename T>
std::optional<T> number(const Fields& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  const std::string& s = it->second;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

template <typename T>
std::string number_text(const Fields& m, const std::string& key) {
  auto v = number<T>(m, key);
  return v ? std::to_string(*v) : std::string(kUnknown);
}

std::string duration(int64_t ms) {
  if (ms < 1000) return fmt::format("{} ms", ms);
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000);
}

// How long ago the nodes that answered last heard from node `id`: the freshest of their views.
std::string last_heard(const std::vector<NodeProbe>& probes, const std::string& id) {
  std::optional<int64_t> freshest_ms;
  bool reported = false;
  for (const auto& p : probes) {
    if (p.outcome != ProbeOutcome::kAnswered || p.id == id) continue;
    auto peer = p.info.find("raft_peer" + id);
    if (peer == p.info.end()) continue;
    auto ms = number<int64_t>(parse_info_pairs(peer->second), "last_heard_ms");
    if (!ms) continue;
    reported = true;
    if (*ms >= 0 && (!freshest_ms || *ms < *freshest_ms)) freshest_ms = *ms;
  }
  if (freshest_ms) return fmt::format("last heard {} ago", duration(*freshest_ms));
  return reported ? "never heard since the other nodes started" : "last heard ?";
}

using Row = std::array<std::string, 9>;

std::string format_row(const Row& r) {
  return fmt::format("{:<4} {:<21} {:<13} {:>6} {:>7} {:>10} {:>10} {:>8}  {}\n", r[0], r[1], r[2],
                     r[3], r[4], r[5], r[6], r[7], r[8]);
}

// Raft's leader id 0 means none is known.
std::string leader_text(std::optional<uint64_t> leader_id) {
  if (!leader_id) return std::string(kUnknown);
  return *leader_id == 0 ? "-" : std::to_string(*leader_id);
}

// "; snapshot 1.2/40.0 MB sent" while the leader streams a snapshot to node `id`, else "".
std::string catch_up(const NodeProbe* leader, const std::string& id) {
  if (leader == nullptr) return "";
  auto peer = leader->info.find("raft_peer" + id);
  if (peer == leader->info.end()) return "";
  const Fields f = parse_info_pairs(peer->second);
  auto sent = number<uint64_t>(f, "snapshot_sent");
  auto total = number<uint64_t>(f, "snapshot_total");
  if (!sent || !total || *total == 0) return "";
  return fmt::format("; snapshot {:.1f}/{:.1f} MB sent", static_cast<double>(*sent) / 1e6,
                     static_cast<double>(*total) / 1e6);
}

Row answered_row(const NodeProbe& p, std::optional<uint64_t> leader_last_index,
                 const NodeProbe* leader) {
  const Fields& m = p.info;
  const std::string role = text(m, "raft_role");
  auto applied = number<uint64_t>(m, "raft_applied_index");
  std::string lag(kUnknown);
  if (leader_last_index && applied) {
    lag = std::to_string(*leader_last_index > *applied ? *leader_last_index - *applied : 0);
  }
  auto leader_id = number<uint64_t>(m, "raft_leader_id");
  std::string contact = "-";
  if (role != "leader") {
    auto ms = number<int64_t>(m, "raft_last_leader_contact_ms");
    if (!ms) {
      contact = kUnknown;
    } else if (leader_id == 0u) {
      contact = fmt::format("no leader for {}", duration(*ms));
    } else {
      contact = fmt::format("leader heard {} ago", duration(*ms));
    }
    contact += catch_up(leader, p.id);
  }
  return {p.id,
          p.address,
          role,
          number_text<uint64_t>(m, "raft_term"),
          leader_text(leader_id),
          number_text<uint64_t>(m, "raft_commit_index"),
          number_text<uint64_t>(m, "raft_applied_index"),
          lag,
          contact};
}

Row silent_row(const NodeProbe& p, const std::vector<NodeProbe>& probes,
               std::chrono::milliseconds reply_timeout) {
  std::string role, why;
  switch (p.outcome) {
    case ProbeOutcome::kDown:
      role = "down";
      why = p.reason;
      break;
    case ProbeOutcome::kNoReply:
      role = "unreachable";
      why = fmt::format("no reply in {} ms", reply_timeout.count());
      break;
    case ProbeOutcome::kError:
    case ProbeOutcome::kAnswered:
      role = "error";
      why = p.reason;
      break;
  }
  const std::string q(kUnknown);
  return {
      p.id, p.address, role, q, q, q, q, q, fmt::format("{}; {}", why, last_heard(probes, p.id))};
}

// The status's message without the address admin_command puts before it, in lower case:
// "cannot connect to 127.0.0.1:7002: Connection refused" -> "connection refused".
std::string reason_of(std::string_view message) {
  size_t sep = message.rfind(": ");
  if (sep != std::string_view::npos) message.remove_prefix(sep + 2);
  return absl::AsciiStrToLower(absl::string_view(message.data(), message.size()));
}

void record(const Result<std::string>& reply, NodeProbe* p) {
  if (reply.ok()) {
    p->outcome = ProbeOutcome::kAnswered;
    for (auto& [k, v] : parse_info(*reply)) p->info[k] = v;
    return;
  }
  const Status& st = reply.status();
  p->reason = reason_of(std::string_view(st.message().data(), st.message().size()));
  if (absl::IsUnavailable(st)) {
    p->outcome = ProbeOutcome::kDown;
  } else if (absl::IsDeadlineExceeded(st)) {
    p->outcome = ProbeOutcome::kNoReply;
  } else {
    p->outcome = ProbeOutcome::kError;
    p->reason = std::string(st.message());  // e.g. an error reply: its whole text
  }
}

std::vector<std::string> info_command(const std::vector<std::string>& sections) {
  std::vector<std::string> argv{"INFO", "raft"};
  argv.insert(argv.end(), sections.begin(), sections.end());
  return argv;
}

NodeProbe probe(NodeProbe p, const std::vector<std::string>& argv,
                const ClientConnectOptions& connect) {
  if (p.address == kUnknown) {
    p.outcome = ProbeOutcome::kError;
    p.reason = "no client address known";
    return p;
  }
  record(admin_command(p.address, argv, kNodeReplyTimeout, connect), &p);
  return p;
}

std::optional<int> port_of(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  int port = 0;
  auto [end, ec] =
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  if (ec != std::errc() || end != address.data() + address.size()) return std::nullopt;
  return port;
}

// `address` with its port moved by `offset`; unchanged if it has no port or the result is out
// of range.
std::string shift_address_port(const std::string& address, int offset) {
  auto port = port_of(address);
  if (!port || *port + offset <= 0 || *port + offset > 65535) return address;
  return fmt::format("{}:{}", address.substr(0, address.rfind(':')), *port + offset);
}

// Numeric ids first, in order; anything else after them.
bool by_id(const NodeProbe& a, const NodeProbe& b) {
  auto num = [](const std::string& id) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    return ec == std::errc() && end == id.data() + id.size() ? v : UINT64_MAX;
  };
  return std::pair(num(a.id), a.id) < std::pair(num(b.id), b.id);
}

// The members `first` lists, `first` itself among them with its answer; the others not yet asked.
std::vector<NodeProbe> members(const NodeProbe& first) {
  std::vector<NodeProbe> out;
  bool self_listed = false;
  for (const auto& [key, value] : first.info) {
    if (key.rfind("raft_peer", 0) != 0 || key.size() == 9) continue;
    NodeProbe p;
    p.id = key.substr(9);
    p.address = text(parse_info_pairs(value), "addr");
    if (p.id == first.id) {
      p.info = first.info;
      self_listed = true;
    }
    out.push_back(std::move(p));
  }
  if (!self_listed) out.push_back(first);
  std::sort(out.begin(), out.end(), by_id);
  return out;
}

std::string first_error(const std::string& endpoint, const NodeProbe& first) {
  switch (first.outcome) {
    case ProbeOutcome::kDown:
      return fmt::format("cannot reach {} ({}); name a running node with --endpoint", endpoint,
                         first.reason);
    case ProbeOutcome::kNoReply:
      return fmt::format(
          "{} did not reply within {} ms (paused or overloaded?); name another node with "
          "--endpoint",
          endpoint, kNodeReplyTimeout.count());
    case ProbeOutcome::kError:
      return fmt::format("{}: {}", endpoint, first.reason);
    case ProbeOutcome::kAnswered:
      break;
  }
  return fmt::format("{} answered INFO without a raft section; is it a Bellwether node?", endpoint);
}

}  // namespace

std::map<std::string, std::string> parse_info_pairs(std::string_view v) {
  std::map<std::string, std::string> out;
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view part = v.substr(0, comma);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      out.emplace(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

std::string render_status(const std::vector<NodeProbe>& probes,
                          std::chrono::milliseconds reply_timeout) {
  // The leader of the highest term that answered: a deposed leader cut off from the others may
  // still believe it leads.
  std::optional<uint64_t> leader_term, leader_last_index;
  const NodeProbe* leader = nullptr;
  for (const auto& p : probes) {
    if (p.outcome != ProbeOutcome::kAnswered || text(p.info, "raft_role") != "leader") continue;
    auto term = number<uint64_t>(p.info, "raft_term");
    if (leader_term && (!term || *term <= *leader_term)) continue;
    leader_term = term.value_or(0);
    leader_last_index = number<uint64_t>(p.info, "raft_last_index");
    leader = &p;
  }
  std::string out = format_row({"NODE", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED",
                                "LAG", "LAST CONTACT / STATE"});
  for (const auto& p : probes) {
    out +=
        format_row(p.outcome == ProbeOutcome::kAnswered ? answered_row(p, leader_last_index, leader)
                                                        : silent_row(p, probes, reply_timeout));
  }
  return out;
}

Result<std::vector<NodeProbe>> probe_cluster(const std::string& endpoint,
                                             const std::vector<std::string>& sections,
                                             const ClientConnectOptions& connect) {
  const std::vector<std::string> argv = info_command(sections);
  NodeProbe first;
  first.address = endpoint;
  record(admin_command(endpoint, argv, kNodeReplyTimeout, connect), &first);
  auto self = first.info.find("raft_node_id");
  if (first.outcome != ProbeOutcome::kAnswered || self == first.info.end()) {
    return absl::UnavailableError(first_error(endpoint, first));
  }
  first.id = self->second;
  std::vector<NodeProbe> probes = members(first);
  int tls_offset = 0;
  if (connect.tls) {
    for (const NodeProbe& p : probes) {
      if (p.id != first.id) continue;
      auto asked = port_of(endpoint);
      auto client = port_of(p.address);
      if (asked && client) tls_offset = *asked - *client;
    }
  }
  std::vector<size_t> to_ask;
  for (size_t i = 0; i < probes.size(); ++i) {
    if (probes[i].id == first.id) {
      probes[i].address = endpoint;
    } else {
      probes[i].address = shift_address_port(probes[i].address, tls_offset);
      to_ask.push_back(i);
    }
  }
  for (size_t start = 0; start < to_ask.size(); start += kProbesInFlightMax) {
    const size_t end = std::min(to_ask.size(), start + kProbesInFlightMax);
    std::vector<std::future<NodeProbe>> round;
    // async | deferred: should no thread be available, a probe runs in get() instead of throwing.
    for (size_t j = start; j < end; ++j) {
      round.push_back(std::async(std::launch::async | std::launch::deferred, probe,
                                 probes[to_ask[j]], std::cref(argv), std::cref(connect)));
    }
    for (size_t j = start; j < end; ++j) probes[to_ask[j]] = round[j - start].get();
  }
  return probes;
}

int print_status(const std::string& endpoint, const ClientConnectOptions& connect) {
  auto probes = probe_cluster(endpoint, {}, connect);
  if (!probes.ok()) {
    std::fprintf(stderr, "status: %s\n", std::string(probes.status().message()).c_str());
    return 1;
  }
  std::fputs(render_status(*probes, kNodeReplyTimeout).c_str(), stdout);
  return 0;
}

}  // namespace bw::server
