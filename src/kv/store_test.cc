// Behaviour the golden scripts cannot show: versions, time, events, expiry, replay, snapshots.
#include "kv/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

#include "kv/command_internal.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;

std::vector<std::string> events_of(Harness& h) {
  std::vector<std::string> out;
  for (const KeyEvent& e : h.take_events()) out.push_back(e.event + ":" + e.key);
  return out;
}

int64_t version_of(Harness& h, std::string_view key) {
  Reply r = h.run({"GETVER", key});
  if (r.kind != Reply::Kind::kArray) return -1;
  return r.elements.at(1).integer;
}

TEST(KvVersion, EveryModificationStampsTheLogIndex) {
  Harness h;
  EXPECT_EQ(h.r({"GETVER", "k"}), "(nil)");
  h.run({"SET", "k", "v"});
  EXPECT_EQ(h.r({"GETVER", "k"}), "[\"v\", (integer) 1]");
  h.run({"SET", "other", "x"});
  EXPECT_EQ(version_of(h, "k"), 1);  // untouched
  h.run({"APPEND", "k", "w"});
  EXPECT_EQ(version_of(h, "k"), 3);
  h.run({"INCR", "n"});
  h.run({"INCR", "n"});
  EXPECT_EQ(version_of(h, "n"), 5);
  h.run({"EXPIRE", "k", "100"});
  EXPECT_EQ(version_of(h, "k"), 6);
  h.run({"PERSIST", "k"});
  EXPECT_EQ(version_of(h, "k"), 7);
  h.run({"GETEX", "k", "EX", "5"});
  EXPECT_EQ(version_of(h, "k"), 8);
  h.run({"SETRANGE", "k", "0", "z"});
  EXPECT_EQ(version_of(h, "k"), 9);
  h.run({"RENAME", "k", "k2"});
  EXPECT_EQ(version_of(h, "k2"), 10);
  h.run({"INCRBYFLOAT", "n", "0.5"});
  EXPECT_EQ(version_of(h, "n"), 11);
}

TEST(KvVersion, CommandsThatChangeNothingKeepTheVersion) {
  Harness h;
  h.run({"SET", "k", "v"});
  h.run({"SET", "k", "w", "NX"});
  h.run({"EXPIRE", "k", "100", "XX"});
  h.run({"PERSIST", "k"});
  h.run({"GETEX", "k"});
  h.run({"SETNX", "k", "x"});
  h.run({"MSETNX", "k", "y", "z", "1"});
  h.run({"INCR", "k"});  // not an integer: error
  h.run({"RENAMENX", "k", "k"});
  h.run({"SETRANGE", "k", "3", ""});
  EXPECT_EQ(h.index(), 10u);
  EXPECT_EQ(h.r({"GETVER", "k"}), "[\"v\", (integer) 1]");
  EXPECT_EQ(h.store().applied_index(), 10u);
}

TEST(KvVersion, RecreatedKeyGetsANewerVersion) {
  Harness h;
  h.run({"SET", "k", "v"});
  h.run({"DEL", "k"});
  h.run({"SET", "k", "v"});
  EXPECT_EQ(version_of(h, "k"), 3);
}

TEST(KvExpiry, DeadlineIsExclusive) {
  Harness h;
  h.run({"SET", "k", "v", "PX", "100"});
  h.advance_ms(99);
  h.tick();
  EXPECT_EQ(h.r({"GET", "k"}), "\"v\"");
  EXPECT_EQ(h.r({"PTTL", "k"}), "(integer) 1");
  h.advance_ms(1);
  h.tick();  // deadline <= the log's time: gone
  EXPECT_EQ(h.r({"GET", "k"}), "(nil)");
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) -2");
  EXPECT_EQ(h.r({"EXISTS", "k"}), "(integer) 0");
  EXPECT_EQ(h.r({"TYPE", "k"}), "\"none\"");
  EXPECT_EQ(h.r({"MGET", "k"}), "[(nil)]");
  EXPECT_EQ(h.r({"KEYS", "*"}), "[]");
  EXPECT_EQ(h.r({"RANDOMKEY"}), "(nil)");
  // Not yet reclaimed: DBSIZE counts it, as Redis does.
  EXPECT_EQ(h.r({"DBSIZE"}), "(integer) 1");
}

