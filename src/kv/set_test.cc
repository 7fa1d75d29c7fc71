// Sets beyond what the golden scripts (testdata/sets.golden) can show: SPOP's replicated choice,
// snapshots with sequence numbers, cursors, memory accounting, events, versions, reply order.
#include <gtest/gtest.h>

#include <set>

#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;
using testing::render;

std::vector<std::string> names(std::string_view prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::string(prefix) + std::to_string(i));
  return out;
}

Reply run_words(Harness& h, std::vector<std::string> words) {
  std::vector<std::string_view> argv(words.begin(), words.end());
  return h.run(argv);
}

void sadd_all(Harness& h, std::string_view key, const std::vector<std::string>& members) {
  std::vector<std::string> words = {"SADD", std::string(key)};
  words.insert(words.end(), members.begin(), members.end());
  ASSERT_FALSE(run_words(h, words).is_error());
}

Reply read(const Store& store, std::vector<std::string_view> argv, uint64_t random = 0) {
  return store.read(argv, 0, random);
}

std::vector<std::string> strings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

// SSCAN key cursor COUNT n on `store`: (next cursor, members returned).
std::pair<std::string, std::vector<std::string>> sscan(const Store& store, std::string_view key,
                                                       const std::string& cursor, int count) {
  const std::string n = std::to_string(count);
  Reply r = read(store, {"SSCAN", key, cursor, "COUNT", n});
  EXPECT_EQ(r.kind, Reply::Kind::kArray) << render(r);
  return {r.elements[0].str, strings(r.elements[1])};
}

TEST(KvSet, SpopEntryGivesTheSameResultOnEveryReplica) {
  for (std::string_view count : {"", "1", "7", "49"}) {
    Harness h;
    sadd_all(h, "s", names("m", 0, 50));
    std::vector<std::string_view> argv = {"SPOP", "s"};
    if (!count.empty()) argv.push_back(count);
    const std::string payload = std::get<std::string>(encode_write(argv, h.now_ms()));
    Harness replica;
    for (const std::string& p : h.log()) replica.apply(p);
    const Reply a = h.apply(payload);
    const Reply b = replica.apply(payload);
    ASSERT_FALSE(a.is_error()) << render(a);
    EXPECT_EQ(a, b) << count;
    EXPECT_EQ(h.store().snapshot(), replica.store().snapshot()) << count;
    const size_t popped = count.empty() ? 1 : std::stoul(std::string(count));
    if (!count.empty()) {
      EXPECT_EQ(a.elements.size(), popped);
      const std::vector<std::string> got = strings(a);
      EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), popped) << "distinct";
    }
    EXPECT_EQ(h.r({"SCARD", "s"}), "(integer) " + std::to_string(50 - popped));
  }
}

TEST(KvSet, SpopSeedComesFromTheLeaderOnly) {
  Harness h;
  sadd_all(h, "s", names("m", 0, 100));
  // The entry carries the seed after the client's words; each proposal draws a new one, so the
  // choices differ between entries (the odds of 20 equal draws from 100 are nil).
  std::set<std::string> popped;
  for (int i = 0; i < 20; ++i) popped.insert(h.run({"SPOP", "s"}).str);
  EXPECT_GT(popped.size(), 1u);
  // A client cannot pass a seed of its own: its words are parsed without one.
  std::string seed;
  ByteWriter(&seed).u64(42);
  EXPECT_EQ(h.r({"SPOP", "s", "1", seed}), "(error) ERR syntax error");
  EXPECT_EQ(h.r({"SPOP", "s", seed}), "(error) ERR value is out of range, must be positive");
  // An entry without the seed (never proposed by a leader) changes nothing on any replica.
  std::string payload;
  ByteWriter w(&payload);
  write_header(w, h.now_ms());
  w.u8(static_cast<uint8_t>(PayloadKind::kCommand));
  w.u8(static_cast<uint8_t>(Op::kSPop));
  w.varint(1);
  w.bytes("s");
  EXPECT_EQ(render(h.propose(payload)), "(error) ERR 'spop' entry without its seed");
  // Nor one whose only argument is a seed (no key).
  payload.clear();
  ByteWriter w2(&payload);
  write_header(w2, h.now_ms());
  w2.u8(static_cast<uint8_t>(PayloadKind::kCommand));
  w2.u8(static_cast<uint8_t>(Op::kSPop));
  w2.varint(1);
  w2.bytes(seed);
  EXPECT_EQ(render(h.propose(payload)), "(error) ERR 'spop' entry without its seed");
  EXPECT_EQ(h.r({"SCARD", "s"}), "(integer) 80");
  // SPOP inside a transaction carries its seed too: a replica replaying the log agrees.
  EXPECT_FALSE(h.exec({{"SPOP", "s"}, {"SPOP", "s", "3"}, {"SCARD", "s"}}).is_error());
  Harness replica;
  for (const std::string& p : h.log()) replica.apply(p);
  EXPECT_EQ(replica.store().snapshot(), h.store().snapshot());
  EXPECT_EQ(h.r({"SCARD", "s"}), "(integer) 76");
}

