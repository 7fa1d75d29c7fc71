#include "storage/group_log.h"

#include <fmt/format.h>

#include "common/assert.h"

namespace bw::storage {

GroupLog::GroupLog(GroupId group, SnapshotLoader loader, RecoveredGroup recovered)
    : group_(group),
      loader_(std::move(loader)),
      snapshot_(recovered.state.snapshot),
      compact_index_(recovered.state.compact_index),
      compact_term_(recovered.state.compact_term) {
  for (raft::Entry& e : recovered.entries) entries_.push_back(std::move(e));
  for (size_t k = 0; k < entries_.size(); ++k) {
    BW_ASSERT(entries_[k].index == compact_index_ + 1 + k, "group {} log not contiguous", group);
  }
}

Result<std::vector<raft::Entry>> GroupLog::entries(LogIndex lo, LogIndex hi, uint64_t bytes_max) {
  absl::MutexLock lock(&mu_);
  if (lo <= compact_index_) {
    return absl::OutOfRangeError(
        fmt::format("entries from {}: compacted up to {}", lo, compact_index_));
  }
  BW_ASSERT(hi <= last_locked() + 1, "entries up to {} beyond last {}", hi, last_locked());
  std::vector<raft::Entry> out;
  uint64_t bytes = 0;
  for (LogIndex i = lo; i < hi; ++i) {
    const raft::Entry& e = entries_[i - compact_index_ - 1];
    bytes += e.data.size();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(e);
  }
  return out;
}

Result<Term> GroupLog::term(LogIndex i) {
  absl::MutexLock lock(&mu_);
  if (i < compact_index_) {
    return absl::OutOfRangeError(fmt::format("term of {}: compacted up to {}", i, compact_index_));
  }
  if (i > last_locked()) {
    return absl::OutOfRangeError(fmt::format("term of {}: beyond last {}", i, last_locked()));
  }
  if (i == compact_index_) return compact_term_;
  return entries_[i - compact_index_ - 1].term;
}

LogIndex GroupLog::first_index() {
  absl::MutexLock lock(&mu_);
  return compact_index_ + 1;
}

LogIndex GroupLog::last_index() {
  absl::MutexLock lock(&mu_);
  return last_locked();
}

Result<raft::Snapshot> GroupLog::snapshot() {
  const raft::SnapshotMeta meta = snapshot_meta();
  if (meta.index == LogIndex(0)) return raft::Snapshot{};
  return loader_(meta);
}

raft::SnapshotMeta GroupLog::snapshot_meta() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

Status GroupLog::check_append(std::span<const raft::Entry> entries, LogIndex snapshot_index) const {
  if (entries.empty()) return OkStatus();
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].index != entries[k - 1].index + 1) {
      return absl::InvalidArgumentError(
          fmt::format("group {}: entries not contiguous at {}", group_, entries[k].index));
    }
  }
  absl::MutexLock lock(&mu_);
  const LogIndex last = snapshot_index > LogIndex(0) ? snapshot_index : last_locked();
  if (entries.front().index == LogIndex(0) || entries.front().index > last + 1) {
    return absl::InvalidArgumentError(fmt::format("group {}: append at {} leaves a gap after {}",
                                                  group_, entries.front().index, last));
  }
  return OkStatus();
}

void GroupLog::append(std::span<const raft::Entry> entries) {
  absl::MutexLock lock(&mu_);
  for (const raft::Entry& e : entries) {
    if (e.index <= compact_index_) continue;
    BW_ASSERT(e.index <= last_locked() + 1, "group {}: gap at {}", group_, e.index);
    entries_.resize(e.index - compact_index_ - 1);  // no-op unless truncating a suffix
    entries_.push_back(e);
  }
}

void GroupLog::install_snapshot(const raft::SnapshotMeta& meta) {
  absl::MutexLock lock(&mu_);
  entries_.clear();
  compact_index_ = meta.index;
  compact_term_ = meta.term;
  snapshot_ = meta;
}

Status GroupLog::check_local_snapshot(const raft::SnapshotMeta& meta) const {
  absl::MutexLock lock(&mu_);
  if (meta.index <= snapshot_.index) {
    return absl::FailedPreconditionError(fmt::format(
        "group {}: snapshot at {} is not newer than {}", group_, meta.index, snapshot_.index));
  }
  if (meta.index <= compact_index_ || meta.index > last_locked()) {
    return absl::FailedPreconditionError(
        fmt::format("group {}: snapshot at {} outside the log ({}, {}]", group_, meta.index,
                    compact_index_, last_locked()));
  }
  if (entries_[meta.index - compact_index_ - 1].term != meta.term) {
    return absl::InvalidArgumentError(fmt::format(
        "group {}: snapshot term {} differs from the log's at {}", group_, meta.term, meta.index));
  }
  return OkStatus();
}

void GroupLog::set_local_snapshot(const raft::SnapshotMeta& meta) {
  absl::MutexLock lock(&mu_);
  snapshot_ = meta;
}

Result<Term> GroupLog::compact(LogIndex index) {
  absl::MutexLock lock(&mu_);
  if (index <= compact_index_ || index > snapshot_.index || index > last_locked()) {
    return absl::FailedPreconditionError(
        fmt::format("group {}: compact to {} outside ({}, snapshot {}]", group_, index,
                    compact_index_, snapshot_.index));
  }
  const size_t k = index - compact_index_;
  compact_term_ = entries_[k - 1].term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(k));
  compact_index_ = index;
  return compact_term_;
}

}  // namespace bw::storage
