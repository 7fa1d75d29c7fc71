// The coordination commands: CAS and IFVER, transactions, leases, elections and locks, fencing,
// PUBLISH, and their replication properties (determinism, expiry entries, failover extension).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "kv/command_internal.h"
#include "kv/store.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;
using testing::render;

std::vector<std::string> events_of(Harness& h) {
  std::vector<std::string> out;
  for (const KeyEvent& e : h.take_events()) out.push_back(e.event + ":" + e.key);
  return out;
}

std::vector<std::string> name_events_of(Harness& h) {
  std::vector<std::string> out;
  for (const NameEvent& e : h.take_effects().name_events) {
    out.push_back(e.event + ":" + e.name + fmt::format(":{}", e.token));
  }
  return out;
}

std::string str(uint64_t v) {
  return std::to_string(v);
}

// ---- versions and CAS ----

TEST(KvCas, ZeroMeansAbsentAndSuccessAnswersTheNewVersion) {
  Harness h;
  EXPECT_EQ(h.r({"CAS", "k", "0", "a"}), "(integer) 1");
  EXPECT_EQ(h.r({"CAS", "k", "0", "b"}), "(integer) 0");
  EXPECT_EQ(h.r({"CAS", "k", "1", "c"}), "(integer) 3");
  EXPECT_EQ(h.r({"CAS", "k", "1", "d"}), "(integer) 0");  // stale version
  EXPECT_EQ(h.r({"GETVER", "k"}), "[\"c\", (integer) 3]");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"set:k", "set:k"}));
}

TEST(KvCas, ExpiredKeyCountsAsAbsent) {
  Harness h;
  h.run({"SET", "k", "v", "PX", "10"});
  h.advance_ms(10);
  EXPECT_EQ(h.r({"CAS", "k", "1", "w"}), "(integer) 0");
  EXPECT_EQ(h.r({"CAS", "k", "0", "w"}), "(integer) 3");
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) -1");
}

TEST(KvCas, ClearsTheDeadlineLikeSet) {
  Harness h;
  h.run({"SET", "k", "v", "EX", "100"});
  EXPECT_EQ(h.r({"CAS", "k", "1", "w"}), "(integer) 2");
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) -1");
}

