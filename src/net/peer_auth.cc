#include "net/peer_auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/assert.h"
#include "common/codec.h"

namespace bw::net {

namespace {

constexpr std::string_view kProofLabel = "bellwether peer handshake v1";

Status bad(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("malformed {}", what));
}

template <size_t N>
Status read_fixed(ByteReader* r, std::array<uint8_t, N>* out) {
  BW_ASSIGN_OR_RETURN(std::string_view bytes, r->raw(N));
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return OkStatus();
}

template <size_t N>
std::string_view view(const std::array<uint8_t, N>& a) {
  return std::string_view(reinterpret_cast<const char*>(a.data()), a.size());
}

}  // namespace

Result<ClusterSecrets> load_cluster_secrets(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(fmt::format("cluster-secret-file: cannot read '{}'", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::InvalidArgumentError(fmt::format(
        "cluster-secret-file: '{}' may be read or written by group or others (chmod 600 it)",
        path));
  }
  if (static_cast<uint64_t>(st.st_size) > kClusterSecretFileBytesMax) {
    return absl::InvalidArgumentError(fmt::format(
        "cluster-secret-file: '{}' is larger than {} bytes", path, kClusterSecretFileBytesMax));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(fmt::format("cluster-secret-file: cannot read '{}'", path));
  }
  ClusterSecrets out;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (out.secrets.size() == kClusterSecretsMax) {
      return absl::InvalidArgumentError(fmt::format(
          "cluster-secret-file: '{}' holds more than {} secrets", path, kClusterSecretsMax));
    }
    if (line.size() < kClusterSecretBytesMin || line.size() > kClusterSecretBytesMax) {
      return absl::InvalidArgumentError(
          fmt::format("cluster-secret-file: line {} of '{}' must be {} to {} bytes", line_no, path,
                      kClusterSecretBytesMin, kClusterSecretBytesMax));
    }
    out.secrets.push_back(std::move(line));
  }
  if (out.secrets.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("cluster-secret-file: '{}' holds no secret", path));
  }
  return out;
}

std::string encode_hello(const HelloMsg& m) {
  std::string out;
  ByteWriter w(&out);
  w.bytes(m.cluster_id);
  w.u64(m.from.value());
  w.raw(view(m.nonce));
  return out;
}

std::string encode_hello_ack(const HelloAckMsg& m) {
  std::string out;
  ByteWriter w(&out);
  w.u64(m.from.value());
  w.raw(view(m.nonce));
  w.raw(view(m.proof));
  return out;
}

std::string encode_auth(const AuthMsg& m) {
  return std::string(view(m.proof));
}

Result<HelloMsg> decode_hello(std::string_view payload) {
  ByteReader r(payload);
  HelloMsg m;
  auto cluster = r.bytes(kClusterIdBytesMax);
  if (!cluster.ok()) return bad("hello (cluster id)");
  m.cluster_id = *cluster;
  auto id = r.u64();
  if (!id.ok() || *id == 0) return bad("hello (node id)");
  m.from = NodeId(*id);
  if (!read_fixed(&r, &m.nonce).ok() || !r.done()) return bad("hello (nonce)");
  return m;
}

Result<HelloAckMsg> decode_hello_ack(std::string_view payload) {
  ByteReader r(payload);
  HelloAckMsg m;
  auto id = r.u64();
  if (!id.ok() || *id == 0) return bad("hello ack (node id)");
  m.from = NodeId(*id);
  if (!read_fixed(&r, &m.nonce).ok() || !read_fixed(&r, &m.proof).ok() || !r.done()) {
    return bad("hello ack (nonce, proof)");
  }
  return m;
}

Result<AuthMsg> decode_auth(std::string_view payload) {
  ByteReader r(payload);
  AuthMsg m;
  if (!read_fixed(&r, &m.proof).ok() || !r.done()) return bad("auth (proof)");
  return m;
}

PeerNonce random_nonce() {
  PeerNonce n{};
  BW_ASSERT(RAND_bytes(n.data(), static_cast<int>(n.size())) == 1, "RAND_bytes failed");
  return n;
}

PeerProof compute_proof(std::string_view secret, ProofSide side, const HandshakeTranscript& t) {
  std::string msg;
  ByteWriter w(&msg);
  w.bytes(kProofLabel);
  w.u8(static_cast<uint8_t>(side));
  w.bytes(t.cluster_id);
  w.u64(t.dialer.value());
  w.u64(t.acceptor.value());
  w.raw(view(t.dialer_nonce));
  w.raw(view(t.acceptor_nonce));
  PeerProof out{};
  unsigned int len = 0;
  // A zero-length key is valid for HMAC; OpenSSL wants a non-null pointer for it.
  static constexpr char kEmpty = 0;
  const void* key = secret.empty() ? &kEmpty : secret.data();
  const unsigned char* r =
      HMAC(EVP_sha256(), key, static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  BW_ASSERT(r != nullptr);
  BW_ASSERT(len == out.size());
  return out;
}

PeerProof make_proof(const ClusterSecrets& secrets, ProofSide side, const HandshakeTranscript& t) {
  return compute_proof(secrets.configured() ? secrets.secrets.front() : std::string_view(), side,
                       t);
}

bool check_proof(const ClusterSecrets& secrets, ProofSide side, const HandshakeTranscript& t,
                 const PeerProof& proof) {
  auto matches = [&](std::string_view secret) {
    PeerProof want = compute_proof(secret, side, t);
    return CRYPTO_memcmp(want.data(), proof.data(), want.size()) == 0;
  };
  if (!secrets.configured()) return matches({});
  bool ok = false;
  for (const std::string& s : secrets.secrets) ok |= matches(s);
  return ok;
}

bool RefusalLogLimiter::allow(int64_t now_ms, uint64_t* suppressed) {
  if (window_start_ms_ == INT64_MIN || now_ms - window_start_ms_ >= kWindowMs) {
    window_start_ms_ = now_ms;
    lines_in_window_ = 0;
  }
  if (lines_in_window_ >= kLinesPerWindowMax) {
    ++suppressed_;
    return false;
  }
  ++lines_in_window_;
  *suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace bw::net
