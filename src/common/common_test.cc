#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <memory>
#include <string>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"
#include "common/ids.h"
#include "common/inline_function.h"

namespace bw {
namespace {

TEST(Codec, RoundTripsEveryWidth) {
  std::string buf;
  ByteWriter w(&buf);
  w.u8(7);
  w.u32(0xdeadbeef);
  w.u64(std::numeric_limits<uint64_t>::max());
  w.varint(0);
  w.varint(300);
  w.varint(std::numeric_limits<uint64_t>::max());
  w.bytes("hello");
  ByteReader r(buf);
  EXPECT_EQ(*r.u8(), 7);
  EXPECT_EQ(*r.u32(), 0xdeadbeefu);
  EXPECT_EQ(*r.u64(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*r.varint(), 0u);
  EXPECT_EQ(*r.varint(), 300u);
  EXPECT_EQ(*r.varint(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*r.bytes(16), "hello");
  EXPECT_TRUE(r.done());
}

TEST(Codec, TruncationIsAnErrorNotACrash) {
  std::string buf;
  ByteWriter w(&buf);
  w.u64(42);
  w.bytes("payload");
  for (size_t cut = 0; cut < buf.size(); ++cut) {
    ByteReader r(std::string_view(buf).substr(0, cut));
    auto a = r.u64();
    if (!a.ok()) continue;
    EXPECT_FALSE(r.bytes(100).ok()) << "cut at " << cut;
  }
}

TEST(Codec, OversizedLengthIsRejected) {
  std::string buf;
  ByteWriter w(&buf);
  w.bytes(std::string(100, 'x'));
  ByteReader r(buf);
  auto v = r.bytes(99);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("exceeds the limit"), std::string_view::npos);
}

TEST(Codec, OverlongVarintIsRejected) {
  std::string buf(11, static_cast<char>(0xff));
  ByteReader r(buf);
  EXPECT_FALSE(r.varint().ok());
}

TEST(Checksum, IncrementalEqualsWhole) {
  Checksummer c;
  c.update("hello ");
  c.update("world");
  EXPECT_EQ(c.digest(), checksum64(std::string_view("hello world")));
  EXPECT_NE(checksum64(std::string_view("hello world")),
            checksum64(std::string_view("hello worle")));
}

TEST(Ids, CountersMoveAndCompare) {
  LogIndex i(5);
  EXPECT_EQ((i + 3).value(), 8u);
  EXPECT_EQ(LogIndex(9) - LogIndex(4), 5u);
  ++i;
  EXPECT_EQ(i, LogIndex(6));
  EXPECT_LT(Term(1), Term(2));
  EXPECT_EQ(fmt::format("{}", NodeId(3)), "3");
}

TEST(InlineFunction, CallsWhatItHolds) {
  int calls = 0;
  InlineFunction<int(int, const std::string&), 32> f = [&calls](int a, const std::string& s) {
    ++calls;
    return a + static_cast<int>(s.size());
  };
  ASSERT_TRUE(static_cast<bool>(f));
  EXPECT_EQ(f(2, "abc"), 5);
  EXPECT_EQ(calls, 1);
  InlineFunction<void(), 8> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
}

TEST(InlineFunction, CaptureUpToTheCapacityFitsAndMovesAlong) {
  std::array<char, 56> bytes{};
  bytes[55] = 'z';
  auto counted = std::make_shared<int>(7);
  InlineFunction<char(), 80> f = [bytes, counted] { return bytes[55]; };
  EXPECT_EQ(counted.use_count(), 2);
  InlineFunction<char(), 80> g = std::move(f);
  EXPECT_FALSE(static_cast<bool>(f));  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(counted.use_count(), 2);   // moved, not copied
  EXPECT_EQ(g(), 'z');
  InlineFunction<char(), 80> h;
  h = std::move(g);
  EXPECT_EQ(h(), 'z');
  EXPECT_EQ(counted.use_count(), 2);
}

TEST(InlineFunction, DestroysItsCaptureOnceWhenReplacedOrDestroyed) {
  auto first = std::make_shared<int>(1);
  auto second = std::make_shared<int>(2);
  {
    InlineFunction<int(), 24> f = [first] { return *first; };
    EXPECT_EQ(first.use_count(), 2);
    f = [second] { return *second; };
    EXPECT_EQ(first.use_count(), 1);
    EXPECT_EQ(f(), 2);
    f = nullptr;
    EXPECT_EQ(second.use_count(), 1);
    f = [second] { return *second; };
  }
  EXPECT_EQ(second.use_count(), 1);
}

TEST(InlineFunction, ALargerCallableLivesOnTheHeapAndBehavesTheSame) {
  std::array<char, 100> bytes{};
  bytes[99] = 'q';
  auto counted = std::make_shared<int>(7);
  auto big = [bytes, counted] { return bytes[99]; };
  using Small = InlineFunction<char(), 32>;
  static_assert(!Small::kStoredInline<decltype(big)>);
  auto small = [n = 1] { return static_cast<char>('w' + n); };
  static_assert(Small::kStoredInline<decltype(small)>);
  EXPECT_EQ(Small(small)(), 'x');
  {
    Small f = big;
    EXPECT_EQ(counted.use_count(), 3);  // `big` and the heap copy
    Small g = std::move(f);
    EXPECT_FALSE(static_cast<bool>(f));  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(g(), 'q');
    EXPECT_EQ(counted.use_count(), 3);
    g = nullptr;
    EXPECT_EQ(counted.use_count(), 2);
    g = big;
  }
  EXPECT_EQ(counted.use_count(), 2);
}

TEST(InlineFunctionDeathTest, CallingAnEmptyOneIsABrokenInvariant) {
  InlineFunction<void(), 8> f;
  EXPECT_DEATH(f(), "empty InlineFunction");
}

TEST(AssertDeathTest, FailingAssertionPrintsContext) {
  int term = 3;
  EXPECT_DEATH(BW_ASSERT(term < 2, "term is {}", term), "term < 2.*term is 3");
}

}  // namespace
}  // namespace bw
