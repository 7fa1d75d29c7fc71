#include "storage/wal_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"

namespace bw::storage::wal {
namespace {

constexpr size_t kHeaderChecksummedFrom = 8;  // header bytes 8..31 are under header_checksum

uint64_t load_u64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(b[at + i])} << (8 * i);
  return v;
}
uint32_t load_u32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(b[at + i])} << (8 * i);
  return v;
}

// Frames `payload` (already at the end of *out, starting at `payload_at`) with a header written
// into the 32 bytes reserved before it.
void frame(std::string* out, size_t header_at, RecordType type, GroupId group) {
  const size_t payload_at = header_at + kRecordHeaderBytes;
  const size_t payload_bytes = out->size() - payload_at;
  BW_ASSERT(payload_bytes <= kRecordPayloadBytesMax, "record payload of {} bytes", payload_bytes);
  std::string header;
  ByteWriter w(&header);
  w.u64(0);  // header checksum, filled below
  w.u64(checksum64(std::string_view(*out).substr(payload_at)));
  w.u32(static_cast<uint32_t>(payload_bytes));
  w.u8(static_cast<uint8_t>(type));
  w.raw(std::string_view("\0\0\0", 3));
  w.u64(group.value());
  BW_ASSERT(header.size() == kRecordHeaderBytes);
  const uint64_t hc = checksum64(std::string_view(header).substr(kHeaderChecksummedFrom));
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>(hc >> (8 * i));
  out->replace(header_at, kRecordHeaderBytes, header);
}

size_t begin_record(std::string* out) {
  const size_t at = out->size();
  out->append(kRecordHeaderBytes, '\0');
  return at;
}

void put_list(ByteWriter& w, const std::vector<NodeId>& ids) {
  w.varint(ids.size());
  for (NodeId id : ids) w.varint(id.value());
}

Result<std::vector<NodeId>> get_list(ByteReader& r) {
  BW_ASSIGN_OR_RETURN(uint64_t n, r.varint());
  if (n > kConfNodesMax) {
    return absl::DataLossError(
        fmt::format("membership list of {} nodes exceeds {}", n, kConfNodesMax));
  }
  std::vector<NodeId> ids;
  for (uint64_t i = 0; i < n; ++i) {
    BW_ASSIGN_OR_RETURN(uint64_t v, r.varint());
    ids.emplace_back(v);
  }
  return ids;
}

Status expect_done(const ByteReader& r, std::string_view what) {
  if (!r.done()) {
    return absl::DataLossError(fmt::format("{}: {} trailing bytes", what, r.remaining()));
  }
  return OkStatus();
}

bool known_type(uint8_t t) {
  return t >= static_cast<uint8_t>(RecordType::kEntries) &&
         t <= static_cast<uint8_t>(RecordType::kCompact);
}

// A header at `at` is valid when its checksum holds, its fields are in range and its payload
// lies within `bytes`; then *payload_bytes is set.
enum class HeaderCheck { kValid, kShort, kBad, kPastEnd };
HeaderCheck check_header(std::string_view bytes, size_t at, uint32_t* payload_bytes) {
  if (bytes.size() - at < kRecordHeaderBytes) return HeaderCheck::kShort;
  const std::string_view h = bytes.substr(at, kRecordHeaderBytes);
  if (load_u64(h, 0) != checksum64(h.substr(kHeaderChecksummedFrom))) return HeaderCheck::kBad;
  const uint32_t n = load_u32(h, 16);
  if (n > kRecordPayloadBytesMax || !known_type(static_cast<uint8_t>(h[20])) || h[21] != 0 ||
      h[22] != 0 || h[23] != 0) {
    return HeaderCheck::kBad;
  }
  *payload_bytes = n;
  if (bytes.size() - at - kRecordHeaderBytes < n) return HeaderCheck::kPastEnd;
  return HeaderCheck::kValid;
}

bool payload_valid(std::string_view bytes, size_t at, uint32_t n) {
  return load_u64(bytes, at + 8) == checksum64(bytes.substr(at + kRecordHeaderBytes, n));
}

// The offset of the first nonzero byte at or after `from`, or npos: zero runs (the unwritten,
// preallocated end of a segment) are compared a block at a time.
size_t first_nonzero(std::string_view bytes, size_t from) {
  static constexpr char kZeros[4096] = {};
  for (size_t at = from; at < bytes.size(); at += sizeof(kZeros)) {
    const size_t n = std::min(sizeof(kZeros), bytes.size() - at);
    if (std::memcmp(bytes.data() + at, kZeros, n) != 0) {
      return bytes.substr(at, n).find_first_not_of('\0') + at;
    }
  }
  return std::string_view::npos;
}