TEST(KvCas, SyntaxErrors) {
  Harness h;
  EXPECT_EQ(h.r({"CAS", "k", "-1", "v"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.r({"CAS", "k", "x", "v"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.r({"CAS", "k", "1"}), "(error) ERR wrong number of arguments for 'cas' command");
  EXPECT_EQ(h.index(), 0u);
}

TEST(KvSetIfVer, WritesOnlyOnTheExpectedVersion) {
  Harness h;
  EXPECT_EQ(h.r({"SET", "k", "a", "IFVER", "5"}), "(nil)");
  EXPECT_EQ(h.r({"SET", "k", "a", "IFVER", "0"}), "\"OK\"");
  EXPECT_EQ(h.r({"SET", "k", "b", "IFVER", "0"}), "(nil)");
  EXPECT_EQ(h.r({"SET", "k", "b", "ifver", "2", "GET"}), "\"a\"");
  EXPECT_EQ(h.r({"SET", "k", "c", "IFVER", "2", "GET"}), "\"b\"");  // GET answers even on a miss
  EXPECT_EQ(h.r({"GET", "k"}), "\"b\"");
  EXPECT_EQ(h.r({"SET", "k", "c", "IFVER", "4", "XX", "PX", "100"}), "\"OK\"");
  EXPECT_EQ(h.r({"PTTL", "k"}), "(integer) 100");
  EXPECT_EQ(h.r({"SET", "k", "d", "IFVER", "6", "NX"}), "(nil)");  // both conditions must hold
  EXPECT_EQ(h.r({"SET", "k", "d", "IFVER"}), "(error) ERR syntax error");
  EXPECT_EQ(h.r({"SET", "k", "d", "IFVER", "-3"}),
            "(error) ERR value is not an integer or out of range");
}

// ---- transactions ----

TEST(KvTransaction, AppliesEveryCommandInOneEntry) {
  Harness h;
  h.run({"SET", "a", "1"});
  Reply r = h.exec({{"SET", "b", "x"}, {"INCR", "a"}, {"GET", "a"}, {"GETVER", "b"}, {"DEL", "c"}});
  EXPECT_EQ(render(r), "[\"OK\", (integer) 2, \"2\", [\"x\", (integer) 2], (integer) 0]");
  EXPECT_EQ(h.index(), 2u);
  EXPECT_EQ(h.store().version_of("a"), 2u);
  EXPECT_EQ(h.store().version_of("b"), 2u);
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"set:a", "set:b", "incrby:a"}));
}

TEST(KvTransaction, ChangedWatchedKeyAbortsAndAppliesNothing) {
  Harness h;
  h.run({"SET", "a", "1"});
  auto watched = h.watch("a");
  EXPECT_EQ(watched.second, 1u);
  h.run({"SET", "a", "2"});  // another client
  Reply r = h.exec({{"SET", "b", "x"}, {"INCR", "a"}}, {watched});
  EXPECT_EQ(r.kind, Reply::Kind::kNullArray);
  EXPECT_EQ(h.r({"EXISTS", "b"}), "(integer) 0");
  EXPECT_EQ(h.r({"GET", "a"}), "\"2\"");
  EXPECT_EQ(h.index(), 3u);  // the aborted EXEC still took its entry
}

TEST(KvTransaction, UnchangedWatchedKeysLetItRun) {
  Harness h;
  h.run({"SET", "a", "1"});
  h.run({"SET", "other", "1"});  // not watched
  Reply r = h.exec({{"INCR", "a"}}, {h.watch("a"), h.watch("absent")});
  EXPECT_EQ(render(r), "[(integer) 2]");
}

TEST(KvTransaction, WatchedKeyCreatedOrExpiredAborts) {
  Harness h;
  auto absent = h.watch("a");
  EXPECT_EQ(absent.second, 0u);
  h.run({"SET", "a", "1"});
  EXPECT_EQ(h.exec({{"GET", "a"}}, {absent}).kind, Reply::Kind::kNullArray);

  h.run({"SET", "t", "v", "PX", "50"});
  auto watched = h.watch("t");
  h.advance_ms(50);  // gone by the EXEC entry's time
  EXPECT_EQ(h.exec({{"GET", "t"}}, {watched}).kind, Reply::Kind::kNullArray);
}

TEST(KvTransaction, ErrorsInsideDoNotRollBack) {
  Harness h;
  Reply r = h.exec({{"SET", "a", "x"}, {"INCR", "a"}, {"SET", "b", "y"}, {"RENAME", "no", "x"}});
  EXPECT_EQ(render(r),
            "[\"OK\", (error) ERR value is not an integer or out of range, \"OK\", (error) ERR no "
            "such key]");
  EXPECT_EQ(h.r({"MGET", "a", "b"}), "[\"x\", \"y\"]");
}

TEST(KvTransaction, QueueingErrorsNeverReachTheLog) {
  Harness h;
  EXPECT_EQ(h.r({"SET", "k", "v"}), "\"OK\"");
  EXPECT_EQ(render(h.exec({{"SET", "a", "1"}, {"NOPE", "x"}})),
            "(error) ERR unknown command 'NOPE', with args beginning with: 'x' ");
  EXPECT_EQ(render(h.exec({{"SET", "a", "1", "EX", "0"}})),
            "(error) ERR invalid expire time in 'set' command");
  EXPECT_EQ(render(h.exec({{"GET"}})), "(error) ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(render(h.exec({{"LEASE", "GRANT", "100"}})),
            "(error) ERR 'lease|grant' is not allowed in a transaction");
  EXPECT_EQ(render(h.exec({{"ELECT", "w", "a", "100"}})),
            "(error) ERR 'elect' is not allowed in a transaction");
  EXPECT_EQ(render(h.exec({{"LOCK", "w", "a", "100"}})),
            "(error) ERR 'lock' is not allowed in a transaction");
  EXPECT_EQ(h.index(), 1u);
  std::vector<std::string_view> ok = {"INCR", "a"};
  std::vector<std::string_view> bad = {"INCRBY", "a", "x"};
  EXPECT_FALSE(check_queued(ok, h.now_ms()).has_value());
  EXPECT_EQ(render(*check_queued(bad, h.now_ms())),
            "(error) ERR value is not an integer or out of range");
}

TEST(KvTransaction, EmptyTransactionAndCoordinationReads) {
  Harness h;
  EXPECT_EQ(render(h.exec({})), "[]");
  h.run({"ELECT", "w", "a", "1000"});
  h.run({"LEASE", "GRANT", "500"});
  Reply r = h.exec({{"ELECT.LEADER", "w"},
                    {"LEASE", "TTL", "3"},
                    {"ELECT.RESIGN", "w", "2"},
                    {"ELECT.LEADER", "w"}});
  EXPECT_EQ(render(r), "[[\"a\", (integer) 2, (integer) 1000], (integer) 500, (integer) 1, (nil)]");
}

TEST(KvTransaction, PublishAndKeyEventsKeepTheirOrder) {
  Harness h;
  h.exec({{"PUBLISH", "c", "1"}, {"SET", "k", "v"}, {"PUBLISH", "c", "2"}});
  ApplyEffects fx = h.take_effects();
  EXPECT_EQ(fx.published, (std::vector<Published>{{"c", "1"}, {"c", "2"}}));
  EXPECT_EQ(fx.key_events, (std::vector<KeyEvent>{{"k", "set"}}));
}

// ---- leases ----

TEST(KvLease, GrantAnswersTheLogIndexAndTtlCountsDown) {
  Harness h;
  h.run({"SET", "x", "1"});
  EXPECT_EQ(h.r({"LEASE", "GRANT", "1000"}), "(integer) 2");
  EXPECT_EQ(h.r({"lease", "grant", "1000"}), "(integer) 3");
  EXPECT_EQ(h.r({"LEASE", "TTL", "2"}), "(integer) 1000");
  h.advance_ms(300);
  EXPECT_EQ(h.r({"LEASE", "TTL", "2"}), "(integer) 700");
  EXPECT_EQ(h.r({"LEASE", "TTL", "99"}), "(integer) -2");
  EXPECT_EQ(h.r({"LEASE", "TTL", "x"}), "(error) ERR value is not an integer or out of range");
  h.advance_ms(700);
  EXPECT_EQ(h.r({"LEASE", "TTL", "2"}), "(integer) 0");  // lapsed here, not yet by the log
  h.tick();
  EXPECT_EQ(h.r({"LEASE", "TTL", "2"}), "(integer) -2");  // lapsed, expiry entry pending
  EXPECT_EQ(h.store().lease_count(), 2u);
}

TEST(KvLease, SyntaxErrors) {
  Harness h;
  EXPECT_EQ(h.r({"LEASE"}), "(error) ERR wrong number of arguments for 'lease' command");
  EXPECT_EQ(h.r({"LEASE", "FOO"}), "(error) ERR unknown subcommand 'FOO'. Try LEASE HELP.");
  EXPECT_EQ(h.r({"LEASE", "GRANT"}),
            "(error) ERR wrong number of arguments for 'lease|grant' command");
  EXPECT_EQ(h.r({"LEASE", "GRANT", "0"}), "(error) ERR invalid ttl-ms in 'lease|grant' command");
  EXPECT_EQ(h.r({"LEASE", "GRANT", "99999999999999"}),
            "(error) ERR invalid ttl-ms in 'lease|grant' command");
  EXPECT_EQ(h.r({"LEASE", "GRANT", "1s"}), "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.r({"LEASE", "KEEPALIVE", "0"}),
            "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.r({"SET", "k", "v", "LEASE", "0"}),
            "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.index(), 0u);
}

TEST(KvLease, KeepAliveRestartsTheTtl) {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});
  h.advance_ms(600);
  EXPECT_EQ(h.r({"LEASE", "KEEPALIVE", "1"}), "(integer) 1000");
  EXPECT_EQ(h.r({"LEASE", "TTL", "1"}), "(integer) 1000");
  EXPECT_EQ(h.r({"LEASE", "KEEPALIVE", "7"}), "(error) ERR no such lease");
  h.advance_ms(1000);
  EXPECT_EQ(h.r({"LEASE", "KEEPALIVE", "1"}), "(error) ERR no such lease");  // lapsed
}

