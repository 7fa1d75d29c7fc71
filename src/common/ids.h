// Strong integer types for the identifiers that must never be mixed up: a Term is not a
// LogIndex, a NodeId is not a GroupId. Arithmetic is allowed only where it means something
// (indexes and terms advance and are compared; ids are only compared).
#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <functional>

namespace bw {

template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(uint64_t v) : value_(v) {}
  constexpr uint64_t value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  uint64_t value_ = 0;
};

// A counter that only moves: supports +/- a plain offset, ++, and difference.
template <typename Tag>
class StrongCounter {
 public:
  constexpr StrongCounter() = default;
  constexpr explicit StrongCounter(uint64_t v) : value_(v) {}
  constexpr uint64_t value() const { return value_; }
  constexpr auto operator<=>(const StrongCounter&) const = default;

  constexpr StrongCounter operator+(uint64_t n) const { return StrongCounter(value_ + n); }
  constexpr StrongCounter operator-(uint64_t n) const { return StrongCounter(value_ - n); }
  constexpr uint64_t operator-(StrongCounter o) const { return value_ - o.value_; }
  constexpr StrongCounter& operator+=(uint64_t n) {
    value_ += n;
    return *this;
  }
  constexpr StrongCounter& operator++() {
    ++value_;
    return *this;
  }
  constexpr StrongCounter operator++(int) {
    StrongCounter old = *this;
    ++value_;
    return old;
  }

 private:
  uint64_t value_ = 0;
};

struct NodeIdTag {};
struct GroupIdTag {};
struct TermTag {};
struct LogIndexTag {};

using NodeId = StrongId<NodeIdTag>;    // 0 means "none"
using GroupId = StrongId<GroupIdTag>;  // one Raft group (partition or metadata)
using Term = StrongCounter<TermTag>;
using LogIndex = StrongCounter<LogIndexTag>;  // 0 means "before the first entry"

inline constexpr NodeId kNoNode{};

}  // namespace bw

template <typename Tag>
struct std::hash<bw::StrongId<Tag>> {
  size_t operator()(bw::StrongId<Tag> id) const noexcept {
    return std::hash<uint64_t>{}(id.value());
  }
};
template <typename Tag>
struct std::hash<bw::StrongCounter<Tag>> {
  size_t operator()(bw::StrongCounter<Tag> id) const noexcept {
    return std::hash<uint64_t>{}(id.value());
  }
};
template <typename Tag>
struct fmt::formatter<bw::StrongId<Tag>> : fmt::formatter<uint64_t> {
  auto format(bw::StrongId<Tag> id, fmt::format_context& ctx) const {
    return fmt::formatter<uint64_t>::format(id.value(), ctx);
  }
};
template <typename Tag>
struct fmt::formatter<bw::StrongCounter<Tag>> : fmt::formatter<uint64_t> {
  auto format(bw::StrongCounter<Tag> c, fmt::format_context& ctx) const {
    return fmt::formatter<uint64_t>::format(c.value(), ctx);
  }
};