TEST(KvExpiry, TtlRoundsLikeRedis) {
  Harness h;
  h.run({"SET", "k", "v", "PX", "1499"});
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) 1");
  h.run({"SET", "k", "v", "PX", "1500"});
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) 2");
  EXPECT_EQ(h.r({"PEXPIRETIME", "k"}), "(integer) " + std::to_string(Harness::kStartMs + 1500));
}

TEST(KvExpiry, WritesTreatExpiredKeysAsAbsentAndReportThem) {
  Harness h;
  h.run({"SET", "k", "41", "EX", "1"});
  h.run({"SET", "t", "x", "EX", "1"});
  h.take_events();
  h.advance_ms(1000);
  EXPECT_EQ(h.r({"INCR", "k"}), "(integer) 1");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"expired:k", "incrby:k"}));
  EXPECT_EQ(h.r({"TTL", "k"}), "(integer) -1");
  EXPECT_EQ(h.r({"SET", "t", "y", "NX", "GET"}), "(nil)");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"expired:t", "set:t"}));
  EXPECT_EQ(h.r({"DBSIZE"}), "(integer) 2");
}

TEST(KvExpiry, EntryTimeNotReaderTimeDecidesApply) {
  // A reader with a slow clock still sees the key, but the entry's time removed it.
  Harness h;
  h.run({"SET", "k", "v", "PX", "50"});
  Store& s = h.store();
  std::string payload = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"SETNX", "k", "w"}, Harness::kStartMs + 50));
  EXPECT_EQ(testing::render(h.apply(payload)), "(integer) 1");
  std::vector<std::string_view> get = {"GET", "k"};
  EXPECT_EQ(testing::render(s.read(get, Harness::kStartMs, 0)), "\"w\"");
}

TEST(KvExpiry, ExpireInThePastDeletes) {
  Harness h;
  h.run({"SET", "k", "v"});
  h.take_events();
  EXPECT_EQ(h.r({"PEXPIREAT", "k", std::to_string(Harness::kStartMs)}), "(integer) 1");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"del:k"}));
  EXPECT_EQ(h.r({"DBSIZE"}), "(integer) 0");
}

TEST(KvExpiry, ActiveExpiryCyclesThroughExpiredKeys) {
  Harness h;
  for (int i = 0; i < 10; ++i) {
    h.run({"SET", fmt::format("k{}", i), "v", "PX", std::to_string(10 + i)});
  }
  h.run({"SET", "forever", "v"});
  Store& s = h.store();
  EXPECT_TRUE(s.expired_keys(Harness::kStartMs + 9, 100).empty());
  auto first = s.expired_keys(Harness::kStartMs + 14, 3);  // k0..k4 expired
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].first, "k0");
  EXPECT_EQ(first[0].second, Harness::kStartMs + 10);
  auto second = s.expired_keys(Harness::kStartMs + 14, 3);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].first, "k4");
  EXPECT_EQ(s.expired_keys(Harness::kStartMs + 14, 3).size(), 3u);  // started over

  h.advance_ms(100);
  // Resumes after k2 first, then starts over for k0..k2.
  for (int round = 0; round < 3 && s.key_count() > 1; ++round) {
    for (const auto& [key, deadline] : s.expired_keys(h.now_ms(), 100)) {
      h.take_events();
      EXPECT_EQ(testing::render(h.apply(encode_expire_key(key, deadline, h.now_ms()))),
                "(integer) 1");
      EXPECT_EQ(events_of(h), (std::vector<std::string>{"expired:" + key}));
    }
  }
  EXPECT_EQ(s.key_count(), 1u);
  EXPECT_TRUE(s.expired_keys(h.now_ms(), 100).empty());
}

TEST(KvExpiry, StaleExpireKeyLosesToLaterChanges) {
  Harness h;
  h.run({"SET", "k", "v", "PX", "10"});
  int64_t old_deadline = Harness::kStartMs + 10;
  h.run({"PEXPIRE", "k", "1000"});  // deadline moved before the expire entry applied
  h.advance_ms(20);
  EXPECT_EQ(testing::render(h.apply(encode_expire_key("k", old_deadline, h.now_ms()))),
            "(integer) 0");
  EXPECT_EQ(h.r({"GET", "k"}), "\"v\"");
  // Not yet due by the entry's own time: kept even if the deadline matches.
  EXPECT_EQ(testing::render(h.apply(encode_expire_key("k", Harness::kStartMs + 1000, h.now_ms()))),
            "(integer) 0");
  EXPECT_EQ(testing::render(h.apply(encode_expire_key("nokey", 1, h.now_ms()))), "(integer) 0");
}

