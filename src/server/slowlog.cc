#include "server/slowlog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"

namespace bw::server {

std::vector<std::string> slowlog_trim_argv(std::span<const std::string_view> argv) {
  const size_t kept = std::min(argv.size(), kSlowlogArgsMax);
  std::vector<std::string> out;
  out.reserve(kept);
  for (size_t i = 0; i < kept; ++i) {
    if (kept != argv.size() && i == kept - 1) {
      out.push_back(fmt::format("... ({} more arguments)", argv.size() - kept + 1));
    } else if (argv[i].size() > kSlowlogArgBytesMax) {
      out.push_back(fmt::format("{}... ({} more bytes)", argv[i].substr(0, kSlowlogArgBytesMax),
                                argv[i].size() - kSlowlogArgBytesMax));
    } else {
      out.emplace_back(argv[i]);
    }
  }
  return out;
}

namespace {

void append_packed(std::string* out, std::string_view a, std::string_view suffix = {}) {
  const auto n = static_cast<uint32_t>(a.size() + suffix.size());
  char len[sizeof n];
  std::memcpy(len, &n, sizeof n);
  out->append(len, sizeof n);
  out->append(a);
  out->append(suffix);
}

}  // namespace

void slowlog_pack_argv(std::string* out, std::span<const std::string_view> argv) {
  // Runs for every command still pending when execute() returns: no allocation beyond *out's.
  char suffix[64];
  const size_t kept = std::min(argv.size(), kSlowlogArgsMax);
  for (size_t i = 0; i < kept; ++i) {
    if (kept != argv.size() && i == kept - 1) {
      auto r = fmt::format_to_n(suffix, sizeof suffix, "... ({} more arguments)",
                                argv.size() - kept + 1);
      append_packed(out, std::string_view(suffix, r.size));
    } else if (argv[i].size() > kSlowlogArgBytesMax) {
      auto r = fmt::format_to_n(suffix, sizeof suffix, "... ({} more bytes)",
                                argv[i].size() - kSlowlogArgBytesMax);
      append_packed(out, argv[i].substr(0, kSlowlogArgBytesMax), std::string_view(suffix, r.size));
    } else {
      append_packed(out, argv[i]);
    }
  }
}

std::vector<std::string> slowlog_unpack_argv(std::string_view packed) {
  std::vector<std::string> out;
  uint32_t n = 0;
  while (packed.size() >= sizeof n) {
    std::memcpy(&n, packed.data(), sizeof n);
    packed.remove_prefix(sizeof n);
    BW_ASSERT(n <= packed.size(), "packed argument of {} bytes, {} left", n, packed.size());
    out.emplace_back(packed.substr(0, n));
    packed.remove_prefix(n);
  }
  return out;
}

void SlowLog::add(Entry e, uint64_t max_len) {
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len) entries_.pop_back();
}

void SlowLog::write_get(resp::Writer& w, int64_t count) const {
  const size_t n =
      count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  w.array(n);
  for (size_t i = 0; i < n; ++i) {
    const Entry& e = entries_[i];
    w.array(6);
    w.integer(static_cast<int64_t>(e.id));
    w.integer(e.unix_s);
    w.integer(static_cast<int64_t>(e.duration_us));
    w.array(e.argv.size());
    for (const std::string& a : e.argv) w.bulk(a);
    w.bulk(e.client_address);
    w.bulk(e.client_name);
  }
}

}  // namespace bw::server
