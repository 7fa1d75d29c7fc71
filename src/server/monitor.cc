#include "server/monitor.h"

#include <fmt/format.h>

namespace bw::server {

void append_repr(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\a':
        out->append("\\a");
        break;
      case '\b':
        out->append("\\b");
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out->push_back(ch);
        } else {
          fmt::format_to(std::back_inserter(*out), "\\x{:02x}", c);
        }
    }
  }
  out->push_back('"');
}

std::string monitor_line(int64_t unix_us, std::string_view client_address,
                         std::span<const std::string_view> argv) {
  std::string out =
      fmt::format("+{}.{:06} [0 {}]", unix_us / 1000000, unix_us % 1000000, client_address);
  for (std::string_view a : argv) {
    out.push_back(' ');
    append_repr(&out, a);
  }
  out.append("\r\n");
  return out;
}

}  // namespace bw::server
