// Wire format of a Raft Message between peers (version 1). Little-endian varints via
// common/codec.h:
//
//   u8 version=1 | u8 type | varint group from to term log_term index commit
//   u8 flags (bit0 reject, bit1 snapshot_last, bit2 commit_only) | varint reject_hint hint_term
//   varint n_entries, n x (varint term, varint index, u8 type, bytes data)
//   snapshot_meta: varint index term, 3 x (varint n, n x varint node)  [voters, learners,
//   voters_outgoing] | varint snapshot_offset | bytes snapshot_chunk | bytes context
//
// The decoder is safe on untrusted input: every length and count is checked against
// MessageLimits and the bytes actually present before anything is allocated, and trailing
// bytes are an error. It checks structure only; RawNode::step checks meaning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "raft/types.h"

namespace bw::raft {

inline constexpr uint8_t kMessageCodecVersion = 1;

// Bounds for decoding. The sender's Config (append_bytes_max, append_entries_max,
// snapshot_chunk_bytes_max) must stay within the receiver's limits.
struct MessageLimits {
  uint64_t message_bytes_max = 80ull << 20;
  uint32_t entries_max = 65536;
  uint64_t entry_bytes_max = 64ull << 20;
  uint64_t snapshot_chunk_bytes_max = 64ull << 20;
  uint64_t context_bytes_max = 64ull << 10;
  uint32_t members_max = 4096;  // per membership list in a snapshot's ConfState
};

std::string encode_message(const Message& m);
// Appends the encoding to `out` (lets a transport frame several messages into one buffer).
void encode_message_to(const Message& m, std::string* out);
// Errors: DataLoss for truncated, malformed or over-limit input.
Result<Message> decode_message(std::string_view bytes, const MessageLimits& limits);

}  // namespace bw::raft
