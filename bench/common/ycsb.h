// The YCSB core workloads that resp-load and etcd-load run, by their YCSB letters:
//   a  update heavy: 50% reads, 50% updates
//   b  read mostly:  95% reads,  5% updates
//   c  read only:   100% reads
// and `load` (resp-load only): every key of the key space written once, in order, so that the
// reads of the other workloads hit. Reads are single-key reads, updates overwrite a whole value.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "bench/common/zipf.h"

namespace bw::bench {

enum class Workload { kA, kB, kC, kLoad };
enum class YcsbOp { kRead, kUpdate };

inline std::optional<Workload> parse_workload(std::string_view name) {
  if (name == "a") return Workload::kA;
  if (name == "b") return Workload::kB;
  if (name == "c") return Workload::kC;
  if (name == "load") return Workload::kLoad;
  return std::nullopt;
}

inline std::string_view workload_name(Workload w) {
  switch (w) {
    case Workload::kA:
      return "a";
    case Workload::kB:
      return "b";
    case Workload::kC:
      return "c";
    case Workload::kLoad:
      return "load";
  }
  return "?";
}

// The share of operations that are reads.
inline double read_fraction(Workload w) {
  switch (w) {
    case Workload::kA:
      return 0.50;
    case Workload::kB:
      return 0.95;
    case Workload::kC:
      return 1.0;
    case Workload::kLoad:
      return 0.0;
  }
  return 0.0;
}

// One operation of a mixed workload: what it does and to which key number. `load` is sequential
// and not drawn here.
struct YcsbRequest {
  YcsbOp op;
  uint64_t key;
};

// A client's stream of operations: its own engine, seeded once, so a run is the same sequence of
// keys and operations for the same seed.
class YcsbChooser {
 public:
  // REQUIRES: keys outlives the chooser; workload is a, b or c.
  YcsbChooser(const ZipfianKeys* keys, Workload workload, uint64_t seed)
      : keys_(keys), read_fraction_(read_fraction(workload)), rng_(seed) {
    BW_ASSERT(workload != Workload::kLoad);
  }

  YcsbRequest next() {
    YcsbOp op = unit_uniform(rng_) < read_fraction_ ? YcsbOp::kRead : YcsbOp::kUpdate;
    return {op, keys_->next(rng_)};
  }

 private:
  const ZipfianKeys* keys_;
  double read_fraction_;
  std::mt19937_64 rng_;
};

// A client's seed: the run's seed and the client's index, mixed so that clients differ.
inline uint64_t client_seed(uint64_t run_seed, uint64_t client) {
  return ZipfianKeys::fnv1a64(run_seed ^ (client * 0x9E3779B97F4A7C15ull));
}

}  // namespace bw::bench
