// Fuzz target: the peer frame reader on arbitrary bytes, fed in two pieces.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "net/frame.h"

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
    }
    r.feed(in.substr(split));
  }
  return 0;
}
