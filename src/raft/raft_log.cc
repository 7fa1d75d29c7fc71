#include "raft/raft_log.h"

#include <algorithm>
#include <utility>

#include "common/assert.h"

namespace bw::raft {

RaftLog::RaftLog(LogStorage* storage, LogIndex committed, LogIndex applied, bool strict)
    : storage_(storage), strict_(strict), committed_(committed), applied_(applied) {
  BW_ASSERT(storage_ != nullptr);
  offset_ = storage_->last_index() + 1;
  in_progress_ = offset_;
  persisted_ = storage_->last_index();
  BW_ASSERT(committed_ <= last_index(), "commit {} beyond last {}", committed_, last_index());
  if (strict_) {
    BW_ASSERT(applied_ <= last_index(), "applied {} beyond last {}", applied_, last_index());
  }
  // Entries up to the snapshot are applied by definition (restored from it). Whatever was
  // applied was committed, even if a commit-only hard state (written without sync) was lost.
  applied_ = std::max(applied_, storage_->first_index() - 1);
  if (strict_) committed_ = std::max(committed_, applied_);
}

LogIndex RaftLog::first_index() const {
  if (snapshot_.has_value()) return snapshot_->meta.index + 1;
  return storage_->first_index();
}

LogIndex RaftLog::last_index() const {
  if (!entries_.empty()) return unstable_last();
  if (snapshot_.has_value()) return snapshot_->meta.index;
  return storage_->last_index();
}

Term RaftLog::last_term() const {
  Result<Term> t = term(last_index());
  BW_ASSERT(t.ok(), "term of the last entry unknown: {}", t.status().ToString());
  return *t;
}

std::optional<Term> RaftLog::unstable_term(LogIndex i) const {
  if (i < offset_) {
    if (snapshot_.has_value() && snapshot_->meta.index == i) return snapshot_->meta.term;
    return std::nullopt;
  }
  if (entries_.empty() || i > unstable_last()) return std::nullopt;
  return entries_[i - offset_].term;
}

Result<Term> RaftLog::term(LogIndex i) const {
  const LogIndex dummy = first_index() - 1;
  if (i < dummy || i > last_index()) {
    return absl::OutOfRangeError(
        fmt::format("term of {} outside [{}, {}]", i, dummy, last_index()));
  }
  if (std::optional<Term> t = unstable_term(i)) return *t;
  return storage_->term(i);
}

Term RaftLog::term_or_zero(LogIndex i) const {
  Result<Term> t = term(i);
  return t.ok() ? *t : Term(0);
}

bool RaftLog::match_term(LogIndex i, Term t) const {
  Result<Term> ours = term(i);
  return ours.ok() && *ours == t;
}

bool RaftLog::is_up_to_date(LogIndex last, Term t) const {
  const Term our_term = last_term();
  return t > our_term || (t == our_term && last >= last_index());
}

void RaftLog::commit_to(LogIndex i) {
  if (i <= committed_) return;  // never regresses
  BW_ASSERT(i <= last_index(), "commit {} beyond last {}", i, last_index());
  committed_ = i;
}

void RaftLog::applied_to(LogIndex i) {
  if (i == LogIndex(0)) return;
  if (strict_) BW_ASSERT(i <= committed_, "applied {} beyond commit {}", i, committed_);
  BW_ASSERT(i >= applied_, "applied went back: {} < {}", i, applied_);
  applied_ = i;
}

void RaftLog::append_leader(Entry e) {
  BW_ASSERT(e.index == last_index() + 1, "leader appends {} after {}", e.index, last_index());
  BW_ASSERT(e.term >= last_term(), "leader appends term {} after {}", e.term, last_term());
  if (entries_.empty()) {
    BW_ASSERT(offset_ == e.index, "empty tail at {} for entry {}", offset_, e.index);
    BW_ASSERT(in_progress_ == offset_);
  }
  entries_.push_back(std::move(e));
}

std::optional<LogIndex> RaftLog::maybe_append(LogIndex index, Term log_term,
                                              const std::vector<Entry>& entries) {
  if (!match_term(index, log_term)) return std::nullopt;
  const LogIndex last_new = index + entries.size();
  const LogIndex conflict = find_conflict(entries);
  if (conflict != LogIndex(0)) {
    if (strict_) {
      BW_ASSERT(conflict > committed_, "entry {} conflicts with commit {}", conflict, committed_);
    }
    const size_t skip = static_cast<size_t>(conflict - (index + 1));
    truncate_and_append(
        std::vector<Entry>(entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end()));
  }
  return last_new;
}

LogIndex RaftLog::find_conflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return LogIndex(0);
}

std::pair<LogIndex, Term> RaftLog::find_conflict_by_term(LogIndex index, Term t) const {
  for (; index > LogIndex(0); index = index - 1) {
    // Unknown (compacted) terms may match: stop there and let the probe find out.
    Result<Term> ours = term(index);
    if (!ours.ok()) return {index, Term(0)};
    if (*ours <= t) return {index, *ours};
  }
  return {LogIndex(0), Term(0)};
}

