// TLS of a node: the client and peer TLS contexts (built at start, rebuilt by CONFIG SET tls-* and
// SIGHUP), and how the node reaches other members' client ports (join, dashboard probes).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/tls.h"
#include "server/node.h"

namespace bw::server {

Status Node::reload_tls() {
  // Peer links (tls-cluster) use the same files; new contexts apply to links opened afterwards.
  auto peer_tls = make_peer_tls_contexts(config_);
  if (!peer_tls.ok()) {
    spdlog::warn("node {}: TLS settings not loaded, the previous ones stay: {}", config_.id,
                 peer_tls.status().message());
    return peer_tls.status();
  }
  if (config_.tls_port == 0) {
    transport_->set_tls(peer_tls->server, peer_tls->client);
    return OkStatus();
  }
  auto context = net::make_tls_context(config_.tls, net::TlsRole::kServer);
  if (!context.ok()) {
    // At start there is nothing to keep: start() fails with the same reason.
    if (tls_context_ != nullptr) {
      spdlog::warn("node {}: TLS settings not loaded, the previous ones stay: {}", config_.id,
                   context.status().message());
    }
    return context.status();
  }
  const bool first = tls_context_ == nullptr;
  tls_context_ = std::move(*context);
  transport_->set_tls(peer_tls->server, peer_tls->client);
  spdlog::info("node {}: TLS {} (certificate {}, CA {}, client certificates {})", config_.id,
               first ? "loaded" : "reloaded", config_.tls.cert_file,
               config_.tls.ca_cert_file.empty() ? "none" : config_.tls.ca_cert_file,
               net::tls_verify_name(config_.tls.verify_peer));
  return OkStatus();
}

ClientConnectOptions Node::member_connect_options() const {
  ClientConnectOptions o;
  o.user = config_.masteruser;
  o.pass = config_.masterauth;
  if (config_.tls_port != 0) {
    o.tls = true;
    o.tls_options = config_.tls;
    o.tls_options.verify_peer = net::TlsVerify::kYes;  // the other member's certificate
  }
  return o;
}

std::string Node::member_client_address() const {
  if (config_.tls_port == 0) return config_.listen;
  return fmt::format("{}:{}", config_.listen.substr(0, config_.listen.rfind(':')),
                     config_.tls_port);
}

}  // namespace bw::server
