#include "raft/message_codec.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/codec.h"

namespace bw::raft {

namespace {

constexpr uint8_t kFlagReject = 1u << 0;
constexpr uint8_t kFlagSnapshotLast = 1u << 1;
constexpr uint8_t kFlagCommitOnly = 1u << 2;
constexpr uint8_t kFlagsKnown = kFlagReject | kFlagSnapshotLast | kFlagCommitOnly;
// The smallest possible encodings, to refuse counts that the remaining input cannot hold.
constexpr size_t kEntryBytesMin = 4;
constexpr size_t kNodeBytesMin = 1;

// At least what encode_message_to writes, so its buffer is sized once: an append carries many
// entries, and a string grown as it goes copies all of them again at every doubling.
size_t encoded_bytes_max(const Message& m) {
  constexpr size_t kVarintBytesMax = 10;
  constexpr size_t kFixedBytes = 3 + 18 * kVarintBytesMax;  // 3 u8 fields, 18 varints
  constexpr size_t kEntryFixedBytes = 1 + 3 * kVarintBytesMax;
  const ConfState& conf = m.snapshot_meta.conf;
  size_t n = kFixedBytes + m.snapshot_chunk.size() + m.context.size();
  n += (conf.voters.size() + conf.learners.size() + conf.voters_outgoing.size()) * kVarintBytesMax;
  for (const Entry& e : m.entries) n += kEntryFixedBytes + e.data.size();
  return n;
}

Status malformed(std::string_view what) {
  return absl::DataLossError(fmt::format("raft message: {}", what));
}

void encode_nodes(ByteWriter& w, const std::vector<NodeId>& nodes) {
  w.varint(nodes.size());
  for (NodeId n : nodes) w.varint(n.value());
}

Status decode_nodes(ByteReader& r, const MessageLimits& limits, std::vector<NodeId>* out) {
  BW_ASSIGN_OR_RETURN(uint64_t n, r.varint());
  if (n > limits.members_max) return malformed(fmt::format("{} members over the limit", n));
  if (n * kNodeBytesMin > r.remaining()) return malformed("member count beyond input");
  out->reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    BW_ASSIGN_OR_RETURN(uint64_t id, r.varint());
    out->push_back(NodeId(id));
  }
  return OkStatus();
}

Status decode_entries(ByteReader& r, const MessageLimits& limits, std::vector<Entry>* out) {
  BW_ASSIGN_OR_RETURN(uint64_t n, r.varint());
  if (n > limits.entries_max) return malformed(fmt::format("{} entries over the limit", n));
  if (n * kEntryBytesMin > r.remaining()) return malformed("entry count beyond input");
  out->reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    Entry e;
    BW_ASSIGN_OR_RETURN(uint64_t term, r.varint());
    BW_ASSIGN_OR_RETURN(uint64_t index, r.varint());
    BW_ASSIGN_OR_RETURN(uint8_t type, r.u8());
    if (type > static_cast<uint8_t>(EntryType::kConfChange)) {
      return malformed(fmt::format("entry type {} unknown", type));
    }
    BW_ASSIGN_OR_RETURN(std::string_view data, r.bytes(limits.entry_bytes_max));
    e.term = Term(term);
    e.index = LogIndex(index);
    e.type = static_cast<EntryType>(type);
    e.data.assign(data);
    out->push_back(std::move(e));
  }
  return OkStatus();
}

}  // namespace

