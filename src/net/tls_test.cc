#include "net/tls.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace bw::net {
namespace {

namespace fs = std::filesystem;

// A key and a certificate signed by `issuer` (self-signed if null), written as PEM files.
struct Pki {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Pki() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void make_cert(Pki* out, const char* cn, const Pki* issuer, bool ca, long serial) {
  out->key = EVP_EC_gen("P-256");
  ASSERT_NE(out->key, nullptr);
  out->cert = X509_new();
  X509_set_version(out->cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(out->cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(out->cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(out->cert), 3600);
  X509_set_pubkey(out->cert, out->key);
  X509_NAME* name = X509_get_subject_name(out->cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert : out->cert;
  X509_set_issuer_name(out->cert, X509_get_subject_name(issuer_cert));
  if (ca) {
    add_ext(out->cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(out->cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(out->cert, issuer_cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  EVP_PKEY* signer = issuer != nullptr ? issuer->key : out->key;
  ASSERT_GT(X509_sign(out->cert, signer, EVP_sha256()), 0);
}

void write_pem(const fs::path& path, X509* cert) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void write_key(const fs::path& path, EVP_PKEY* key) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / (fmt::format("bw_tls_test_{}", ::getpid()));
    fs::create_directories(dir_);
    make_cert(&ca_, "test-ca", nullptr, true, 1);
    make_cert(&server_, "server", &ca_, false, 2);
    make_cert(&client_, "client", &ca_, false, 3);
    make_cert(&other_ca_, "other-ca", nullptr, true, 4);
    make_cert(&stranger_, "stranger", &other_ca_, false, 5);
    write_pem(dir_ / "ca.crt", ca_.cert);
    write_pem(dir_ / "server.crt", server_.cert);
    write_key(dir_ / "server.key", server_.key);
    write_pem(dir_ / "client.crt", client_.cert);
    write_key(dir_ / "client.key", client_.key);
    write_pem(dir_ / "other-ca.crt", other_ca_.cert);
    write_pem(dir_ / "stranger.crt", stranger_.cert);
    write_key(dir_ / "stranger.key", stranger_.key);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const char* name) const { return (dir_ / name).string(); }

  TlsOptions server_options() const {
    TlsOptions o;
    o.cert_file = file("server.crt");
    o.key_file = file("server.key");
    o.ca_cert_file = file("ca.crt");
    return o;
  }
  TlsOptions client_options(const char* cert) const {
    TlsOptions o;
    o.ca_cert_file = file("ca.crt");
    if (cert != nullptr) {
      o.cert_file = file((std::string(cert) + ".crt").c_str());
      o.key_file = file((std::string(cert) + ".key").c_str());
    }
    return o;
  }

  struct Outcome {
    asio::error_code server;
    asio::error_code client;
    std::string client_subject_seen_by_server;
  };

  // One handshake over loopback between contexts built from the two option sets.
  Outcome handshake(const TlsOptions& server, const TlsOptions& client) {
    Outcome out;
    auto server_ctx = make_tls_context(server, TlsRole::kServer);
    auto client_ctx = make_tls_context(client, TlsRole::kClient);
    EXPECT_TRUE(server_ctx.ok()) << server_ctx.status();
    EXPECT_TRUE(client_ctx.ok()) << client_ctx.status();
    if (!server_ctx.ok() || !client_ctx.ok()) return out;
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ssl::stream<asio::ip::tcp::socket> s(io, **server_ctx);
    asio::ssl::stream<asio::ip::tcp::socket> c(io, **client_ctx);
    EXPECT_TRUE(prepare_client_stream(c.native_handle(), client).ok());
    acceptor.async_accept(s.lowest_layer(), [&](asio::error_code ec) {
      ASSERT_FALSE(ec);
      s.async_handshake(asio::ssl::stream_base::server, [&](asio::error_code hec) {
        out.server = hec;
        if (!hec) out.client_subject_seen_by_server = peer_certificate_subject(s.native_handle());
        s.lowest_layer().close();
      });
    });
    c.lowest_layer().async_connect(acceptor.local_endpoint(), [&](asio::error_code ec) {
      ASSERT_FALSE(ec);
      c.async_handshake(asio::ssl::stream_base::client, [&](asio::error_code hec) {
        out.client = hec;
        if (hec) {
          c.lowest_layer().close();
          return;
        }
        // TLSv1.3 reports a refused client certificate only at the first read.
        auto buf = std::make_shared<char>();
        c.async_read_some(asio::buffer(buf.get(), 1), [&, buf](asio::error_code rec, size_t) {
          if (rec != asio::error::eof && rec != asio::ssl::error::stream_truncated) {
            out.client = rec;
          }
          c.lowest_layer().close();
        });
      });
    });
    io.run_for(std::chrono::seconds(10));
    return out;
  }

  fs::path dir_;
  Pki ca_, server_, client_, other_ca_, stranger_;
};

TEST_F(TlsTest, ParsesProtocolsAndVerifyModes) {
  EXPECT_EQ(*parse_tls_protocols(""), (1u << 2) | (1u << 3));
  EXPECT_EQ(*parse_tls_protocols("TLSv1.2"), 1u << 2);
  EXPECT_EQ(*parse_tls_protocols("tlsv1.2  TLSv1.3"), (1u << 2) | (1u << 3));
  auto bad = parse_tls_protocols("TLSv1.2 SSLv3");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("SSLv3"), std::string::npos);
  EXPECT_EQ(*parse_tls_verify("YES"), TlsVerify::kYes);
  EXPECT_EQ(*parse_tls_verify("optional"), TlsVerify::kOptional);
  EXPECT_EQ(*parse_tls_verify("no"), TlsVerify::kNo);
  EXPECT_FALSE(parse_tls_verify("maybe").ok());
  EXPECT_EQ(tls_verify_name(TlsVerify::kOptional), "optional");
}

TEST_F(TlsTest, ContextErrorsNameTheFileAndTheReason) {
  TlsOptions o = server_options();
  o.cert_file = file("missing.crt");
  auto r = make_tls_context(o, TlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing.crt"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("No such file"), std::string::npos) << r.status();

  o = server_options();
  o.cert_file = file("server.key");  // not a certificate
  r = make_tls_context(o, TlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("certificate file"), std::string::npos) << r.status();

  o = server_options();
  o.key_file = file("client.key");
  r = make_tls_context(o, TlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos) << r.status();

  o = server_options();
  o.ca_cert_file.clear();
  r = make_tls_context(o, TlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tls-ca-cert-file"), std::string::npos) << r.status();
  o.verify_peer = TlsVerify::kNo;
  EXPECT_TRUE(make_tls_context(o, TlsRole::kServer).ok());

  o = server_options();
  o.ciphers = "NO-SUCH-CIPHER";
  r = make_tls_context(o, TlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tls-ciphers"), std::string::npos) << r.status();

  o = server_options();
  o.ciphersuites = "TLS_NO_SUCH";
  EXPECT_FALSE(make_tls_context(o, TlsRole::kServer).ok());

  o = server_options();
  o.cert_file.clear();
  EXPECT_FALSE(make_tls_context(o, TlsRole::kServer).ok());
  EXPECT_TRUE(make_tls_context(client_options(nullptr), TlsRole::kClient).ok());
}

TEST_F(TlsTest, MutualHandshakeSucceedsAndShowsTheClientSubject) {
  Outcome out = handshake(server_options(), client_options("client"));
  EXPECT_FALSE(out.server) << out.server.message();
  EXPECT_FALSE(out.client) << out.client.message();
  EXPECT_NE(out.client_subject_seen_by_server.find("client"), std::string::npos);
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefusedOnlyWhenRequired) {
  Outcome out = handshake(server_options(), client_options(nullptr));
  EXPECT_TRUE(out.server);
  EXPECT_TRUE(out.client);
  EXPECT_NE(tls_error_text(out.server).find("certificate"), std::string::npos)
      << tls_error_text(out.server);

  TlsOptions optional = server_options();
  optional.verify_peer = TlsVerify::kOptional;
  out = handshake(optional, client_options(nullptr));
  EXPECT_FALSE(out.server) << out.server.message();
  EXPECT_TRUE(out.client_subject_seen_by_server.empty());
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefused) {
  TlsOptions optional = server_options();
  optional.verify_peer = TlsVerify::kOptional;  // a wrong certificate is refused even so
  Outcome out = handshake(optional, client_options("stranger"));
  EXPECT_TRUE(out.server);
  EXPECT_TRUE(out.client);
}

TEST_F(TlsTest, ClientNotTrustingTheServerCaFailsAndHostIsChecked) {
  TlsOptions client = client_options(nullptr);
  client.ca_cert_file = file("other-ca.crt");
  TlsOptions server = server_options();
  server.verify_peer = TlsVerify::kNo;
  Outcome out = handshake(server, client);
  EXPECT_TRUE(out.client);
  EXPECT_NE(tls_error_text(out.client).find("certificate verify failed"), std::string::npos)
      << tls_error_text(out.client);

  client = client_options(nullptr);
  client.verify_host = "127.0.0.1";
  out = handshake(server, client);
  EXPECT_FALSE(out.client) << out.client.message();
  client.verify_host = "10.9.9.9";
  out = handshake(server, client);
  EXPECT_TRUE(out.client);
  client.verify_host = "localhost";
  out = handshake(server, client);
  EXPECT_FALSE(out.client) << out.client.message();
}

TEST_F(TlsTest, ProtocolSetsThatDoNotMeetFail) {
  TlsOptions server = server_options();
  server.verify_peer = TlsVerify::kNo;
  server.protocols = "TLSv1.3";
  TlsOptions client = client_options(nullptr);
  client.protocols = "TLSv1.2";
  Outcome out = handshake(server, client);
  EXPECT_TRUE(out.client);
  EXPECT_TRUE(out.server);
  client.protocols = "TLSv1.2 TLSv1.3";
  out = handshake(server, client);
  EXPECT_FALSE(out.client) << out.client.message();
}

}  // namespace
}  // namespace bw::net
