#include "storage/dump.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "storage/identity.h"
#include "storage/posix_file_system.h"
#include "storage/recovery.h"
#include "storage/snapshot_file.h"
#include "storage/wal_format.h"

namespace bw::storage {
namespace {

std::string conf_text(const raft::ConfState& c) {
  auto ids = [](const std::vector<NodeId>& v) {
    std::vector<uint64_t> out;
    for (NodeId id : v) out.push_back(id.value());
    return out;
  };
  return fmt::format("voters={} learners={} outgoing={}", ids(c.voters), ids(c.learners),
                     ids(c.voters_outgoing));
}

std::string record_text(const wal::Record& rec) {
  std::string what;
  switch (rec.type) {
    case wal::RecordType::kEntries: {
      auto e = wal::decode_entries(rec.payload);
      if (!e.ok()) return e.status().ToString();
      uint64_t bytes = 0;
      for (const raft::Entry& x : *e) bytes += x.data.size();
      return fmt::format("index {}..{} terms {}..{} ({} entries, {} data bytes)", e->front().index,
                         e->back().index, e->front().term, e->back().term, e->size(), bytes);
    }
    case wal::RecordType::kHardState: {
      auto hs = wal::decode_hard_state(rec.payload);
      if (!hs.ok()) return hs.status().ToString();
      return fmt::format("term {} vote {} commit {}", hs->term, hs->vote, hs->commit);
    }
    case wal::RecordType::kConfState: {
      auto c = wal::decode_conf_state(rec.payload);
      if (!c.ok()) return c.status().ToString();
      return conf_text(*c);
    }
    case wal::RecordType::kSnapshot: {
      auto s = wal::decode_snapshot(rec.payload);
      if (!s.ok()) return s.status().ToString();
      return fmt::format("{} index {} term {} {}",
                         s->kind == wal::SnapshotKind::kInstalled ? "installed" : "local",
                         s->meta.index, s->meta.term, conf_text(s->meta.conf));
    }
    case wal::RecordType::kCompact: {
      auto c = wal::decode_compact(rec.payload);
      if (!c.ok()) return c.status().ToString();
      return fmt::format("up to index {} (term {})", c->index, c->term);
    }
  }
  return "unknown";
}

void note(Status* first, const Status& s) {
  if (first->ok() && !s.ok()) *first = s;
}

Status dump_wal(FileSystem& fs, const std::string& wal_dir, std::ostream& out) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list(wal_dir));
  std::vector<std::string> segments;
  for (const std::string& n : names) {
    if (parse_segment_file_name(n)) segments.push_back(n);
  }
  Status first;
  for (size_t k = 0; k < segments.size(); ++k) {
    const std::string path = join_path(wal_dir, segments[k]);
    Result<std::string> bytes = read_file(fs, path, kSegmentReadBytesMax);
    if (!bytes.ok()) {
      out << fmt::format("segment {}: {}\n", segments[k], bytes.status().ToString());
      note(&first, bytes.status());
      continue;
    }
    auto scan = wal::scan_segment(*bytes, k + 1 == segments.size(), path);
    if (!scan.ok()) {
      out << fmt::format("segment {} ({} bytes): {}\n", segments[k], bytes->size(),
                         scan.status().ToString());
      note(&first, scan.status());
      continue;
    }
    out << fmt::format("segment {} seq {} ({} bytes)\n", segments[k], scan->seq, bytes->size());
    for (const wal::Record& rec : scan->records) {
      out << fmt::format("  @{:<10} group {:<6} {:<10} {}\n", rec.offset, rec.group,
                         wal::record_type_name(rec.type), record_text(rec));
    }
    if (scan->preallocated_bytes > 0) {
      out << fmt::format("  {} preallocated bytes not yet written\n", scan->preallocated_bytes);
    }
    if (scan->torn) out << fmt::format("  torn tail (recovery would cut it): {}\n", *scan->torn);
  }
  return first;
}

Status dump_snapshots(FileSystem& fs, const std::string& snap_dir, std::ostream& out) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.list(snap_dir));
  Status first;
  for (const std::string& n : names) {
    out << "snapshot " << n << ": ";
    Status s = inspect_snapshot(fs, join_path(snap_dir, n), out);
    note(&first, s);
  }
  return first;
}

}  // namespace

Status inspect_snapshot(FileSystem& fs, const std::string& path, std::ostream& out) {
  auto reader = SnapshotReader::open(fs, path);
  if (!reader.ok()) {
    out << reader.status().ToString() << "\n";
    return reader.status();
  }
  const raft::SnapshotMeta& m = (*reader)->meta();
  out << fmt::format("group {} index {} term {} {} data {} bytes (checksums ok)\n",
                     (*reader)->group(), m.index, m.term, conf_text(m.conf),
                     (*reader)->data_bytes());
  return OkStatus();
}

Status inspect_snapshot(const std::string& path, std::ostream& out) {
  PosixFileSystem fs;
  return inspect_snapshot(fs, path, out);
}

Status dump_data_dir(FileSystem& fs, const std::string& dir, std::ostream& out) {
  Status first;
  const std::string id_path = join_path(dir, kIdentityFileName);
  Result<std::string> id_bytes = read_file(fs, id_path, kIdentityFileBytesMax);
  Result<Identity> id =
      id_bytes.ok() ? decode_identity(*id_bytes, id_path) : Result<Identity>(id_bytes.status());
  if (id.ok()) {
    out << fmt::format("identity: cluster '{}' node {}\n", id->cluster_id, id->node);
  } else {
    out << "identity: " << id.status().ToString() << "\n";
    note(&first, id.status());
  }
  const std::string wal_dir = join_path(dir, "wal");
  note(&first, dump_wal(fs, wal_dir, out));
  note(&first, dump_snapshots(fs, join_path(dir, "snap"), out));

  auto rec = recover_wal(fs, wal_dir, /*repair=*/false);
  if (!rec.ok()) {
    out << "recovery: " << rec.status().ToString() << "\n";
    note(&first, rec.status());
    return first;
  }
  for (const auto& [g, group] : rec->groups) {
    const GroupDurableState& s = group.state;
    const raft::HardState hs = s.hard_state.value_or(raft::HardState{});
    out << fmt::format("group {}: term {} vote {} commit {}; snapshot {}@{}; log {}..{}; {}\n", g,
                       hs.term, hs.vote, hs.commit, s.snapshot.index, s.snapshot.term,
                       s.compact_index + 1, s.compact_index + group.entries.size(),
                       conf_text(s.conf.value_or(s.snapshot.conf)));
  }
  return first;
}

Status dump_data_dir(const std::string& dir, std::ostream& out) {
  PosixFileSystem fs;
  return dump_data_dir(fs, dir, out);
}

}  // namespace bw::storage
