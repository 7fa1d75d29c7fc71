// Peer authentication: the handshake that opens every link between two nodes.
//
// The dialing node (D) and the accepting node (A) prove to each other that they hold the cluster
// secret, without sending it, by a challenge-response over fresh random nonces (docs/security.md,
// "Peer authentication and TLS between nodes"):
//
//   D -> A  kHello     cluster id | D's node id | nonce_d
//   A -> D  kHelloAck  A's node id | nonce_a | HMAC(secret, "A" | cluster | D | A | nonce_d |
//   nonce_a) D -> A  kAuth      HMAC(secret, "D" | cluster | D | A | nonce_d | nonce_a)
//
// Each side's proof covers the other side's fresh nonce, so a recorded handshake replayed on a new
// connection fails; the direction byte keeps one side's proof from being reflected as the other's.
// A node may hold two secrets (rotation): it proves with the first and accepts either. Without a
// configured secret the same exchange runs with an empty key, which checks the cluster id and node
// ids only. The secret authenticates the link's opening, not the frames after it: without TLS the
// traffic can be read, and altered by anyone able to take over the TCP connection.
//
// Everything here is pure (no sockets, no clock) and safe on untrusted bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"

namespace bw::net {

inline constexpr size_t kPeerNonceBytes = 32;
inline constexpr size_t kPeerProofBytes = 32;  // HMAC-SHA256
inline constexpr size_t kClusterIdBytesMax = 256;
// A cluster secret file: one or two non-empty lines (current, then previous), each of
// kClusterSecretBytesMin to kClusterSecretBytesMax bytes.
inline constexpr size_t kClusterSecretsMax = 2;
inline constexpr size_t kClusterSecretBytesMin = 16;
inline constexpr size_t kClusterSecretBytesMax = 1024;
inline constexpr size_t kClusterSecretFileBytesMax = 4096;

using PeerNonce = std::array<uint8_t, kPeerNonceBytes>;
using PeerProof = std::array<uint8_t, kPeerProofBytes>;

// The secrets a node holds: the first proves, every one is accepted. Empty: no secret.
struct ClusterSecrets {
  std::vector<std::string> secrets;
  bool configured() const { return !secrets.empty(); }
};

// Reads a cluster secret file. Refuses a file that group or others may read or write, an empty
// file, more than kClusterSecretsMax lines, or a secret outside the length bounds; errors name the
// file but never its content.
Result<ClusterSecrets> load_cluster_secrets(const std::string& path);

struct HelloMsg {
  std::string_view cluster_id;
  NodeId from;
  PeerNonce nonce{};
};
struct HelloAckMsg {
  NodeId from;
  PeerNonce nonce{};
  PeerProof proof{};
};
struct AuthMsg {
  PeerProof proof{};
};

std::string encode_hello(const HelloMsg& m);
std::string encode_hello_ack(const HelloAckMsg& m);
std::string encode_auth(const AuthMsg& m);
// Decoders of untrusted payloads: exact sizes, no trailing bytes. HelloMsg::cluster_id points
// into `payload`.
Result<HelloMsg> decode_hello(std::string_view payload);
Result<HelloAckMsg> decode_hello_ack(std::string_view payload);
Result<AuthMsg> decode_auth(std::string_view payload);

// Fresh nonce from OpenSSL's CSPRNG.
PeerNonce random_nonce();

enum class ProofSide : uint8_t { kAcceptor = 'A', kDialer = 'D' };

// What both proofs of one handshake are computed over.
struct HandshakeTranscript {
  std::string_view cluster_id;
  NodeId dialer;
  NodeId acceptor;
  PeerNonce dialer_nonce{};
  PeerNonce acceptor_nonce{};
};

// HMAC-SHA256 over the transcript and the side, keyed by `secret`.
PeerProof compute_proof(std::string_view secret, ProofSide side, const HandshakeTranscript& t);
// The proof this node sends (keyed by its first secret, or the empty key without one).
PeerProof make_proof(const ClusterSecrets& secrets, ProofSide side, const HandshakeTranscript& t);
// Whether `proof` was made with any of `secrets` (the empty key without one); constant-time
// comparison.
bool check_proof(const ClusterSecrets& secrets, ProofSide side, const HandshakeTranscript& t,
                 const PeerProof& proof);

// Bounds the log lines about refused peers: at most `lines_max` per window; what is suppressed is
// counted and reported with the next line allowed.
class RefusalLogLimiter {
 public:
  static constexpr uint32_t kLinesPerWindowMax = 10;
  static constexpr int64_t kWindowMs = 10000;

  // Whether a line may be written at `now_ms`; *suppressed is set to the number of lines
  // withheld since the last one written.
  bool allow(int64_t now_ms, uint64_t* suppressed);

 private:
  int64_t window_start_ms_ = INT64_MIN;
  uint32_t lines_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace bw::net
