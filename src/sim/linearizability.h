// Linearizability checker for a history of key-value register operations (put, get, cas), in the
// style of Wing & Gong / Lowe and Porcupine: a depth-first search over the possible orders of
// concurrent operations with memoization of (set of linearized operations, register value).
//
// Keys are independent registers, so the history is split per key and each key is checked alone
// (linearizability is compositional). Operations whose outcome is unknown (the client timed out)
// may take effect at any point after their invocation or never: they are given an infinite
// completion time, and "never" is the same as "last". Failed operations (definitely not applied)
// are ignored.
//
// Thread safety: none needed; pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bw::sim {

enum class OpKind : uint8_t { kPut, kGet, kCas };
enum class Outcome : uint8_t { kOk, kFail, kUnknown };

struct Operation {
  uint32_t client = 0;
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string value;     // kPut: value written; kCas: new value
  std::string expected;  // kCas: value compared against (never empty: empty means absent)
  uint64_t invoke_us = 0;
  uint64_t complete_us = 0;  // ignored when outcome is kUnknown
  Outcome outcome = Outcome::kUnknown;
  // Results, meaningful when outcome is kOk.
  std::string read_value;      // kGet: value read, empty when the key was absent
  bool cas_succeeded = false;  // kCas
};

struct LinearizabilityResult {
  bool linearizable = true;
  bool inconclusive = false;       // the search budget ran out before an answer
  std::string key;                 // first key that failed
  std::string explanation;         // readable account of the failing key's history
  uint64_t stuck_complete_us = 0;  // completion time of the operation no order could reach
  uint64_t states_explored = 0;
};

inline constexpr uint64_t kLinearizabilityStatesMax = 2'000'000;

// Checks the whole history (all keys). Stops at the first key that is not linearizable.
LinearizabilityResult check_linearizable(const std::vector<Operation>& history,
                                         uint64_t states_max = kLinearizabilityStatesMax);

// One line describing an operation, for reports.
std::string describe(const Operation& op);

}  // namespace bw::sim
