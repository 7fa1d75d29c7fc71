#include "server/output_limits.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

#include "absl/strings/str_split.h"
#include "server/args.h"
#include "server/config_params.h"

namespace bw::server {

Result<OutputBufferLimits> parse_output_buffer_limits(std::string_view text,
                                                      OutputBufferLimits base) {
  std::vector<std::string_view> words;
  for (absl::string_view w :
       absl::StrSplit(absl::string_view(text.data(), text.size()), ' ', absl::SkipEmpty())) {
    words.emplace_back(w.data(), w.size());
  }
  if (words.empty() || words.size() % 4 != 0) {
    return absl::InvalidArgumentError("Wrong number of arguments in buffer limit configuration.");
  }
  for (size_t i = 0; i < words.size(); i += 4) {
    OutputLimit* target = nullptr;
    if (iequals(words[i], "normal")) {
      target = &base.normal;
    } else if (iequals(words[i], "replica") || iequals(words[i], "slave")) {
      target = &base.replica;
    } else if (iequals(words[i], "pubsub")) {
      target = &base.pubsub;
    } else {
      return absl::InvalidArgumentError(
          "Invalid client class specified in buffer limit configuration.");
    }
    std::optional<uint64_t> hard = parse_memory_value(words[i + 1]);
    std::optional<uint64_t> soft = parse_memory_value(words[i + 2]);
    uint64_t seconds = 0;
    std::string_view s = words[i + 3];
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (!hard || !soft || ec != std::errc() || ptr != s.data() + s.size()) {
      return absl::InvalidArgumentError(
          "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
    *target = OutputLimit{*hard, *soft, seconds};
  }
  return base;
}

std::string format_output_buffer_limits(const OutputBufferLimits& l) {
  return fmt::format("normal {} {} {} slave {} {} {} pubsub {} {} {}", l.normal.hard_bytes,
                     l.normal.soft_bytes, l.normal.soft_seconds, l.replica.hard_bytes,
                     l.replica.soft_bytes, l.replica.soft_seconds, l.pubsub.hard_bytes,
                     l.pubsub.soft_bytes, l.pubsub.soft_seconds);
}

bool output_limit_reached(const OutputLimit& limit, uint64_t bytes, int64_t now_ms,
                          OutputLimitState* state) {
  const bool hard = limit.hard_bytes != 0 && bytes >= limit.hard_bytes;
  bool soft = limit.soft_bytes != 0 && bytes >= limit.soft_bytes;
  if (soft) {
    if (state->soft_since_ms == 0) {
      state->soft_since_ms = now_ms;
      soft = false;  // just reached: the clock starts now
    } else {
      const int64_t held_ms = now_ms - state->soft_since_ms;
      soft = held_ms > static_cast<int64_t>(limit.soft_seconds) * 1000;
    }
  } else {
    state->soft_since_ms = 0;
  }
  return hard || soft;
}

}  // namespace bw::server