// ---- the replicated clock ----

// Applies argv as an entry the leader stamped `now_ms` (not the harness's time).
Reply apply_at(Harness& h, std::vector<std::string_view> argv, int64_t now_ms) {
  return h.propose(std::get<std::string>(encode_write(argv, now_ms)));
}

TEST(KvClock, IsTheLatestEntryTime) {
  Harness h;
  EXPECT_EQ(h.store().clock_ms(), 0);
  h.run({"SET", "a", "1"});
  EXPECT_EQ(h.store().clock_ms(), Harness::kStartMs);
  h.advance_ms(30);
  h.run({"SET", "a", "2"});
  EXPECT_EQ(h.store().clock_ms(), Harness::kStartMs + 30);
  h.advance_ms(1000);
  h.run({"GET", "a"});  // reads do not move it
  EXPECT_EQ(h.store().clock_ms(), Harness::kStartMs + 30);
  apply_at(h, {"SET", "a", "3"}, Harness::kStartMs + 10);
  EXPECT_EQ(h.store().clock_ms(), Harness::kStartMs + 30);
}

TEST(KvClock, AnEntryBehindTheClockUsesTheClock) {
  // A new leader whose clock is 50 ms behind its predecessor's: what expired by the log stays
  // expired for its entries, and its relative deadlines count from the log's time.
  Harness h;
  h.run({"SET", "k", "v", "PX", "100"});
  h.run({"SET", "e", "v", "PX", "100"});
  h.advance_ms(100);
  h.run({"SET", "other", "x"});  // the log's time reaches both deadlines
  h.take_events();
  const int64_t behind_ms = h.now_ms() - 50;
  EXPECT_EQ(testing::render(apply_at(h, {"SET", "k", "w", "NX", "GET"}, behind_ms)), "(nil)");
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"expired:k", "set:k"}));
  EXPECT_EQ(testing::render(apply_at(h, {"PEXPIRE", "k", "100"}, behind_ms)), "(integer) 1");
  EXPECT_EQ(h.r({"PEXPIRETIME", "k"}), "(integer) " + std::to_string(h.now_ms() + 100));
  // Its expire entry for a key due by the log's time applies although stamped before the
  // deadline.
  EXPECT_EQ(testing::render(h.apply(encode_expire_key("e", Harness::kStartMs + 100, behind_ms))),
            "(integer) 1");
  EXPECT_EQ(h.store().clock_ms(), h.now_ms());
}

// Renders store.read(argv) as a reader whose wall clock says `local_ms`.
std::string read_at(const Store& store, std::vector<std::string_view> argv, int64_t local_ms) {
  return testing::render(store.read(argv, local_ms, 0));
}

std::string ms(int64_t v) {
  return "(integer) " + std::to_string(v);
}

TEST(KvClock, ReadsJudgeExpiryByTheLogNotTheReader) {
  Harness h;
  h.run({"SET", "k", "v", "PX", "100"});
  const Store& s = h.store();
  // A reader whose clock is ten days ahead still sees the key: no entry past its deadline has
  // applied.
  const int64_t ahead_ms = Harness::kStartMs + 10ll * 24 * 3600 * 1000;
  EXPECT_EQ(read_at(s, {"GET", "k"}, ahead_ms), "\"v\"");
  EXPECT_EQ(read_at(s, {"EXISTS", "k"}, ahead_ms), "(integer) 1");
  EXPECT_EQ(read_at(s, {"KEYS", "*"}, ahead_ms), "[\"k\"]");
  EXPECT_EQ(read_at(s, {"SCAN", "0"}, ahead_ms), "[\"0\", [\"k\"]]");
  EXPECT_EQ(read_at(s, {"RANDOMKEY"}, ahead_ms), "\"k\"");
  EXPECT_EQ(read_at(s, {"TYPE", "k"}, ahead_ms), "\"string\"");
  EXPECT_EQ(read_at(s, {"GETVER", "k"}, ahead_ms), "[\"v\", (integer) 1]");
  EXPECT_EQ(read_at(s, {"PEXPIRETIME", "k"}, ahead_ms), ms(Harness::kStartMs + 100));
  // An unrelated write stamped at the deadline applies: gone for every reader, even one whose
  // clock is behind.
  h.advance_ms(100);
  h.run({"SET", "other", "x"});
  const int64_t behind_ms = Harness::kStartMs;
  EXPECT_EQ(read_at(s, {"GET", "k"}, behind_ms), "(nil)");
  EXPECT_EQ(read_at(s, {"EXISTS", "k"}, behind_ms), "(integer) 0");
  EXPECT_EQ(read_at(s, {"KEYS", "*"}, behind_ms), "[\"other\"]");
  EXPECT_EQ(read_at(s, {"TTL", "k"}, behind_ms), "(integer) -2");
}

