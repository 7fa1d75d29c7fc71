#include "server/log_format.h"

#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace bw::server {

namespace {

// The event of the log call in progress on this thread (LogEventScope), or null.
thread_local const LogEventScope* current_event = nullptr;

// RFC 3339, UTC, milliseconds: 2026-01-02T03:04:05.678Z.
std::string rfc3339_ms(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const time_t seconds = static_cast<time_t>(ms.count() / 1000);
  int64_t millis = ms.count() % 1000;
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  if (millis < 0) millis += 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

}  // namespace

LogEventScope::LogEventScope(std::string_view event, std::span<const LogField> fields)
    : previous_(current_event), event_(event), fields_(fields) {
  current_event = this;
}

LogEventScope::~LogEventScope() {
  current_event = previous_;
}

const LogEventScope* LogEventScope::current() {
  return current_event;
}

std::string json_log_line(const LogContext& context, std::chrono::system_clock::time_point time,
                          spdlog::level::level_enum level, std::string_view message) {
  nlohmann::ordered_json line;
  line["time"] = rfc3339_ms(time);
  const auto level_name = spdlog::level::to_string_view(level);
  line["level"] = std::string_view(level_name.data(), level_name.size());
  line["node"] = context.node.load(std::memory_order_relaxed);
  line["group"] = context.group;
  line["term"] = context.term.load(std::memory_order_relaxed);
  line["msg"] = message;
  if (const LogEventScope* event = current_event) {
    line["event"] = event->event();
    for (const LogField& f : event->fields()) {
      std::string key(f.key);
      if (line.contains(key)) continue;  // the fixed keys keep their meaning
      std::visit([&](const auto& v) { line[key] = v; }, f.value);
    }
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonLogFormatter::JsonLogFormatter(std::shared_ptr<const LogContext> context)
    : context_(std::move(context)) {}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string line = json_log_line(*context_, msg.time, msg.level,
                                         std::string_view(msg.payload.data(), msg.payload.size()));
  dest.append(line.data(), line.data() + line.size());
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>(context_);
}

}  // namespace bw::server