TEST(KvLease, RevokeDeletesAttachedKeys) {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});
  h.run({"SET", "a", "v", "LEASE", "1"});
  h.run({"SET", "b", "v", "LEASE", "1", "EX", "100"});
  h.run({"SET", "c", "v"});
  h.take_events();
  EXPECT_EQ(h.r({"LEASE", "REVOKE", "1"}), "(integer) 2");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"del:a", "del:b"}));
  EXPECT_EQ(h.r({"EXISTS", "a", "b", "c"}), "(integer) 1");
  EXPECT_EQ(h.r({"LEASE", "TTL", "1"}), "(integer) -2");
  EXPECT_EQ(h.r({"LEASE", "REVOKE", "1"}), "(error) ERR no such lease");
  EXPECT_EQ(h.r({"SET", "a", "v", "LEASE", "1"}), "(error) ERR no such lease");
  EXPECT_EQ(h.r({"EXISTS", "a"}), "(integer) 0");
}

TEST(KvLease, OverwriteWithoutLeaseDetachesModifyKeeps) {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});
  h.run({"SET", "a", "v", "LEASE", "1"});
  h.run({"SET", "a", "w"});  // detached
  h.run({"SET", "n", "1", "LEASE", "1"});
  h.run({"INCR", "n"});  // stays attached
  h.run({"SET", "r", "v", "LEASE", "1"});
  h.run({"RENAME", "r", "r2"});  // the lease moves with the value
  h.run({"SET", "m", "v", "LEASE", "1"});
  h.run({"MSET", "m", "x"});  // detached
  EXPECT_EQ(h.r({"LEASE", "REVOKE", "1"}), "(integer) 2");
  EXPECT_EQ(h.r({"EXISTS", "a", "n", "r", "r2", "m"}), "(integer) 2");
}

TEST(KvLease, FlushKeepsLeasesButDropsTheirKeys) {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});
  h.run({"SET", "a", "v", "LEASE", "1"});
  h.run({"FLUSHALL"});
  EXPECT_EQ(h.r({"LEASE", "TTL", "1"}), "(integer) 1000");
  EXPECT_EQ(h.r({"LEASE", "REVOKE", "1"}), "(integer) 0");
}

TEST(KvLease, LeaderExpiryDeletesKeysOnlyIfTheDeadlineIsUnchanged) {
  Harness h;
  h.run({"LEASE", "GRANT", "100"});   // 1
  h.run({"LEASE", "GRANT", "1000"});  // 2
  h.run({"SET", "a", "v", "LEASE", "1"});
  h.run({"SET", "b", "v", "LEASE", "2"});
  Store& s = h.store();
  EXPECT_TRUE(s.expired_leases(h.now_ms() + 99, 10).empty());
  h.advance_ms(100);
  auto expired = s.expired_leases(h.now_ms(), 10);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], (std::pair<uint64_t, int64_t>{1, Harness::kStartMs + 100}));
  h.take_events();
  EXPECT_EQ(render(h.propose(encode_expire_lease(1, expired[0].second, h.now_ms()))),
            "(integer) 1");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"expired:a"}));
  EXPECT_EQ(render(h.propose(encode_expire_lease(1, expired[0].second, h.now_ms()))),
            "(integer) 0");
  // Lease 2 kept alive after the leader saw it expired: the stale expire entry does nothing.
  h.advance_ms(900);
  auto second = s.expired_leases(h.now_ms(), 10);
  ASSERT_EQ(second.size(), 1u);
  h.advance_ms(-1);  // a keepalive the leader's clock placed just before the deadline
  h.run({"LEASE", "KEEPALIVE", "2"});
  h.advance_ms(1);
  EXPECT_EQ(render(h.propose(encode_expire_lease(2, second[0].second, h.now_ms()))), "(integer) 0");
  EXPECT_EQ(h.r({"EXISTS", "b"}), "(integer) 1");
  // An expire entry stamped before the deadline does nothing either.
  EXPECT_EQ(render(h.propose(encode_expire_lease(2, h.now_ms() + 999, h.now_ms()))), "(integer) 0");
}