TEST(KvClock, TtlStopsAtZeroWhileTheLogStillHoldsTheKey) {
  const int64_t start_ms = Harness::kStartMs;
  Harness h;
  h.run({"SET", "k", "v", "PX", "1600"});
  h.run({"LEASE", "GRANT", "1000"});   // 2
  h.run({"ELECT", "w", "a", "1000"});  // token 3
  const Store& s = h.store();
  // This node's clock is past every deadline; the log's time is not.
  const int64_t late_ms = start_ms + 5000;
  EXPECT_EQ(read_at(s, {"GET", "k"}, late_ms), "\"v\"");
  EXPECT_EQ(read_at(s, {"PTTL", "k"}, late_ms), "(integer) 0");
  EXPECT_EQ(read_at(s, {"TTL", "k"}, late_ms), "(integer) 0");
  EXPECT_EQ(read_at(s, {"PEXPIRETIME", "k"}, late_ms), ms(start_ms + 1600));
  EXPECT_EQ(read_at(s, {"EXPIRETIME", "k"}, late_ms), ms((start_ms + 1600) / 1000));
  EXPECT_EQ(read_at(s, {"LEASE", "TTL", "2"}, late_ms), "(integer) 0");
  EXPECT_EQ(read_at(s, {"ELECT.LEADER", "w"}, late_ms), "[\"a\", (integer) 3, (integer) 0]");
  // Between the log's time and the deadline the local clock counts down.
  EXPECT_EQ(read_at(s, {"PTTL", "k"}, start_ms + 1000), "(integer) 600");
  EXPECT_EQ(read_at(s, {"TTL", "k"}, start_ms + 1000), "(integer) 1");  // 600 ms rounds up
  // A local clock behind the log's never adds time.
  EXPECT_EQ(read_at(s, {"PTTL", "k"}, start_ms - 500), "(integer) 1600");
  EXPECT_EQ(read_at(s, {"LEASE", "TTL", "2"}, start_ms - 500), "(integer) 1000");
}

TEST(KvClock, ReadWithExpiryClockJudgesAtTheGivenTime) {
  const int64_t start_ms = Harness::kStartMs;
  Harness h;
  h.run({"SET", "k", "v", "PX", "100"});
  const Store& s = h.store();
  auto at = [&](std::vector<std::string_view> argv, int64_t expiry_ms, int64_t local_ms) {
    return testing::render(s.read_with_expiry_clock(argv, expiry_ms, local_ms, 0));
  };
  // Past the deadline although the log's time is not.
  EXPECT_EQ(at({"GET", "k"}, start_ms + 100, start_ms + 100), "(nil)");
  EXPECT_EQ(at({"GET", "k"}, start_ms + 99, start_ms + 99), "\"v\"");
  EXPECT_EQ(at({"PTTL", "k"}, start_ms + 40, start_ms + 40), "(integer) 60");
  EXPECT_EQ(at({"PTTL", "k"}, start_ms + 40, start_ms + 90), "(integer) 10");
  // read() is read_with_expiry_clock at clock_ms().
  EXPECT_EQ(read_at(s, {"PTTL", "k"}, start_ms + 90),
            at({"PTTL", "k"}, s.clock_ms(), start_ms + 90));
}

TEST(KvClock, VersionsAndElectionsFollowTheLogsTime) {
  Harness h;
  h.run({"SET", "t", "v", "PX", "50"});
  h.run({"ELECT", "w", "a", "50"});
  h.advance_ms(1000);  // the wall clock is well past both deadlines
  EXPECT_EQ(h.store().version_of("t"), 1u);
  EXPECT_FALSE(h.store().election_free("w"));
  h.tick();
  EXPECT_EQ(h.store().version_of("t"), 0u);
  EXPECT_TRUE(h.store().election_free("w"));
}