// Evidence that the bytes after `from` are not a torn tail: a whole, valid record starts there.
// A header of 32 zero bytes is never valid, so runs of zeros (a preallocated tail) are skipped.
bool valid_record_after(std::string_view bytes, size_t from) {
  for (size_t q = from; q + kRecordHeaderBytes <= bytes.size(); ++q) {
    const size_t nonzero = first_nonzero(bytes, q);
    if (nonzero == std::string_view::npos) return false;
    if (nonzero >= q + kRecordHeaderBytes) {
      q = nonzero - kRecordHeaderBytes;  // the first window holding it, after ++q
      continue;
    }
    uint32_t n = 0;
    if (check_header(bytes, q, &n) == HeaderCheck::kValid && payload_valid(bytes, q, n)) {
      return true;
    }
  }
  return false;
}

}  // namespace

const char* record_type_name(RecordType t) {
  switch (t) {
    case RecordType::kEntries:
      return "entries";
    case RecordType::kHardState:
      return "hard-state";
    case RecordType::kConfState:
      return "conf-state";
    case RecordType::kSnapshot:
      return "snapshot";
    case RecordType::kCompact:
      return "compact";
  }
  return "unknown";
}

void encode_conf(std::string* out, const raft::ConfState& conf) {
  ByteWriter w(out);
  put_list(w, conf.voters);
  put_list(w, conf.learners);
  put_list(w, conf.voters_outgoing);
}

Result<raft::ConfState> decode_conf(std::string_view bytes) {
  ByteReader r(bytes);
  raft::ConfState conf;
  BW_ASSIGN_OR_RETURN(conf.voters, get_list(r));
  BW_ASSIGN_OR_RETURN(conf.learners, get_list(r));
  BW_ASSIGN_OR_RETURN(conf.voters_outgoing, get_list(r));
  BW_RETURN_IF_ERROR(expect_done(r, "conf state"));
  return conf;
}

void append_entries(std::string* out, GroupId group, std::span<const raft::Entry> entries) {
  BW_ASSERT(!entries.empty());
  const size_t at = begin_record(out);
  ByteWriter w(out);
  w.varint(entries.front().index.value());
  w.varint(entries.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    BW_ASSERT(entries[k].index == entries.front().index + k, "entries not contiguous");
    w.varint(entries[k].term.value());
    w.u8(static_cast<uint8_t>(entries[k].type));
    w.bytes(entries[k].data);
  }
  frame(out, at, RecordType::kEntries, group);
}

void append_hard_state(std::string* out, GroupId group, const raft::HardState& hs) {
  const size_t at = begin_record(out);
  ByteWriter w(out);
  w.varint(hs.term.value());
  w.varint(hs.vote.value());
  w.varint(hs.commit.value());
  frame(out, at, RecordType::kHardState, group);
}

void append_conf_state(std::string* out, GroupId group, const raft::ConfState& conf) {
  const size_t at = begin_record(out);
  encode_conf(out, conf);
  frame(out, at, RecordType::kConfState, group);
}

void append_snapshot(std::string* out, GroupId group, const SnapshotRecord& snap) {
  const size_t at = begin_record(out);
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(snap.kind));
  w.varint(snap.meta.index.value());
  w.varint(snap.meta.term.value());
  encode_conf(out, snap.meta.conf);
  frame(out, at, RecordType::kSnapshot, group);
}

void append_compact(std::string* out, GroupId group, const CompactRecord& compact) {
  const size_t at = begin_record(out);
  ByteWriter w(out);
  w.varint(compact.index.value());
  w.varint(compact.term.value());
  frame(out, at, RecordType::kCompact, group);
}

std::string segment_header(uint64_t seq) {
  std::string out;
  ByteWriter w(&out);
  w.raw(std::string_view(kSegmentMagic, sizeof(kSegmentMagic)));
  w.u32(kFormatVersion);
  w.u32(0);
  w.u64(seq);
  w.u64(checksum64(out));
  BW_ASSERT(out.size() == kSegmentHeaderBytes);
  return out;
}

