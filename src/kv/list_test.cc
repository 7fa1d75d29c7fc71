// Lists beyond what the golden scripts (testdata/lists.golden) show: replicas agree, snapshots,
// memory accounting, events and versions, every element popped once.
#include <gtest/gtest.h>

#include <set>

#include "common/checksum.h"
#include "common/codec.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;
using testing::render;

TEST(KvList, ReplicasAndSnapshotsHoldTheSameLists) {
  Harness h;
  for (int i = 0; i < 100; ++i) {
    h.run({"RPUSH", "q", "e" + std::to_string(i)});
    if (i % 3 == 0) h.run({"LPOP", "q"});
  }
  h.run({"LMOVE", "q", "other", "RIGHT", "LEFT"});
  h.run({"LINSERT", "q", "BEFORE", "e50", "x"});
  h.run({"LTRIM", "q", "1", "-2"});
  Harness replica;
  for (const std::string& payload : h.log()) replica.apply(payload);
  EXPECT_EQ(replica.store().snapshot(), h.store().snapshot());
  const std::string image = h.store().snapshot();
  Store copy;
  ASSERT_TRUE(copy.restore(image).ok());
  EXPECT_EQ(copy.snapshot(), image);
  EXPECT_EQ(render(copy.read(std::vector<std::string_view>{"LRANGE", "q", "0", "-1"}, 0, 0)),
            render(h.store().read(std::vector<std::string_view>{"LRANGE", "q", "0", "-1"}, 0, 0)));
  EXPECT_EQ(copy.memory_bytes_estimate(), h.store().memory_bytes_estimate());
}

TEST(KvList, EveryElementIsPoppedOnce) {
  // Pops from several consumers interleave in the log: each element comes out exactly once.
  Harness h;
  for (int i = 0; i < 50; ++i) h.run({"RPUSH", "q", std::to_string(i)});
  std::multiset<std::string> got;
  for (int round = 0; round < 40; ++round) {
    Reply r = h.run({round % 2 == 0 ? "LPOP" : "RPOP", "q", "2"});
    if (r.kind == Reply::Kind::kNullArray) break;
    for (const Reply& e : r.elements) got.insert(e.str);
    Reply m = h.run({"LMPOP", "1", "q", "LEFT"});
    if (m.kind == Reply::Kind::kArray) got.insert(m.elements[1].elements[0].str);
  }
  EXPECT_EQ(got.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got.count(std::to_string(i)), 1u) << i;
  EXPECT_EQ(h.r({"EXISTS", "q"}), "(integer) 0");
}

TEST(KvList, MemoryEstimateFollowsTheElements) {
  Harness h;
  const size_t empty = h.store().memory_bytes_estimate();
  h.run({"RPUSH", "l", "abc", "de"});
  EXPECT_EQ(
      h.store().memory_bytes_estimate() - empty,
      kRecordOverheadBytes + 1 + ListValue::element_bytes("abc") + ListValue::element_bytes("de"));
  h.run({"LSET", "l", "0", "a much longer element"});
  h.run({"LINSERT", "l", "AFTER", "de", "z"});
  h.run({"LREM", "l", "0", "de"});
  EXPECT_EQ(h.store().memory_bytes_estimate() - empty,
            kRecordOverheadBytes + 1 + ListValue::element_bytes("a much longer element") +
                ListValue::element_bytes("z"));
  h.run({"RPOPLPUSH", "l", "m"});
  h.run({"LTRIM", "l", "5", "6"});
  h.run({"LPOP", "m"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), empty);
}

TEST(KvList, EventsAndVersions) {
  Harness h;
  h.run({"RPUSH", "a", "1", "2"});
  EXPECT_EQ(h.watch("a").second, h.index());
  h.take_events();
  h.run({"LMOVE", "a", "b", "LEFT", "RIGHT"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"a", "lpop"}, {"b", "rpush"}}));
  EXPECT_EQ(h.watch("b").second, h.index());
  h.run({"LREM", "a", "0", "nothere"});
  h.run({"LINSERT", "a", "BEFORE", "nothere", "x"});
  EXPECT_TRUE(h.take_events().empty());
  h.run({"RPOP", "a"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"a", "rpop"}, {"a", "del"}}));
  h.run({"LMPOP", "2", "a", "b", "LEFT", "COUNT", "5"});
  EXPECT_EQ(h.take_events(), (std::vector<KeyEvent>{{"b", "lpop"}, {"b", "del"}}));
}

// A version 6 image with one list key "l" of `count` elements written as `elements`.
std::string list_image(uint64_t count, const std::vector<std::string>& elements) {
  std::string image = "BWKVSNAP";
  ByteWriter w(&image);
  w.u8(6);
  w.u64(9);
  w.u64(0);
  w.varint(1);
  w.bytes("l");
  w.u8(3);  // list
  w.varint(count);
  for (const std::string& e : elements) w.bytes(e);
  w.u64(0);
  w.varint(2);
  w.varint(0);
  for (int i = 0; i < 6; ++i) w.varint(0);
  w.u64(checksum64(image));
  return image;
}

TEST(KvList, MalformedListImagesAreRefused) {
  Store s;
  ASSERT_TRUE(s.restore(list_image(2, {"a", "b"})).ok());
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"LRANGE", "l", "0", "-1"}, 0, 0)),
            "[\"a\", \"b\"]");
  for (const std::string& bad : {list_image(0, {}), list_image(3, {"a", "b"})}) {
    Store t;
    EXPECT_FALSE(t.restore(bad).ok());
    EXPECT_EQ(t.key_count(), 0u);
  }
}

}  // namespace
}  // namespace bw::kv
