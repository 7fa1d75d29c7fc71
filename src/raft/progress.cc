#include "raft/progress.h"

#include <algorithm>

#include "common/assert.h"

namespace bw::raft {

void Inflights::add(LogIndex last, uint64_t bytes) {
  BW_ASSERT(!full(), "inflight window overflow");
  if (!window_.empty()) {
    BW_ASSERT(last > window_.back().last, "inflight {} after {}", last, window_.back().last);
  }
  window_.push_back(Flight{last, bytes});
  bytes_ += bytes;
}

void Inflights::free_le(LogIndex index) {
  while (!window_.empty() && window_.front().last <= index) {
    bytes_ -= window_.front().bytes;
    window_.pop_front();
  }
}

void Inflights::free_first_one() {
  if (window_.empty()) return;
  bytes_ -= window_.front().bytes;
  window_.pop_front();
}

void Inflights::reset() {
  window_.clear();
  bytes_ = 0;
}

bool Inflights::full() const {
  if (window_.size() >= count_max_) return true;
  return bytes_max_ != 0 && bytes_ >= bytes_max_;
}

const char* progress_state_name(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

void Progress::become_probe() {
  // After a snapshot, the follower holds at least the snapshot's entries.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probe_sent = false;
  pending_snapshot = LogIndex(0);
  inflights.reset();
}

void Progress::become_replicate() {
  next = match + 1;
  state = ProgressState::kReplicate;
  probe_sent = false;
  pending_snapshot = LogIndex(0);
  inflights.reset();
}

void Progress::become_snapshot(LogIndex snapshot_index) {
  state = ProgressState::kSnapshot;
  probe_sent = false;
  pending_snapshot = snapshot_index;
  inflights.reset();
}

bool Progress::maybe_update(LogIndex n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  BW_ASSERT(match < next);
  return updated;
}

bool Progress::maybe_decrease_to(LogIndex rejected, LogIndex match_hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection at or below match is stale: the follower has since acknowledged more.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe, only the answer to the append we sent (at next-1) matters.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  BW_ASSERT(match < next);
  return true;
}

void Progress::sent_entries(LogIndex last, size_t entries, uint64_t bytes) {
  switch (state) {
    case ProgressState::kReplicate:
      if (entries > 0) {
        next = last + 1;
        inflights.add(last, bytes);
      }
      break;
    case ProgressState::kProbe:
      // Any append in probe is a probe: wait for its answer (or a heartbeat answer).
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      BW_UNREACHABLE("append sent to a follower receiving a snapshot");
  }
}

bool Progress::paused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

}  // namespace bw::raft
