// The leader's view of one follower: how far its log is known to match (match), what to send
// next (next), and the flow-control state (etcd-io/raft's tracker.Progress):
//   probe     — one append at a time until the follower's position is known;
//   replicate — appends are pipelined optimistically, bounded by an Inflights window;
//   snapshot  — the follower needs a snapshot; appends pause until it is installed.
// Pure data structure; table-tested in progress_test.cc.
#pragma once

#include <cstdint>
#include <deque>

#include "common/ids.h"

namespace bw::raft {

// Unacknowledged appends to one follower, bounded by count and by bytes.
class Inflights {
 public:
  Inflights(uint32_t count_max, uint64_t bytes_max)
      : count_max_(count_max), bytes_max_(bytes_max) {}

  // Records an append whose last entry is `last`. REQUIRES: !full(); `last` increasing.
  void add(LogIndex last, uint64_t bytes);
  // Frees every append whose last entry is <= `index` (acknowledged).
  void free_le(LogIndex index);
  void free_first_one();
  void reset();

  bool full() const;
  uint32_t count() const { return static_cast<uint32_t>(window_.size()); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Flight {
    LogIndex last;
    uint64_t bytes;
  };
  uint32_t count_max_;
  uint64_t bytes_max_;  // 0 = unbounded
  std::deque<Flight> window_;
  uint64_t bytes_ = 0;
};

enum class ProgressState : uint8_t { kProbe, kReplicate, kSnapshot };
const char* progress_state_name(ProgressState s);

class Progress {
 public:
  Progress(LogIndex next_index, uint32_t inflight_count_max, uint64_t inflight_bytes_max)
      : next(next_index), inflights(inflight_count_max, inflight_bytes_max) {}

  void become_probe();
  void become_replicate();
  void become_snapshot(LogIndex snapshot_index);

  // An append acknowledged up to `n`. Returns false if it told us nothing new (stale).
  bool maybe_update(LogIndex n);
  // A rejected append at `rejected`, with the follower's hint that its log may match the
  // leader's up to `match_hint`. Returns false if the rejection is stale.
  bool maybe_decrease_to(LogIndex rejected, LogIndex match_hint);
  // An append carrying entries up to `last` (or none: `entries` == 0) was just sent.
  void sent_entries(LogIndex last, size_t entries, uint64_t bytes);

  // No appends may be sent right now (probe in flight, window full, or snapshot).
  bool paused() const;

  // Invariant: match < next.
  LogIndex match;
  LogIndex next;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;     // probe: an append is in flight, wait for its answer
  LogIndex pending_snapshot;   // snapshot: the index of the snapshot being sent
  bool recent_active = false;  // heard from since the last check-quorum round
  bool learner = false;
  Inflights inflights;
};

}  // namespace bw::raft
