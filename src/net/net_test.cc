#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "net/frame.h"
#include "net/peer_transport.h"
#include "net/test_loop.h"

namespace bw::net {
namespace {

TEST(Frame, EveryPrefixSplitYieldsTheSameFrames) {
  std::string wire;
  append_frame(&wire, FrameType::kRaft, "first");
  append_frame(&wire, FrameType::kForward, std::string(1000, 'x'));
  append_frame(&wire, FrameType::kForwardReply, "");
  for (size_t split = 0; split <= wire.size(); ++split) {
    FrameReader r(1 << 20);
    std::vector<std::pair<FrameType, std::string>> got;
    Frame f;
    r.feed(std::string_view(wire).substr(0, split));
    while (*r.next(&f)) got.emplace_back(f.type, std::string(f.payload));
    r.feed(std::string_view(wire).substr(split));
    while (*r.next(&f)) got.emplace_back(f.type, std::string(f.payload));
    ASSERT_EQ(got.size(), 3u) << "split " << split;
    EXPECT_EQ(got[0].second, "first");
    EXPECT_EQ(got[1].second.size(), 1000u);
    EXPECT_EQ(got[2].first, FrameType::kForwardReply);
  }
}

TEST(Frame, OversizeBadVersionAndUnknownTypeAreErrors) {
  std::string big;
  append_frame(&big, FrameType::kRaft, std::string(200, 'x'));
  FrameReader r(100);
  r.feed(big);
  Frame f;
  EXPECT_FALSE(r.next(&f).ok());

  std::string bad_version;
  append_frame(&bad_version, FrameType::kRaft, "x");
  bad_version[4] = 9;
  FrameReader r2(100);
  r2.feed(bad_version);
  EXPECT_FALSE(r2.next(&f).ok());

  std::string bad_type;
  append_frame(&bad_type, FrameType::kRaft, "x");
  bad_type[5] = 77;
  FrameReader r3(100);
  r3.feed(bad_type);
  EXPECT_FALSE(r3.next(&f).ok());
}

TEST(ParseEndpoint, AcceptsHostPortAndRejectsJunk) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:7001")->port(), 7001);
  EXPECT_EQ(parse_endpoint("localhost:80")->address().to_string(), "127.0.0.1");
  EXPECT_EQ(parse_endpoint("[::1]:9")->address().to_string(), "::1");
  EXPECT_FALSE(parse_endpoint("127.0.0.1").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1:0").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1:70000").ok());
  EXPECT_FALSE(parse_endpoint("example.com:80").ok());
}

struct Received {
  NodeId from;
  FrameType type;
  std::string payload;
};

TEST(PeerTransport, DeliversFramesInOrderBetweenTwoNodes) {
  asio::io_context io;
  std::vector<Received> at_b;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  PeerTransport b(io, {.cluster_id = "c", .self = NodeId(2)},
                  [&](NodeId from, FrameType t, std::string_view p) {
                    at_b.push_back({from, t, std::string(p)});
                  });
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  constexpr int kFrames = 500;
  for (int i = 0; i < kFrames; ++i) a.send(NodeId(2), FrameType::kRaft, std::to_string(i));
  ASSERT_TRUE(run_until(io, [&] { return at_b.size() == kFrames; }));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(at_b[i].from, NodeId(1));
    EXPECT_EQ(at_b[i].payload, std::to_string(i));
  }
}

TEST(PeerTransport, CountsBytesSentAndFramesReceivedPerPeer) {
  asio::io_context io;
  size_t at_b = 0;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  PeerTransport b(io, {.cluster_id = "c", .self = NodeId(2)},
                  [&](NodeId, FrameType, std::string_view) { ++at_b; });
  ASSERT_TRUE(a.listen(any_port()).ok());
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  constexpr int kFrames = 20;
  uint64_t bytes = 0;
  for (int i = 0; i < kFrames; ++i) {
    const std::string payload(static_cast<size_t>(i), 'x');
    a.send(NodeId(2), FrameType::kRaft, payload);
    bytes += kFrameHeaderBytes + payload.size();
  }
  ASSERT_TRUE(run_until(io, [&] { return at_b == kFrames; }));
  ASSERT_TRUE(run_until(io, [&] { return a.stats(NodeId(2)).bytes_queued == 0; }));
  EXPECT_GT(a.stats(NodeId(2)).bytes_sent, bytes);  // and the hello frame
  // Only a configured peer is counted: the receive side's table stays bounded by its peers.
  EXPECT_EQ(b.stats(NodeId(1)).frames_received, 0u);

  b.set_peer(NodeId(1), a.local_endpoint());
  a.send(NodeId(2), FrameType::kRaft, "counted");
  ASSERT_TRUE(run_until(io, [&] { return at_b == kFrames + 1; }));
  EXPECT_EQ(b.stats(NodeId(1)).frames_received, 1u);
  EXPECT_EQ(b.stats(NodeId(1)).bytes_received, kFrameHeaderBytes + 7);
}

