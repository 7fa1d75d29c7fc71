// Expected errors are values: absl::Status / absl::StatusOr under project names.
// Broken invariants are not errors; they are BW_ASSERT failures (assert.h).
#pragma once

#include <fmt/format.h>

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bw {

using Status = absl::Status;
template <typename T>
using Result = absl::StatusOr<T>;

inline Status OkStatus() {
  return absl::OkStatus();
}

// Debian's abseil is built with its own string_view type; convert where std:: is wanted.
inline std::string_view to_std(absl::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace bw

// Lets fmt/spdlog print Status::message() and Status directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string_view> {
  auto format(const absl::Status& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.ToString(), ctx);
  }
};

#define BW_STATUS_CONCAT_INNER_(a, b) a##b
#define BW_STATUS_CONCAT_(a, b) BW_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not ok.
#define BW_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::bw::Status bw_status_ = (expr);        \
    if (!bw_status_.ok()) return bw_status_; \
  } while (0)

// `BW_ASSIGN_OR_RETURN(auto x, ResultExpr());` binds the value or returns the error.
#define BW_ASSIGN_OR_RETURN(lhs, expr) \
  BW_ASSIGN_OR_RETURN_IMPL_(BW_STATUS_CONCAT_(bw_result_, __LINE__), lhs, expr)
#define BW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
