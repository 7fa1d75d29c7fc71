// The segmented write-ahead log, writer side: appends framed records to the current segment,
// rolls to a new segment when it is full, and removes segments that compaction made obsolete.
//
// Every new segment starts with a checkpoint: for each group, its snapshot, compaction point,
// membership and hard state as written so far. So the records a group needs are always in
// the segments from the one holding its first uncompacted entry on, and older segments can go.
//
// Thread safety: none. Owned by the storage writer (its thread, or the caller in synchronous
// mode).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/types.h"
#include "storage/file_system.h"
#include "storage/wal_format.h"

namespace bw::storage {

// What the WAL has recorded about one group, apart from its entries.
struct GroupDurableState {
  std::optional<raft::HardState> hard_state;
  std::optional<raft::ConfState> conf;
  raft::SnapshotMeta snapshot;  // index 0: none
  LogIndex compact_index;       // entries up to here are discarded
  Term compact_term;
};

// The effect of one write on a group's durable state, known to the writer without decoding.
struct GroupChange {
  GroupId group;
  std::optional<wal::SnapshotRecord> snapshot;
  LogIndex last_entry;  // highest entry index written; 0 for none
  std::optional<raft::ConfState> conf;
  std::optional<raft::HardState> hard_state;
  std::optional<wal::CompactRecord> compact;
};
void apply_change(GroupDurableState& state, const GroupChange& change);
// Records that restate `state` (a checkpoint).
void append_checkpoint(std::string* out, GroupId group, const GroupDurableState& state);

// "<seq:016x>.wal".
std::string segment_file_name(uint64_t seq);
std::optional<uint64_t> parse_segment_file_name(std::string_view name);

// How far ahead of its end the writer fills the current segment with zeros (and syncs them),
// so that the fdatasync of a write has only data blocks to write, no file size or block
// allocation: on ext4 that makes it about a third faster. Refilled each time writes reach the
// end of the zeros; never past segment_bytes_max.
inline constexpr uint64_t kPreallocateBytes = 1 << 20;

class Wal {
 public:
  struct Options {
    std::string dir;
    uint64_t segment_bytes_max = 64 << 20;
    uint64_t preallocate_bytes = kPreallocateBytes;  // 0: segments grow with each write
  };
  // Segments already on disk, oldest first, with the highest entry index each holds per group.
  using SegmentEntries = std::map<uint64_t, std::map<GroupId, LogIndex>>;

  // Starts a new segment after the existing ones, beginning with a checkpoint of `groups`.
  static Result<std::unique_ptr<Wal>> open(FileSystem* fs, Options options, SegmentEntries existing,
                                           std::map<GroupId, GroupDurableState> groups);

  // Appends `records` (framed records, possibly of many groups) in one write, first rolling to
  // a new segment if the current one would exceed segment_bytes_max. A segment exceeds the
  // limit only when one write alone does.
  Status write(std::string_view records, std::span<const GroupChange> changes);
  // fdatasync of the current segment, if anything was written since the last one.
  Status sync();
  // Removes the oldest segments whose entries are all compacted (after syncing, so the
  // compaction records that made them obsolete are durable). Returns how many went.
  Result<int> remove_obsolete_segments();

  const GroupDurableState* group(GroupId g) const;
  uint64_t current_segment() const { return current_seq_; }
  size_t segment_count() const { return segments_.size(); }

 private:
  Wal(FileSystem* fs, Options options) : fs_(fs), options_(std::move(options)) {}
  Status roll();
  // Makes sure the current segment is preallocated up to at least `end`. ENOSPC is not an
  // error here (the writes themselves then meet it or not); it stops preallocation for the
  // segment.
  Status reserve(uint64_t end);

  FileSystem* fs_;
  Options options_;
  std::map<GroupId, GroupDurableState> groups_;
  SegmentEntries segments_;  // Invariant: includes current_seq_, which is the last key
  uint64_t current_seq_ = 0;
  std::unique_ptr<WritableFile> file_;
  uint64_t file_bytes_ = 0;
  uint64_t checkpoint_bytes_ = 0;  // header + checkpoint at the start of the current segment
  uint64_t reserved_bytes_ = 0;    // the current segment is zero-filled up to here
  bool reserve_failed_ = false;    // ENOSPC while preallocating the current segment
  bool dirty_ = false;             // written since the last sync
};

}  // namespace bw::storage
