#include "server/output_limits.h"

#include <gtest/gtest.h>

namespace bw::server {
namespace {

TEST(OutputLimits, DefaultsAreRedis) {
  EXPECT_EQ(format_output_buffer_limits(OutputBufferLimits{}),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
}

TEST(OutputLimits, ParseChangesOnlyTheClassesNamed) {
  auto l = parse_output_buffer_limits("pubsub 1mb 512kb 10", OutputBufferLimits{});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->pubsub, (OutputLimit{1 << 20, 512 << 10, 10}));
  EXPECT_EQ(l->normal, OutputBufferLimits{}.normal);
  EXPECT_EQ(l->replica, OutputBufferLimits{}.replica);
  auto all =
      parse_output_buffer_limits("normal 1 2 3 replica 4 5 6 pubsub 7 8 9", OutputBufferLimits{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(format_output_buffer_limits(*all), "normal 1 2 3 slave 4 5 6 pubsub 7 8 9");
  // Its own output parses back to the same limits (CONFIG REWRITE writes it).
  EXPECT_EQ(parse_output_buffer_limits(format_output_buffer_limits(*all), {}).value(), *all);
}

TEST(OutputLimits, ParseErrorsAreRedis) {
  EXPECT_EQ(parse_output_buffer_limits("normal 1 2", {}).status().message(),
            "Wrong number of arguments in buffer limit configuration.");
  EXPECT_EQ(parse_output_buffer_limits("", {}).status().message(),
            "Wrong number of arguments in buffer limit configuration.");
  EXPECT_EQ(parse_output_buffer_limits("master 1 2 3", {}).status().message(),
            "Invalid client class specified in buffer limit configuration.");
  EXPECT_EQ(parse_output_buffer_limits("normal x 2 3", {}).status().message(),
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
  EXPECT_EQ(parse_output_buffer_limits("normal 1 2 -3", {}).status().message(),
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
}

TEST(OutputLimits, HardLimitCutsAtOnce) {
  OutputLimitState st;
  OutputLimit l{100, 0, 0};
  EXPECT_FALSE(output_limit_reached(l, 99, 1000, &st));
  EXPECT_TRUE(output_limit_reached(l, 100, 1000, &st));
  EXPECT_FALSE(output_limit_reached(OutputLimit{}, 1ull << 40, 1000, &st));  // 0: no limit
}

TEST(OutputLimits, SoftLimitMustHoldForItsSeconds) {
  OutputLimitState st;
  OutputLimit l{0, 100, 2};
  EXPECT_FALSE(output_limit_reached(l, 150, 10000, &st));  // the clock starts
  EXPECT_FALSE(output_limit_reached(l, 150, 12000, &st));  // exactly 2 s: not yet
  EXPECT_TRUE(output_limit_reached(l, 150, 12001, &st));
  // Dropping below resets the clock.
  OutputLimitState st2;
  EXPECT_FALSE(output_limit_reached(l, 150, 10000, &st2));
  EXPECT_FALSE(output_limit_reached(l, 50, 11000, &st2));
  EXPECT_FALSE(output_limit_reached(l, 150, 12500, &st2));
  EXPECT_FALSE(output_limit_reached(l, 150, 14000, &st2));
  EXPECT_TRUE(output_limit_reached(l, 150, 14501, &st2));
}

}  // namespace
}  // namespace bw::server
