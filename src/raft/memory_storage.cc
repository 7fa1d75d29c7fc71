#include "raft/memory_storage.h"

#include <fmt/format.h>

#include <utility>

#include "common/assert.h"

namespace bw::raft {

MemoryStorage::MemoryStorage() : entries_(1) {}

Result<std::vector<Entry>> MemoryStorage::entries(LogIndex lo, LogIndex hi, uint64_t bytes_max) {
  if (lo <= offset()) {
    return absl::OutOfRangeError(fmt::format("entries from {}: compacted up to {}", lo, offset()));
  }
  BW_ASSERT(hi <= last_index() + 1, "entries up to {} beyond last {}", hi, last_index());
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (LogIndex i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset()];
    bytes += e.data.size();
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(e);
  }
  return out;
}

Result<Term> MemoryStorage::term(LogIndex i) {
  if (i < offset()) {
    return absl::OutOfRangeError(fmt::format("term of {}: compacted up to {}", i, offset()));
  }
  if (i > last_index()) {
    return absl::OutOfRangeError(fmt::format("term of {}: beyond last {}", i, last_index()));
  }
  return entries_[i - offset()].term;
}

LogIndex MemoryStorage::first_index() {
  return offset() + 1;
}

LogIndex MemoryStorage::last_index() {
  return entries_.back().index;
}

Result<Snapshot> MemoryStorage::snapshot() {
  if (snapshot_unavailable_) return absl::UnavailableError("snapshot is being produced");
  return snapshot_;
}

Status MemoryStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return OkStatus();
  for (size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].index != entries[k - 1].index + 1) {
      return absl::InvalidArgumentError(
          fmt::format("entries not contiguous at {}", entries[k].index));
    }
  }
  const LogIndex first = entries.front().index;
  const LogIndex last = entries.back().index;
  if (last <= offset()) return OkStatus();  // all compacted already
  if (first > last_index() + 1) {
    return absl::InvalidArgumentError(
        fmt::format("append at {} leaves a gap after {}", first, last_index()));
  }
  size_t skip = first <= offset() ? static_cast<size_t>(offset() + 1 - first) : 0;
  const LogIndex from = entries[skip].index;
  entries_.resize(from - offset());  // truncate the conflicting suffix
  for (size_t k = skip; k < entries.size(); ++k) {
    BW_ASSERT(entries[k].term >= entries_.back().term, "term regresses at {}", entries[k].index);
    entries_.push_back(entries[k]);
  }
  BW_ASSERT(last_index() == last);
  return OkStatus();
}

Status MemoryStorage::apply_snapshot(Snapshot snap) {
  if (snap.meta.index <= snapshot_.meta.index) {
    return absl::FailedPreconditionError(
        fmt::format("snapshot at {} is not newer than the held one at {}", snap.meta.index,
                    snapshot_.meta.index));
  }
  entries_.clear();
  entries_.push_back(Entry{snap.meta.term, snap.meta.index, EntryType::kNormal, {}});
  snapshot_ = std::move(snap);
  return OkStatus();
}

Status MemoryStorage::compact(LogIndex index) {
  if (index <= offset()) {
    return absl::FailedPreconditionError(
        fmt::format("compact to {}: already compacted up to {}", index, offset()));
  }
  if (index > last_index()) {
    return absl::OutOfRangeError(fmt::format("compact to {}: beyond last {}", index, last_index()));
  }
  const size_t k = static_cast<size_t>(index - offset());
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(k));
  entries_.front().data.clear();
  entries_.front().type = EntryType::kNormal;
  BW_ASSERT(offset() == index);
  return OkStatus();
}

Result<Snapshot> MemoryStorage::create_snapshot(LogIndex index, ConfState conf, std::string data) {
  if (index <= snapshot_.meta.index) {
    return absl::FailedPreconditionError(fmt::format(
        "snapshot at {}: not newer than the held one at {}", index, snapshot_.meta.index));
  }
  if (index < offset()) {
    return absl::FailedPreconditionError(
        fmt::format("snapshot at {}: compacted up to {}", index, offset()));
  }
  if (index > last_index()) {
    return absl::OutOfRangeError(
        fmt::format("snapshot at {}: beyond last {}", index, last_index()));
  }
  snapshot_.meta.index = index;
  snapshot_.meta.term = entries_[index - offset()].term;
  snapshot_.meta.conf = std::move(conf);
  snapshot_.data = std::move(data);
  return snapshot_;
}

}  // namespace bw::raft
