// Mutual TLS between nodes (tls-cluster): the peer transport's two contexts, built from the
// node's client TLS files.
#include <fmt/format.h>

#include "server/node.h"

namespace bw::server {

Result<PeerTlsContexts> make_peer_tls_contexts(const NodeConfig& config) {
  if (!config.tls_cluster) return PeerTlsContexts{};
  if (config.tls.cert_file.empty() || config.tls.key_file.empty() ||
      config.tls.ca_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "tls-cluster: needs tls-cert-file, tls-key-file and tls-ca-cert-file");
  }
  net::TlsOptions o = config.tls;
  // Both sides present the node certificate and verify the other's against the cluster CA; host
  // names are not checked (the CA is the cluster's own).
  o.verify_peer = net::TlsVerify::kYes;
  o.verify_host.clear();
  PeerTlsContexts out;
  auto server = net::make_tls_context(o, net::TlsRole::kServer);
  if (!server.ok()) {
    return absl::InvalidArgumentError(fmt::format("tls-cluster: {}", server.status().message()));
  }
  auto client = net::make_tls_context(o, net::TlsRole::kClient);
  if (!client.ok()) {
    return absl::InvalidArgumentError(fmt::format("tls-cluster: {}", client.status().message()));
  }
  out.server = std::move(*server);
  out.client = std::move(*client);
  return out;
}

}  // namespace bw::server