TEST(KvSet, SrandmemberFollowsTheReadsRandom) {
  Harness h;
  sadd_all(h, "s", names("m", 0, 100));
  std::set<std::string> picked;
  for (uint64_t r = 0; r < 20; ++r) picked.insert(read(h.store(), {"SRANDMEMBER", "s"}, r).str);
  EXPECT_GT(picked.size(), 1u);
  EXPECT_EQ(read(h.store(), {"SRANDMEMBER", "s", "5"}, 7),
            read(h.store(), {"SRANDMEMBER", "s", "5"}, 7));
  const std::vector<std::string> distinct = strings(read(h.store(), {"SRANDMEMBER", "s", "60"}, 3));
  EXPECT_EQ(std::set<std::string>(distinct.begin(), distinct.end()).size(), 60u);
  EXPECT_EQ(read(h.store(), {"SRANDMEMBER", "s", "-300"}, 3).elements.size(), 300u);
}

TEST(KvSet, SnapshotKeepsOrderSequenceNumbersAndCursors) {
  Harness h;
  sadd_all(h, "big", names("m", 0, 400));
  std::vector<std::string> srem = {"SREM", "big"};
  const std::vector<std::string> gone = names("m", 390, 400);  // the newest go: next_seq stays
  srem.insert(srem.end(), gone.begin(), gone.end());
  run_words(h, srem);
  h.run({"SADD", "small", "b", "a"});
  const std::string image = h.store().snapshot();
  Store copy;
  ASSERT_TRUE(copy.restore(image).ok());
  EXPECT_EQ(copy.snapshot(), image);
  EXPECT_EQ(render(read(copy, {"SMEMBERS", "small"})), "[\"b\", \"a\"]");
  // A scan started on one node continues on the other with the same cursor.
  auto [cursor, first] = sscan(h.store(), "big", "0", 100);
  ASSERT_NE(cursor, "0");
  EXPECT_EQ(first.size(), 100u);
  EXPECT_EQ(sscan(copy, "big", cursor, 100), sscan(h.store(), "big", cursor, 100));
  // A member added after the restore takes a sequence number after the removed ones on both.
  const std::string payload = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"SADD", "big", "new"}, h.now_ms()));
  copy.apply(h.index() + 1, payload);
  h.apply(payload);
  EXPECT_EQ(copy.snapshot(), h.store().snapshot());
  EXPECT_EQ(read(copy, {"SSCAN", "big", cursor, "COUNT", "1000"}),
            read(h.store(), {"SSCAN", "big", cursor, "COUNT", "1000"}));
}

TEST(KvSet, ScanReturnsEveryMemberPresentThroughoutExactlyOnce) {
  Harness h;
  sadd_all(h, "s", names("m", 0, 500));
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int round = 0;
  do {
    auto [next, members] = sscan(h.store(), "s", cursor, 37);
    seen.insert(members.begin(), members.end());
    cursor = next;
    h.run({"SREM", "s", "m" + std::to_string(400 + round)});
    h.run({"SADD", "s", "new" + std::to_string(round), "m" + std::to_string(round)});
    ++round;
  } while (cursor != "0" && round < 1000);
  ASSERT_LT(round, 1000);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(seen.count("m" + std::to_string(i)), 1u) << i;
  for (const std::string& m : seen) EXPECT_EQ(seen.count(m), 1u) << m;
}

