// TLS material of a local cluster (`cluster up --tls`): a CA, a certificate per node and one for
// clients, made with the `openssl` command under <dir>/tls, and a random cluster secret file.
// Existing files are kept, so a cluster directory started again keeps its CA.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace bw::server {

// A local node's TLS client port: its client port plus this (the plain port stays on loopback).
inline constexpr int kTlsPortOffset = 100;
// Validity of the certificates made, in days.
inline constexpr int kLocalCertDays = 825;
// Random bytes of a made cluster secret (written as hex).
inline constexpr size_t kLocalSecretBytes = 32;

struct ClusterTlsPaths {
  std::filesystem::path ca_cert;
  std::filesystem::path client_cert;
  std::filesystem::path client_key;
  std::filesystem::path secret;
};

ClusterTlsPaths cluster_tls_paths(const std::filesystem::path& dir);
bool has_cluster_tls(const std::filesystem::path& dir);

// Makes the CA, the client certificate and the cluster secret (mode 0600) if missing.
Status make_cluster_tls(const std::filesystem::path& dir);
// Makes node `label`'s key and certificate (SAN IP:127.0.0.1, DNS:localhost) if missing.
Status make_node_cert(const std::filesystem::path& dir, int label);

// Flags every node of a TLS cluster gets: the CA, tls-auth-clients, peer TLS and the secret.
std::vector<std::string> cluster_tls_args(const std::filesystem::path& dir);
// Node `label`'s own flags: its certificate, key and TLS port.
std::vector<std::string> node_tls_args(const std::filesystem::path& dir, int label,
                                       int client_port);
// The redis-cli command line that reaches `client_port`'s node over TLS.
std::string redis_cli_tls_command(const std::filesystem::path& dir, int client_port);

}  // namespace bw::server
