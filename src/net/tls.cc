#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bw::net {
namespace {

struct ProtocolName {
  std::string_view name;
  uint32_t bit;
  uint64_t no_option;  // SSL_OP_NO_* that removes this version
};

constexpr ProtocolName kProtocols[] = {
    {"TLSv1", 1u << 0, SSL_OP_NO_TLSv1},
    {"TLSv1.1", 1u << 1, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", 1u << 2, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", 1u << 3, SSL_OP_NO_TLSv1_3},
};
constexpr uint32_t kDefaultProtocols = (1u << 2) | (1u << 3);

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Drains OpenSSL's error queue of this thread into one line ("reason; reason").
std::string openssl_errors() {
  std::string text;
  // Bounded: the queue holds at most ERR_NUM_ERRORS entries.
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!text.empty()) text += "; ";
    text += reason != nullptr ? reason : fmt::format("error {:#x}", e);
  }
  return text.empty() ? std::string("unknown OpenSSL error") : text;
}

// Opens the file to report a plain reason (missing, permission) before OpenSSL reports a
// generic one ("system lib").
Status check_readable(std::string_view what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::InvalidArgumentError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
  }
  std::fclose(f);
  return OkStatus();
}

Status openssl_failure(std::string_view what, const std::string& path) {
  return absl::InvalidArgumentError(fmt::format("{} {}: {}", what, path, openssl_errors()));
}

Status load_files(const TlsOptions& options, TlsRole role, SSL_CTX* ctx) {
  if (role == TlsRole::kServer && options.cert_file.empty()) {
    return absl::InvalidArgumentError("TLS needs a certificate file (tls-cert-file)");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate file and a private key file, or neither");
  }
  if (!options.cert_file.empty()) {
    BW_RETURN_IF_ERROR(check_readable("certificate file", options.cert_file));
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      return openssl_failure("certificate file", options.cert_file);
    }
    BW_RETURN_IF_ERROR(check_readable("private key file", options.key_file));
    const bool loaded =
        SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    const bool mismatch =
        !loaded && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    if (!loaded && !mismatch) return openssl_failure("private key file", options.key_file);
    if (mismatch || SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          fmt::format("private key file {} does not match certificate file {}", options.key_file,
                      options.cert_file));
    }
  }
  const bool verifies = options.verify_peer != TlsVerify::kNo;
  if (!options.ca_cert_file.empty()) {
    BW_RETURN_IF_ERROR(check_readable("CA certificate file", options.ca_cert_file));
    if (SSL_CTX_load_verify_locations(ctx, options.ca_cert_file.c_str(), nullptr) != 1) {
      return openssl_failure("CA certificate file", options.ca_cert_file);
    }
    if (role == TlsRole::kServer && verifies) {
      // Tells clients which CA their certificate must come from.
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_cert_file.c_str());
      if (names == nullptr) return openssl_failure("CA certificate file", options.ca_cert_file);
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  } else if (role == TlsRole::kServer && verifies) {
    return absl::InvalidArgumentError(
        "verifying client certificates (tls-auth-clients yes or optional) needs a CA "
        "certificate file (tls-ca-cert-file)");
  } else if (role == TlsRole::kClient && verifies) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return absl::InvalidArgumentError(
          fmt::format("system CA certificates: {}", openssl_errors()));
    }
  }
  return OkStatus();
}

Status apply_settings(const TlsOptions& options, TlsRole role, SSL_CTX* ctx) {
  BW_ASSIGN_OR_RETURN(uint32_t protocols, parse_tls_protocols(options.protocols));
  uint64_t no_options = 0;
  for (const ProtocolName& p : kProtocols) {
    if ((protocols & p.bit) == 0) no_options |= p.no_option;
  }
  // OpenSSL's minimum is TLSv1 unless configured higher; the bits above decide.
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_options(ctx, no_options | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("tls-ciphers \"{}\": {}", options.ciphers, openssl_errors()));
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("tls-ciphersuites \"{}\": {}", options.ciphersuites, openssl_errors()));
  }
  int mode = SSL_VERIFY_NONE;
  if (options.verify_peer != TlsVerify::kNo) mode = SSL_VERIFY_PEER;
  if (role == TlsRole::kServer && options.verify_peer == TlsVerify::kYes) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(ctx, mode, nullptr);
  if (role == TlsRole::kServer) {
    // Resumed sessions skip the certificate exchange; a context id lets OpenSSL resume only
    // sessions this kind of server issued.
    static constexpr unsigned char kSessionContext[] = "bellwether";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  }
  return OkStatus();
}

}  // namespace

Result<uint32_t> parse_tls_protocols(std::string_view text) {
  uint32_t bits = 0;
  size_t pos = 0;
  // Bounded by the text's length: every pass consumes at least one character.
  while (pos < text.size()) {
    if (text[pos] == ' ' || text[pos] == ',') {
      ++pos;
      continue;
    }
    size_t end = text.find_first_of(" ,", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    bool known = false;
    for (const ProtocolName& p : kProtocols) {
      if (iequal(word, p.name)) {
        bits |= p.bit;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(fmt::format(
          "unknown TLS protocol \"{}\" (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)", word));
    }
    pos = end;
  }
  return bits == 0 ? kDefaultProtocols : bits;
}

Result<TlsVerify> parse_tls_verify(std::string_view text) {
  if (iequal(text, "yes")) return TlsVerify::kYes;
  if (iequal(text, "no")) return TlsVerify::kNo;
  if (iequal(text, "optional")) return TlsVerify::kOptional;
  return absl::InvalidArgumentError(fmt::format("\"{}\" is not yes, no or optional", text));
}

std::string_view tls_verify_name(TlsVerify verify) {
  switch (verify) {
    case TlsVerify::kYes:
      return "yes";
    case TlsVerify::kNo:
      return "no";
    case TlsVerify::kOptional:
      return "optional";
  }
  return "yes";
}

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsOptions& options,
                                                             TlsRole role) {
  ERR_clear_error();
  auto ctx = std::make_shared<asio::ssl::context>(
      role == TlsRole::kServer ? asio::ssl::context::tls_server : asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  BW_RETURN_IF_ERROR(apply_settings(options, role, native));
  BW_RETURN_IF_ERROR(load_files(options, role, native));
  return ctx;
}

Status prepare_client_stream(SSL* ssl, const TlsOptions& options) {
  if (options.verify_host.empty()) return OkStatus();
  asio::error_code ec;
  const auto address = asio::ip::make_address(options.verify_host, ec);
  if (ec) {
    // A name: sent as SNI and checked against the certificate's DNS names.
    if (SSL_set_tlsext_host_name(ssl, options.verify_host.c_str()) != 1 ||
        SSL_set1_host(ssl, options.verify_host.c_str()) != 1) {
      return absl::InvalidArgumentError(
          fmt::format("TLS host name {}: {}", options.verify_host, openssl_errors()));
    }
    return OkStatus();
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str()) != 1) {
    return absl::InvalidArgumentError(
        fmt::format("TLS host address {}: {}", options.verify_host, openssl_errors()));
  }
  return OkStatus();
}

std::string tls_error_text(const asio::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) return reason;
  }
  if (ec == asio::ssl::error::stream_truncated) return "connection closed during TLS";
  return ec.message();
}

std::string peer_certificate_subject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string text;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr) {
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_ONELINE);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    if (size > 0 && data != nullptr) text.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
  }
  X509_free(cert);
  return text;
}

}  // namespace bw::net