TEST(KvSet, IntegerSetsReplySortedUpToTheIntsetSize) {
  Harness h;
  std::vector<std::string> ints;
  for (int i = 512; i > 0; --i) ints.push_back(std::to_string(i * 3));
  sadd_all(h, "n", ints);
  std::vector<std::string> sorted(ints.rbegin(), ints.rend());
  EXPECT_EQ(strings(read(h.store(), {"SMEMBERS", "n"})), sorted);
  // SSCAN returns such a set whole, sorted, whatever COUNT says.
  Reply scan = read(h.store(), {"SSCAN", "n", "0", "COUNT", "5"});
  EXPECT_EQ(scan.elements[0].str, "0");
  EXPECT_EQ(strings(scan.elements[1]), sorted);
  // One more member, or one that is not an integer: insertion order.
  h.run({"SADD", "n", "1"});
  std::vector<std::string> inserted = ints;
  inserted.push_back("1");
  EXPECT_EQ(strings(read(h.store(), {"SMEMBERS", "n"})), inserted);
  h.run({"SADD", "m", "3", "1", "x", "2"});
  EXPECT_EQ(render(read(h.store(), {"SMEMBERS", "m"})), "[\"3\", \"1\", \"x\", \"2\"]");
  h.run({"SREM", "m", "x"});
  EXPECT_EQ(render(read(h.store(), {"SMEMBERS", "m"})), "[\"1\", \"2\", \"3\"]");
  // parse_int64's rules: "01" and "+1" are not integers.
  h.run({"SADD", "p", "2", "01"});
  EXPECT_EQ(render(read(h.store(), {"SMEMBERS", "p"})), "[\"2\", \"01\"]");
}

TEST(KvSet, SetRepliesAreSetsWhereRedisSendsSets) {
  Harness h;
  h.run({"SADD", "s", "a", "b"});
  // RESP3 '~' for SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count; arrays elsewhere.
  for (std::vector<std::string_view> argv :
       std::vector<std::vector<std::string_view>>{{"SMEMBERS", "s"},
                                                  {"SMEMBERS", "nokey"},
                                                  {"SINTER", "s"},
                                                  {"SUNION", "s"},
                                                  {"SDIFF", "s"}}) {
    EXPECT_EQ(read(h.store(), argv).kind, Reply::Kind::kSet) << argv[0];
  }
  EXPECT_EQ(read(h.store(), {"SRANDMEMBER", "s", "5"}).kind, Reply::Kind::kArray);
  EXPECT_EQ(read(h.store(), {"SRANDMEMBER", "s", "-5"}).kind, Reply::Kind::kArray);
  EXPECT_EQ(read(h.store(), {"SMISMEMBER", "s", "a"}).kind, Reply::Kind::kArray);
  EXPECT_EQ(read(h.store(), {"SSCAN", "s", "0"}).kind, Reply::Kind::kArray);
  EXPECT_EQ(h.run({"SPOP", "nokey", "1"}).kind, Reply::Kind::kSet);
  EXPECT_EQ(h.run({"SPOP", "s", "0"}).kind, Reply::Kind::kSet);
  EXPECT_EQ(h.run({"SPOP", "s", "1"}).kind, Reply::Kind::kSet);
  EXPECT_EQ(h.run({"SPOP", "s", "5"}).kind, Reply::Kind::kSet);
}

TEST(KvSet, MemoryEstimateFollowsTheMembers) {
  Harness h;
  h.run({"SET", "s", "x"});
  const size_t base = h.store().memory_bytes_estimate();
  h.run({"SADD", "t", "member"});
  EXPECT_EQ(h.store().memory_bytes_estimate() - base,
            kRecordOverheadBytes + 1 + SetValue::member_bytes("member"));
  h.run({"SADD", "t", "a", "bb", "ccc"});
  h.run({"SPOP", "t"});
  h.run({"SMOVE", "t", "u", "a"});
  h.run({"SMOVE", "t", "u", "member"});
  h.run({"SUNIONSTORE", "v", "t", "u"});
  Store copy;
  ASSERT_TRUE(copy.restore(h.store().snapshot()).ok());
  EXPECT_EQ(copy.memory_bytes_estimate(), h.store().memory_bytes_estimate());
  for (std::string_view key : {"t", "u", "v"}) {
    Reply members = read(h.store(), {"SMEMBERS", key});
    std::vector<std::string> words = {"SREM", std::string(key)};
    for (const std::string& m : strings(members)) words.push_back(m);
    if (words.size() > 2) run_words(h, words);
  }
  EXPECT_EQ(h.r({"DBSIZE"}), "(integer) 1");
  EXPECT_EQ(h.store().memory_bytes_estimate(), base);
  // Overwriting a set (a string over it, a store over it) releases the set's bytes.
  h.run({"SADD", "w", "a", "b"});
  h.run({"SET", "w", "v"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), base + kRecordOverheadBytes + 1 + 1);
  h.run({"SADD", "a", "long member"});
  h.run({"SADD", "b", "m"});
  h.run({"SINTERSTORE", "w", "b", "b"});
  h.run({"SDIFFSTORE", "a", "b"});
  EXPECT_EQ(h.store().memory_bytes_estimate(),
            base + 3 * kRecordOverheadBytes + 3 + 3 * SetValue::member_bytes("m"));
}

