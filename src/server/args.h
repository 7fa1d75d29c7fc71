// Small helpers for command lines kept beyond the read buffer they arrived in.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bw::server {

inline std::vector<std::string> copy_args(std::span<const std::string_view> argv) {
  return std::vector<std::string>(argv.begin(), argv.end());
}

// Views into `argv`, valid while it lives.
inline std::vector<std::string_view> views(const std::vector<std::string>& argv) {
  return std::vector<std::string_view>(argv.begin(), argv.end());
}

}  // namespace bw::server
