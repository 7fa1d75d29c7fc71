#include "server/sentinel.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bw::server {
namespace {

// A decoded reply: enough RESP2/RESP3 to read Sentinel's replies.
struct Value {
  char type = 0;
  std::string str;
  std::vector<Value> elems;  // maps: key, value, key, value, ...

  // Field names of an instance (a flat array in RESP2, a map in RESP3).
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < elems.size(); i += 2) out.push_back(elems[i].str);
    return out;
  }
  std::string get(std::string_view key) const {
    for (size_t i = 0; i + 1 < elems.size(); i += 2) {
      if (elems[i].str == key) return elems[i + 1].str;
    }
    return "(absent)";
  }
};

bool decode(std::string_view in, size_t* pos, Value* v) {
  const size_t eol = in.find("\r\n", *pos);
  if (eol == std::string_view::npos) return false;
  v->type = in[*pos];
  const std::string line(in.substr(*pos + 1, eol - *pos - 1));
  *pos = eol + 2;
  switch (v->type) {
    case '+':
    case '-':
    case ':':
      v->str = line;
      return true;
    case '_':
      return true;
    case '$': {
      const int64_t n = std::stoll(line);
      if (n < 0) return true;
      v->str = std::string(in.substr(*pos, n));
      *pos += n + 2;
      return true;
    }
    case '*':
    case '%': {
      const int64_t n = std::stoll(line);
      if (n < 0) return true;
      for (int64_t i = 0; i < (v->type == '%' ? 2 * n : n); ++i) {
        v->elems.emplace_back();
        if (!decode(in, pos, &v->elems.back())) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

Value decode_all(const std::string& in) {
  Value v;
  size_t pos = 0;
  EXPECT_TRUE(decode(in, &pos, &v)) << in;
  EXPECT_EQ(pos, in.size()) << "trailing bytes in " << in;
  return v;
}

std::string reply(const SentinelView& view, std::vector<std::string_view> argv, int protocol = 2) {
  std::string out;
  resp::Writer w(&out, protocol);
  write_sentinel_reply(view, argv, w);
  return out;
}

// Field names real Sentinel (Redis 7.0) sends for a healthy master and replica, in its order.
const std::vector<std::string> kMasterFields = {"name",
                                                "ip",
                                                "port",
                                                "runid",
                                                "flags",
                                                "link-pending-commands",
                                                "link-refcount",
                                                "last-ping-sent",
                                                "last-ok-ping-reply",
                                                "last-ping-reply",
                                                "down-after-milliseconds",
                                                "info-refresh",
                                                "role-reported",
                                                "role-reported-time",
                                                "config-epoch",
                                                "num-slaves",
                                                "num-other-sentinels",
                                                "quorum",
                                                "failover-timeout",
                                                "parallel-syncs"};
const std::vector<std::string> kReplicaFields = {"name",
                                                 "ip",
                                                 "port",
                                                 "runid",
                                                 "flags",
                                                 "link-pending-commands",
                                                 "link-refcount",
                                                 "last-ping-sent",
                                                 "last-ok-ping-reply",
                                                 "last-ping-reply",
                                                 "down-after-milliseconds",
                                                 "info-refresh",
                                                 "role-reported",
                                                 "role-reported-time",
                                                 "master-link-down-time",
                                                 "master-link-status",
                                                 "master-host",
                                                 "master-port",
                                                 "slave-priority",
                                                 "slave-repl-offset",
                                                 "replica-announced"};

// Node 1's view of a healthy three-node cluster led by node 2.
SentinelView healthy_view() {
  SentinelView v;
  v.master_name = "bellwether";
  v.cluster_id = std::string("c");  // a move: GCC 12 -O3 misreads assign("c") (-Wrestrict)
  v.self = NodeId(1);
  for (uint64_t id = 1; id <= 3; ++id) {
    v.members.push_back(SentinelMember{.id = NodeId(id),
                                       .client_address = fmt::format("127.0.0.1:700{}", id),
                                       .leader = id == 2,
                                       .last_contact_ms = id == 1 ? 0 : 40,
                                       .offset = 10 * id});
  }
  v.master = NodeId(2);
  v.master_state_ms = 5000;
  v.config_epoch = 7;
  v.down_after_ms = 300;
  v.failover_timeout_ms = 600;
  v.quorum = 2;
  return v;
}

TEST(Sentinel, MastersHasOneMasterInSentinelsShapeForBothProtocols) {
  const SentinelView v = healthy_view();
  const Value two = decode_all(reply(v, {"SENTINEL", "MASTERS"}));
  ASSERT_EQ(two.type, '*');
  ASSERT_EQ(two.elems.size(), 1u);
  const Value& m = two.elems[0];
  EXPECT_EQ(m.type, '*');  // RESP2: a flat field/value array
  EXPECT_EQ(m.keys(), kMasterFields);
  EXPECT_EQ(m.get("name"), "bellwether");
  EXPECT_EQ(m.get("ip"), "127.0.0.1");
  EXPECT_EQ(m.get("port"), "7002");
  EXPECT_EQ(m.get("runid"), "c-2");
  EXPECT_EQ(m.get("flags"), "master");
  EXPECT_EQ(m.get("num-slaves"), "2");
  EXPECT_EQ(m.get("num-other-sentinels"), "2");
  EXPECT_EQ(m.get("quorum"), "2");
  EXPECT_EQ(m.get("config-epoch"), "7");
  EXPECT_EQ(m.get("role-reported-time"), "5000");
  EXPECT_EQ(m.get("down-after-milliseconds"), "300");

  const Value three = decode_all(reply(v, {"sentinel", "masters"}, 3));
  ASSERT_EQ(three.elems.size(), 1u);
  EXPECT_EQ(three.elems[0].type, '%');  // RESP3: a map
  EXPECT_EQ(three.elems[0].keys(), kMasterFields);
  // SENTINEL MASTER name is the same entry on its own.
  EXPECT_EQ(reply(v, {"SENTINEL", "MASTER", "bellwether"}),
            reply(v, {"SENTINEL", "MASTERS"}).substr(std::string("*1\r\n").size()));
}

TEST(Sentinel, GetMasterAddrByNameAnswersTheLeaderOrNil) {
  SentinelView v = healthy_view();
  EXPECT_EQ(reply(v, {"SENTINEL", "get-master-addr-by-name", "bellwether"}),
            "*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7002\r\n");
  // An unknown name (names are case-sensitive, as Sentinel's) is a nil array, not an error.
  EXPECT_EQ(reply(v, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"}), "*-1\r\n");
  EXPECT_EQ(reply(v, {"SENTINEL", "get-master-addr-by-name", "Bellwether"}, 3), "_\r\n");
  // A node that never knew a leader has no address to give.
  v.master = kNoNode;
  v.master_down = true;
  EXPECT_EQ(reply(v, {"SENTINEL", "get-master-addr-by-name", "bellwether"}), "*-1\r\n");
}

TEST(Sentinel, DuringAnElectionTheLastLeaderIsReportedDown) {
  SentinelView v = healthy_view();
  v.master_down = true;  // node 2 was the last leader known
  v.master_state_ms = 450;
  EXPECT_EQ(reply(v, {"SENTINEL", "get-master-addr-by-name", "bellwether"}),
            "*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7002\r\n");
  const Value m = decode_all(reply(v, {"SENTINEL", "MASTER", "bellwether"}));
  // Real Sentinel's flags for a master it is failing over; redis-py skips such a master.
  EXPECT_EQ(m.get("flags"), "s_down,o_down,master,failover_in_progress");
  EXPECT_EQ(m.get("failover-state"), "select_slave");
  EXPECT_EQ(m.get("s-down-time"), "450");
  EXPECT_EQ(m.get("o-down-time"), "450");

  // A master that cannot be reached is also disconnected.
  v.members[1].online = false;
  EXPECT_EQ(decode_all(reply(v, {"SENTINEL", "MASTER", "bellwether"})).get("flags"),
            "s_down,o_down,master,disconnected,failover_in_progress");

  // Never any leader: the entry is still there, with no address.
  v.master = kNoNode;
  const Value none = decode_all(reply(v, {"SENTINEL", "MASTER", "bellwether"}));
  EXPECT_EQ(none.get("ip"), "?");
  EXPECT_EQ(none.get("port"), "0");
  EXPECT_EQ(none.get("num-slaves"), "3");
}

TEST(Sentinel, ReplicasAreEveryMemberButTheMaster) {
  SentinelView v = healthy_view();
  v.members[2].online = false;
  v.members[2].last_contact_ms = 1300;
  v.members[0].learner = true;
  const Value r = decode_all(reply(v, {"SENTINEL", "REPLICAS", "bellwether"}));
  ASSERT_EQ(r.elems.size(), 2u);
  EXPECT_EQ(r.elems[0].keys(), kReplicaFields);
  EXPECT_EQ(r.elems[0].get("name"), "127.0.0.1:7001");
  EXPECT_EQ(r.elems[0].get("flags"), "slave");
  EXPECT_EQ(r.elems[0].get("master-link-status"), "ok");
  EXPECT_EQ(r.elems[0].get("master-host"), "127.0.0.1");
  EXPECT_EQ(r.elems[0].get("master-port"), "7002");
  EXPECT_EQ(r.elems[0].get("slave-priority"), "0");  // a learner never leads
  EXPECT_EQ(r.elems[0].get("slave-repl-offset"), "10");
  // ioredis and redis-py skip replicas flagged down or disconnected.
  EXPECT_EQ(r.elems[1].get("flags"), "s_down,slave,disconnected");
  EXPECT_EQ(r.elems[1].get("s-down-time"), "1000");
  EXPECT_EQ(r.elems[1].get("master-link-status"), "err");
  EXPECT_EQ(r.elems[1].get("slave-priority"), "100");
  // SLAVES is the old name of REPLICAS.
  EXPECT_EQ(reply(v, {"SENTINEL", "slaves", "bellwether"}),
            reply(v, {"SENTINEL", "replicas", "bellwether"}));
  EXPECT_EQ(decode_all(reply(v, {"SENTINEL", "REPLICAS", "bellwether"}, 3)).elems[0].type, '%');
}

TEST(Sentinel, SentinelsAreTheOtherMembers) {
  SentinelView v = healthy_view();
  v.members[1].online = false;
  const Value s = decode_all(reply(v, {"SENTINEL", "SENTINELS", "bellwether"}));
  ASSERT_EQ(s.elems.size(), 2u);
  EXPECT_EQ(s.elems[0].get("port"), "7002");
  EXPECT_EQ(s.elems[0].get("flags"), "s_down,sentinel,disconnected");
  EXPECT_EQ(s.elems[1].get("port"), "7003");
  EXPECT_EQ(s.elems[1].get("flags"), "sentinel");
  EXPECT_EQ(s.elems[1].get("runid"), "c-3");
  EXPECT_EQ(s.elems[1].get("voted-leader"), "?");
}

TEST(Sentinel, ErrorsAreSentinels) {
  const SentinelView v = healthy_view();
  for (std::string_view sub : {"MASTER", "REPLICAS", "SLAVES", "SENTINELS", "CKQUORUM"}) {
    EXPECT_EQ(reply(v, {"SENTINEL", sub, "nosuch"}), "-ERR No such master with that name\r\n");
  }
  EXPECT_EQ(reply(v, {"SENTINEL", "masters", "x"}),
            "-ERR wrong number of arguments for 'sentinel|masters' command\r\n");
  EXPECT_EQ(reply(v, {"SENTINEL", "master"}),
            "-ERR wrong number of arguments for 'sentinel|master' command\r\n");
  EXPECT_EQ(reply(v, {"SENTINEL", "bogus"}),
            "-ERR unknown subcommand 'bogus'. Try SENTINEL HELP.\r\n");
  EXPECT_THAT(reply(v, {"SENTINEL", "MONITOR", "m", "127.0.0.1", "6379", "2"}),
              ::testing::StartsWith("-ERR SENTINEL monitor is not supported"));
  EXPECT_EQ(reply(v, {"SENTINEL", "MYID"}), "$3\r\nc-1\r\n");
  EXPECT_EQ(decode_all(reply(v, {"SENTINEL", "HELP"})).type, '*');
}

TEST(Sentinel, CkquorumCountsReachableVoters) {
  SentinelView v = healthy_view();
  EXPECT_EQ(reply(v, {"SENTINEL", "CKQUORUM", "bellwether"}),
            "+OK 3 usable Sentinels. Quorum and failover authorization can be reached\r\n");
  v.members[1].online = false;
  v.members[2].online = false;
  EXPECT_THAT(reply(v, {"SENTINEL", "CKQUORUM", "bellwether"}),
              ::testing::StartsWith("-NOQUORUM 1 usable Sentinels."));
}

TEST(Sentinel, TrackerAnnouncesOnlyASwitchBetweenKnownLeaders) {
  SentinelTracker t;
  EXPECT_EQ(t.on_leader_change(NodeId(1), 100), std::nullopt);  // the first leader known
  EXPECT_EQ(t.on_leader_change(NodeId(1), 150), std::nullopt);  // no change
  EXPECT_EQ(t.on_leader_change(kNoNode, 200), std::nullopt);    // an election
  EXPECT_EQ(t.on_leader_change(NodeId(1), 300), std::nullopt);  // the same leader again
  EXPECT_EQ(t.on_leader_change(kNoNode, 400), std::nullopt);
  EXPECT_EQ(t.on_leader_change(NodeId(3), 500), NodeId(1));
  EXPECT_EQ(t.on_leader_change(NodeId(2), 600), NodeId(3));  // straight from one to another

  const SentinelView v = healthy_view();
  EXPECT_EQ(switch_master_message(v, NodeId(1), NodeId(2)),
            "bellwether 127.0.0.1 7001 127.0.0.1 7002");
  EXPECT_EQ(switch_master_message(v, NodeId(1), NodeId(9)), "");
}

TEST(Sentinel, AddressesSplitLikeSentinels) {
  SentinelView v = healthy_view();
  v.members[1].client_address = "[::1]:7002";
  EXPECT_EQ(reply(v, {"SENTINEL", "get-master-addr-by-name", "bellwether"}),
            "*2\r\n$3\r\n::1\r\n$4\r\n7002\r\n");
}

TEST(Sentinel, RoleAndThePortsCommands) {
  std::string out;
  resp::Writer w(&out, 2);
  write_sentinel_role(healthy_view(), w);
  const Value role = decode_all(out);
  ASSERT_EQ(role.elems.size(), 2u);
  EXPECT_EQ(role.elems[0].str, "sentinel");
  ASSERT_EQ(role.elems[1].elems.size(), 1u);
  EXPECT_EQ(role.elems[1].elems[0].str, "bellwether");

  for (std::string_view name : {"SENTINEL", "ping", "Subscribe", "hello", "client", "info"}) {
    EXPECT_TRUE(sentinel_port_command(name)) << name;
  }
  for (std::string_view name : {"get", "set", "publish", "failover", ""}) {
    EXPECT_FALSE(sentinel_port_command(name)) << name;
  }
}

}  // namespace
}  // namespace bw::server