TEST(KvLease, ExpiredLeasesCyclesWithMax) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.run({"LEASE", "GRANT", str(10 + i)});
  Store& s = h.store();
  int64_t later = h.now_ms() + 100;
  EXPECT_EQ(s.expired_leases(later, 2).size(), 2u);
  EXPECT_EQ(s.expired_leases(later, 2).size(), 2u);
  EXPECT_EQ(s.expired_leases(later, 2).size(), 1u);
  auto again = s.expired_leases(later, 10);  // starts over
  ASSERT_EQ(again.size(), 5u);
  EXPECT_EQ(again[0].first, 1u);
}

TEST(KvLease, NewLeaderExtendsLiveAndLapsedLeasesBeforeExpiring) {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});  // 1: deadline start+1000
  h.run({"LEASE", "GRANT", "100"});   // 2: deadline start+100
  h.run({"SET", "a", "v", "LEASE", "2"});
  h.run({"ELECT", "w", "a", "1000"});  // token 4
  // The leader dies; the new one takes over at start+400 and extends by its election timeout.
  h.advance_ms(400);
  auto stale = h.store().expired_leases(h.now_ms(), 10);  // what an old leader would expire
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(render(h.propose(encode_extend_leases(500, h.now_ms()))), "\"OK\"");
  EXPECT_EQ(h.r({"LEASE", "TTL", "1"}), "(integer) 1100");  // 600 left + 500
  EXPECT_EQ(h.r({"LEASE", "TTL", "2"}), "(integer) 500");   // lapsed: now + 500
  EXPECT_EQ(render(h.propose(encode_expire_lease(2, stale[0].second, h.now_ms()))), "(integer) 0");
  EXPECT_EQ(h.r({"EXISTS", "a"}), "(integer) 1");
  EXPECT_EQ(h.r({"ELECT.LEADER", "w"}), "[\"a\", (integer) 4, (integer) 1100]");
  EXPECT_TRUE(h.store().expired_leases(h.now_ms() + 499, 10).empty());
  EXPECT_EQ(h.r({"LEASE", "KEEPALIVE", "2"}), "(integer) 100");  // the client is back in time
}

// ---- elections and locks ----

TEST(KvElect, FirstCandidateWinsOthersSeeTheHolder) {
  Harness h;
  h.run({"SET", "x", "1"});
  EXPECT_EQ(h.r({"ELECT", "w", "a", "1000"}), "[(integer) 1, \"a\", (integer) 2, (integer) 1000]");
  EXPECT_EQ(name_events_of(h), (std::vector<std::string>{"elect:w:2"}));
  h.advance_ms(250);
  EXPECT_EQ(h.r({"ELECT", "w", "b", "1000"}), "[(integer) 0, \"a\", (integer) 2, (integer) 750]");
  EXPECT_EQ(h.r({"ELECT.LEADER", "w"}), "[\"a\", (integer) 2, (integer) 750]");
  // The holder campaigning again refreshes its term and keeps its token.
  EXPECT_EQ(h.r({"ELECT", "w", "a", "2000"}), "[(integer) 1, \"a\", (integer) 2, (integer) 2000]");
  EXPECT_TRUE(name_events_of(h).empty());
  EXPECT_EQ(h.r({"ELECT.LEADER", "nobody"}), "(nil)");
  EXPECT_EQ(h.run({"ELECT.LEADER", "nobody"}).kind, Reply::Kind::kNullArray);
}

TEST(KvElect, KeepAliveNeedsTheCurrentToken) {
  Harness h;
  h.run({"ELECT", "w", "a", "1000"});  // token 1
  h.advance_ms(600);
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "w", "1"}), "(integer) 1000");
  EXPECT_EQ(h.r({"ELECT.LEADER", "w"}), "[\"a\", (integer) 1, (integer) 1000]");
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "w", "3"}),
            "(error) ERR token 3 for 'w' is unknown; the current token is 1");
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "v", "1"}), "(error) ERR 'v' has no holder");
  h.advance_ms(1000);
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "w", "1"}), "(error) ERR token 1 for 'w' has expired");
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "w", "x"}),
            "(error) ERR value is not an integer or out of range");
}

