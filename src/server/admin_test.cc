// Unit tests of the admin building blocks: latency histogram percentiles, SLOWLOG argv trimming,
// the latency monitor's samples and MONITOR's quoting.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/command_stats.h"
#include "server/latency_monitor.h"
#include "server/monitor.h"
#include "server/slowlog.h"

namespace bw::server {
namespace {

TEST(LatencyHistogram, PercentilesAreBucketUpperBounds) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile_us(50), 0u);        // nothing recorded
  for (int i = 0; i < 98; ++i) h.record(3);  // bucket [2, 4)
  h.record(100);                             // bucket [64, 128)
  h.record(5000);                            // bucket [4096, 8192)
  EXPECT_EQ(h.count, 100u);
  EXPECT_EQ(h.sum_us, 98u * 3 + 100 + 5000);
  EXPECT_EQ(h.percentile_us(50), 4u);
  EXPECT_EQ(h.percentile_us(98), 4u);
  EXPECT_EQ(h.percentile_us(99), 128u);
  EXPECT_EQ(h.percentile_us(99.9), 8192u);
  EXPECT_EQ(h.percentile_us(100), 8192u);
}

TEST(LatencyHistogram, ZeroAndHugeLatencies) {
  LatencyHistogram h;
  h.record(0);
  EXPECT_EQ(h.counts[0], 1u);
  h.record(uint64_t{1} << 40);  // beyond the last bound: the last bucket
  EXPECT_EQ(h.counts[LatencyHistogram::kBuckets - 1], 1u);
  EXPECT_EQ(h.percentile_us(100),
            LatencyHistogram::bucket_upper_us(LatencyHistogram::kBuckets - 1));
}

TEST(CommandStats, ResetZeroesInPlace) {
  CommandStats stats;
  CommandStat& set = stats.stat("set");
  stats.record("set", 10, false);
  stats.record("set", 30, true);
  stats.record_rejected("set");
  stats.record_error("ERR");
  EXPECT_EQ(set.calls, 2u);
  EXPECT_EQ(set.usec, 40u);
  EXPECT_EQ(set.failed_calls, 1u);
  EXPECT_EQ(set.rejected_calls, 1u);
  EXPECT_EQ(stats.total_errors(), 1u);
  stats.reset();
  EXPECT_EQ(&stats.stat("set"), &set);  // references stay valid
  EXPECT_EQ(set.calls, 0u);
  EXPECT_EQ(set.latency.count, 0u);
  EXPECT_TRUE(stats.errors().empty());
  EXPECT_EQ(stats.total_errors(), 0u);
}

TEST(CommandStats, ErrorPrefixesAreBounded) {
  CommandStats stats;
  for (size_t i = 0; i < CommandStats::kErrorPrefixesMax + 10; ++i) {
    stats.record_error(fmt::format("E{}", i));
  }
  EXPECT_EQ(stats.errors().size(), CommandStats::kErrorPrefixesMax + 1);
  EXPECT_EQ(stats.errors().at(std::string(CommandStats::kErrorPrefixOverflow)), 10u);
  stats.record_error("E0");  // a known prefix still counts as itself
  EXPECT_EQ(stats.errors().at("E0"), 2u);
}

std::vector<std::string_view> views_of(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

TEST(Slowlog, ShortCommandKeptWhole) {
  std::vector<std::string> argv = {"SET", "k", "v"};
  EXPECT_EQ(slowlog_trim_argv(views_of(argv)), argv);
}

TEST(Slowlog, LongArgumentTrimmedTo128Bytes) {
  std::vector<std::string> argv = {"SET", "k", std::string(200, 'x')};
  auto out = slowlog_trim_argv(views_of(argv));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2], std::string(128, 'x') + "... (72 more bytes)");
  std::vector<std::string> exact = {"SET", "k", std::string(128, 'y')};
  EXPECT_EQ(slowlog_trim_argv(views_of(exact))[2], std::string(128, 'y'));
}

