// libFuzzer target for the RESP parser. The first bytes pick limits and a split seed; the rest is
// fed in random chunks. Checks: no crash (ASan/UBSan), argv within limits, errors sticky, and the
// same commands and outcome as parsing the whole input in one piece.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/assert.h"
#include "resp/parser.h"

namespace {

using bw::resp::Parser;
using bw::resp::ParserLimits;

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  Parser::State last = Parser::State::kNeedMore;
  std::string error;
};

void drain(Parser& parser, const ParserLimits& limits, Outcome* out) {
  std::vector<std::string_view> argv;
  while (true) {
    const Parser::State state = parser.next(&argv);
    if (out->last == Parser::State::kError) {
      BW_ASSERT(state == Parser::State::kError, "error not sticky");
      BW_ASSERT(parser.error() == out->error, "error text changed");
    }
    out->last = state;
    if (state == Parser::State::kError) {
      BW_ASSERT(!parser.error().empty());
      BW_ASSERT(argv.empty());
      out->error = parser.error();
      return;
    }
    if (state == Parser::State::kNeedMore) {
      BW_ASSERT(argv.empty());
      return;
    }
    BW_ASSERT(!argv.empty());
    BW_ASSERT(argv.size() <= limits.args_max, "{} args", argv.size());
    for (std::string_view a : argv) BW_ASSERT(a.size() <= limits.bulk_bytes_max);
    out->commands.emplace_back(argv.begin(), argv.end());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  ParserLimits limits;
  limits.args_max = 1 + data[0] % 16;
  limits.bulk_bytes_max = data[1] % 64;
  limits.inline_bytes_max = 1 + data[2] % 128;
  limits.buffer_bytes_max = 1 << 20;
  uint32_t seed = data[3] * 2654435761u + 1;
  const std::string_view input(reinterpret_cast<const char*>(data) + 4, size - 4);

  Outcome whole;
  {
    Parser parser(limits);
    parser.feed(input);
    drain(parser, limits, &whole);
    // After an error nothing more is parsed, whatever arrives.
    if (whole.last == Parser::State::kError) {
      parser.feed("PING\r\n");
      drain(parser, limits, &whole);
    }
  }

  Outcome split;
  Parser parser(limits);
  size_t at = 0;
  while (at < input.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(input.size() - at, 1 + (seed >> 16) % 17);
    if (seed & 1) {
      parser.feed(input.substr(at, n));
    } else {
      std::span<char> space = parser.prepare(n);
      BW_ASSERT(space.size() >= n);
      std::memcpy(space.data(), input.data() + at, n);
      parser.commit(n);
    }
    at += n;
    drain(parser, limits, &split);
  }
  drain(parser, limits, &split);

  BW_ASSERT(split.commands == whole.commands, "split changed the commands");
  BW_ASSERT(split.last == whole.last);
  BW_ASSERT(split.error == whole.error, "'{}' vs '{}'", split.error, whole.error);
  return 0;
}
