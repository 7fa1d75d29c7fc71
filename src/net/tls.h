// TLS settings and the asio::ssl::context built from them, shared by the client listener, the
// command-line tools and the links between nodes. The names follow Redis's tls-* parameters.
//
// Thread safety: a built context is immutable after make_tls_context returns and may be shared
// by many streams; replacing it (a certificate reload) means building a new one and handing it
// to new connections, while existing streams keep a reference to the one they started with.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bw::net {

// A TLS handshake that has not completed within this time is abandoned and the connection
// closed, so a peer that connects and sends nothing cannot hold a connection slot.
inline constexpr std::chrono::milliseconds kTlsHandshakeTimeout{5000};

// Which side of the connection a context serves.
enum class TlsRole : uint8_t { kServer, kClient };

// Whether the other side must present a certificate signed by the CA (Redis's
// tls-auth-clients): kYes requires one, kOptional verifies one if presented, kNo asks for none.
// For a client context kYes and kOptional both verify the server's certificate; kNo skips it.
enum class TlsVerify : uint8_t { kNo, kYes, kOptional };

struct TlsOptions {
  std::string cert_file;     // PEM certificate chain; a server needs one, a client may have one
  std::string key_file;      // PEM private key (unencrypted) matching cert_file
  std::string ca_cert_file;  // PEM CA bundle verifying the peer; empty: a client uses the
                             // system's default trust store, a server cannot verify clients
  std::string protocols;     // "TLSv1.2 TLSv1.3" (any of TLSv1 TLSv1.1 TLSv1.2 TLSv1.3);
                             // empty: TLSv1.2 and TLSv1.3
  std::string ciphers;       // TLSv1.2 and below, OpenSSL cipher list; empty: OpenSSL's default
  std::string ciphersuites;  // TLSv1.3, OpenSSL ciphersuites; empty: OpenSSL's default
  TlsVerify verify_peer = TlsVerify::kYes;
  // Client only: the name or IP address the server's certificate must carry (SAN or CN), also
  // sent as SNI when it is a name; empty: the chain is verified, the name is not.
  std::string verify_host;
};

// The protocol versions named by a tls-protocols value, as a set of bits (1 << 0 TLSv1 ...
// 1 << 3 TLSv1.3); an error names the word it does not know. Empty means TLSv1.2 and TLSv1.3.
Result<uint32_t> parse_tls_protocols(std::string_view text);

// "yes", "no" or "optional" (case-insensitive), as Redis's tls-auth-clients.
Result<TlsVerify> parse_tls_verify(std::string_view text);
std::string_view tls_verify_name(TlsVerify verify);

// Builds a context for `role` from `options`. Every file is read now: an error says which file
// and why (missing, unreadable, not PEM, key not matching the certificate), or which setting
// OpenSSL rejected. A server context needs cert_file and key_file, and ca_cert_file when it
// verifies clients.
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& options,
                                                             TlsRole role);

// Prepares a client stream before its handshake: sets SNI and the host name check from
// options.verify_host. Call once per stream, before async_handshake.
Status prepare_client_stream(SSL* ssl, const TlsOptions& options);

// A short description of a TLS failure for logs and error replies: OpenSSL's reason (for
// example "certificate verify failed") when there is one, else the error's message.
std::string tls_error_text(const asio::error_code& ec);

// The subject of the certificate the peer presented on a finished handshake, in OpenSSL's
// one-line form ("CN = client, O = Example"); empty if it presented none.
std::string peer_certificate_subject(SSL* ssl);

}  // namespace bw::net
