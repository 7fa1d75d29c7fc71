#include "server/config.h"

#include <gtest/gtest.h>

#include "server/reply.h"

namespace bw::server {
namespace {

TEST(ParsePeers, DefaultsPeerPortToClientPortPlus10000) {
  auto peers = parse_peers("1=127.0.0.1:7001,2=127.0.0.1:7002/127.0.0.1:9002");
  ASSERT_TRUE(peers.ok()) << peers.status();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].id, NodeId(1));
  EXPECT_EQ((*peers)[0].peer_address, "127.0.0.1:17001");
  EXPECT_EQ((*peers)[1].client_address, "127.0.0.1:7002");
  EXPECT_EQ((*peers)[1].peer_address, "127.0.0.1:9002");
}

TEST(ParsePeers, RejectsMalformedAndDuplicateEntries) {
  EXPECT_FALSE(parse_peers("127.0.0.1:7001").ok());
  EXPECT_FALSE(parse_peers("0=127.0.0.1:7001").ok());
  EXPECT_FALSE(parse_peers("x=127.0.0.1:7001").ok());
  EXPECT_FALSE(parse_peers("1=nohost").ok());
  auto dup = parse_peers("1=127.0.0.1:7001,1=127.0.0.1:7002");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("twice"), absl::string_view::npos);
}

TEST(DebugCommandAccess, ParsesRedisValuesAndNamesThem) {
  for (std::string_view v : {"no", "yes", "local"}) {
    auto a = parse_debug_command_access(v);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(debug_command_access_name(*a), v);
  }
  auto bad = parse_debug_command_access("YES please");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("enable-debug-command"), absl::string_view::npos);
  EXPECT_EQ(NodeConfig{}.enable_debug_command, DebugCommandAccess::kNo);
}

TEST(Finalize, FillsDefaultsAndNamesTheBadKey) {
  NodeConfig c;
  c.id = NodeId(2);
  c.listen = "127.0.0.1:7002";
  c.data_dir = "/tmp/x";
  ASSERT_TRUE(finalize(&c).ok());
  EXPECT_EQ(c.peer_listen, "127.0.0.1:17002");
  ASSERT_EQ(c.peers.size(), 1u);

  NodeConfig missing_self = c;
  missing_self.peers = *parse_peers("1=127.0.0.1:7001");
  auto st = finalize(&missing_self);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("peers"), absl::string_view::npos);

  NodeConfig no_dir = c;
  no_dir.data_dir.clear();
  EXPECT_NE(finalize(&no_dir).message().find("data-dir"), absl::string_view::npos);

  NodeConfig bad_timers = c;
  bad_timers.election_ticks = 2;
  bad_timers.heartbeat_ticks = 2;
  EXPECT_FALSE(finalize(&bad_timers).ok());
}

TEST(Finalize, ChecksTheSentinelSettings) {
  NodeConfig c;
  c.id = NodeId(1);
  c.listen = "127.0.0.1:7001";
  c.data_dir = "/tmp/x";
  EXPECT_EQ(c.sentinel_master_name, "bellwether");
  EXPECT_TRUE(c.sentinel_listen.empty());
  ASSERT_TRUE(finalize(&c).ok());

  for (std::string_view bad : {"", "two words", "tab\tname", "line\nbreak"}) {
    NodeConfig named = c;
    named.sentinel_master_name = std::string(bad);
    auto st = finalize(&named);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find("sentinel-master-name"), absl::string_view::npos);
  }
  NodeConfig long_name = c;
  long_name.sentinel_master_name = std::string(kSentinelMasterNameBytesMax + 1, 'm');
  EXPECT_FALSE(finalize(&long_name).ok());
  long_name.sentinel_master_name.pop_back();
  EXPECT_TRUE(finalize(&long_name).ok());

  NodeConfig port = c;
  port.sentinel_listen = "127.0.0.1:26379";
  EXPECT_TRUE(finalize(&port).ok());
  port.sentinel_listen = "nohost";
  EXPECT_NE(finalize(&port).message().find("sentinel-listen"), absl::string_view::npos);
  port.sentinel_listen = c.listen;
  EXPECT_NE(finalize(&port).message().find("sentinel-listen"), absl::string_view::npos);
}

