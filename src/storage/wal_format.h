// The on-disk layout of WAL segments and records (docs/storage-format.md, "WAL"). Pure
// encoding and decoding, no I/O: the scanner takes a whole segment's bytes and never reads
// past them, so it is safe on untrusted input (it has a fuzz target).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "raft/types.h"

namespace bw::storage::wal {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr char kSegmentMagic[8] = {'B', 'W', 'W', 'A', 'L', 'S', 'E', 'G'};

// Segment header: magic, version, reserved (0), segment sequence number, checksum of the
// preceding 24 bytes. All integers little-endian.
struct SegmentHeaderLayout {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  uint64_t seq;
  uint64_t checksum;
};
inline constexpr size_t kSegmentHeaderBytes = 32;
static_assert(sizeof(SegmentHeaderLayout) == kSegmentHeaderBytes);

// Record header, followed by `payload_bytes` of payload. header_checksum covers bytes 8..31 of
// the header; payload_checksum covers the payload. A separate header checksum lets recovery
// trust `payload_bytes` before it has read the payload.
struct RecordHeaderLayout {
  uint64_t header_checksum;
  uint64_t payload_checksum;
  uint32_t payload_bytes;
  uint8_t type;
  uint8_t reserved[3];
  uint64_t group;
};
inline constexpr size_t kRecordHeaderBytes = 32;
static_assert(sizeof(RecordHeaderLayout) == kRecordHeaderBytes);

inline constexpr uint32_t kRecordPayloadBytesMax = 64u << 20;
inline constexpr uint32_t kConfNodesMax = 4096;  // per list in an encoded ConfState

enum class RecordType : uint8_t {
  kEntries = 1,    // contiguous entries; replaces any existing suffix from the first index
  kHardState = 2,  // term, vote, commit
  kConfState = 3,  // membership
  kSnapshot = 4,   // a snapshot file became durable (installed or created locally)
  kCompact = 5,    // entries up to an index were discarded
};
const char* record_type_name(RecordType t);

enum class SnapshotKind : uint8_t {
  kInstalled = 0,  // received from the leader: the log is replaced by the snapshot
  kLocal = 1,      // taken locally: the log is kept (compaction is a separate record)
};

struct Record {
  RecordType type = RecordType::kEntries;
  GroupId group;
  std::string_view payload;  // points into the scanned bytes
  uint64_t offset = 0;       // of the record header within the segment
};

struct SnapshotRecord {
  SnapshotKind kind = SnapshotKind::kLocal;
  raft::SnapshotMeta meta;
};

struct CompactRecord {
  LogIndex index;
  Term term;
};

// Encoders append one framed record (header + payload) to *out.
void append_entries(std::string* out, GroupId group, std::span<const raft::Entry> entries);
void append_hard_state(std::string* out, GroupId group, const raft::HardState& hs);
void append_conf_state(std::string* out, GroupId group, const raft::ConfState& conf);
void append_snapshot(std::string* out, GroupId group, const SnapshotRecord& snap);
void append_compact(std::string* out, GroupId group, const CompactRecord& compact);
std::string segment_header(uint64_t seq);

// Payload decoders. Errors: DataLoss.
Result<std::vector<raft::Entry>> decode_entries(std::string_view payload);
Result<raft::HardState> decode_hard_state(std::string_view payload);
Result<raft::ConfState> decode_conf_state(std::string_view payload);
Result<SnapshotRecord> decode_snapshot(std::string_view payload);
Result<CompactRecord> decode_compact(std::string_view payload);

// ConfState codec shared with snapshot files.
void encode_conf(std::string* out, const raft::ConfState& conf);
Result<raft::ConfState> decode_conf(std::string_view bytes);

struct SegmentScan {
  uint64_t seq = 0;
  std::vector<Record> records;
  uint64_t valid_bytes = 0;  // the prefix holding the header and whole, valid records
  // Zero bytes after the records: space the writer preallocated and had not written yet.
  uint64_t preallocated_bytes = 0;
  // Set when bytes after valid_bytes were judged a torn tail (only when scanning the newest
  // segment): why, for the warning.
  std::optional<std::string> torn;
};

// Scans a whole segment. Zero bytes from a record boundary to the end are the preallocated,
// unwritten rest of the segment and end it cleanly (a record header is never all zero).
// `newest` allows a torn tail: an invalid point after which no valid record header follows.
// Any other invalid byte is an error.
// Errors: DataLoss naming `name` and the byte offset.
Result<SegmentScan> scan_segment(std::string_view bytes, bool newest, std::string_view name);

}  // namespace bw::storage::wal
