#include "server/forward_table.h"

#include <gtest/gtest.h>

namespace bw::server {
namespace {

TEST(ForwardTableTest, AReplyAnswersItsCommandOnce) {
  ForwardTable t(1000);
  const uint64_t id = t.add(ReplyTo{.seq = 5}, NodeId(2), net::FrameType::kForward, 100);
  ASSERT_NE(t.find(id), nullptr);
  auto e = t.take(id);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->to.seq, 5u);
  EXPECT_FALSE(t.take(id).has_value());
}

// Bug this guards against: ids restarted from 1 at every start, so a late reply addressed to a
// previous incarnation matched a new command (answering OK for a write that never committed).
TEST(ForwardTableTest, AReplyToAPreviousIncarnationMatchesNothing) {
  ForwardTable before(0x1234'5678'9abc'def0);
  std::vector<uint64_t> old_ids;
  for (int i = 0; i < 100; ++i) {
    old_ids.push_back(before.add(ReplyTo{}, NodeId(2), net::FrameType::kForward, 100));
  }
  ForwardTable after(0x0fed'cba9'8765'4321);  // the restarted node's epoch
  for (int i = 0; i < 100; ++i) after.add(ReplyTo{}, NodeId(2), net::FrameType::kForward, 100);
  for (uint64_t id : old_ids) EXPECT_FALSE(after.take(id).has_value()) << id;
  EXPECT_EQ(after.size(), 100u);
}

TEST(ForwardTableTest, ExpiryAndShortenedDeadlines) {
  ForwardTable t(7);
  const uint64_t a = t.add(ReplyTo{.seq = 1}, NodeId(2), net::FrameType::kForward, 500);
  const uint64_t b = t.add(ReplyTo{.seq = 2}, NodeId(3), net::FrameType::kForward, 500);
  t.shorten(NodeId(2), 100);  // node 2 stopped leading
  auto expired = t.expire(100);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].to.seq, 1u);
  EXPECT_EQ(t.find(a), nullptr);
  EXPECT_NE(t.find(b), nullptr);
  EXPECT_EQ(t.expire(499).size(), 0u);
  EXPECT_EQ(t.expire(500).size(), 1u);
}

}  // namespace
}  // namespace bw::server
