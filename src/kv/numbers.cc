#include "kv/numbers.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/assert.h"

namespace bw::kv {

std::optional<int64_t> parse_int64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t digits_at = s[0] == '-' ? 1 : 0;
  if (digits_at == s.size()) return std::nullopt;
  // Redis accepts "0" but no other leading zero, and no "-0".
  char first = s[digits_at];
  if (first < '1' || first > '9') {
    if (s == "0") return 0;
    return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<long double> parse_long_double(std::string_view s) {
  if (s.empty() || s.size() >= kLongDoubleCharsMax) return std::nullopt;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  if (s.find('\0') != std::string_view::npos) return std::nullopt;
  std::string buf(s);  // strtold needs a terminated string
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  if (*end != '\0') return std::nullopt;
  if (errno == EINVAL || std::isnan(v)) return std::nullopt;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || std::fpclassify(v) == FP_ZERO)) {
    return std::nullopt;
  }
  return v;
}

std::string format_long_double(long double v) {
  BW_ASSERT(std::isfinite(v));
  // The largest long double printed with "%.17Lf" needs 4933 integer digits plus 18.
  char buf[kLongDoubleCharsMax];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", v);
  BW_ASSERT(n > 0);
  BW_ASSERT(static_cast<size_t>(n) < sizeof(buf));
  // Trim in the buffer and build the string once (GCC's -Wrestrict misfires on in-place edits).
  auto len = static_cast<size_t>(n);
  if (std::memchr(buf, '.', len) != nullptr) {
    while (buf[len - 1] == '0') --len;
    if (buf[len - 1] == '.') --len;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') return "0";
  return std::string(buf, len);
}

}  // namespace bw::kv
