#include "server/dashboard.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

namespace bw::server {

namespace {

using Fields = std::map<std::string, std::string>;
using nlohmann::json;

std::optional<std::string> field(const Fields& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

template <typename T>
std::optional<T> number(const Fields& m, const std::string& key) {
  auto v = field(m, key);
  if (!v) return std::nullopt;
  T out{};
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return out;
}

// A number if the field is one, else null: the page shows "?" for what a node did not say.
template <typename T>
json number_or_null(const Fields& m, const std::string& key) {
  auto v = number<T>(m, key);
  return v ? json(*v) : json(nullptr);
}

std::string_view outcome_name(ProbeOutcome o) {
  switch (o) {
    case ProbeOutcome::kAnswered:
      return "up";
    case ProbeOutcome::kDown:
      return "down";
    case ProbeOutcome::kNoReply:
      return "unreachable";
    case ProbeOutcome::kError:
      break;
  }
  return "error";
}

// The leader of the highest term among the nodes that answered (a deposed leader cut off from
// the others may still believe it leads), or null.
const NodeProbe* current_leader(const std::vector<NodeProbe>& probes) {
  const NodeProbe* leader = nullptr;
  std::optional<uint64_t> leader_term;
  for (const auto& p : probes) {
    if (p.outcome != ProbeOutcome::kAnswered || field(p.info, "raft_role") != "leader") continue;
    auto term = number<uint64_t>(p.info, "raft_term");
    if (leader_term && (!term || *term <= *leader_term)) continue;
    leader_term = term.value_or(0);
    leader = &p;
  }
  return leader;
}

// What `viewer` reports about member `id` on its raft_peer<id> line.
Fields peer_view(const NodeProbe* viewer, const std::string& id) {
  if (viewer == nullptr) return {};
  auto it = viewer->info.find("raft_peer" + id);
  return it == viewer->info.end() ? Fields{} : parse_info_pairs(it->second);
}

// cmdstat_<name> and latency_percentiles_usec_<name> lines, by command.
json command_figures(const Fields& info) {
  json out = json::object();
  constexpr std::string_view kCalls = "cmdstat_";
  constexpr std::string_view kLatency = "latency_percentiles_usec_";
  for (const auto& [key, value] : info) {
    if (key.rfind(kCalls, 0) == 0) {
      const Fields f = parse_info_pairs(value);
      json& c = out[key.substr(kCalls.size())];
      c["calls"] = number_or_null<uint64_t>(f, "calls");
      c["usec"] = number_or_null<uint64_t>(f, "usec");
      c["failed"] = number_or_null<uint64_t>(f, "failed_calls");
    } else if (key.rfind(kLatency, 0) == 0) {
      const Fields f = parse_info_pairs(value);
      json& c = out[key.substr(kLatency.size())];
      for (const char* p : {"p50", "p99", "p99.9"}) {
        auto v = field(f, p);
        c[p] = v ? json(std::strtod(v->c_str(), nullptr)) : json(nullptr);
      }
    }
  }
  return out;
}

json node_json(const NodeProbe& p, const NodeProbe* leader, const NodeProbe* self) {
  json n;
  n["id"] = p.id;
  n["address"] = p.address;
  n["state"] = outcome_name(p.outcome);
  // Membership details as the leader records them, else as the serving node does.
  const Fields view = leader != nullptr ? peer_view(leader, p.id) : peer_view(self, p.id);
  n["learner"] = field(view, "role") == "learner";
  if (p.outcome != ProbeOutcome::kAnswered) {
    n["reason"] = p.reason;
    n["role"] = outcome_name(p.outcome);
    return n;
  }
  const Fields& m = p.info;
  n["role"] = field(m, "raft_role").value_or("?");
  n["term"] = number_or_null<uint64_t>(m, "raft_term");
  n["leader_id"] = number_or_null<uint64_t>(m, "raft_leader_id");
  n["commit"] = number_or_null<uint64_t>(m, "raft_commit_index");
  n["applied"] = number_or_null<uint64_t>(m, "raft_applied_index");
  n["last_index"] = number_or_null<uint64_t>(m, "raft_last_index");
  n["leader_contact_ms"] = number_or_null<int64_t>(m, "raft_last_leader_contact_ms");
  n["commands_total"] = number_or_null<uint64_t>(m, "total_commands_processed");
  n["connected_clients"] = number_or_null<uint64_t>(m, "connected_clients");
  n["commands"] = command_figures(m);
  auto applied = number<uint64_t>(m, "raft_applied_index");
  auto leader_last = leader != nullptr ? number<uint64_t>(leader->info, "raft_last_index")
                                       : std::optional<uint64_t>();
  n["lag"] = applied && leader_last ? json(*leader_last > *applied ? *leader_last - *applied : 0)
                                    : json(nullptr);
  // A learner (or any follower) catching up: the leader streaming it a snapshot.
  auto sent = number<uint64_t>(view, "snapshot_sent");
  auto total = number<uint64_t>(view, "snapshot_total");
  if (sent && total && *total > 0) n["snapshot"] = {{"sent", *sent}, {"total", *total}};
  return n;
}

}  // namespace

std::string dashboard_probe_address(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return std::string(listen);
  std::string_view host = listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") host = "127.0.0.1";
  return fmt::format("{}:{}", host, listen.substr(colon + 1));
}

std::string cluster_json(const std::vector<NodeProbe>& probes, const std::string& self_id,
                         int64_t now_ms) {
  const NodeProbe* leader = current_leader(probes);
  const NodeProbe* self = nullptr;
  for (const auto& p : probes) {
    if (p.id == self_id) self = &p;
  }
  json doc;
  doc["time_ms"] = now_ms;
  doc["self"] = self_id;
  doc["cluster_id"] = self != nullptr ? field(self->info, "raft_cluster_id").value_or("") : "";
  if (leader != nullptr) {
    doc["leader"] = {{"id", leader->id},
                     {"address", leader->address},
                     {"term", number_or_null<uint64_t>(leader->info, "raft_term")}};
  } else {
    doc["leader"] = nullptr;
  }
  doc["nodes"] = json::array();
  for (const auto& p : probes) doc["nodes"].push_back(node_json(p, leader, self));
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string cluster_error_json(std::string_view error, int64_t now_ms) {
  json doc;
  doc["time_ms"] = now_ms;
  doc["error"] = std::string(error);
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace bw::server
