// MONITOR: the line a monitoring client receives for every command the node receives, in
// Redis's format: +<unix seconds>.<microseconds> [0 <client address>] "arg" "arg"...
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bw::server {

// Appends `s` quoted as Redis's sdscatrepr does: in double quotes; \\ \" \n \r \t \a \b escaped;
// other non-printable bytes as \xHH.
void append_repr(std::string* out, std::string_view s);

// The whole RESP line (a simple string with its CRLF) for a command received at `unix_us`.
std::string monitor_line(int64_t unix_us, std::string_view client_address,
                         std::span<const std::string_view> argv);

}  // namespace bw::server