TEST(KvEvents, NamesFollowRedis) {
  Harness h;
  h.run({"SET", "a", "1", "EX", "10"});
  h.run({"MSET", "b", "2", "c", "3"});
  h.run({"INCRBY", "b", "2"});
  h.run({"INCRBYFLOAT", "b", "2"});
  h.run({"APPEND", "c", "x"});
  h.run({"SETRANGE", "c", "0", "y"});
  h.run({"RENAME", "c", "d"});
  h.run({"PERSIST", "a"});
  h.run({"EXPIRE", "a", "5"});
  h.run({"DEL", "a", "nokey"});
  h.run({"GETDEL", "b"});
  EXPECT_EQ(events_of(h),
            (std::vector<std::string>{"set:a", "expire:a", "set:b", "set:c", "incrby:b",
                                      "incrbyfloat:b", "append:c", "setrange:c", "rename_from:c",
                                      "rename_to:d", "persist:a", "expire:a", "del:a", "del:b"}));
  h.run({"SET", "a", "1", "NX"});
  h.run({"SET", "a", "1", "NX"});  // not written: no event
  EXPECT_EQ(events_of(h), (std::vector<std::string>{"set:a"}));
}

TEST(KvCommands, IncrByFloatFormatsLikeRedis) {
  Harness h;
  EXPECT_EQ(h.r({"INCRBYFLOAT", "f", "0.1"}), "\"0.1\"");
  EXPECT_EQ(h.r({"INCRBYFLOAT", "f", "0.2"}), "\"0.3\"");
  EXPECT_EQ(h.r({"INCRBYFLOAT", "f", "-0.3"}), "\"0\"");
  EXPECT_EQ(h.r({"INCRBYFLOAT", "f", "1e-5"}), "\"0.00001\"");
  EXPECT_EQ(h.r({"INCRBYFLOAT", "f", "-1"}), "\"-0.99999\"");
  EXPECT_EQ(h.r({"SET", "g", "5e3"}), "\"OK\"");
  EXPECT_EQ(h.r({"INCRBYFLOAT", "g", "0"}), "\"5000\"");
  EXPECT_EQ(h.r({"GET", "g"}), "\"5000\"");
}

TEST(KvCommands, RandomKeySkipsExpiredKeys) {
  Harness h;
  for (int i = 0; i < 50; ++i) h.run({"SET", fmt::format("gone{}", i), "v", "PX", "5"});
  h.run({"SET", "live", "v"});
  h.advance_ms(5);
  h.tick();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(h.r({"RANDOMKEY"}), "\"live\"");
  h.run({"DEL", "live"});
  EXPECT_EQ(h.r({"RANDOMKEY"}), "(nil)");
}

TEST(KvCommands, KeysWithNulBytesMatchOnlyTheCatchAll) {
  Harness h;
  std::string key("a\0b", 3);
  h.run({"SET", key, "v"});
  h.run({"SET", "ab", "v"});
  EXPECT_EQ(h.r({"KEYS", "a*"}), "[\"ab\"]");
  EXPECT_EQ(h.run({"KEYS", "*"}).elements.size(), 2u);
  EXPECT_EQ(h.run({"SCAN", "0", "MATCH", "*"}).elements.at(1).elements.size(), 2u);
}

std::set<std::string> scan_all(Harness& h, std::string_view count,
                               const std::function<void(int)>& between = {}) {
  std::set<std::string> seen;
  std::string cursor = "0";
  for (int round = 0; round < 100000; ++round) {
    Reply r = h.run({"SCAN", cursor, "COUNT", count});
    EXPECT_EQ(r.elements.size(), 2u);
    cursor = r.elements[0].str;
    for (const Reply& k : r.elements[1].elements) seen.insert(k.str);
    if (between) between(round);
    if (cursor == "0") return seen;
  }
  ADD_FAILURE() << "scan did not finish";
  return seen;
}

TEST(KvScan, ReturnsEveryKeyPresentForTheWholeScan) {
  Harness h;
  std::set<std::string> stable;
  for (int i = 0; i < 1000; ++i) {
    stable.insert(fmt::format("s{}", i));
    h.run({"SET", fmt::format("s{}", i), "v"});
  }
  EXPECT_EQ(scan_all(h, "10"), stable);
  EXPECT_EQ(scan_all(h, "1"), stable);
  // Heavy churn between calls: inserts and deletes of other keys.
  std::set<std::string> seen = scan_all(h, "7", [&](int round) {
    for (int j = 0; j < 5; ++j) h.run({"SET", fmt::format("n{}", round * 5 + j), "v"});
    if (round >= 2) h.run({"DEL", fmt::format("n{}", (round - 2) * 5)});
  });
  for (const std::string& k : stable) EXPECT_TRUE(seen.contains(k)) << k;
}

