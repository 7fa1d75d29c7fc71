// Assertions that stay on in release builds. A broken invariant stops the process loudly with
// its location and context instead of corrupting data.
//
//   BW_ASSERT(index <= last_index);
//   BW_ASSERT(term >= prev_term, "term went back: {} < {}", term, prev_term);
//
// Split compound conditions (`BW_ASSERT(a); BW_ASSERT(b);`) so a failure names the culprit.
#pragma once

#include <fmt/format.h>

#include <string>

namespace bw::detail {

[[noreturn]] void assert_failed(const char* expr, const char* file, int line,
                                const std::string& message);

inline std::string assert_message() {
  return {};
}
template <typename... Args>
std::string assert_message(fmt::format_string<Args...> f, Args&&... args) {
  return fmt::format(f, std::forward<Args>(args)...);
}

}  // namespace bw::detail

#define BW_ASSERT(cond, ...)                                                  \
  do {                                                                        \
    if (!(cond)) [[unlikely]] {                                               \
      ::bw::detail::assert_failed(#cond, __FILE__, __LINE__,                  \
                                  ::bw::detail::assert_message(__VA_ARGS__)); \
    }                                                                         \
  } while (0)

#define BW_UNREACHABLE(...)                                      \
  ::bw::detail::assert_failed("unreachable", __FILE__, __LINE__, \
                              ::bw::detail::assert_message(__VA_ARGS__))
