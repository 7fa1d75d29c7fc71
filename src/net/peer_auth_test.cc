// The peer handshake: its proofs and codecs (pure), and both sides of it over real sockets.
#include "net/peer_auth.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/frame.h"
#include "net/peer_transport.h"
#include "net/test_loop.h"

namespace bw::net {
namespace {

const std::string kSecret = "0123456789abcdef-current";
const std::string kOldSecret = "0123456789abcdef-previous";

HandshakeTranscript transcript() {
  HandshakeTranscript t{.cluster_id = "c", .dialer = NodeId(1), .acceptor = NodeId(2)};
  t.dialer_nonce = random_nonce();
  t.acceptor_nonce = random_nonce();
  return t;
}

TEST(PeerAuth, ProofMadeWithTheSecretChecks) {
  ClusterSecrets s{{kSecret}};
  HandshakeTranscript t = transcript();
  EXPECT_TRUE(check_proof(s, ProofSide::kDialer, t, make_proof(s, ProofSide::kDialer, t)));
  EXPECT_TRUE(check_proof(s, ProofSide::kAcceptor, t, make_proof(s, ProofSide::kAcceptor, t)));
}

TEST(PeerAuth, WrongSecretMissingSecretAndOtherSideAreRefused) {
  ClusterSecrets s{{kSecret}};
  ClusterSecrets wrong{{"another-secret-of-16+"}};
  ClusterSecrets none;
  HandshakeTranscript t = transcript();
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, t, make_proof(wrong, ProofSide::kDialer, t)));
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, t, make_proof(none, ProofSide::kDialer, t)));
  EXPECT_FALSE(check_proof(none, ProofSide::kDialer, t, make_proof(s, ProofSide::kDialer, t)));
  // A proof reflected back as the other side's.
  EXPECT_FALSE(check_proof(s, ProofSide::kAcceptor, t, make_proof(s, ProofSide::kDialer, t)));
  // No secret on either side: the exchange still agrees (cluster id and node ids only).
  EXPECT_TRUE(check_proof(none, ProofSide::kDialer, t, make_proof(none, ProofSide::kDialer, t)));
}

TEST(PeerAuth, ReplayedProofFailsAgainstAFreshNonce) {
  ClusterSecrets s{{kSecret}};
  HandshakeTranscript first = transcript();
  PeerProof recorded = make_proof(s, ProofSide::kDialer, first);
  HandshakeTranscript again = first;
  again.acceptor_nonce = random_nonce();  // the acceptor's nonce on the new connection
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, again, recorded));
  // Every field of the transcript is covered.
  HandshakeTranscript other = first;
  other.cluster_id = "d";
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, other, recorded));
  other = first;
  other.dialer = NodeId(3);
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, other, recorded));
  other = first;
  other.dialer_nonce = random_nonce();
  EXPECT_FALSE(check_proof(s, ProofSide::kDialer, other, recorded));
}

TEST(PeerAuth, RotationProvesWithTheFirstAndAcceptsBoth) {
  ClusterSecrets old_only{{kOldSecret}};
  ClusterSecrets both{{kSecret, kOldSecret}};
  ClusterSecrets new_only{{kSecret}};
  HandshakeTranscript t = transcript();
  EXPECT_TRUE(
      check_proof(both, ProofSide::kDialer, t, make_proof(old_only, ProofSide::kDialer, t)));
  EXPECT_TRUE(
      check_proof(both, ProofSide::kDialer, t, make_proof(new_only, ProofSide::kDialer, t)));
  EXPECT_TRUE(
      check_proof(new_only, ProofSide::kDialer, t, make_proof(both, ProofSide::kDialer, t)));
  EXPECT_FALSE(
      check_proof(old_only, ProofSide::kDialer, t, make_proof(both, ProofSide::kDialer, t)));
}