void RaftLog::truncate_and_append(std::vector<Entry> entries) {
  if (entries.empty()) return;
  const LogIndex from = entries.front().index;
  BW_ASSERT(from <= last_index() + 1, "append at {} leaves a gap after {}", from, last_index());
  if (from == offset_ + entries_.size()) {
    // Directly after the tail (or an empty tail at its offset).
  } else if (from <= offset_) {
    // Replaces the whole tail; storage will truncate its suffix from `from` when persisting.
    offset_ = from;
    entries_.clear();
  } else {
    entries_.resize(from - offset_);
  }
  in_progress_ = std::min(in_progress_, from);
  in_progress_ = std::max(in_progress_, offset_);
  persisted_ = std::min(persisted_, from - 1);
  for (Entry& e : entries) entries_.push_back(std::move(e));
  BW_ASSERT(entries_.empty() || entries_.front().index == offset_);
}

Result<std::vector<Entry>> RaftLog::slice(LogIndex lo, LogIndex hi, uint64_t bytes_max,
                                          size_t count_max) const {
  std::vector<Entry> out;
  if (lo >= hi) return out;
  if (lo < first_index()) {
    return absl::OutOfRangeError(fmt::format("entries from {}: compacted", lo));
  }
  BW_ASSERT(hi <= last_index() + 1, "slice up to {} beyond last {}", hi, last_index());
  uint64_t bytes = 0;
  if (lo < offset_) {
    const LogIndex storage_hi = std::min(hi, offset_);
    Result<std::vector<Entry>> stored = storage_->entries(lo, storage_hi, bytes_max);
    if (!stored.ok()) return stored.status();
    BW_ASSERT(!stored->empty(), "storage returned no entries for [{}, {})", lo, storage_hi);
    for (Entry& e : *stored) {
      if (out.size() >= count_max) break;
      bytes += e.data.size();
      if (!out.empty() && bytes > bytes_max) return out;
      BW_ASSERT(e.index == lo + out.size(), "storage returned {} for {}", e.index, lo + out.size());
      out.push_back(std::move(e));
    }
    if (out.size() < static_cast<size_t>(storage_hi - lo)) return out;  // limited
  }
  for (LogIndex i = std::max(lo, offset_); i < hi && out.size() < count_max; ++i) {
    const Entry& e = entries_[i - offset_];
    bytes += e.data.size();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(e);
  }
  return out;
}

std::vector<Entry> RaftLog::take_unsent_entries() {
  std::vector<Entry> out(entries_.begin() + static_cast<std::ptrdiff_t>(in_progress_ - offset_),
                         entries_.end());
  in_progress_ = offset_ + entries_.size();
  return out;
}

Snapshot RaftLog::take_unsent_snapshot() {
  BW_ASSERT(has_unsent_snapshot());
  snapshot_in_progress_ = true;
  return *snapshot_;
}

void RaftLog::stable_to(LogIndex i, Term t) {
  std::optional<Term> ours = unstable_term(i);
  // Overwritten by a newer leader's entries, or already stable: nothing to do.
  if (!ours.has_value() || *ours != t || i < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
  offset_ = i + 1;
  in_progress_ = std::max(in_progress_, offset_);
  persisted_ = std::max(persisted_, i);
  BW_ASSERT(persisted_ <= last_index());
}

void RaftLog::stable_snap_to(LogIndex i) {
  if (!snapshot_.has_value() || snapshot_->meta.index != i) return;
  snapshot_.reset();
  snapshot_in_progress_ = false;
  persisted_ = std::max(persisted_, i);
  if (i > applied_) applied_ = i;
}

bool RaftLog::has_next_committed(LogIndex upper) const {
  if (snapshot_.has_value()) return false;  // apply the snapshot first
  return std::max(applied_ + 1, first_index()) <= upper;
}

std::vector<Entry> RaftLog::next_committed(LogIndex upper, uint64_t bytes_max) const {
  if (!has_next_committed(upper)) return {};
  const LogIndex lo = std::max(applied_ + 1, first_index());
  Result<std::vector<Entry>> out = slice(lo, upper + 1, bytes_max, SIZE_MAX);
  BW_ASSERT(out.ok(), "committed entries [{}, {}] unavailable: {}", lo, upper,
            out.status().ToString());
  return std::move(*out);
}

void RaftLog::restore(Snapshot snap) {
  BW_ASSERT(snap.meta.index > committed_, "restore {} at or below commit {}", snap.meta.index,
            committed_);
  // Entries past the old commit may be from a deposed leader: no longer count them as durable.
  persisted_ = std::min(persisted_, committed_);
  committed_ = snap.meta.index;
  offset_ = snap.meta.index + 1;
  in_progress_ = offset_;
  entries_.clear();
  snapshot_ = std::move(snap);
  snapshot_in_progress_ = false;
}

}  // namespace bw::raft
