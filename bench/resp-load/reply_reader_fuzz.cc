// libFuzzer target: resp-load's reply reader on arbitrary bytes, fed in two pieces. It must
// never crash, never read past its buffer, and once in error stay there.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "reply_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  bw::bench::ReplyReader reader;
  bw::bench::Reply reply;
  bool failed = false;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    reader.feed(piece);
    // Each reply consumes at least 3 bytes, so this bounds the loop.
    for (size_t i = 0; i <= size; i++) {
      auto st = reader.next(&reply);
      if (st == bw::bench::ReplyReader::State::kError) {
        BW_ASSERT(!reader.error().empty());
        failed = true;
        break;
      }
      BW_ASSERT(!failed);
      if (st == bw::bench::ReplyReader::State::kNeedMore) break;
      BW_ASSERT(reply.text.size() <= size);
    }
  }
  return 0;
}