TEST(PeerAuth, MessagesRoundTripAndBadOnesAreErrors) {
  HelloMsg h{.cluster_id = "cluster", .from = NodeId(7), .nonce = random_nonce()};
  std::string wire = encode_hello(h);
  auto back = decode_hello(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cluster_id, "cluster");
  EXPECT_EQ(back->from, NodeId(7));
  EXPECT_EQ(back->nonce, h.nonce);
  EXPECT_FALSE(decode_hello(wire.substr(0, wire.size() - 1)).ok());
  EXPECT_FALSE(decode_hello(wire + "x").ok());
  EXPECT_FALSE(decode_hello(encode_hello({.cluster_id = "c", .from = NodeId(0)})).ok());
  EXPECT_FALSE(decode_hello(encode_hello({.cluster_id = std::string(kClusterIdBytesMax + 1, 'c'),
                                          .from = NodeId(1)}))
                   .ok());

  HelloAckMsg a{.from = NodeId(2), .nonce = random_nonce(), .proof = {}};
  a.proof[0] = 9;
  std::string ack = encode_hello_ack(a);
  auto ack_back = decode_hello_ack(ack);
  ASSERT_TRUE(ack_back.ok());
  EXPECT_EQ(ack_back->from, NodeId(2));
  EXPECT_EQ(ack_back->proof, a.proof);
  EXPECT_FALSE(decode_hello_ack(ack.substr(1)).ok());
  EXPECT_FALSE(decode_hello_ack("").ok());

  std::string auth = encode_auth({.proof = a.proof});
  EXPECT_TRUE(decode_auth(auth).ok());
  EXPECT_FALSE(decode_auth(auth + "x").ok());
  EXPECT_FALSE(decode_auth(auth.substr(1)).ok());
}

TEST(PeerAuth, RefusalLogIsRateLimited) {
  RefusalLogLimiter limiter;
  uint64_t suppressed = 0;
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limiter.allow(1000, &suppressed) ? 1 : 0;
  EXPECT_EQ(allowed, static_cast<int>(RefusalLogLimiter::kLinesPerWindowMax));
  EXPECT_TRUE(limiter.allow(1000 + RefusalLogLimiter::kWindowMs, &suppressed));
  EXPECT_EQ(suppressed, 1000u - RefusalLogLimiter::kLinesPerWindowMax);
}

class SecretFile : public ::testing::Test {
 protected:
  std::string write(const std::string& content, mode_t mode = 0600) {
    std::string path = ::testing::TempDir() + fmt::format("/secret-{}", ++n_);
    std::ofstream(path, std::ios::trunc) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  int n_ = 0;
};

TEST_F(SecretFile, LoadsOneOrTwoSecretsAndRefusesBadFiles) {
  auto one = load_cluster_secrets(write(kSecret + "\n"));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->secrets, std::vector<std::string>{kSecret});
  auto two = load_cluster_secrets(write(kSecret + "\r\n" + kOldSecret + "\n"));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->secrets, (std::vector<std::string>{kSecret, kOldSecret}));

  EXPECT_FALSE(load_cluster_secrets(write(kSecret, 0644)).ok());  // readable by others
  EXPECT_FALSE(load_cluster_secrets(write("")).ok());
  EXPECT_FALSE(load_cluster_secrets(write("short\n")).ok());
  EXPECT_FALSE(load_cluster_secrets(write(kSecret + "\n" + kSecret + "\n" + kSecret)).ok());
  EXPECT_FALSE(load_cluster_secrets(::testing::TempDir() + "/no-such-secret").ok());
  auto err = load_cluster_secrets(write("short\n"));
  EXPECT_EQ(std::string(err.status().message()).find("short"), std::string::npos);
}

PeerTransportOptions opts(uint64_t id, std::vector<std::string> secrets,
                          std::string cluster = "c") {
  PeerTransportOptions o{.cluster_id = std::move(cluster), .self = NodeId(id)};
  o.secrets.secrets = std::move(secrets);
  o.reconnect_delay_ms_max = 50;
  return o;
}

TEST(PeerHandshake, SameSecretDeliversBothWays) {
  asio::io_context io;
  int at_a = 0;
  int at_b = 0;
  PeerTransport a(io, opts(1, {kSecret}), [&](NodeId, FrameType, std::string_view) { ++at_a; });
  PeerTransport b(io, opts(2, {kSecret, kOldSecret}),
                  [&](NodeId, FrameType, std::string_view) { ++at_b; });
  ASSERT_TRUE(a.listen(any_port()).ok());
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  b.set_peer(NodeId(1), a.local_endpoint());
  for (int i = 0; i < 10; ++i) {
    a.send(NodeId(2), FrameType::kRaft, "x");
    b.send(NodeId(1), FrameType::kRaft, "y");
  }
  ASSERT_TRUE(run_until(io, [&] { return at_a == 10 && at_b == 10; }));
  EXPECT_EQ(a.handshakes_refused(), 0u);
  EXPECT_EQ(b.handshakes_refused(), 0u);
}

