// Number parsing and formatting with Redis's exact rules, so replies and stored values match a
// real redis-server byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bw::kv {

// Redis's string2ll: optional '-', decimal digits, no leading zeros ("0" itself is fine, "-0" is
// not), no '+', no spaces, within int64.
std::optional<int64_t> parse_int64(std::string_view s);
// Redis's string2ld: strtold over the whole string (no leading space, no NaN, no overflow to
// +-inf from a finite spelling, at most kLongDoubleCharsMax bytes). "inf" parses.
std::optional<long double> parse_long_double(std::string_view s);
// Redis's ld2string in human mode (INCRBYFLOAT's reply and stored value): "%.17Lf" with trailing
// zeros and a trailing '.' removed, "-0" written as "0". REQUIRES: v finite.
std::string format_long_double(long double v);

inline constexpr size_t kLongDoubleCharsMax = 5 * 1024;

}  // namespace bw::kv