TEST(KvSet, EventsAndVersions) {
  Harness h;
  h.run({"SADD", "s", "a", "b", "c"});
  const uint64_t created = h.index();
  EXPECT_EQ(h.watch("s").second, created);
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"s", "sadd"}}));
  // Changes that change nothing keep the version and emit nothing.
  h.run({"SADD", "s", "a"});
  h.run({"SREM", "s", "z"});
  h.run({"SMOVE", "s", "d", "z"});
  h.run({"SMOVE", "s", "s", "a"});
  h.run({"SPOP", "s", "0"});
  EXPECT_EQ(h.watch("s").second, created);
  EXPECT_TRUE(h.take_events().empty());
  h.run({"SREM", "s", "a"});
  EXPECT_EQ(h.watch("s").second, h.index());
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"s", "srem"}}));
  h.run({"SADD", "d", "b"});
  h.take_events();
  const uint64_t d_version = h.index();
  h.run({"SMOVE", "s", "d", "b"});  // already in d: d unchanged
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"s", "srem"}}));
  EXPECT_EQ(h.watch("s").second, h.index());
  EXPECT_EQ(h.watch("d").second, d_version);
  h.run({"SMOVE", "s", "e", "c"});  // empties s, creates e
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"s", "srem"}, {"s", "del"}, {"e", "sadd"}}));
  EXPECT_EQ(h.watch("s").second, 0u);
  EXPECT_EQ(h.watch("e").second, h.index());
  h.run({"SPOP", "e"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"e", "spop"}, {"e", "del"}}));
  h.run({"SADD", "p", "1", "2", "3"});
  h.take_events();
  h.run({"SPOP", "p", "3"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"p", "spop"}, {"p", "del"}}));
  // The stores: an event on the destination; "del" when an empty result removes it.
  h.run({"SADD", "a", "1", "2"});
  h.run({"SADD", "b", "2", "3"});
  h.take_events();
  h.run({"SINTERSTORE", "dst", "a", "b"});
  h.run({"SUNIONSTORE", "dst", "a", "b"});
  h.run({"SDIFFSTORE", "dst", "a", "b"});
  EXPECT_EQ(h.watch("dst").second, h.index());
  h.run({"SDIFFSTORE", "dst", "a", "a"});
  h.run({"SINTERSTORE", "dst", "a", "nokey"});  // nothing to delete: no event
  EXPECT_EQ(
      h.take_events(),
      (std::vector<KeyEvent>{
          {"dst", "sinterstore"}, {"dst", "sunionstore"}, {"dst", "sdiffstore"}, {"dst", "del"}}));
  EXPECT_EQ(h.watch("dst").second, 0u);
  // A transaction WATCHing a set fails once the set changed.
  auto watched = h.watch("a");
  h.run({"SADD", "a", "9"});
  EXPECT_EQ(render(h.exec({{"SADD", "a", "10"}}, {watched})), "(nil)");
  EXPECT_EQ(h.r({"SCARD", "a"}), "(integer) 3");
}

TEST(KvSet, ExpiredSetIsAbsentAndRemovedWhenTouched) {
  Harness h;
  h.run({"SADD", "s", "m"});
  h.run({"SADD", "t", "m"});
  h.run({"PEXPIRE", "s", "100"});
  h.advance_ms(200);
  h.tick();
  EXPECT_EQ(h.r({"SCARD", "s"}), "(integer) 0");
  EXPECT_EQ(h.r({"SINTER", "s", "t"}), "[]");
  h.take_events();
  EXPECT_EQ(h.r({"SADD", "s", "n"}), "(integer) 1");
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"s", "expired"}, {"s", "sadd"}}));
  EXPECT_EQ(h.r({"SMEMBERS", "s"}), "[\"n\"]");
}

}  // namespace
}  // namespace bw::kv