void encode_message_to(const Message& m, std::string* out) {
  out->reserve(out->size() + encoded_bytes_max(m));
  ByteWriter w(out);
  w.u8(kMessageCodecVersion);
  w.u8(static_cast<uint8_t>(m.type));
  w.varint(m.group.value());
  w.varint(m.from.value());
  w.varint(m.to.value());
  w.varint(m.term.value());
  w.varint(m.log_term.value());
  w.varint(m.index.value());
  w.varint(m.commit.value());
  w.u8(static_cast<uint8_t>((m.reject ? kFlagReject : 0) |
                            (m.snapshot_last ? kFlagSnapshotLast : 0) |
                            (m.commit_only ? kFlagCommitOnly : 0)));
  w.varint(m.reject_hint.value());
  w.varint(m.hint_term.value());
  w.varint(m.entries.size());
  for (const Entry& e : m.entries) {
    w.varint(e.term.value());
    w.varint(e.index.value());
    w.u8(static_cast<uint8_t>(e.type));
    w.bytes(e.data);
  }
  w.varint(m.snapshot_meta.index.value());
  w.varint(m.snapshot_meta.term.value());
  encode_nodes(w, m.snapshot_meta.conf.voters);
  encode_nodes(w, m.snapshot_meta.conf.learners);
  encode_nodes(w, m.snapshot_meta.conf.voters_outgoing);
  w.varint(m.snapshot_offset);
  w.bytes(m.snapshot_chunk);
  w.bytes(m.context);
}

std::string encode_message(const Message& m) {
  std::string out;
  encode_message_to(m, &out);
  return out;
}

Result<Message> decode_message(std::string_view bytes, const MessageLimits& limits) {
  if (bytes.size() > limits.message_bytes_max) {
    return malformed(
        fmt::format("{} bytes over the limit of {}", bytes.size(), limits.message_bytes_max));
  }
  ByteReader r(bytes);
  Message m;
  BW_ASSIGN_OR_RETURN(uint8_t version, r.u8());
  if (version != kMessageCodecVersion) return malformed(fmt::format("version {}", version));
  BW_ASSIGN_OR_RETURN(uint8_t type, r.u8());
  if (type > static_cast<uint8_t>(MessageType::kTimeoutNow)) {
    return malformed(fmt::format("type {} unknown", type));
  }
  m.type = static_cast<MessageType>(type);
  uint64_t v[7];
  for (uint64_t& x : v) {
    BW_ASSIGN_OR_RETURN(x, r.varint());
  }
  m.group = GroupId(v[0]);
  m.from = NodeId(v[1]);
  m.to = NodeId(v[2]);
  m.term = Term(v[3]);
  m.log_term = Term(v[4]);
  m.index = LogIndex(v[5]);
  m.commit = LogIndex(v[6]);
  BW_ASSIGN_OR_RETURN(uint8_t flags, r.u8());
  if ((flags & ~kFlagsKnown) != 0) return malformed(fmt::format("flags {:#x} unknown", flags));
  m.reject = (flags & kFlagReject) != 0;
  m.snapshot_last = (flags & kFlagSnapshotLast) != 0;
  m.commit_only = (flags & kFlagCommitOnly) != 0;
  BW_ASSIGN_OR_RETURN(uint64_t hint, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t hint_term, r.varint());
  m.reject_hint = LogIndex(hint);
  m.hint_term = Term(hint_term);
  BW_RETURN_IF_ERROR(decode_entries(r, limits, &m.entries));
  BW_ASSIGN_OR_RETURN(uint64_t snap_index, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t snap_term, r.varint());
  m.snapshot_meta.index = LogIndex(snap_index);
  m.snapshot_meta.term = Term(snap_term);
  BW_RETURN_IF_ERROR(decode_nodes(r, limits, &m.snapshot_meta.conf.voters));
  BW_RETURN_IF_ERROR(decode_nodes(r, limits, &m.snapshot_meta.conf.learners));
  BW_RETURN_IF_ERROR(decode_nodes(r, limits, &m.snapshot_meta.conf.voters_outgoing));
  BW_ASSIGN_OR_RETURN(m.snapshot_offset, r.varint());
  BW_ASSIGN_OR_RETURN(std::string_view chunk, r.bytes(limits.snapshot_chunk_bytes_max));
  m.snapshot_chunk.assign(chunk);
  BW_ASSIGN_OR_RETURN(std::string_view context, r.bytes(limits.context_bytes_max));
  m.context.assign(context);
  if (!r.done()) return malformed(fmt::format("{} trailing bytes", r.remaining()));
  return m;
}

}  // namespace bw::raft
