// Parse throughput of the RESP parser: a pipeline of 16 SET commands with 256-byte values
// (redis-benchmark -P 16 -d 256), fed through prepare()/commit() like a socket read.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "resp/parser.h"
#include "resp/writer.h"

namespace {

std::string set_pipeline(int commands, size_t value_bytes) {
  std::string out;
  const std::string value(value_bytes, 'v');
  for (int i = 0; i < commands; ++i) {
    const std::string key = fmt::format("key:{}", 100000 + i);
    out += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
           std::to_string(value.size()) + "\r\n" + value + "\r\n";
  }
  return out;
}

void BM_ParseSetPipeline(benchmark::State& state) {
  constexpr int kCommands = 16;
  const std::string input = set_pipeline(kCommands, 256);
  bw::resp::Parser parser;
  std::vector<std::string_view> argv;
  int64_t parsed = 0;
  for (auto _ : state) {
    std::span<char> space = parser.prepare(input.size());
    std::memcpy(space.data(), input.data(), input.size());
    parser.commit(input.size());
    while (parser.next(&argv) == bw::resp::Parser::State::kCommand) {
      benchmark::DoNotOptimize(argv.data());
      ++parsed;
    }
  }
  if (parsed != state.iterations() * kCommands) state.SkipWithError("lost commands");
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
  state.SetItemsProcessed(parsed);
}
BENCHMARK(BM_ParseSetPipeline);

void BM_ParseInlinePipeline(benchmark::State& state) {
  std::string input;
  for (int i = 0; i < 16; ++i) input += fmt::format("GET key:{}", 100000 + i) + "\r\n";
  bw::resp::Parser parser;
  std::vector<std::string_view> argv;
  int64_t parsed = 0;
  for (auto _ : state) {
    parser.feed(input);
    while (parser.next(&argv) == bw::resp::Parser::State::kCommand) ++parsed;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
  state.SetItemsProcessed(parsed);
}
BENCHMARK(BM_ParseInlinePipeline);

void BM_WriteReplies(benchmark::State& state) {
  std::string out;
  const std::string value(256, 'v');
  for (auto _ : state) {
    out.clear();
    bw::resp::Writer w(&out);
    for (int i = 0; i < 8; ++i) {
      w.simple("OK");
      w.bulk(value);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_WriteReplies);

}  // namespace

BENCHMARK_MAIN();