// `dialer` sends to `acceptor` until both sides have refused a handshake; nothing is delivered.
void expect_refused(PeerTransportOptions dialer, PeerTransportOptions acceptor) {
  asio::io_context io;
  int delivered = 0;
  PeerTransport a(io, std::move(dialer), [](NodeId, FrameType, std::string_view) {});
  PeerTransport b(io, std::move(acceptor),
                  [&](NodeId, FrameType, std::string_view) { ++delivered; });
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (b.handshakes_refused() < 3 && std::chrono::steady_clock::now() < deadline) {
    a.send(NodeId(2), FrameType::kRaft, "x");
    io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(b.handshakes_refused(), 3u);
  EXPECT_EQ(delivered, 0);
  EXPECT_FALSE(a.stats(NodeId(2)).connected);
}

TEST(PeerHandshake, WrongSecretIsRefusedByBothSides) {
  expect_refused(opts(1, {"a-wrong-secret-value"}), opts(2, {kSecret}));
}

TEST(PeerHandshake, MissingSecretIsRefused) {
  expect_refused(opts(1, {}), opts(2, {kSecret}));
  expect_refused(opts(1, {kSecret}), opts(2, {}));
}

TEST(PeerHandshake, WrongClusterIdIsRefused) {
  expect_refused(opts(1, {kSecret}, "other"), opts(2, {kSecret}));
}

// A client speaking the protocol by hand over blocking sockets, against a transport whose loop
// runs on another thread.
class RawPeer {
 public:
  explicit RawPeer(asio::ip::tcp::endpoint to) : socket_(io_) { socket_.connect(to); }

  void write(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // The next frame, or nullopt when the other side closed.
  std::optional<std::pair<FrameType, std::string>> read_frame() {
    Frame f;
    while (true) {
      auto got = reader_.next(&f);
      if (!got.ok()) return std::nullopt;
      if (*got) return std::make_pair(f.type, std::string(f.payload));
      std::array<char, 1024> buf{};
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) return std::nullopt;
      reader_.feed(std::string_view(buf.data(), n));
    }
  }

  // Whether the other side closes the connection within `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    socket_.non_blocking(true);
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::array<char, 256> buf{};
    while (std::chrono::steady_clock::now() < deadline) {
      asio::error_code ec;
      socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a socket
    }
    return false;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  FrameReader reader_{kPeerHandshakeFrameBytesMax};
};

class LoopThread {
 public:
  explicit LoopThread(asio::io_context& io) : io_(io), guard_(io.get_executor()) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }

 private:
  asio::io_context& io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST(PeerHandshake, ReplayedHandshakeIsRefused) {
  asio::io_context io;
  std::atomic<int> delivered{0};
  auto o = opts(2, {kSecret});
  PeerTransport b(io, o, [&](NodeId, FrameType, std::string_view) { ++delivered; });
  ASSERT_TRUE(b.listen(any_port()).ok());
  auto endpoint = b.local_endpoint();
  LoopThread loop(io);

  // An honest dialer, recording every byte it sends.
  std::string recorded;
  {
    RawPeer peer(endpoint);
    HelloMsg hello{.cluster_id = "c", .from = NodeId(1), .nonce = random_nonce()};
    append_frame(&recorded, FrameType::kHello, encode_hello(hello));
    peer.write(recorded);
    auto ack_frame = peer.read_frame();
    ASSERT_TRUE(ack_frame.has_value());
    ASSERT_EQ(ack_frame->first, FrameType::kHelloAck);
    auto ack = decode_hello_ack(ack_frame->second);
    ASSERT_TRUE(ack.ok());
    HandshakeTranscript t{.cluster_id = "c",
                          .dialer = NodeId(1),
                          .acceptor = NodeId(2),
                          .dialer_nonce = hello.nonce,
                          .acceptor_nonce = ack->nonce};
    ASSERT_TRUE(check_proof(o.secrets, ProofSide::kAcceptor, t, ack->proof));
    std::string rest;
    append_frame(&rest, FrameType::kAuth,
                 encode_auth({.proof = make_proof(o.secrets, ProofSide::kDialer, t)}));
    append_frame(&rest, FrameType::kRaft, "honest");
    peer.write(rest);
    recorded += rest;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (delivered.load() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(delivered.load(), 1);
  }
  // The same bytes again on a new connection: the acceptor's new nonce makes the proof wrong.
  RawPeer replay(endpoint);
  replay.write(recorded);
  EXPECT_TRUE(replay.closed_within(std::chrono::seconds(10)));
  EXPECT_EQ(delivered.load(), 1);
}

TEST(PeerHandshake, StalledHandshakeIsClosed) {
  asio::io_context io;
  auto o = opts(2, {kSecret});
  o.handshake_timeout_ms = 200;
  PeerTransport b(io, o, [](NodeId, FrameType, std::string_view) {});
  ASSERT_TRUE(b.listen(any_port()).ok());
  LoopThread loop(io);
  RawPeer silent(b.local_endpoint());
  EXPECT_TRUE(silent.closed_within(std::chrono::seconds(10)));
}

}  // namespace
}  // namespace bw::net
