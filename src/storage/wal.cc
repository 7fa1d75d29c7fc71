#include "storage/wal.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/assert.h"

namespace bw::storage {

void apply_change(GroupDurableState& state, const GroupChange& change) {
  if (change.snapshot.has_value()) {
    const wal::SnapshotRecord& s = *change.snapshot;
    if (s.kind == wal::SnapshotKind::kInstalled) {
      state.snapshot = s.meta;
      state.compact_index = s.meta.index;
      state.compact_term = s.meta.term;
      state.conf = s.meta.conf;
    } else if (s.meta.index > state.snapshot.index) {
      state.snapshot = s.meta;
    }
  }
  if (change.conf.has_value()) state.conf = change.conf;
  if (change.hard_state.has_value()) state.hard_state = change.hard_state;
  if (change.compact.has_value() && change.compact->index > state.compact_index) {
    state.compact_index = change.compact->index;
    state.compact_term = change.compact->term;
  }
}

void append_checkpoint(std::string* out, GroupId group, const GroupDurableState& state) {
  if (state.snapshot.index > LogIndex(0)) {
    wal::append_snapshot(out, group,
                         wal::SnapshotRecord{wal::SnapshotKind::kLocal, state.snapshot});
  }
  if (state.compact_index > LogIndex(0)) {
    wal::append_compact(out, group, wal::CompactRecord{state.compact_index, state.compact_term});
  }
  if (state.conf.has_value()) wal::append_conf_state(out, group, *state.conf);
  if (state.hard_state.has_value()) wal::append_hard_state(out, group, *state.hard_state);
}

std::string segment_file_name(uint64_t seq) {
  return fmt::format("{:016x}.wal", seq);
}

std::optional<uint64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".wal") return std::nullopt;
  uint64_t seq = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 16, seq, 16);
  if (ec != std::errc() || p != name.data() + 16) return std::nullopt;
  return seq;
}

Result<std::unique_ptr<Wal>> Wal::open(FileSystem* fs, Options options, SegmentEntries existing,
                                       std::map<GroupId, GroupDurableState> groups) {
  auto wal = std::unique_ptr<Wal>(new Wal(fs, std::move(options)));
  wal->current_seq_ = existing.empty() ? 0 : existing.rbegin()->first;
  wal->segments_ = std::move(existing);
  wal->groups_ = std::move(groups);
  BW_RETURN_IF_ERROR(wal->roll());
  return wal;
}

Status Wal::roll() {
  if (file_ != nullptr) {
    // Always sync a full segment, even with fsync policy `none`: then only the newest segment
    // can ever end in a torn record, which is what recovery assumes.
    BW_RETURN_IF_ERROR(sync());
    BW_RETURN_IF_ERROR(file_->close());
    file_.reset();
  }
  const uint64_t seq = current_seq_ + 1;
  const std::string path = join_path(options_.dir, segment_file_name(seq));
  BW_ASSIGN_OR_RETURN(file_, fs_->create(path));
  reserved_bytes_ = 0;
  reserve_failed_ = false;
  std::string head = wal::segment_header(seq);
  for (const auto& [g, state] : groups_) append_checkpoint(&head, g, state);
  BW_RETURN_IF_ERROR(reserve(head.size()));
  BW_RETURN_IF_ERROR(file_->append(head));
  BW_RETURN_IF_ERROR(file_->sync());
  BW_RETURN_IF_ERROR(fs_->sync_dir(options_.dir));
  current_seq_ = seq;
  segments_[seq];
  file_bytes_ = head.size();
  checkpoint_bytes_ = head.size();
  dirty_ = false;
  return OkStatus();
}

Status Wal::write(std::string_view records, std::span<const GroupChange> changes) {
  if (file_bytes_ + records.size() > options_.segment_bytes_max &&
      file_bytes_ > checkpoint_bytes_) {
    BW_RETURN_IF_ERROR(roll());
  }
  BW_RETURN_IF_ERROR(reserve(file_bytes_ + records.size()));
  BW_RETURN_IF_ERROR(file_->append(records));
  file_bytes_ += records.size();
  dirty_ = true;
  std::map<GroupId, LogIndex>& held = segments_[current_seq_];
  for (const GroupChange& c : changes) {
    apply_change(groups_[c.group], c);
    if (c.last_entry > LogIndex(0)) {
      LogIndex& max = held[c.group];
      max = std::max(max, c.last_entry);
    }
  }
  return OkStatus();
}

Status Wal::reserve(uint64_t end) {
  if (options_.preallocate_bytes == 0 || end <= reserved_bytes_ || reserve_failed_) {
    return OkStatus();
  }
  const uint64_t target =
      std::max(end, std::min(end + options_.preallocate_bytes, options_.segment_bytes_max));
  Status s = file_->preallocate(target);
  if (absl::IsResourceExhausted(s)) {
    spdlog::warn("WAL {}: no more preallocation in this segment: {}", options_.dir, s);
    reserve_failed_ = true;
    return OkStatus();
  }
  BW_RETURN_IF_ERROR(s);
  reserved_bytes_ = target;
  return OkStatus();
}

Status Wal::sync() {
  if (!dirty_) return OkStatus();
  BW_RETURN_IF_ERROR(file_->sync());
  dirty_ = false;
  return OkStatus();
}

Result<int> Wal::remove_obsolete_segments() {
  auto obsolete = [&](const std::map<GroupId, LogIndex>& held) {
    for (const auto& [g, max] : held) {
      auto it = groups_.find(g);
      if (it == groups_.end() || max > it->second.compact_index) return false;
    }
    return true;
  };
  int removed = 0;
  while (segments_.size() > 1 && obsolete(segments_.begin()->second)) {
    if (removed == 0) BW_RETURN_IF_ERROR(sync());
    const uint64_t seq = segments_.begin()->first;
    BW_RETURN_IF_ERROR(fs_->remove(join_path(options_.dir, segment_file_name(seq))));
    segments_.erase(segments_.begin());
    ++removed;
  }
  if (removed > 0) {
    BW_RETURN_IF_ERROR(fs_->sync_dir(options_.dir));
    spdlog::debug("wal: removed {} obsolete segment(s); oldest now {}", removed,
                  segments_.begin()->first);
  }
  return removed;
}

const GroupDurableState* Wal::group(GroupId g) const {
  auto it = groups_.find(g);
  return it == groups_.end() ? nullptr : &it->second;
}

}  // namespace bw::storage
