// Small helpers for command lines kept beyond the read buffer they arrived in.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kv/command.h"
#include "resp/command_table.h"

namespace bw::server {

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
