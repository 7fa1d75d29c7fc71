#include "storage/recovery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace bw::storage {
namespace {

LogIndex last_index(const RecoveredGroup& g, LogIndex base) {
  return base + g.entries.size();
}

// Entries are held from `base + 1`. Normally base == compact_index; after a gap (entries whose
// predecessors were in a removed segment) base > compact_index until a later compaction record
// covers the gap.
struct Replay {
  RecoveredGroup group;
  LogIndex base;
  bool gap = false;
};

void replay_entries(Replay& r, std::vector<raft::Entry> entries) {
  const LogIndex c = r.group.state.compact_index;
  std::erase_if(entries, [&](const raft::Entry& e) { return e.index <= c; });
  if (entries.empty()) return;
  const LogIndex first = entries.front().index;
  auto& held = r.group.entries;
  if (first > last_index(r.group, r.base) + 1 || first <= r.base) {
    // Either a gap opens, or (only possible inside a gap) a rewrite starts before what we hold.
    held.clear();
    r.base = first - 1;
    r.gap = r.base > c;
  } else {
    held.resize(first - r.base - 1);  // truncate the conflicting suffix
  }
  for (raft::Entry& e : entries) held.push_back(std::move(e));
}

void replay_compact(Replay& r, const wal::CompactRecord& c) {
  GroupDurableState& s = r.group.state;
  if (c.index <= s.compact_index) return;
  s.compact_index = c.index;
  s.compact_term = c.term;
  auto& held = r.group.entries;
  if (c.index < r.base) return;  // the gap, if any, is still open below base
  const size_t drop = std::min<size_t>(held.size(), c.index - r.base);
  held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(drop));
  r.base = c.index;
  r.gap = false;
}

Status apply(const wal::Record& rec, Replay& r) {
  GroupDurableState& s = r.group.state;
  switch (rec.type) {
    case wal::RecordType::kEntries: {
      BW_ASSIGN_OR_RETURN(std::vector<raft::Entry> entries, wal::decode_entries(rec.payload));
      replay_entries(r, std::move(entries));
      return OkStatus();
    }
    case wal::RecordType::kHardState: {
      BW_ASSIGN_OR_RETURN(raft::HardState hs, wal::decode_hard_state(rec.payload));
      s.hard_state = hs;
      return OkStatus();
    }
    case wal::RecordType::kConfState: {
      BW_ASSIGN_OR_RETURN(raft::ConfState conf, wal::decode_conf_state(rec.payload));
      s.conf = std::move(conf);
      return OkStatus();
    }
    case wal::RecordType::kSnapshot: {
      BW_ASSIGN_OR_RETURN(wal::SnapshotRecord snap, wal::decode_snapshot(rec.payload));
      if (snap.kind == wal::SnapshotKind::kInstalled) {
        r.group.entries.clear();
        r.base = snap.meta.index;
        r.gap = false;
        s.compact_index = snap.meta.index;
        s.compact_term = snap.meta.term;
        s.conf = snap.meta.conf;
        s.snapshot = std::move(snap.meta);
      } else if (snap.meta.index > s.snapshot.index) {
        s.snapshot = std::move(snap.meta);
      }
      return OkStatus();
    }
    case wal::RecordType::kCompact: {
      BW_ASSIGN_OR_RETURN(wal::CompactRecord c, wal::decode_compact(rec.payload));
      replay_compact(r, c);
      return OkStatus();
    }
  }
  return absl::DataLossError("unknown record type");
}

// Reads and scans one segment; cuts a torn tail off the newest one when repairing.
Result<wal::SegmentScan> scan_file(FileSystem& fs, const std::string& path, uint64_t seq,
                                   bool newest, bool repair, std::string* bytes,
                                   std::vector<std::string>* warnings) {
  BW_ASSIGN_OR_RETURN(*bytes, read_file(fs, path, kSegmentReadBytesMax));
  BW_ASSIGN_OR_RETURN(wal::SegmentScan scan, wal::scan_segment(*bytes, newest, path));
  if (scan.valid_bytes >= wal::kSegmentHeaderBytes && scan.seq != seq) {
    return absl::DataLossError(
        fmt::format("{}: offset 16: header says segment {}, name says {}", path, scan.seq, seq));
  }
  if (scan.torn.has_value()) {
    const std::string what =
        fmt::format("torn WAL tail: {} ({} bytes after offset {} dropped)", *scan.torn,
                    bytes->size() - scan.valid_bytes, scan.valid_bytes);
    spdlog::warn("{}", what);
    warnings->push_back(what);
    if (repair) {
      if (scan.valid_bytes < wal::kSegmentHeaderBytes) {
        BW_RETURN_IF_ERROR(fs.remove(path));
      } else {
        BW_RETURN_IF_ERROR(fs.truncate(path, scan.valid_bytes));
      }
    }
  }
  return scan;
}

}  // namespace

Result<WalRecovery> recover_wal(FileSystem& fs, const std::string& wal_dir, bool repair) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list(wal_dir));
  std::vector<uint64_t> seqs;
  for (const std::string& n : names) {
    if (auto seq = parse_segment_file_name(n)) seqs.push_back(*seq);
  }
  std::sort(seqs.begin(), seqs.end());
  for (size_t k = 1; k < seqs.size(); ++k) {
    if (seqs[k] != seqs[k - 1] + 1) {
      return absl::DataLossError(fmt::format("{}: segment {} is missing (found {} then {})",
                                             wal_dir, segment_file_name(seqs[k - 1] + 1),
                                             segment_file_name(seqs[k - 1]),
                                             segment_file_name(seqs[k])));
    }
  }
  WalRecovery out;
  std::map<GroupId, Replay> replays;
  for (size_t k = 0; k < seqs.size(); ++k) {
    const std::string path = join_path(wal_dir, segment_file_name(seqs[k]));
    std::string bytes;
    BW_ASSIGN_OR_RETURN(wal::SegmentScan scan, scan_file(fs, path, seqs[k], k + 1 == seqs.size(),
                                                         repair, &bytes, &out.warnings));
    if (scan.valid_bytes < wal::kSegmentHeaderBytes) continue;  // torn away entirely
    std::map<GroupId, LogIndex>& held = out.segments[seqs[k]];
    for (const wal::Record& rec : scan.records) {
      Replay& r = replays[rec.group];
      if (Status s = apply(rec, r); !s.ok()) {
        return absl::DataLossError(fmt::format("{}: offset {}: {} record of group {}: {}", path,
                                               rec.offset, wal::record_type_name(rec.type),
                                               rec.group, std::string(s.message())));
      }
      if (rec.type == wal::RecordType::kEntries && !r.group.entries.empty()) {
        LogIndex& max = held[rec.group];
        max = std::max(max, r.base + r.group.entries.size());
      }
    }
  }
  for (auto& [g, r] : replays) {
    if (r.gap) {
      return absl::DataLossError(
          fmt::format("{}: group {}: entries {}..{} are missing (a WAL segment was lost)", wal_dir,
                      g, r.group.state.compact_index + 1, r.base));
    }
    out.groups[g] = std::move(r.group);
  }
  return out;
}

}  // namespace bw::storage