Result<std::vector<raft::Entry>> decode_entries(std::string_view payload) {
  ByteReader r(payload);
  BW_ASSIGN_OR_RETURN(uint64_t first, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  // Each entry takes at least 3 bytes: this bounds the allocation by the payload size.
  if (count == 0 || count > payload.size() / 3 || first == 0 || first + count < first) {
    return absl::DataLossError(fmt::format("entries record: bad count {} at {}", count, first));
  }
  std::vector<raft::Entry> entries;
  entries.reserve(count);
  for (uint64_t k = 0; k < count; ++k) {
    raft::Entry e;
    e.index = LogIndex(first + k);
    BW_ASSIGN_OR_RETURN(uint64_t term, r.varint());
    e.term = Term(term);
    BW_ASSIGN_OR_RETURN(uint8_t type, r.u8());
    if (type > static_cast<uint8_t>(raft::EntryType::kConfChange)) {
      return absl::DataLossError(fmt::format("entry {}: unknown type {}", first + k, type));
    }
    e.type = static_cast<raft::EntryType>(type);
    BW_ASSIGN_OR_RETURN(std::string_view data, r.bytes(kRecordPayloadBytesMax));
    e.data = std::string(data);
    entries.push_back(std::move(e));
  }
  BW_RETURN_IF_ERROR(expect_done(r, "entries record"));
  return entries;
}

Result<raft::HardState> decode_hard_state(std::string_view payload) {
  ByteReader r(payload);
  raft::HardState hs;
  BW_ASSIGN_OR_RETURN(uint64_t term, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t vote, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t commit, r.varint());
  hs.term = Term(term);
  hs.vote = NodeId(vote);
  hs.commit = LogIndex(commit);
  BW_RETURN_IF_ERROR(expect_done(r, "hard state record"));
  return hs;
}

Result<raft::ConfState> decode_conf_state(std::string_view payload) {
  return decode_conf(payload);
}

Result<SnapshotRecord> decode_snapshot(std::string_view payload) {
  ByteReader r(payload);
  SnapshotRecord s;
  BW_ASSIGN_OR_RETURN(uint8_t kind, r.u8());
  if (kind > static_cast<uint8_t>(SnapshotKind::kLocal)) {
    return absl::DataLossError(fmt::format("snapshot record: unknown kind {}", kind));
  }
  s.kind = static_cast<SnapshotKind>(kind);
  BW_ASSIGN_OR_RETURN(uint64_t index, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t term, r.varint());
  s.meta.index = LogIndex(index);
  s.meta.term = Term(term);
  BW_ASSIGN_OR_RETURN(s.meta.conf, decode_conf(payload.substr(r.position())));
  return s;
}

Result<CompactRecord> decode_compact(std::string_view payload) {
  ByteReader r(payload);
  CompactRecord c;
  BW_ASSIGN_OR_RETURN(uint64_t index, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t term, r.varint());
  c.index = LogIndex(index);
  c.term = Term(term);
  BW_RETURN_IF_ERROR(expect_done(r, "compact record"));
  return c;
}

Result<SegmentScan> scan_segment(std::string_view bytes, bool newest, std::string_view name) {
  SegmentScan scan;
  auto corrupt = [&](size_t at, std::string_view why) {
    return absl::DataLossError(fmt::format("{}: offset {}: {}", name, at, why));
  };
  auto tail = [&](size_t at, std::string_view why) -> Result<SegmentScan> {
    if (!newest) return corrupt(at, why);
    if (valid_record_after(bytes, at + 1)) {
      return corrupt(at, fmt::format("{}, and valid records follow", why));
    }
    scan.valid_bytes = at;
    scan.torn = fmt::format("{}: offset {}: {}", name, at, why);
    return std::move(scan);
  };

  if (bytes.size() < kSegmentHeaderBytes) return tail(0, "short segment header");
  const std::string_view h = bytes.substr(0, kSegmentHeaderBytes);
  if (load_u64(h, 24) != checksum64(h.substr(0, 24))) return tail(0, "bad segment header checksum");
  if (std::memcmp(h.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return corrupt(0, "not a WAL segment (bad magic)");
  }
  if (load_u32(h, 8) != kFormatVersion) {
    return corrupt(8, fmt::format("unsupported WAL format version {}", load_u32(h, 8)));
  }
  scan.seq = load_u64(h, 16);
  size_t at = kSegmentHeaderBytes;
  scan.valid_bytes = at;
  while (at < bytes.size()) {
    if (first_nonzero(bytes, at) == std::string_view::npos) {
      scan.preallocated_bytes = bytes.size() - at;
      break;
    }
    uint32_t n = 0;
    switch (check_header(bytes, at, &n)) {
      case HeaderCheck::kShort:
        return tail(at, "short record header");
      case HeaderCheck::kBad:
        return tail(at, "bad record header");
      case HeaderCheck::kPastEnd:
        return tail(at, fmt::format("record of {} bytes runs past the end", n));
      case HeaderCheck::kValid:
        break;
    }
    if (!payload_valid(bytes, at, n)) return tail(at, "record payload checksum mismatch");
    Record rec;
    rec.type = static_cast<RecordType>(bytes[at + 20]);
    rec.group = GroupId(load_u64(bytes, at + 24));
    rec.payload = bytes.substr(at + kRecordHeaderBytes, n);
    rec.offset = at;
    scan.records.push_back(rec);
    at += kRecordHeaderBytes + n;
    scan.valid_bytes = at;
  }
  return scan;
}

}  // namespace bw::storage::wal
