#include "server/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace bw::server {
namespace {

using Json = nlohmann::json;

TEST(JsonLogLine, HasTheFixedFieldsAndEscapesTheMessage) {
  LogContext context;
  context.node = 2;
  context.term = 7;
  const std::string line = json_log_line(context, std::chrono::system_clock::time_point{},
                                         spdlog::level::warn, "a \"quote\"\n\ttab \x01 \\ end");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  Json j = Json::parse(line);
  EXPECT_EQ(j["time"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["node"], 2);
  EXPECT_EQ(j["group"], 1);
  EXPECT_EQ(j["term"], 7);
  EXPECT_EQ(j["msg"], "a \"quote\"\n\ttab \x01 \\ end");
  EXPECT_FALSE(j.contains("event"));
}

TEST(JsonLogLine, InvalidUtf8IsReplacedNotFatal) {
  LogContext context;
  const std::string line = json_log_line(context, std::chrono::system_clock::now(),
                                         spdlog::level::info, "key \xff\xfe end");
  Json j = Json::parse(line);
  EXPECT_EQ(j["msg"], "key \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST(JsonLogLine, EventFieldsOnlyInsideTheirScope) {
  LogContext context;
  {
    const LogField fields[] = {{"leader", uint64_t{3}},
                               {"role", "follower"},
                               {"delta", int64_t{-4}},
                               {"term", uint64_t{99}}};
    LogEventScope scope("leader_changed", fields);
    Json j = Json::parse(json_log_line(context, {}, spdlog::level::info, "m"));
    EXPECT_EQ(j["event"], "leader_changed");
    EXPECT_EQ(j["leader"], 3);
    EXPECT_EQ(j["role"], "follower");
    EXPECT_EQ(j["delta"], -4);
    EXPECT_EQ(j["term"], 0);  // a field never overrides a fixed key
  }
  Json after = Json::parse(json_log_line(context, {}, spdlog::level::info, "m"));
  EXPECT_FALSE(after.contains("event"));
}

TEST(JsonLogFormatter, LogEventThroughALogger) {
  auto context = std::make_shared<LogContext>();
  context->node = 5;
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("json-test", sink);
  logger->set_formatter(std::make_unique<JsonLogFormatter>(context));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  log_event(spdlog::level::info, "snapshot_written", {{"index", uint64_t{10}}, {"keys", 2}},
            "snapshot at {}", 10);
  spdlog::info("plain {}", 1);
  spdlog::set_default_logger(previous);

  std::istringstream lines(out.str());
  std::string first, second;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  Json a = Json::parse(first);
  EXPECT_EQ(a["msg"], "snapshot at 10");
  EXPECT_EQ(a["event"], "snapshot_written");
  EXPECT_EQ(a["index"], 10);
  EXPECT_EQ(a["keys"], 2);
  EXPECT_EQ(a["node"], 5);
  Json b = Json::parse(second);
  EXPECT_EQ(b["msg"], "plain 1");
  EXPECT_FALSE(b.contains("event"));
}

}  // namespace
}  // namespace bw::server