TEST(KvElect, ResignFreesTheNameForTheNextWinnerWithANewerToken) {
  Harness h;
  h.run({"ELECT", "w", "a", "1000"});  // token 1
  EXPECT_EQ(h.r({"ELECT.RESIGN", "w", "7"}), "(integer) 0");
  h.take_effects();
  EXPECT_EQ(h.r({"ELECT.RESIGN", "w", "1"}), "(integer) 1");
  EXPECT_EQ(name_events_of(h), (std::vector<std::string>{"resign:w:1"}));
  EXPECT_TRUE(h.store().election_free("w"));
  EXPECT_EQ(h.r({"ELECT.RESIGN", "w", "1"}), "(integer) 0");
  EXPECT_EQ(h.r({"ELECT", "w", "b", "1000"}), "[(integer) 1, \"b\", (integer) 5, (integer) 1000]");
  EXPECT_EQ(h.r({"ELECT.KEEPALIVE", "w", "1"}),
            "(error) ERR token 1 for 'w' is stale; the current token is 5");
}

TEST(KvElect, LapsedHolderLosesToTheNextCandidate) {
  Harness h;
  h.run({"ELECT", "w", "a", "100"});  // token 1
  h.advance_ms(99);
  h.tick();  // 2
  EXPECT_FALSE(h.store().election_free("w"));
  h.advance_ms(1);
  // Lapsed by the wall clock, not yet by the log's time: still held, with 0 ms left.
  EXPECT_FALSE(h.store().election_free("w"));
  EXPECT_EQ(h.r({"ELECT.LEADER", "w"}), "[\"a\", (integer) 1, (integer) 0]");
  h.tick();  // 3
  EXPECT_TRUE(h.store().election_free("w"));
  EXPECT_EQ(h.r({"ELECT.LEADER", "w"}), "(nil)");
  h.take_effects();
  EXPECT_EQ(h.r({"ELECT", "w", "b", "100"}), "[(integer) 1, \"b\", (integer) 4, (integer) 100]");
  EXPECT_EQ(name_events_of(h), (std::vector<std::string>{"expired:w:1", "elect:w:4"}));
  // The lapsed holder campaigning again is a new term, with a new token.
  h.advance_ms(100);
  EXPECT_EQ(h.r({"ELECT", "w", "b", "100"}), "[(integer) 1, \"b\", (integer) 5, (integer) 100]");
}

TEST(KvElect, LeaderExpiryFreesTheNameUnlessKeptAlive) {
  Harness h;
  h.run({"ELECT", "w", "a", "100"});  // 1
  h.run({"LOCK", "l", "b", "100"});   // 2
  Store& s = h.store();
  EXPECT_TRUE(s.expired_elections(h.now_ms() + 99, 10).empty());
  h.advance_ms(100);
  auto expired = s.expired_elections(h.now_ms(), 10);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0], (std::pair<std::string, uint64_t>{"l", 2}));
  EXPECT_EQ(expired[1], (std::pair<std::string, uint64_t>{"w", 1}));
  // An entry stamped before the deadline (while the log's time is too) or with a wrong token
  // leaves the holder alone.
  EXPECT_EQ(render(h.propose(encode_expire_election("l", 2, h.now_ms() - 1))), "(integer) 0");
  EXPECT_EQ(render(h.propose(encode_expire_election("l", 9, h.now_ms()))), "(integer) 0");
  h.take_effects();
  EXPECT_EQ(render(h.propose(encode_expire_election("w", 1, h.now_ms()))), "(integer) 1");
  EXPECT_EQ(name_events_of(h), (std::vector<std::string>{"expired:w:1"}));
  EXPECT_EQ(render(h.propose(encode_expire_election("w", 1, h.now_ms()))), "(integer) 0");
  EXPECT_EQ(s.election_count(), 1u);
}

TEST(KvLock, SharesTheElectionNamespace) {
  Harness h;
  EXPECT_EQ(h.r({"LOCK", "res", "owner1", "5000"}),
            "[(integer) 1, \"owner1\", (integer) 1, (integer) 5000]");
  EXPECT_EQ(h.r({"LOCK", "res", "owner2", "5000"}),
            "[(integer) 0, \"owner1\", (integer) 1, (integer) 5000]");
  EXPECT_EQ(h.r({"ELECT", "res", "owner2", "5000"}),
            "[(integer) 0, \"owner1\", (integer) 1, (integer) 5000]");
  EXPECT_EQ(h.r({"ELECT.LEADER", "res"}), "[\"owner1\", (integer) 1, (integer) 5000]");
  EXPECT_EQ(h.r({"UNLOCK", "res", "2"}), "(integer) 0");
  EXPECT_EQ(h.r({"UNLOCK", "res", "1"}), "(integer) 1");
  EXPECT_EQ(h.r({"LOCK", "res", "owner2", "5000"}),
            "[(integer) 1, \"owner2\", (integer) 6, (integer) 5000]");
}

