// Apply and read throughput of kv::Store, and memory per key, at a realistic size:
// 1M keys with 16-byte keys and 256-byte values (redis-benchmark's shape).
//   build-kv/src/kv/kv_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <fstream>

#include "kv/store.h"

namespace bw::kv {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr size_t kKeys = 1'000'000;
constexpr size_t kValueBytes = 256;

std::string key_of(uint64_t i) {
  return fmt::format("key:{}", 100'000'000'000 + i);  // 16 bytes
}

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

void fill(Store* s, uint64_t* index, size_t n) {
  std::string value(kValueBytes, 'v');
  for (size_t i = 0; i < n; ++i) {
    std::string key = key_of(i);
    std::string_view argv[] = {"SET", key, value};
    s->apply(++*index, std::get<std::string>(encode_write(argv, kNowMs)));
  }
}

void BM_ApplySet(benchmark::State& state) {
  Store s;
  uint64_t index = 0;
  std::string value(kValueBytes, 'v');
  uint64_t i = 0;
  for (auto _ : state) {
    std::string key = key_of(i++ % kKeys);
    std::string_view argv[] = {"SET", key, value};
    benchmark::DoNotOptimize(s.apply(++index, std::get<std::string>(encode_write(argv, kNowMs))));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ApplySet);

void BM_GetAt1MKeys(benchmark::State& state) {
  size_t rss_before = rss_bytes();
  Store s;
  uint64_t index = 0;
  fill(&s, &index, kKeys);
  state.counters["rss_bytes_per_key"] =
      static_cast<double>(rss_bytes() - rss_before) / static_cast<double>(kKeys);
  state.counters["estimate_bytes_per_key"] =
      static_cast<double>(s.memory_bytes_estimate()) / static_cast<double>(kKeys);
  uint64_t i = 0;
  for (auto _ : state) {
    std::string key = key_of((i++ * 7919) % kKeys);
    std::string_view argv[] = {"GET", key};
    benchmark::DoNotOptimize(s.read(argv, kNowMs, 0));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_GetAt1MKeys)->Iterations(1'000'000);

}  // namespace
}  // namespace bw::kv

BENCHMARK_MAIN();
