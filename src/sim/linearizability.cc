#include "sim/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/assert.h"

namespace bw::sim {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr size_t kExplainOpsMax = 24;

// An operation on one key with values interned to small integers (0 = absent).
struct KeyOp {
  OpKind kind = OpKind::kGet;
  int value = 0;
  int expected = 0;
  int read = 0;
  bool cas_succeeded = false;
  bool unknown = false;
  uint64_t call_us = 0;
  uint64_t return_us = 0;
  const Operation* source = nullptr;
};

// Applies `op` to register value `state`. Returns false if the op's recorded result is
// impossible from `state`.
bool step(const KeyOp& op, int state, int* next) {
  switch (op.kind) {
    case OpKind::kPut:
      *next = op.value;
      return true;
    case OpKind::kGet:
      *next = state;
      return state == op.read;
    case OpKind::kCas:
      if (op.unknown) {
        *next = state == op.expected ? op.value : state;
        return true;
      }
      if (op.cas_succeeded) {
        *next = op.value;
        return state == op.expected;
      }
      *next = state;
      return state != op.expected;
  }
  BW_UNREACHABLE();
}

// One call or return event in Porcupine's doubly linked list.
struct Event {
  bool is_call = false;
  uint32_t op = 0;
  uint64_t time_us = 0;
  int32_t match = -1;  // call -> its return, return -> its call
  int32_t prev = -1;
  int32_t next = -1;
};

class KeyChecker {
 public:
  KeyChecker(std::vector<KeyOp> ops, uint64_t states_max)
      : ops_(std::move(ops)), states_max_(states_max) {
    build_list();
  }

  // Returns true if linearizable. Sets inconclusive() when the budget ran out.
  bool run();
  bool inconclusive() const { return inconclusive_; }
  uint64_t states() const { return states_; }
  size_t deepest() const { return deepest_; }
  int32_t stuck_op() const { return stuck_op_; }

 private:
  void build_list();
  void lift(int32_t call);
  void unlift(int32_t call);

  std::vector<KeyOp> ops_;
  uint64_t states_max_;
  std::vector<Event> events_;  // events_[0] is the list head (sentinel)
  bool inconclusive_ = false;
  uint64_t states_ = 0;
  size_t deepest_ = 0;
  size_t stuck_depth_ = 0;
  int32_t stuck_op_ = -1;  // the return the deepest attempt could not pass
};

void KeyChecker::build_list() {
  std::vector<Event> sorted;
  sorted.reserve(ops_.size() * 2);
  for (uint32_t i = 0; i < ops_.size(); ++i) {
    sorted.push_back(Event{.is_call = true, .op = i, .time_us = ops_[i].call_us});
    sorted.push_back(Event{.is_call = false, .op = i, .time_us = ops_[i].return_us});
  }
  // Calls before returns at equal times: treating touching operations as concurrent never
  // reports a violation that a finer clock could explain away.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Event& a, const Event& b) {
    if (a.time_us != b.time_us) return a.time_us < b.time_us;
    return a.is_call && !b.is_call;
  });
  events_.assign(1, Event{});
  std::vector<int32_t> call_of(ops_.size(), -1);
  for (const Event& e : sorted) {
    events_.push_back(e);
    const auto at = static_cast<int32_t>(events_.size() - 1);
    if (e.is_call) {
      call_of[e.op] = at;
    } else {
      events_[at].match = call_of[e.op];
      events_[call_of[e.op]].match = at;
    }
  }
  for (size_t i = 0; i < events_.size(); ++i) {
    events_[i].prev = static_cast<int32_t>(i) - 1;
    events_[i].next = i + 1 < events_.size() ? static_cast<int32_t>(i + 1) : -1;
  }
}

void KeyChecker::lift(int32_t call) {
  Event& c = events_[call];
  events_[c.prev].next = c.next;
  if (c.next >= 0) events_[c.next].prev = c.prev;
  Event& r = events_[c.match];
  events_[r.prev].next = r.next;
  if (r.next >= 0) events_[r.next].prev = r.prev;
}

void KeyChecker::unlift(int32_t call) {
  Event& c = events_[call];
  Event& r = events_[c.match];
  events_[r.prev].next = c.match;
  if (r.next >= 0) events_[r.next].prev = c.match;
  events_[c.prev].next = call;
  if (c.next >= 0) events_[c.next].prev = call;
}

bool KeyChecker::run() {
  struct Frame {
    int32_t call;
    int state;
  };
  std::vector<uint64_t> linearized((ops_.size() + 63) / 64, 0);
  absl::flat_hash_set<std::pair<std::vector<uint64_t>, int>> cache;
  std::vector<Frame> stack;
  int state = 0;
  int32_t at = events_[0].next;
  while (events_[0].next >= 0) {
    BW_ASSERT(at >= 0, "a call is always followed by its return");
    const Event& e = events_[at];
    if (e.is_call) {
      int next_state = 0;
      if (step(ops_[e.op], state, &next_state)) {
        linearized[e.op / 64] |= uint64_t{1} << (e.op % 64);
        if (cache.emplace(linearized, next_state).second) {
          if (++states_ > states_max_) {
            inconclusive_ = true;
            return true;
          }
          stack.push_back(Frame{at, state});
          if (stack.size() > deepest_) deepest_ = stack.size();
          lift(at);
          state = next_state;
          at = events_[0].next;
          continue;
        }
        linearized[e.op / 64] &= ~(uint64_t{1} << (e.op % 64));
      }
      at = e.next;
      continue;
    }
    // A return: every operation still in the list before it must be linearized first.
    if (stuck_op_ < 0 || stack.size() > stuck_depth_) {
      stuck_depth_ = stack.size();
      stuck_op_ = static_cast<int32_t>(e.op);
    }
    if (stack.empty()) return false;
    const Frame top = stack.back();
    stack.pop_back();
    const uint32_t op = events_[top.call].op;
    linearized[op / 64] &= ~(uint64_t{1} << (op % 64));
    unlift(top.call);
    state = top.state;
    at = events_[top.call].next;
  }
  return true;
}

