// Log lines: today's text lines, or one JSON object per line (--log-format json) with the node,
// its Raft group and term, and for the main events a stable `event` name and its fields:
//
//   {"time":"2026-01-02T03:04:05.678Z","level":"info","node":1,"group":1,"term":3,
//    "msg":"node 1: leader is now 2 (role follower)","event":"leader_changed","leader":2,...}
//
// Events are logged with log_event(), which logs the same text line as before and, for the JSON
// format, attaches the fields: the JSON formatter (spdlog's formatter API) finds them through a
// thread-local pointer that log_event sets for the duration of the call (spdlog formats on the
// calling thread: the logger is synchronous). No log call site changes otherwise.
//
// Thread safety: LogContext is atomics (the node writes, any logging thread reads).
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace bw::server {

// What every JSON line carries besides its message.
struct LogContext {
  std::atomic<uint64_t> node{0};  // 0 until known (a joining node learns its id)
  std::atomic<uint64_t> term{0};  // the current Raft term, updated on role changes
  uint64_t group = 1;             // the Raft group (one per node today)
};

// One field of an event: a number or a text.
struct LogField {
  std::string_view key;
  std::variant<uint64_t, int64_t, std::string_view> value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  template <std::unsigned_integral T>
  LogField(std::string_view k, T v) : key(k), value(static_cast<uint64_t>(v)) {}
  template <std::signed_integral T>
  LogField(std::string_view k, T v) : key(k), value(static_cast<int64_t>(v)) {}
  // Ids, terms and log indexes (common/ids.h).
  template <typename T>
  requires requires(const T& t) {
    { t.value() } -> std::convertible_to<uint64_t>;
  }
  LogField(std::string_view k, const T& id) : key(k), value(static_cast<uint64_t>(id.value())) {}
};

// While alive, log lines written by this thread carry `event` and `fields` (JSON format only).
class LogEventScope {
 public:
  LogEventScope(std::string_view event, std::span<const LogField> fields);
  ~LogEventScope();
  LogEventScope(const LogEventScope&) = delete;
  LogEventScope& operator=(const LogEventScope&) = delete;

  // The innermost scope alive on this thread, or null.
  static const LogEventScope* current();
  std::string_view event() const { return event_; }
  std::span<const LogField> fields() const { return fields_; }

 private:
  const LogEventScope* previous_;
  std::string_view event_;
  std::span<const LogField> fields_;
};

// Logs `format` as spdlog::log does, tagged with a stable event name and fields.
template <typename... Args>
void log_event(spdlog::level::level_enum level, std::string_view event,
               std::initializer_list<LogField> fields, fmt::format_string<Args...> format,
               Args&&... args) {
  if (!spdlog::should_log(level)) return;
  LogEventScope scope(event, std::span<const LogField>(fields.begin(), fields.size()));
  spdlog::log(level, format, std::forward<Args>(args)...);
}

// One JSON object per line. Strings are escaped by nlohmann::json (invalid UTF-8 replaced by
// U+FFFD); an event field never overrides one of the fixed keys.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  explicit JsonLogFormatter(std::shared_ptr<const LogContext> context);
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  std::shared_ptr<const LogContext> context_;
};

// The JSON line (without its newline) for one message: what JsonLogFormatter writes.
std::string json_log_line(const LogContext& context, std::chrono::system_clock::time_point time,
                          spdlog::level::level_enum level, std::string_view message);

}  // namespace bw::server