TEST(KvScan, CountIsAHintWithinBounds) {
  Harness h;
  for (int i = 0; i < 100; ++i) h.run({"SET", std::to_string(i), "v"});
  Reply r = h.run({"SCAN", "0", "COUNT", "10"});
  EXPECT_GE(r.elements[1].elements.size(), 10u);
  EXPECT_NE(r.elements[0].str, "0");
  EXPECT_EQ(h.run({"SCAN", "0", "COUNT", "9223372036854775807"}).elements[1].elements.size(), 100u);
  EXPECT_EQ(h.r({"SCAN", "18446744073709551615"}), "[\"0\", []]");
  EXPECT_EQ(h.r({"SCAN", "18446744073709551616"}), "(error) ERR invalid cursor");
}

TEST(KvEncode, RejectsBadCommandsBeforeTheLog) {
  auto err = [](std::vector<std::string_view> argv) {
    auto r = encode_write(argv, Harness::kStartMs);
    return std::holds_alternative<Reply>(r) ? std::get<Reply>(r).str : "payload";
  };
  EXPECT_EQ(err({"FOO", "a", "b"}),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
  EXPECT_EQ(err({"GET", "k"}), "ERR 'get' is not a write command");
  EXPECT_EQ(err({"set", "k", "v", "px", "x"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(err({"SET", "k", "v"}), "payload");
  EXPECT_TRUE(is_write_command("sEt"));
  EXPECT_FALSE(is_write_command("get"));
  EXPECT_TRUE(is_read_command("GETVER"));
  EXPECT_FALSE(is_read_command("ping"));
  std::vector<std::string_view> set = {"SET", "k", "v"};
  Store s;
  EXPECT_EQ(s.read(set, 0, 0).str, "ERR 'set' is not a read-only command");
}

TEST(KvEncode, PayloadsDecodeAndGarbageDoesNot) {
  std::string p = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"MSET", "a", "1", "b", "2"}, 42));
  Result<DecodedPayload> d = decode_payload(p);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->now_ms, 42);
  EXPECT_EQ(std::get<DecodedCommand>(d->body).op, Op::kMSet);
  EXPECT_EQ(std::get<DecodedCommand>(d->body).args.size(), 4u);
  for (size_t n = 0; n < p.size(); ++n) EXPECT_FALSE(decode_payload(p.substr(0, n)).ok()) << n;
  EXPECT_FALSE(decode_payload(p + "x").ok());
  std::string bad_version = p;
  bad_version[0] = 2;
  EXPECT_FALSE(decode_payload(bad_version).ok());
  std::string e = encode_expire_key("k", 7, 9);
  ASSERT_TRUE(decode_payload(e).ok());
  EXPECT_EQ(std::get<DecodedExpire>(decode_payload(e)->body).deadline_ms, 7);
}

TEST(KvApplyDeathTest, BadPayloadOrIndexIsABug) {
  Harness h;
  h.run({"SET", "k", "v"});
  EXPECT_DEATH(h.store().apply(5, "garbage"), "undecodable");
  EXPECT_DEATH(h.store().apply(1, h.log()[0]), "apply of index");
}

// A random but valid command mix over a small key set, with time moving forward.
std::vector<std::string> random_command(std::mt19937_64& rng) {
  static const std::vector<std::vector<std::string>> kShapes = {
      {"SET", "K", "V"},
      {"SET", "K", "V", "PX", "T"},
      {"SET", "K", "V", "NX"},
      {"APPEND", "K", "V"},
      {"INCR", "K"},
      {"DEL", "K"},
      {"PEXPIRE", "K", "T"},
      {"PERSIST", "K"},
      {"RENAME", "K", "K"},
      {"SETRANGE", "K", "T", "V"},
      {"GETEX", "K", "PX", "T"},
      {"MSET", "K", "V", "K", "V"},
      {"INCRBYFLOAT", "K", "V"},
      {"GETDEL", "K"},
      {"EXPIRE", "K", "-1"},
  };
  std::vector<std::string> cmd = kShapes[rng() % kShapes.size()];
  for (size_t i = 1; i < cmd.size(); ++i) {
    if (cmd[i] == "K") cmd[i] = fmt::format("key{}", rng() % 20);
    if (cmd[i] == "V") cmd[i] = std::to_string(rng() % 100);
    if (cmd[i] == "T") cmd[i] = std::to_string(1 + rng() % 50);
  }
  return cmd;
}