// An unknown put whose value nobody ever observed can always be placed last, i.e. dropped, as
// long as no failed cas on the key could have observed "not the old value" because of it.
bool droppable(const KeyOp& op, const std::vector<KeyOp>& all) {
  if (!op.unknown) return false;
  if (op.kind != OpKind::kPut && op.kind != OpKind::kCas) return false;
  for (const KeyOp& other : all) {
    if (other.unknown) {
      if (other.kind == OpKind::kCas && other.expected == op.value) return false;
      continue;
    }
    if (other.kind == OpKind::kGet && other.read == op.value) return false;
    if (other.kind == OpKind::kCas && other.expected == op.value) return false;
    if (other.kind == OpKind::kCas && !other.cas_succeeded && other.return_us > op.call_us) {
      return false;
    }
  }
  return true;
}

std::vector<KeyOp> intern(const std::vector<const Operation*>& ops) {
  absl::flat_hash_map<std::string, int> ids;
  ids.emplace("", 0);
  auto id = [&ids](const std::string& v) {
    return ids.emplace(v, static_cast<int>(ids.size())).first->second;
  };
  std::vector<KeyOp> out;
  for (const Operation* op : ops) {
    if (op->outcome == Outcome::kFail) continue;
    // A read with unknown outcome returned nothing and changed nothing.
    if (op->outcome == Outcome::kUnknown && op->kind == OpKind::kGet) continue;
    KeyOp k;
    k.kind = op->kind;
    k.value = id(op->value);
    k.expected = id(op->expected);
    k.read = id(op->read_value);
    k.cas_succeeded = op->cas_succeeded;
    k.unknown = op->outcome == Outcome::kUnknown;
    k.call_us = op->invoke_us;
    k.return_us = k.unknown ? kNever : op->complete_us;
    k.source = op;
    out.push_back(k);
  }
  std::vector<KeyOp> kept;
  for (const KeyOp& k : out) {
    if (!droppable(k, out)) kept.push_back(k);
  }
  return kept;
}

std::string explain(const std::string& key, const std::vector<KeyOp>& ops,
                    const KeyChecker& checker) {
  std::string out = fmt::format("key '{}': {} operations; at most {} could be linearized", key,
                                ops.size(), checker.deepest());
  if (checker.stuck_op() < 0) return out;
  const KeyOp& stuck = ops[static_cast<size_t>(checker.stuck_op())];
  out += fmt::format("\n  no valid order reaches the completion of: {}", describe(*stuck.source));
  out += "\n  operations around it (by invocation time):";
  std::vector<const KeyOp*> near;
  for (const KeyOp& k : ops) near.push_back(&k);
  std::sort(near.begin(), near.end(),
            [](const KeyOp* a, const KeyOp* b) { return a->call_us < b->call_us; });
  size_t pos = 0;
  while (pos < near.size() && near[pos] != &stuck) ++pos;
  const size_t lo = pos > kExplainOpsMax / 2 ? pos - kExplainOpsMax / 2 : 0;
  for (size_t i = lo; i < near.size() && i < lo + kExplainOpsMax; ++i) {
    out += fmt::format("\n  {} {}", near[i] == &stuck ? "=>" : "  ", describe(*near[i]->source));
  }
  return out;
}

}  // namespace

std::string describe(const Operation& op) {
  std::string what;
  switch (op.kind) {
    case OpKind::kPut:
      what = fmt::format("put({}, {})", op.key, op.value);
      break;
    case OpKind::kGet:
      what = fmt::format("get({})", op.key);
      break;
    case OpKind::kCas:
      what = fmt::format("cas({}, {} -> {})", op.key, op.expected, op.value);
      break;
  }
  std::string result;
  switch (op.outcome) {
    case Outcome::kOk:
      if (op.kind == OpKind::kGet) {
        result = op.read_value.empty() ? "= <absent>" : fmt::format("= {}", op.read_value);
      } else if (op.kind == OpKind::kCas) {
        result = op.cas_succeeded ? "= ok" : "= mismatch";
      } else {
        result = "= ok";
      }
      return fmt::format("[{} .. {}us] client {} {} {}", op.invoke_us, op.complete_us, op.client,
                         what, result);
    case Outcome::kFail:
      result = "failed";
      break;
    case Outcome::kUnknown:
      result = "outcome unknown";
      break;
  }
  return fmt::format("[{} .. ?] client {} {} {}", op.invoke_us, op.client, what, result);
}

LinearizabilityResult check_linearizable(const std::vector<Operation>& history,
                                         uint64_t states_max) {
  std::map<std::string, std::vector<const Operation*>> by_key;
  for (const Operation& op : history) by_key[op.key].push_back(&op);
  LinearizabilityResult result;
  for (const auto& [key, ops] : by_key) {
    std::vector<KeyOp> key_ops = intern(ops);
    KeyChecker checker(key_ops, states_max);
    const bool ok = checker.run();
    result.states_explored += checker.states();
    if (checker.inconclusive()) {
      result.inconclusive = true;
      continue;
    }
    if (!ok) {
      result.linearizable = false;
      result.key = key;
      result.explanation = explain(key, key_ops, checker);
      if (checker.stuck_op() >= 0) {
        result.stuck_complete_us = key_ops[static_cast<size_t>(checker.stuck_op())].return_us;
      }
      return result;
    }
  }
  return result;
}

}  // namespace bw::sim