TEST(KvElect, BlockOptionIsValidatedAndLeftOutOfTheEntry) {
  int64_t now = Harness::kStartMs;
  std::vector<std::string_view> plain = {"ELECT", "w", "a", "1000"};
  std::vector<std::string_view> blocking = {"elect", "w", "a", "1000", "block", "500"};
  EXPECT_EQ(std::get<std::string>(encode_write(blocking, now)),
            std::get<std::string>(encode_write(plain, now)));
  EXPECT_EQ(block_timeout_ms(blocking), 500);
  EXPECT_EQ(block_timeout_ms(plain), std::nullopt);
  std::vector<std::string_view> lock = {"LOCK", "l", "o", "10", "BLOCK", "0", "FENCE", "f", "3"};
  EXPECT_EQ(block_timeout_ms(lock), 0);
  Harness h;
  EXPECT_EQ(h.r({"ELECT", "w", "a", "1000", "BLOCK", "-1"}), "(error) ERR timeout is negative");
  EXPECT_EQ(h.r({"ELECT", "w", "a", "1000", "BLOCK", "x"}),
            "(error) ERR timeout is not an integer or out of range");
  EXPECT_EQ(h.r({"ELECT", "w", "a", "1000", "BLOCK"}), "(error) ERR syntax error");
  EXPECT_EQ(h.r({"ELECT", "w", "a", "1000", "WAIT", "1"}), "(error) ERR syntax error");
  EXPECT_EQ(h.r({"ELECT", "w", "a", "0"}), "(error) ERR invalid ttl-ms in 'elect' command");
  EXPECT_EQ(h.r({"LOCK", "w", "a", "-5"}), "(error) ERR invalid ttl-ms in 'lock' command");
  EXPECT_EQ(h.r({"ELECT", "w", "a"}), "(error) ERR wrong number of arguments for 'elect' command");
  EXPECT_EQ(h.index(), 0u);
}

TEST(KvElect, TokensIncreaseAcrossTerms) {
  Harness h;
  uint64_t last = 0;
  for (int term = 0; term < 20; ++term) {
    std::string who = fmt::format("c{}", term % 3);
    Reply r = h.run({"ELECT", "w", who, "50"});
    ASSERT_EQ(r.elements.at(0).integer, 1);
    auto token = static_cast<uint64_t>(r.elements.at(2).integer);
    EXPECT_GT(token, last);
    last = token;
    if (term % 2 == 0) {
      h.run({"ELECT.RESIGN", "w", str(token)});
    } else {
      h.advance_ms(50);
    }
  }
}

// ---- fencing ----

TEST(KvFence, PausedFormerHolderIsRejectedAfterExpiry) {
  Harness h;
  Reply won = h.run({"ELECT", "writer", "A", "1000"});
  std::string t1 = str(static_cast<uint64_t>(won.elements.at(2).integer));
  EXPECT_EQ(h.r({"SET", "data", "from-A", "FENCE", "writer", t1}), "\"OK\"");
  // A pauses (GC, SIGSTOP) past its TTL; the leader expires it through the log; B wins.
  h.advance_ms(1500);
  for (auto& [name, token] : h.store().expired_elections(h.now_ms(), 10)) {
    h.propose(encode_expire_election(name, token, h.now_ms()));
  }
  Reply b = h.run({"ELECT", "writer", "B", "1000"});
  ASSERT_EQ(b.elements.at(0).integer, 1);
  std::string t2 = str(static_cast<uint64_t>(b.elements.at(2).integer));
  EXPECT_EQ(h.r({"SET", "data", "from-B", "FENCE", "writer", t2}), "\"OK\"");
  // A wakes up and writes with its old token.
  EXPECT_EQ(h.r({"SET", "data", "late-A", "FENCE", "writer", t1}),
            "(error) FENCED token " + t1 + " for 'writer' is stale; the current token is " + t2);
  EXPECT_EQ(h.r({"GET", "data"}), "\"from-B\"");
}

TEST(KvFence, RejectsLapsedAndMissingHolders) {
  Harness h;
  h.run({"ELECT", "w", "A", "100"});  // token 1
  h.advance_ms(100);
  EXPECT_EQ(h.r({"SET", "k", "v", "FENCE", "w", "1"}),
            "(error) FENCED token 1 for 'w' has expired");
  EXPECT_EQ(h.r({"SET", "k", "v", "FENCE", "none", "1"}), "(error) FENCED 'none' has no holder");
  EXPECT_EQ(h.r({"SET", "k", "v", "FENCE", "w", "x"}),
            "(error) ERR value is not an integer or out of range");
  EXPECT_EQ(h.r({"EXISTS", "k"}), "(integer) 0");
}

TEST(KvFence, GuardsEveryWriteCommand) {
  Harness h;
  h.run({"SET", "n", "1"});
  h.run({"LOCK", "f", "me", "100000"});  // token 2
  h.run({"LEASE", "GRANT", "100000"});   // 3
  std::vector<std::vector<std::string_view>> writes = {
      {"DEL", "n"},
      {"INCR", "n"},
      {"INCRBY", "n", "5"},
      {"MSET", "a", "1", "b", "2"},
      {"CAS", "n", "1", "x"},
      {"EXPIRE", "n", "100"},
      {"APPEND", "n", "z"},
      {"RENAME", "n", "m"},
      {"SET", "n", "2", "IFVER", "1"},
      {"FLUSHALL"},
      {"PUBLISH", "c", "m"},
      {"LEASE", "REVOKE", "3"},
      {"LEASE", "KEEPALIVE", "3"},
      {"ELECT.RESIGN", "f", "2"},
  };
  for (auto cmd : writes) {
    uint64_t version = h.store().version_of("n");
    std::vector<std::string_view> fenced = cmd;
    for (std::string_view w : {"FENCE", "f", "1"}) fenced.push_back(w);
    Reply r = h.run(fenced);
    EXPECT_EQ(render(r), "(error) FENCED token 1 for 'f' is stale; the current token is 2")
        << cmd[0];
    EXPECT_EQ(h.store().version_of("n"), version) << cmd[0];
  }
  EXPECT_EQ(h.r({"LEASE", "TTL", "3"}), "(integer) 100000");
  EXPECT_EQ(h.r({"INCR", "n", "fence", "f", "2"}), "(integer) 2");
  EXPECT_TRUE(h.take_effects().published.empty());
}