TEST(PeerTransport, RefusesAPeerFromAnotherCluster) {
  asio::io_context io;
  int received = 0;
  PeerTransport a(io, {.cluster_id = "other", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  PeerTransport b(io, {.cluster_id = "mine", .self = NodeId(2)},
                  [&](NodeId, FrameType, std::string_view) { ++received; });
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  // The refused link closes; a keeps reconnecting (while it has frames) and is refused each time.
  ASSERT_TRUE(run_until(io, [&] {
    a.send(NodeId(2), FrameType::kRaft, "hello?");
    return b.handshakes_refused() >= 2;
  }));
  EXPECT_EQ(a.stats(NodeId(2)).frames_sent, 0u);
  EXPECT_EQ(received, 0);
}

TEST(PeerTransport, ReconnectsAfterThePeerComesBack) {
  asio::io_context io;
  std::vector<std::string> got;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  auto b = std::make_unique<PeerTransport>(
      io, PeerTransportOptions{.cluster_id = "c", .self = NodeId(2)},
      [&](NodeId, FrameType, std::string_view p) { got.emplace_back(p); });
  ASSERT_TRUE(b->listen(any_port()).ok());
  auto where = b->local_endpoint();
  a.set_peer(NodeId(2), where);
  a.send(NodeId(2), FrameType::kRaft, "one");
  ASSERT_TRUE(run_until(io, [&] { return got.size() == 1; }));
  b.reset();
  b = std::make_unique<PeerTransport>(
      io, PeerTransportOptions{.cluster_id = "c", .self = NodeId(2)},
      [&](NodeId, FrameType, std::string_view p) { got.emplace_back(p); });
  ASSERT_TRUE(b->listen(where).ok());
  // Sends during the outage may be lost (Raft resends); keep sending until one arrives.
  ASSERT_TRUE(run_until(io, [&] {
    a.send(NodeId(2), FrameType::kRaft, "two");
    return got.size() >= 2;
  }));
  EXPECT_EQ(got.back(), "two");
}

// A peer address where nothing listens: bound, then closed, so connecting is refused.
asio::ip::tcp::endpoint refused_endpoint(asio::io_context& io) {
  asio::ip::tcp::acceptor probe(io, any_port());
  auto where = probe.local_endpoint();
  probe.close();
  return where;
}

TEST(PeerTransport, ReportsFramesThatNeverLeftWhenTheLinkFails) {
  asio::io_context io;
  std::vector<Received> undelivered;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  a.set_undelivered_handler([&](NodeId to, FrameType t, std::string_view p) {
    undelivered.push_back({to, t, std::string(p)});
  });
  a.set_peer(NodeId(2), refused_endpoint(io));
  a.send(NodeId(2), FrameType::kForward, "f1");
  a.send(NodeId(2), FrameType::kRaft, "r1");
  a.send(NodeId(2), FrameType::kForward, "f2");
  // The connection is refused: every queued frame is reported, in order, the hello is not.
  ASSERT_TRUE(run_until(io, [&] { return undelivered.size() == 3; }));
  EXPECT_EQ(undelivered[0].from, NodeId(2));  // the peer it was for
  EXPECT_EQ(undelivered[0].type, FrameType::kForward);
  EXPECT_EQ(undelivered[0].payload, "f1");
  EXPECT_EQ(undelivered[1].type, FrameType::kRaft);
  EXPECT_EQ(undelivered[2].payload, "f2");
  EXPECT_EQ(a.stats(NodeId(2)).frames_dropped, 3u);
  EXPECT_EQ(a.stats(NodeId(2)).frames_sent, 0u);
}

TEST(PeerTransport, DropQueuedIfDownReportsAtOnceAndLeavesALiveLinkAlone) {
  asio::io_context io;
  std::vector<std::string> undelivered;
  std::vector<std::string> at_b;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1)},
                  [](NodeId, FrameType, std::string_view) {});
  a.set_undelivered_handler(
      [&](NodeId, FrameType, std::string_view p) { undelivered.emplace_back(p); });
  PeerTransport b(io, {.cluster_id = "c", .self = NodeId(2)},
                  [&](NodeId, FrameType, std::string_view p) { at_b.emplace_back(p); });
  ASSERT_TRUE(b.listen(any_port()).ok());
  a.set_peer(NodeId(2), b.local_endpoint());
  a.set_peer(NodeId(3), refused_endpoint(io));

  // Queued for a peer whose link is not up (the connect has not even completed): reported now,
  // synchronously, and never sent.
  a.send(NodeId(3), FrameType::kForward, "to-3");
  a.drop_queued_if_down(NodeId(3));
  ASSERT_EQ(undelivered, std::vector<std::string>{"to-3"});

  // A live link keeps its frames.
  a.send(NodeId(2), FrameType::kForward, "warm-up");
  ASSERT_TRUE(run_until(io, [&] { return a.stats(NodeId(2)).connected && at_b.size() == 1; }));
  a.send(NodeId(2), FrameType::kForward, "to-2");
  a.drop_queued_if_down(NodeId(2));
  ASSERT_TRUE(run_until(io, [&] { return at_b.size() == 2; }));
  EXPECT_EQ(at_b.back(), "to-2");
  EXPECT_EQ(undelivered.size(), 1u);
}

TEST(PeerTransport, ReportsAFrameRefusedByAFullQueue) {
  asio::io_context io;
  std::vector<std::string> undelivered;
  PeerTransport a(io, {.cluster_id = "c", .self = NodeId(1), .queue_bytes_max = 64},
                  [](NodeId, FrameType, std::string_view) {});
  a.set_undelivered_handler(
      [&](NodeId, FrameType, std::string_view p) { undelivered.emplace_back(p); });
  a.set_peer(NodeId(2), refused_endpoint(io));
  a.send(NodeId(2), FrameType::kForward, std::string(40, 'a'));
  a.send(NodeId(2), FrameType::kForward, std::string(40, 'b'));  // over the 64-byte bound
  ASSERT_EQ(undelivered.size(), 1u);
  EXPECT_EQ(undelivered[0], std::string(40, 'b'));
}

}  // namespace
}  // namespace bw::net
