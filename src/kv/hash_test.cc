// Hashes beyond what the golden scripts (testdata/hashes.golden) can show: replication
// determinism, snapshots with sequence numbers, cursors, memory accounting, events, versions.
#include <gtest/gtest.h>

#include <set>

#include "common/checksum.h"
#include "common/codec.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;
using testing::render;

std::vector<std::string> field_names(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("f" + std::to_string(i));
  return out;
}

void hset_all(Harness& h, std::string_view key, const std::vector<std::string>& fields) {
  std::vector<std::string> words = {"HSET", std::string(key)};
  for (const std::string& f : fields) {
    words.push_back(f);
    words.push_back("v-" + f);
  }
  std::vector<std::string_view> argv(words.begin(), words.end());
  ASSERT_FALSE(h.run(argv).is_error());
}

// HSCAN key cursor COUNT n on `store`: (next cursor, fields returned).
std::pair<std::string, std::vector<std::string>> hscan(const Store& store, std::string_view key,
                                                       const std::string& cursor, int count) {
  const std::string n = std::to_string(count);
  Reply r = store.read(std::vector<std::string_view>{"HSCAN", key, cursor, "COUNT", n}, 0, 0);
  EXPECT_EQ(r.kind, Reply::Kind::kArray) << render(r);
  std::vector<std::string> fields;
  for (size_t i = 0; i < r.elements[1].elements.size(); i += 2) {
    fields.push_back(r.elements[1].elements[i].str);
  }
  return {r.elements[0].str, fields};
}

TEST(KvHash, ReplicasApplyingTheSameLogHoldTheSameHash) {
  Harness h;
  hset_all(h, "h", field_names(0, 200));
  h.run({"HDEL", "h", "f3", "f150", "f199"});
  h.run({"HINCRBY", "h", "counter", "5"});
  h.run({"HINCRBYFLOAT", "h", "f7", "1.5"});
  h.run({"HSET", "h", "f3", "back"});
  Harness replica;
  for (const std::string& payload : h.log()) replica.apply(payload);
  EXPECT_EQ(replica.store().snapshot(), h.store().snapshot());
  EXPECT_EQ(render(replica.store().read(std::vector<std::string_view>{"HGETALL", "h"}, 0, 0)),
            render(h.store().read(std::vector<std::string_view>{"HGETALL", "h"}, 0, 0)));
  EXPECT_EQ(h.r({"HGET", "h", "f7"}), "\"v-f7\"");  // not a float: HINCRBYFLOAT refused
  EXPECT_EQ(h.r({"HLEN", "h"}), "(integer) 199");
}

TEST(KvHash, SnapshotKeepsOrderSequenceNumbersAndCursors) {
  Harness h;
  hset_all(h, "big", field_names(0, 400));
  std::vector<std::string_view> del = {"HDEL", "big"};
  const std::vector<std::string> gone = field_names(390, 400);  // the newest go: next_seq stays
  for (const std::string& f : gone) del.push_back(f);
  h.run(del);
  h.run({"HSET", "small", "b", "1", "a", "2"});
  const std::string image = h.store().snapshot();
  Store copy;
  ASSERT_TRUE(copy.restore(image).ok());
  EXPECT_EQ(copy.snapshot(), image);
  EXPECT_EQ(render(copy.read(std::vector<std::string_view>{"HKEYS", "small"}, 0, 0)),
            "[\"b\", \"a\"]");
  // A scan started on one node continues on the other with the same cursor.
  auto [cursor, first] = hscan(h.store(), "big", "0", 100);
  ASSERT_NE(cursor, "0");
  EXPECT_EQ(first.size(), 100u);
  EXPECT_EQ(hscan(copy, "big", cursor, 100), hscan(h.store(), "big", cursor, 100));
  // A field added after the restore takes a sequence number after the removed ones on both.
  const std::string payload = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"HSET", "big", "new", "x"}, h.now_ms()));
  copy.apply(h.index() + 1, payload);
  h.apply(payload);
  EXPECT_EQ(copy.snapshot(), h.store().snapshot());
}

TEST(KvHash, ScanReturnsEveryFieldPresentThroughoutExactlyOnce) {
  Harness h;
  hset_all(h, "h", field_names(0, 500));
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int round = 0;
  do {
    auto [next, fields] = hscan(h.store(), "h", cursor, 37);
    seen.insert(fields.begin(), fields.end());
    cursor = next;
    // Churn between calls: remove some old fields, add new ones, overwrite others.
    h.run({"HDEL", "h", "f" + std::to_string(400 + round)});
    h.run({"HSET", "h", "new" + std::to_string(round), "x", "f" + std::to_string(round), "y"});
    ++round;
  } while (cursor != "0" && round < 1000);
  ASSERT_LT(round, 1000);
  for (int i = 0; i < 400; ++i) {
    EXPECT_EQ(seen.count("f" + std::to_string(i)), 1u) << i;
  }
  for (const std::string& f : seen) EXPECT_EQ(seen.count(f), 1u) << f;
}

