#include "sim/trace.h"

#include <fmt/format.h>

#include "raft/types.h"

namespace bw::sim {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  // splitmix64 finalizer over the running hash: cheap and order-sensitive.
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

const char* msg_name(uint64_t t) {
  return raft::message_type_name(static_cast<raft::MessageType>(t));
}

const char* op_name(uint64_t k) {
  static const char* const kNames[] = {"read", "write"};
  return k < 2 ? kNames[k] : "?";
}

const char* outcome_name(uint64_t o) {
  static const char* const kNames[] = {"ok", "fail", "unknown"};
  return o < 3 ? kNames[o] : "?";
}

const char* conf_name(uint64_t t) {
  static const char* const kNames[] = {"add-voter", "add-learner", "remove"};
  return t < 3 ? kNames[t] : "?";
}

std::string body(const TraceEvent& e) {
  switch (e.kind) {
    case TraceKind::kDeliver:
      return fmt::format("n{} -> n{} deliver {} term={} index={} entries={}", e.peer, e.node,
                         msg_name(e.a), e.b, e.c, e.d);
    case TraceKind::kDrop:
      return fmt::format("n{} -> n{} DROP {} term={} index={}", e.node, e.peer, msg_name(e.a), e.b,
                         e.c);
    case TraceKind::kRole:
      return fmt::format("n{} is {} term={} leader=n{}", e.node,
                         raft::role_name(static_cast<raft::Role>(e.a)), e.b, e.c);
    case TraceKind::kCommit:
      return fmt::format("n{} commit={} term={}", e.node, e.a, e.b);
    case TraceKind::kSync:
      return fmt::format("n{} fsync ({} entries durable)", e.node, e.a);
    case TraceKind::kCrash:
      return fmt::format("n{} CRASH ({} unsynced batches, survival {})", e.node, e.a, e.b);
    case TraceKind::kRestart:
      return fmt::format("n{} RESTART durable commit={} snapshot={}", e.node, e.a, e.b);
    case TraceKind::kPause:
      return fmt::format("n{} PAUSE for {}us", e.node, e.a);
    case TraceKind::kResume:
      return fmt::format("n{} resume", e.node);
    case TraceKind::kLinkCut:
      return fmt::format("link n{} -> n{} CUT", e.node, e.peer);
    case TraceKind::kHeal:
      return "network healed";
    case TraceKind::kNetwork:
      return fmt::format("network: drop={}/1000 dup={}/1000 latency<={}us", e.a, e.b, e.c);
    case TraceKind::kPhase:
      return e.a != 0 ? "=== storm: faults on ===" : "=== calm: faults off, all healed ===";
    case TraceKind::kInvoke:
      return fmt::format("client {} invoke {} #{} at n{}", e.a, op_name(e.b), e.c, e.node);
    case TraceKind::kComplete:
      return fmt::format("client {} complete #{} at n{}: {}", e.a, e.c, e.node, outcome_name(e.b));
    case TraceKind::kTimeout:
      return fmt::format("client {} timeout #{} (outcome unknown)", e.a, e.c);
    case TraceKind::kConfChange:
      return fmt::format("n{} propose {} n{}: {}", e.node, conf_name(e.a), e.peer,
                         e.b != 0 ? "accepted" : "refused");
    case TraceKind::kConfApplied:
      return fmt::format("n{} applied {} n{} at index {}", e.node, conf_name(e.a), e.peer, e.b);
    case TraceKind::kTransfer:
      return fmt::format("n{} transfer leadership to n{}: {}", e.node, e.peer,
                         e.a != 0 ? "accepted" : "refused");
    case TraceKind::kSnapshot:
      return fmt::format("n{} snapshot at {}, log compacted through {}", e.node, e.a, e.b);
    case TraceKind::kSnapshotInstall:
      return fmt::format("n{} installed snapshot index={} term={}", e.node, e.a, e.b);
    case TraceKind::kViolation:
      return "VIOLATION";
  }
  return "?";
}

}  // namespace

std::string format_event(const TraceEvent& e) {
  return fmt::format("{:>9}us  {}", e.time_us, body(e));
}

void Trace::add(const TraceEvent& e, bool notable) {
  ++count_;
  for (uint64_t v :
       {e.time_us, static_cast<uint64_t>(e.kind), e.node, e.peer, e.a, e.b, e.c, e.d}) {
    hash_ = mix(hash_, v);
  }
  if (stream_ != nullptr) fmt::print(stream_, "{}\n", format_event(e));
  if (!notable || e.time_us > freeze_us_) return;
  if (ring_.size() < kRecentMax) {
    ring_.push_back(e);
  } else {
    ring_[next_] = e;
    next_ = (next_ + 1) % kRecentMax;
  }
}

std::string Trace::recent() const {
  std::string out;
  for (size_t i = 0; i < ring_.size(); ++i) {
    out += format_event(ring_[(next_ + i) % ring_.size()]);
    out += '\n';
  }
  return out;
}

}  // namespace bw::sim