TEST(Slowlog, ManyArgumentsEndWithACount) {
  std::vector<std::string> argv = {"DEL"};
  for (int i = 0; i < 39; ++i) argv.push_back(fmt::format("k{}", i));  // 40 in all
  auto out = slowlog_trim_argv(views_of(argv));
  ASSERT_EQ(out.size(), kSlowlogArgsMax);
  EXPECT_EQ(out[30], "k29");
  EXPECT_EQ(out[31], "... (9 more arguments)");  // 40 - 32 + 1: the replaced one counts
  std::vector<std::string> exact(kSlowlogArgsMax, "a");
  EXPECT_EQ(slowlog_trim_argv(views_of(exact)), exact);
}

TEST(Slowlog, PackedFormRoundTrips) {
  std::vector<std::string> argv = {"SET", "", std::string(300, 'z')};
  for (int i = 0; i < 40; ++i) argv.push_back(std::to_string(i));
  std::string packed = "earlier";
  slowlog_pack_argv(&packed, views_of(argv));
  EXPECT_EQ(slowlog_unpack_argv(std::string_view(packed).substr(7)),
            slowlog_trim_argv(views_of(argv)));
  for (size_t n : {size_t{1}, kSlowlogArgsMax, kSlowlogArgsMax + 1}) {
    std::vector<std::string> some(n, std::string(kSlowlogArgBytesMax + 1, 'q'));
    packed.clear();
    slowlog_pack_argv(&packed, views_of(some));
    EXPECT_EQ(slowlog_unpack_argv(packed), slowlog_trim_argv(views_of(some))) << n;
  }
}

TEST(Slowlog, KeepsNewestFirstUpToMaxLen) {
  SlowLog log;
  for (int i = 0; i < 5; ++i) {
    log.add(SlowLog::Entry{.unix_s = i, .duration_us = 100u + i, .argv = {"PING"}}, 3);
  }
  EXPECT_EQ(log.size(), 3u);
  std::string out;
  resp::Writer w(&out, 2);
  log.write_get(w, 1);
  EXPECT_EQ(out, "*1\r\n*6\r\n:4\r\n:4\r\n:104\r\n*1\r\n$4\r\nPING\r\n$0\r\n\r\n$0\r\n\r\n");
}

TEST(LatencyMonitor, OneSamplePerSecondKeepsTheMax) {
  LatencyMonitor m;
  m.add("command", 5, 100);
  m.add("command", 9, 100);
  m.add("command", 7, 101);
  std::string out;
  resp::Writer w(&out, 2);
  m.write_history(w, "command");
  EXPECT_EQ(out, "*2\r\n*2\r\n:100\r\n:9\r\n*2\r\n:101\r\n:7\r\n");
  out.clear();
  m.write_latest(w);
  EXPECT_EQ(out, "*1\r\n*4\r\n$7\r\ncommand\r\n:101\r\n:7\r\n:9\r\n");
  for (int64_t t = 0; t < 500; ++t) m.add("command", 1, 1000 + t);
  out.clear();
  m.write_history(w, "command");
  EXPECT_TRUE(out.starts_with("*160\r\n*2\r\n:1340\r\n"));
  const std::string_view all[] = {"command", "nope"};
  EXPECT_EQ(m.reset(all), 1u);
}

TEST(Monitor, QuotesAsRedis) {
  std::string out;
  append_repr(&out, std::string_view("a\"b\\c\n\r\t\a\b\x01\xff é", 15));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xff \\xc3\\xa9\"");
  const std::string_view argv[] = {"set", "k y", ""};
  EXPECT_EQ(monitor_line(1700000000000042, "127.0.0.1:5000", argv),
            "+1700000000.000042 [0 127.0.0.1:5000] \"set\" \"k y\" \"\"\r\n");
}

}  // namespace
}  // namespace bw::server