TEST(KvHash, MemoryEstimateFollowsTheFields) {
  Harness h;
  h.run({"SET", "s", "x"});
  const size_t base = h.store().memory_bytes_estimate();
  h.run({"HSET", "h", "field", "value"});
  const size_t one = h.store().memory_bytes_estimate();
  EXPECT_EQ(one - base, kRecordOverheadBytes + 1 + HashValue::field_bytes("field", "value"));
  h.run({"HSET", "h", "field", "a much longer value"});
  EXPECT_EQ(h.store().memory_bytes_estimate() - base,
            kRecordOverheadBytes + 1 + HashValue::field_bytes("field", "a much longer value"));
  h.run({"HINCRBY", "h", "n", "12345"});
  // Whatever history built it, the same contents give the same estimate.
  Store copy;
  ASSERT_TRUE(copy.restore(h.store().snapshot()).ok());
  EXPECT_EQ(copy.memory_bytes_estimate(), h.store().memory_bytes_estimate());
  h.run({"HDEL", "h", "field", "n"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), base);
  // Overwriting a hash with a string releases the hash's bytes.
  h.run({"HSET", "h2", "f", "v"});
  h.run({"SET", "h2", "v"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), base + kRecordOverheadBytes + 2 + 1);
}

TEST(KvHash, EventsAndVersions) {
  Harness h;
  h.run({"HSET", "h", "a", "1", "b", "2"});
  const uint64_t created = h.index();
  EXPECT_EQ(h.watch("h").second, created);
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"h", "hset"}}));
  // Changes that change nothing keep the version and emit nothing.
  h.run({"HDEL", "h", "nofield"});
  h.run({"HSETNX", "h", "a", "x"});
  EXPECT_EQ(h.watch("h").second, created);
  EXPECT_TRUE(h.take_events().empty());
  h.run({"HINCRBY", "h", "a", "1"});
  EXPECT_EQ(h.watch("h").second, h.index());
  h.run({"HINCRBYFLOAT", "h", "a", "1"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"h", "hincrby"}, {"h", "hincrbyfloat"}}));
  h.run({"HDEL", "h", "a", "b"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"h", "hdel"}, {"h", "del"}}));
  EXPECT_EQ(h.watch("h").second, 0u);
  // A transaction WATCHing a hash fails once the hash changed.
  h.run({"HSET", "w", "f", "1"});
  auto watched = h.watch("w");
  h.run({"HSET", "w", "f", "2"});
  EXPECT_EQ(render(h.exec({{"HSET", "w", "f", "3"}}, {watched})), "(nil)");
  EXPECT_EQ(h.r({"HGET", "w", "f"}), "\"2\"");
  // Hash commands in a transaction apply atomically with reads seeing the writes before them.
  EXPECT_EQ(render(h.exec({{"HSET", "w", "g", "9"}, {"HGETALL", "w"}, {"HLEN", "w"}})),
            "[(integer) 1, [\"f\", \"2\", \"g\", \"9\"], (integer) 2]");
}

TEST(KvHash, ExpiredHashIsAbsentAndRemovedWhenTouched) {
  Harness h;
  h.run({"HSET", "h", "f", "v"});
  h.run({"PEXPIRE", "h", "100"});
  h.advance_ms(200);
  h.tick();
  EXPECT_EQ(h.r({"HGET", "h", "f"}), "(nil)");
  EXPECT_EQ(h.r({"HLEN", "h"}), "(integer) 0");
  h.take_events();
  EXPECT_EQ(h.r({"HSET", "h", "g", "w"}), "(integer) 1");
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"h", "expired"}, {"h", "hset"}}));
  EXPECT_EQ(h.r({"HGETALL", "h"}), "[\"g\", \"w\"]");
}

// A version 6 image with one hash key "h" whose members are written by `members`.
std::string hash_image(uint64_t next_seq, uint64_t count,
                       const std::vector<std::pair<uint64_t, std::string>>& members) {
  std::string image = "BWKVSNAP";
  ByteWriter w(&image);
  w.u8(6);
  w.u64(9);  // applied
  w.u64(0);  // clock
  w.varint(1);
  w.bytes("h");
  w.u8(1);  // hash
  w.varint(next_seq);
  w.varint(count);
  for (const auto& [seq, field] : members) {
    w.varint(seq);
    w.bytes(field);
    w.bytes("v");
  }
  w.u64(0);                                 // deadline
  w.varint(2);                              // version
  w.varint(0);                              // lease
  for (int i = 0; i < 6; ++i) w.varint(0);  // leases, holders, members, id max, acl index, users
  w.u64(checksum64(image));
  return image;
}

TEST(KvHash, MalformedHashImagesAreRefused) {
  Store s;
  ASSERT_TRUE(s.restore(hash_image(5, 2, {{1, "a"}, {4, "b"}})).ok());
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"HKEYS", "h"}, 0, 0)), "[\"a\", \"b\"]");
  for (const std::string& bad : {
           hash_image(5, 0, {}),                    // an empty hash is never stored
           hash_image(5, 2, {{1, "a"}, {1, "b"}}),  // sequence numbers must increase
           hash_image(5, 2, {{2, "a"}, {1, "b"}}),  //
           hash_image(5, 2, {{1, "a"}, {2, "a"}}),  // duplicate field
           hash_image(3, 2, {{1, "a"}, {4, "b"}}),  // next_seq below a member's
           hash_image(5, 2, {{0, "a"}, {4, "b"}}),  // sequence numbers start at 1
           hash_image(5, 3, {{1, "a"}, {4, "b"}}),  // fewer members than counted
       }) {
    Store t;
    EXPECT_FALSE(t.restore(bad).ok());
    EXPECT_EQ(t.key_count(), 0u);
  }
}

}  // namespace
}  // namespace bw::kv
