#include "server/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "absl/strings/str_split.h"
#include "net/peer_transport.h"

namespace bw::server {

Result<std::string> shift_port(std::string_view address, int delta) {
  BW_ASSIGN_OR_RETURN(auto endpoint, net::parse_endpoint(address));
  int port = endpoint.port() + delta;
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("port of '{}' + {} is out of range", address, delta));
  }
  size_t colon = address.rfind(':');
  return fmt::format("{}:{}", address.substr(0, colon), port);
}

Result<std::vector<PeerSpec>> parse_peers(std::string_view text) {
  std::vector<PeerSpec> peers;
  for (absl::string_view item_a :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ',', absl::SkipWhitespace())) {
    std::string_view item = to_std(item_a);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("peers: '{}' is not id=host:port", item));
    }
    uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + eq, id);
    if (ec != std::errc() || ptr != item.data() + eq || id == 0) {
      return absl::InvalidArgumentError(fmt::format("peers: '{}' has no valid node id", item));
    }
    std::string_view addrs = item.substr(eq + 1);
    PeerSpec p{.id = NodeId(id)};
    size_t slash = addrs.find('/');
    p.client_address = std::string(addrs.substr(0, slash));
    BW_RETURN_IF_ERROR(net::parse_endpoint(p.client_address).status());
    if (slash != std::string_view::npos) {
      p.peer_address = std::string(addrs.substr(slash + 1));
      BW_RETURN_IF_ERROR(net::parse_endpoint(p.peer_address).status());
    } else {
      BW_ASSIGN_OR_RETURN(p.peer_address, shift_port(p.client_address, 10000));
    }
    for (const auto& q : peers) {
      if (q.id == p.id)
        return absl::InvalidArgumentError(fmt::format("peers: node {} listed twice", id));
    }
    peers.push_back(std::move(p));
  }
  return peers;
}

Result<DebugCommandAccess> parse_debug_command_access(std::string_view text) {
  if (text == "no") return DebugCommandAccess::kNo;
  if (text == "yes") return DebugCommandAccess::kYes;
  if (text == "local") return DebugCommandAccess::kLocal;
  return absl::InvalidArgumentError(
      fmt::format("enable-debug-command: '{}' is not no, yes or local", text));
}

std::string_view debug_command_access_name(DebugCommandAccess access) {
  switch (access) {
    case DebugCommandAccess::kNo:
      return "no";
    case DebugCommandAccess::kYes:
      return "yes";
    case DebugCommandAccess::kLocal:
      return "local";
  }
  return "no";
}

Status check_sentinel_master_name(std::string_view name) {
  const bool printable =
      std::all_of(name.begin(), name.end(), [](unsigned char ch) { return ch > ' ' && ch <= '~'; });
  if (name.empty() || name.size() > kSentinelMasterNameBytesMax || !printable) {
    return absl::InvalidArgumentError(
        fmt::format("sentinel-master-name: '{}' must be 1 to {} printable characters without "
                    "spaces",
                    name, kSentinelMasterNameBytesMax));
  }
  return OkStatus();
}

Status finalize(NodeConfig* c) {
  if (!c->join.empty()) {
    if (!c->peers.empty())
      return absl::InvalidArgumentError("join: give --join or --peers, not both");
    BW_RETURN_IF_ERROR(net::parse_endpoint(c->join).status());
  } else if (c->join_replaces != kNoNode) {
    return absl::InvalidArgumentError("replace: only with --join");
  }
  if (c->id == kNoNode && c->join.empty()) {
    return absl::InvalidArgumentError("id: a node id (1, 2, ...) is required (or --join)");
  }
  BW_RETURN_IF_ERROR(net::parse_endpoint(c->listen).status());
  if (c->peer_listen.empty()) {
    BW_ASSIGN_OR_RETURN(c->peer_listen, shift_port(c->listen, 10000));
  }
  BW_RETURN_IF_ERROR(net::parse_endpoint(c->peer_listen).status());
  if (c->join.empty() && !c->peer_advertise.empty()) {
    // A founding member's peer address is the one --peers gives for it.
    return absl::InvalidArgumentError("peer-advertise: only with --join");
  }
  if (!c->join.empty()) {
    if (c->peer_advertise.empty()) c->peer_advertise = c->peer_listen;
    BW_RETURN_IF_ERROR(net::parse_endpoint(c->peer_advertise).status());
  }
  if (c->peers.empty() && c->join.empty()) {
    c->peers.push_back(
        PeerSpec{.id = c->id, .client_address = c->listen, .peer_address = c->peer_listen});
  }
  auto self = std::find_if(c->peers.begin(), c->peers.end(),
                           [&](const PeerSpec& p) { return p.id == c->id; });
  if (c->join.empty() && self == c->peers.end()) {
    return absl::InvalidArgumentError(fmt::format("peers: this node's id {} is not listed", c->id));
  }
  if (c->data_dir.empty())
    return absl::InvalidArgumentError("data-dir: a data directory is required");
  if (c->tick_ms == 0) return absl::InvalidArgumentError("tick-ms: must be positive");
  if (c->heartbeat_ticks == 0 || c->election_ticks <= c->heartbeat_ticks) {
    return absl::InvalidArgumentError("election-ticks must exceed heartbeat-ticks (> 0)");
  }
  if (c->snapshot_entries == 0)
    return absl::InvalidArgumentError("snapshot-entries: must be positive");
  BW_RETURN_IF_ERROR(check_sentinel_master_name(c->sentinel_master_name));
  if (!c->sentinel_listen.empty()) {
    auto endpoint = net::parse_endpoint(c->sentinel_listen);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("sentinel-listen: {}", endpoint.status().message()));
    }
    if (c->sentinel_listen == c->listen || c->sentinel_listen == c->peer_listen) {
      return absl::InvalidArgumentError(fmt::format(
          "sentinel-listen: {} is already the client or the peer address", c->sentinel_listen));
    }
  }
  if (c->tls_port != 0) {
    BW_ASSIGN_OR_RETURN(auto plain, net::parse_endpoint(c->listen));
    if (c->tls_port == plain.port()) {
      return absl::InvalidArgumentError(
          fmt::format("tls-port: {} is already the plain client port", c->tls_port));
    }
    if (c->tls.cert_file.empty() || c->tls.key_file.empty()) {
      return absl::InvalidArgumentError("tls-port: needs tls-cert-file and tls-key-file");
    }
  }
  if (!c->metrics_listen.empty()) {
    auto endpoint = net::parse_endpoint(c->metrics_listen);
    if (!endpoint.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("metrics-listen: {}", endpoint.status().message()));
    }
    if (c->metrics_listen == c->listen || c->metrics_listen == c->peer_listen ||
        c->metrics_listen == c->sentinel_listen) {
      return absl::InvalidArgumentError(fmt::format(
          "metrics-listen: {} is already the client, peer or sentinel address", c->metrics_listen));
    }
  }
  return OkStatus();
}

}  // namespace bw::server
