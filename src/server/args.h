// Small helpers for command lines: parsing arguments, and keeping them beyond the read buffer
// they arrived in.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "kv/command.h"
#include "resp/command_table.h"

namespace bw::server {

// A whole argument as a signed 64-bit decimal integer (nothing before or after it).
inline bool parse_int64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// ASCII case-insensitive equality, as Redis compares command words and options.
inline bool iequals(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// A client name Redis accepts (CLIENT SETNAME, HELLO SETNAME): printable, no spaces.
inline bool valid_client_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > ' ' && c <= '~'; });
}

inline std::vector<std::string> copy_args(std::span<const std::string_view> argv) {
  return std::vector<std::string>(argv.begin(), argv.end());
}

// Views into `argv`, valid while it lives.
inline std::vector<std::string_view> views(const std::vector<std::string>& argv) {
  return std::vector<std::string_view>(argv.begin(), argv.end());
}

// True if `argv` (non-empty, the command `spec`) has an argument count the table allows. A
// trailing FENCE name token on a write is not part of the command's own arguments.
// `kv_write_name`: kv::is_write_command(argv[0]), when the caller has it already.
inline bool arity_ok(const resp::CommandSpec& spec, std::span<const std::string_view> argv,
                     bool kv_write_name) {
  const size_t argc = kv_write_name ? kv::split_fence(argv).command.size() : argv.size();
  return resp::arity_ok(spec, argc);
}
inline bool arity_ok(const resp::CommandSpec& spec, std::span<const std::string_view> argv) {
  return arity_ok(spec, argv, kv::is_write_command(argv[0]));
}

// The same for a command line not looked up yet: false also for an unknown or empty one.
inline bool arity_ok(std::span<const std::string_view> argv) {
  const resp::CommandSpec* spec = argv.empty() ? nullptr : resp::find_command(argv[0]);
  return spec != nullptr && arity_ok(*spec, argv);
}

}  // namespace bw::server