TEST(Finalize, TlsPortNeedsACertificateAndItsOwnPort) {
  NodeConfig c;
  c.id = NodeId(1);
  c.data_dir = "/tmp/x";
  c.tls_port = 7444;
  auto st = finalize(&c);
  EXPECT_NE(st.message().find("tls-cert-file"), absl::string_view::npos) << st;
  c.tls.cert_file = "node.crt";
  c.tls.key_file = "node.key";
  EXPECT_TRUE(finalize(&c).ok());
  c.tls_port = 7001;  // listen's port
  EXPECT_NE(finalize(&c).message().find("tls-port"), absl::string_view::npos);
}

TEST(Finalize, ChecksMetricsListen) {
  NodeConfig c;
  c.id = NodeId(1);
  c.listen = "127.0.0.1:7001";
  c.data_dir = "/tmp/x";
  EXPECT_TRUE(c.metrics_listen.empty());
  ASSERT_TRUE(finalize(&c).ok());
  NodeConfig m = c;
  m.metrics_listen = "127.0.0.1:8001";
  EXPECT_TRUE(finalize(&m).ok());
  for (std::string bad :
       {std::string("nohost"), std::string("127.0.0.1:0"), c.listen, c.peer_listen}) {
    m.metrics_listen = bad;
    EXPECT_NE(finalize(&m).message().find("metrics-listen"), absl::string_view::npos) << bad;
  }
}

TEST(Finalize, PeerAdvertiseDefaultsToPeerListenAndNeedsJoin) {
  NodeConfig joining;
  joining.join = "127.0.0.1:7001";
  joining.listen = "127.0.0.1:7004";
  joining.data_dir = "/tmp/x";
  NodeConfig advertised = joining;
  ASSERT_TRUE(finalize(&joining).ok());
  EXPECT_EQ(joining.peer_advertise, "127.0.0.1:17004");

  advertised.peer_advertise = "127.0.0.1:9004";
  ASSERT_TRUE(finalize(&advertised).ok());
  EXPECT_EQ(advertised.peer_listen, "127.0.0.1:17004");
  EXPECT_EQ(advertised.peer_advertise, "127.0.0.1:9004");

  NodeConfig bad = advertised;
  bad.peer_advertise = "nowhere";
  EXPECT_FALSE(finalize(&bad).ok());

  NodeConfig founding;
  founding.id = NodeId(1);
  founding.data_dir = "/tmp/x";
  founding.peer_advertise = "127.0.0.1:9001";
  EXPECT_NE(finalize(&founding).message().find("peer-advertise"), absl::string_view::npos);
}

TEST(Reply, UnknownCommandMatchesRedisText) {
  std::vector<std::string_view> argv = {"foo", "a", "b"};
  EXPECT_EQ(unknown_command_message(argv),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
  EXPECT_EQ(unknown_subcommand_message("client", "bar"),
            "ERR unknown subcommand 'bar'. Try CLIENT HELP.");
}

TEST(Reply, KvRepliesEncodeForBothProtocols) {
  kv::Reply r =
      kv::Reply::array({kv::Reply::bulk("v"), kv::Reply::integer_value(7), kv::Reply::null()});
  std::string two, three;
  resp::Writer w2(&two, 2), w3(&three, 3);
  write_reply(w2, r);
  write_reply(w3, r);
  EXPECT_EQ(two, "*3\r\n$1\r\nv\r\n:7\r\n$-1\r\n");
  EXPECT_EQ(three, "*3\r\n$1\r\nv\r\n:7\r\n_\r\n");
  // A set (SMEMBERS): RESP3's set type, an array in RESP2.
  kv::Reply s = kv::Reply::set({kv::Reply::bulk("1"), kv::Reply::bulk("2")});
  two.clear();
  three.clear();
  write_reply(w2, s);
  write_reply(w3, s);
  EXPECT_EQ(two, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
  EXPECT_EQ(three, "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

}  // namespace
}  // namespace bw::server