TEST(KvFence, StaleFenceInATransactionAppliesNothing) {
  Harness h;
  h.run({"ELECT", "w", "A", "1000"});  // 1
  Reply r = h.exec({{"SET", "a", "1"}, {"SET", "b", "1", "FENCE", "w", "7"}});
  EXPECT_EQ(render(r), "(error) FENCED token 7 for 'w' is unknown; the current token is 1");
  EXPECT_EQ(h.r({"EXISTS", "a", "b"}), "(integer) 0");
  r = h.exec({{"SET", "a", "1", "FENCE", "w", "1"},
              {"ELECT.RESIGN", "w", "1"},
              {"SET", "b", "1", "FENCE", "w", "1"}});
  // Checked up front against the state before the transaction, and again at each command.
  EXPECT_EQ(render(r), "[\"OK\", (integer) 1, (error) FENCED 'w' has no holder]");
  EXPECT_EQ(h.r({"EXISTS", "a", "b"}), "(integer) 1");
  EXPECT_EQ(render(h.exec({{"MGET", "a", "FENCE", "w", "1"}})),  // GET: the table's arity error
            "(error) ERR FENCE applies to write commands only");
}

TEST(KvFence, SplitRule) {
  std::vector<std::string_view> argv = {"SET", "k", "v", "fence", "n", "3"};
  FenceSplit f = split_fence(argv);
  EXPECT_TRUE(f.fenced);
  EXPECT_EQ(f.command.size(), 3u);
  EXPECT_EQ(f.name, "n");
  EXPECT_EQ(f.token_text, "3");
  // A value spelled FENCE in that position is taken as the fence: documented.
  std::vector<std::string_view> mset = {"MSET", "a", "FENCE", "b", "c"};
  EXPECT_TRUE(split_fence(mset).fenced);
  std::vector<std::string_view> short_argv = {"FENCE", "a", "b"};
  EXPECT_FALSE(split_fence(short_argv).fenced);
}

// ---- PUBLISH and routing ----

TEST(KvPublish, GoesThroughTheLog) {
  Harness h;
  EXPECT_EQ(h.r({"PUBLISH", "news", "hello"}), "(integer) 0");
  EXPECT_EQ(h.index(), 1u);
  EXPECT_EQ(h.take_effects().published, (std::vector<Published>{{"news", "hello"}}));
  EXPECT_EQ(h.r({"PUBLISH", "news"}),
            "(error) ERR wrong number of arguments for 'publish' command");
}

TEST(KvRouting, LeaseTtlAndElectLeaderAreReads) {
  auto argv = [](std::initializer_list<std::string_view> words) {
    return std::vector<std::string_view>(words);
  };
  EXPECT_TRUE(is_read_argv(argv({"LEASE", "TTL", "1"})));
  EXPECT_TRUE(is_read_argv(argv({"elect.leader", "w"})));
  EXPECT_TRUE(is_read_argv(argv({"GET", "k"})));
  EXPECT_FALSE(is_read_argv(argv({"LEASE", "GRANT", "1"})));
  EXPECT_FALSE(is_read_argv(argv({"LEASE"})));
  EXPECT_FALSE(is_read_argv(argv({"CAS", "k", "0", "v"})));
  for (std::string_view w :
       {"cas", "lease", "elect", "elect.keepalive", "elect.resign", "lock", "unlock", "publish"}) {
    EXPECT_TRUE(is_write_command(w)) << w;
  }
  EXPECT_TRUE(is_read_command("elect.leader"));
  std::vector<std::string_view> ttl = {"LEASE", "TTL", "1"};
  EXPECT_EQ(render(std::get<Reply>(encode_write(ttl, 0))),
            "(error) ERR 'lease|ttl' is not a write command");
}

TEST(KvRouting, CommandKindAnswersAsTheTwoLookups) {
  const std::vector<std::vector<std::string_view>> lines = {
      {"SET", "k", "v"},
      {"get", "k"},
      {"LEASE", "TTL", "1"},
      {"lease", "grant", "1"},
      {"LEASE"},
      {"LEASE", "nope", "1"},
      {"elect.leader", "w"},
      {"CAS", "k", "0", "v"},
      {"ping"},
      {"nosuchcommand"},
      {"Publish", "c", "m"},
      {"SET", "k", "v", "FENCE", "n", "1"},
  };
  for (const auto& line : lines) {
    const CommandKind kind = command_kind(line);
    EXPECT_EQ(kind.write_name, is_write_command(line[0])) << line[0];
    EXPECT_EQ(kind.read, is_read_argv(line)) << line[0];
  }
  EXPECT_FALSE(command_kind({}).write_name);
  EXPECT_FALSE(command_kind({}).read);
}

