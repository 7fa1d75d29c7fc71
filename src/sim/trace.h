// The simulator's event trace: compact records kept in a ring of the most recent events (printed
// when a run fails), optionally streamed in full, and folded into a hash that two runs of the
// same seed must agree on (the determinism check). Records are formatted only when printed.
//
// Thread safety: none; owned by the world.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace bw::sim {

enum class TraceKind : uint8_t {
  kDeliver,          // peer -> node: a = message type, b = term, c = index, d = entries
  kDrop,             // same fields: lost, link cut, or receiver down/paused
  kRole,             // a = role, b = term, c = leader
  kCommit,           // a = commit index, b = term
  kSync,             // a = entries made durable
  kCrash,            // a = unsynced batches, b = what survived (Disk::crash's description)
  kRestart,          // a = durable commit, b = applied (snapshot index)
  kPause,            // a = duration us
  kResume,           //
  kLinkCut,          // node -> peer
  kHeal,             //
  kNetwork,          // a = drop per mille, b = duplicate per mille, c = latency max us
  kPhase,            // a = 1 storm, 0 calm
  kInvoke,           // node = target, a = client, b = op kind, c = seq
  kComplete,         // node = target, a = client, b = outcome, c = seq
  kTimeout,          // a = client, c = seq
  kConfChange,       // node = leader, peer = subject, a = change type, b = accepted
  kConfApplied,      // node, peer = subject, a = change type, b = index
  kTransfer,         // node = leader, peer = target, a = accepted
  kSnapshot,         // node, a = snapshot index, b = compacted through
  kSnapshotInstall,  // node, a = snapshot index, b = term
  kViolation,        //
};

struct TraceEvent {
  uint64_t time_us = 0;
  TraceKind kind = TraceKind::kViolation;
  uint64_t node = 0;
  uint64_t peer = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
  uint64_t d = 0;
};

std::string format_event(const TraceEvent& e);

class Trace {
 public:
  static constexpr size_t kRecentMax = 200;

  // When `stream` is set every event is printed to it as it happens.
  // Events after `freeze_us` are hashed and streamed but no longer enter the ring, so that the
  // ring shows what led up to that moment.
  Trace(std::FILE* stream, uint64_t freeze_us) : stream_(stream), freeze_us_(freeze_us) {
    ring_.reserve(kRecentMax);
  }

  // `notable` events enter the ring of recent events; routine ones (heartbeats) only the hash
  // and the stream.
  void add(const TraceEvent& e, bool notable = true);
  uint64_t hash() const { return hash_; }
  uint64_t count() const { return count_; }
  // The last kRecentMax events, oldest first, one per line.
  std::string recent() const;

 private:
  std::FILE* stream_;
  uint64_t freeze_us_;
  std::vector<TraceEvent> ring_;
  size_t next_ = 0;
  uint64_t count_ = 0;
  uint64_t hash_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace bw::sim
