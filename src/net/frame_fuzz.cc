// Fuzz target: the peer frame reader on arbitrary bytes, fed in two pieces, and the handshake
// decoders (net/peer_auth.h) on every frame's payload: whatever decodes re-encodes to what
// decodes to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "net/frame.h"
#include "net/peer_auth.h"

namespace {

void check_handshake_payload(std::string_view payload) {
  if (auto hello = bw::net::decode_hello(payload); hello.ok()) {
    // The cluster id's varint length may be non-canonical in the input; the fields round-trip.
    const std::string again = bw::net::encode_hello(*hello);
    auto back = bw::net::decode_hello(again);
    BW_ASSERT(back.ok());
    BW_ASSERT(back->cluster_id == hello->cluster_id);
    BW_ASSERT(back->from == hello->from);
    BW_ASSERT(back->nonce == hello->nonce);
    BW_ASSERT(again.size() <= payload.size());
  }
  if (auto ack = bw::net::decode_hello_ack(payload); ack.ok()) {
    BW_ASSERT(bw::net::encode_hello_ack(*ack) == payload);
  }
  if (auto auth = bw::net::decode_auth(payload); auth.ok()) {
    BW_ASSERT(bw::net::encode_auth(*auth) == payload);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : data[0] % (size + 1);
  bw::net::FrameReader r(4096);
  bw::net::Frame f;
  r.feed(in.substr(0, split));
  for (int round = 0; round < 2; ++round) {
    while (true) {
      auto got = r.next(&f);
      if (!got.ok() || !*got) break;
      BW_ASSERT(f.payload.size() + 2 <= 4096);
      check_handshake_payload(f.payload);
    }
    r.feed(in.substr(split));
  }
  check_handshake_payload(in);
  return 0;
}