// ---- replication: determinism (snapshots of this state: snapshot_test.cc) ----

std::vector<std::vector<std::string>> random_coord_command(std::mt19937_64& rng, uint64_t index) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  std::string key = fmt::format("k{}", pick(6));
  std::string name = fmt::format("n{}", pick(3));
  std::string id = str(pick(index + 2));  // often a real lease id or token, sometimes not
  std::string ttl = str(1 + pick(40));
  std::vector<std::vector<std::string>> out;
  switch (pick(14)) {
    case 0:
      out.push_back({"SET", key, fmt::format("v{}", pick(9))});
      break;
    case 1:
      out.push_back({"SET", key, "w", "LEASE", id});
      break;
    case 2:
      out.push_back({"SET", key, "x", "IFVER", id, "PX", ttl});
      break;
    case 3:
      out.push_back({"CAS", key, id, "c"});
      break;
    case 4:
      out.push_back({"LEASE", "GRANT", ttl});
      break;
    case 5:
      out.push_back({"LEASE", pick(2) == 0 ? "KEEPALIVE" : "REVOKE", id});
      break;
    case 6:
      out.push_back({pick(2) == 0 ? "ELECT" : "LOCK", name, fmt::format("c{}", pick(3)), ttl});
      break;
    case 7:
      out.push_back({"ELECT.KEEPALIVE", name, id});
      break;
    case 8:
      out.push_back({pick(2) == 0 ? "ELECT.RESIGN" : "UNLOCK", name, id});
      break;
    case 9:
      out.push_back({"INCR", key, "FENCE", name, id});
      break;
    case 10:
      out.push_back({"PUBLISH", "ch", key});
      break;
    case 11:
      out.push_back({"DEL", key});
      break;
    case 12:
      out.push_back({"RENAME", key, fmt::format("k{}", pick(6))});
      break;
    default:  // a transaction
      out.push_back({"MULTI"});
      out.push_back({"SET", key, "t", "LEASE", id});
      out.push_back({"GET", fmt::format("k{}", pick(6))});
      out.push_back({"ELECT.RESIGN", name, id});
      out.push_back({"INCR", fmt::format("k{}", pick(6)), "FENCE", name, id});
      break;
  }
  return out;
}

void drive_leader(Harness& leader, std::mt19937_64& rng, int steps) {
  for (int i = 0; i < steps; ++i) {
    auto cmds = random_coord_command(rng, leader.index());
    if (cmds.front().front() == "MULTI") {
      cmds.erase(cmds.begin());
      std::vector<std::pair<std::string, uint64_t>> watched;
      if (rng() % 2 == 0) watched.push_back(leader.watch(fmt::format("k{}", rng() % 6)));
      if (rng() % 3 == 0) leader.run({"SET", "k0", "concurrent"});
      leader.exec(cmds, watched);
    } else {
      std::vector<std::string_view> argv(cmds.front().begin(), cmds.front().end());
      leader.run(argv);
    }
    leader.advance_ms(static_cast<int64_t>(rng() % 8));
    if (i % 40 == 39) leader.propose(encode_extend_leases(10, leader.now_ms()));
    if (i % 10 == 0) {
      Store& s = leader.store();
      for (auto& [lease, deadline] : s.expired_leases(leader.now_ms(), 3)) {
        leader.propose(encode_expire_lease(lease, deadline, leader.now_ms()));
      }
      for (auto& [name, token] : s.expired_elections(leader.now_ms(), 3)) {
        leader.propose(encode_expire_election(name, token, leader.now_ms()));
      }
      for (auto& [key, deadline] : s.expired_keys(leader.now_ms(), 3)) {
        leader.propose(encode_expire_key(key, deadline, leader.now_ms()));
      }
    }
  }
}

TEST(KvCoordReplay, FollowersReachTheSameStateAndEffects) {
  size_t leases_seen = 0, holders_seen = 0, published = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    Harness leader;
    drive_leader(leader, rng, 400);
    ApplyEffects leader_fx = leader.take_effects();
    Store follower;
    Store late;
    ApplyEffects follower_fx;
    const auto& log = leader.log();
    for (size_t i = 0; i < log.size(); ++i) {
      follower.apply(i + 1, log[i], &follower_fx);
      if (i == log.size() / 2) {
        ASSERT_TRUE(late.restore(follower.snapshot()).ok());
      }
      if (i > log.size() / 2) late.apply(i + 1, log[i]);
      leases_seen += follower.lease_count();
      holders_seen += follower.election_count();
    }
    EXPECT_EQ(follower.snapshot(), leader.store().snapshot()) << "seed " << seed;
    EXPECT_EQ(late.snapshot(), leader.store().snapshot()) << "seed " << seed;
    EXPECT_EQ(follower_fx.key_events, leader_fx.key_events) << "seed " << seed;
    EXPECT_EQ(follower_fx.published, leader_fx.published) << "seed " << seed;
    EXPECT_EQ(follower_fx.name_events, leader_fx.name_events) << "seed " << seed;
    published += leader_fx.published.size();
  }
  // The generator reaches the interesting states.
  EXPECT_GT(leases_seen, 1000u);
  EXPECT_GT(holders_seen, 1000u);
  EXPECT_GT(published, 100u);
}

}  // namespace
}  // namespace bw::kv
