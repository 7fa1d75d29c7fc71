// SLOWLOG: the newest commands whose latency (receipt to reply) reached
// NodeConfig::slowlog_log_slower_than_us, as Redis keeps them: id, unix time, duration, the
// command line (trimmed), the client's address and name.
//
// Thread safety: none; the node's event-loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "resp/writer.h"

namespace bw::server {

// Redis's limits on what an entry keeps of a command line: at most this many arguments (the last
// kept one then says "... (N more arguments)"), each at most this many bytes (then followed by
// "... (N more bytes)").
inline constexpr size_t kSlowlogArgsMax = 32;
inline constexpr size_t kSlowlogArgBytesMax = 128;

// `argv` as a slowlog entry keeps it.
std::vector<std::string> slowlog_trim_argv(std::span<const std::string_view> argv);

// The same, appended to *out in a packed form that slowlog_unpack_argv reads back (the bytes
// slowlog_trim_argv keeps, without its texts): what a session keeps of a command still waiting
// for its reply. slowlog_unpack_argv takes exactly one packed command line.
void slowlog_pack_argv(std::string* out, std::span<const std::string_view> argv);
std::vector<std::string> slowlog_unpack_argv(std::string_view packed);

class SlowLog {
 public:
  struct Entry {
    uint64_t id = 0;
    int64_t unix_s = 0;
    uint64_t duration_us = 0;
    std::vector<std::string> argv;  // trimmed (slowlog_trim_argv)
    std::string client_address;
    std::string client_name;
  };

  // Adds an entry (argv already trimmed) and drops the oldest beyond `max_len`.
  void add(Entry e, uint64_t max_len);
  size_t size() const { return entries_.size(); }
  void reset() { entries_.clear(); }
  // SLOWLOG GET: the newest `count` entries, newest first (count < 0: all).
  void write_get(resp::Writer& w, int64_t count) const;

 private:
  std::deque<Entry> entries_;  // newest first; Invariant: size() <= the last max_len given
  uint64_t next_id_ = 0;
};

}  // namespace bw::server