TEST(KvReplay, SamePayloadsGiveIdenticalStores) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    Harness leader;
    for (int i = 0; i < 300; ++i) {
      std::vector<std::string> words = random_command(rng);
      std::vector<std::string_view> argv(words.begin(), words.end());
      leader.run(argv);
      leader.advance_ms(static_cast<int64_t>(rng() % 5));
      if (i % 50 == 0) {
        for (auto& [key, deadline] : leader.store().expired_keys(leader.now_ms(), 5)) {
          leader.propose(encode_expire_key(key, deadline, leader.now_ms()));
        }
      }
    }
    Store follower;
    Store late;
    const auto& log = leader.log();
    for (size_t i = 0; i < log.size(); ++i) {
      follower.apply(i + 1, log[i]);
      if (i == log.size() / 2) {
        ASSERT_TRUE(late.restore(follower.snapshot()).ok());
      }
      if (i > log.size() / 2) late.apply(i + 1, log[i]);
    }
    ASSERT_EQ(follower.applied_index(), leader.store().applied_index()) << "seed " << seed;
    EXPECT_EQ(follower.snapshot(), leader.store().snapshot()) << "seed " << seed;
    EXPECT_EQ(late.snapshot(), leader.store().snapshot()) << "seed " << seed;
  }
}

// What a replica answers without saying how much time is left: equal on every replica at the
// same applied index.
std::string timeless_view(const Store& s, int64_t local_ms) {
  std::string out;
  auto add = [&](std::vector<std::string_view> argv) {
    out += testing::render(s.read(argv, local_ms, 7)) + "\n";
  };
  for (int i = 0; i < 20; ++i) {
    std::string key = fmt::format("key{}", i);
    add({"GETVER", key});
    add({"TYPE", key});
    add({"PEXPIRETIME", key});
    out += std::to_string(s.version_of(key)) + "\n";
  }
  add({"KEYS", "*"});
  add({"SCAN", "0", "COUNT", "100"});
  add({"RANDOMKEY"});
  add({"DBSIZE"});
  for (int id = 1; id < 40; ++id) {
    out += s.read(std::vector<std::string_view>{"LEASE", "TTL", std::to_string(id)}, local_ms, 0)
                       .integer < 0
               ? "-"
               : "+";
  }
  Reply leader = s.read(std::vector<std::string_view>{"ELECT.LEADER", "w"}, local_ms, 0);
  if (leader.kind == Reply::Kind::kArray) out += testing::render(leader.elements.at(1));
  out += s.election_free("w") ? " free\n" : " held\n";
  return out;
}

TEST(KvClock, ReplicasAtTheSameIndexAgreeWhateverTheirClocks) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    std::mt19937_64 rng(seed);
    Harness leader;
    for (int i = 0; i < 300; ++i) {
      std::vector<std::string> words = random_command(rng);
      if (i % 7 == 0) words = {"LEASE", "GRANT", std::to_string(1 + rng() % 40)};
      if (i % 7 == 3) words = {"ELECT", "w", fmt::format("c{}", rng() % 3), "20"};
      std::vector<std::string_view> argv(words.begin(), words.end());
      leader.run(argv);
      leader.advance_ms(static_cast<int64_t>(rng() % 5));
      if (i % 50 == 0) {
        for (auto& [key, deadline] : leader.store().expired_keys(leader.now_ms(), 5)) {
          leader.propose(encode_expire_key(key, deadline, leader.now_ms()));
        }
      }
    }
    // Two replicas whose wall clocks are a second behind and a second ahead of the leader's.
    Store slow;
    Store fast;
    const auto& log = leader.log();
    for (size_t i = 0; i < log.size(); ++i) {
      slow.apply(i + 1, log[i]);
      fast.apply(i + 1, log[i]);
      const int64_t leader_ms = slow.clock_ms();
      ASSERT_EQ(timeless_view(slow, leader_ms - 1000), timeless_view(fast, leader_ms + 1000))
          << "seed " << seed << " index " << i + 1;
    }
  }
}

}  // namespace
}  // namespace bw::kv
