// The simulator's only source of randomness: one seeded PRNG per run. Everything random in a run
// (latencies, faults, client choices, the Raft cores' election seeds) is drawn from it, so a seed
// replays a run exactly.
#pragma once

#include <cstdint>
#include <random>

#include "common/assert.h"

namespace bw::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  uint64_t range(uint64_t lo, uint64_t hi) {
    BW_ASSERT(lo <= hi);
    return lo + engine_() % (hi - lo + 1);
  }
  // Uniform index in [0, n). REQUIRES: n > 0.
  size_t index(size_t n) {
    BW_ASSERT(n > 0);
    return static_cast<size_t>(engine_() % n);
  }
  // True with probability p (p in [0, 1]).
  bool chance(double p) {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace bw::sim
