#include "kv/numbers.h"

#include <gtest/gtest.h>

namespace bw::kv {
namespace {

TEST(KvNumbers, ParseInt64FollowsRedisString2ll) {
  EXPECT_EQ(parse_int64("0"), 0);
  EXPECT_EQ(parse_int64("-1"), -1);
  EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_int64("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "-", "+1", "-0", "01", " 1", "1 ", "1.0", "1e3", "0x10",
                          "9223372036854775808", "-9223372036854775809", "abc"}) {
    EXPECT_FALSE(parse_int64(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_int64(std::string_view("1\0", 2)).has_value());
}

TEST(KvNumbers, ParseLongDoubleFollowsRedisString2ld) {
  EXPECT_EQ(parse_long_double("1.5"), 1.5L);
  EXPECT_EQ(parse_long_double("-2e3"), -2000.0L);
  EXPECT_EQ(parse_long_double("+3"), 3.0L);
  EXPECT_TRUE(parse_long_double("inf").has_value());
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1e99999", "1.5x"}) {
    EXPECT_FALSE(parse_long_double(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_long_double(std::string(kLongDoubleCharsMax, '1')).has_value());
}

TEST(KvNumbers, FormatLongDoubleIsHumanReadable) {
  EXPECT_EQ(format_long_double(0), "0");
  EXPECT_EQ(format_long_double(-0.0L), "0");
  EXPECT_EQ(format_long_double(1.5L), "1.5");
  EXPECT_EQ(format_long_double(100), "100");
  EXPECT_EQ(format_long_double(10.5L + 0.1L), "10.6");
  EXPECT_EQ(format_long_double(1e-20L), "0");
  EXPECT_EQ(format_long_double(-0.5L), "-0.5");
}

}  // namespace
}  // namespace bw::kv
