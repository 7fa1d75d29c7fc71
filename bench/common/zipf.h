// YCSB's key chooser for the mixed workloads of resp-load and etcd-load: a scrambled zipfian.
//
// Ranks come from the zipfian generator of Gray et al., "Quickly Generating Billion-Record
// Synthetic Databases" (SIGMOD 1994), as YCSB's ZipfianGenerator implements it: rank r (0-based)
// is drawn with probability (1 / (r + 1)^theta) / zeta(n, theta), where
// zeta(n, theta) = sum over i = 1..n of 1 / i^theta. The generator is exact for ranks 0 and 1 and
// an approximation beyond. The rank is then hashed (FNV-1a over its 8 bytes, as YCSB's
// ScrambledZipfianGenerator) onto the key space, so the hot keys are spread over it instead of
// all sitting at its start. Unlike YCSB, which draws ranks over 10^10 items and hashes them down,
// the ranks here are drawn over the key space itself, so that the popularity of the hottest key
// is the formula's 1 / zeta(n, theta) (what the unit test checks).
//
// Thread safety: a ZipfianKeys is immutable after construction and may be shared; each client
// brings its own random engine.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "common/assert.h"

namespace bw::bench {

// YCSB's default skew.
inline constexpr double kZipfThetaDefault = 0.99;
// zeta(n, theta) is summed once at construction, one pow() per item: this many items take about
// a second. The benchmarks use 100k keys.
inline constexpr uint64_t kZipfItemsMax = 100'000'000;

// A uniform double in [0, 1) from the engine's top 53 bits: the same sequence on every platform
// for a given seed (std::uniform_real_distribution's is implementation-defined).
inline double unit_uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

class ZipfianKeys {
 public:
  // REQUIRES: 1 <= items <= kZipfItemsMax; 0 < theta < 1 (the generator divides by 1 - theta).
  ZipfianKeys(uint64_t items, double theta) : items_(items), theta_(theta) {
    BW_ASSERT(items >= 1);
    BW_ASSERT(items <= kZipfItemsMax, "{} items", items);
    BW_ASSERT(theta > 0.0, "theta {}", theta);
    BW_ASSERT(theta < 1.0, "theta {}", theta);
    zeta_n_ = zeta(items, theta);
    alpha_ = 1.0 / (1.0 - theta);
    const double zeta_2 = zeta(2, theta);
    eta_ =
        (1.0 - std::pow(2.0 / static_cast<double>(items), 1.0 - theta)) / (1.0 - zeta_2 / zeta_n_);
    rank1_bound_ = 1.0 + std::pow(0.5, theta);
  }

  uint64_t items() const { return items_; }
  double theta() const { return theta_; }
  double zeta_n() const { return zeta_n_; }

  // The probability the formula gives to rank r (0 = the most popular).
  double rank_probability(uint64_t rank) const {
    return 1.0 / std::pow(static_cast<double>(rank + 1), theta_) / zeta_n_;
  }

  // A rank in [0, items): 0 is the most popular.
  uint64_t next_rank(std::mt19937_64& rng) const {
    const double u = unit_uniform(rng);
    const double uz = u * zeta_n_;
    if (uz < 1.0) return 0;           // always so with one item: zeta(1) = 1
    if (uz < rank1_bound_) return 1;  // always so with two items: zeta(2) = the bound
    const double r = static_cast<double>(items_) * std::pow(eta_ * u - eta_ + 1.0, alpha_);
    // eta * u - eta + 1 < 1 for u < 1, so r < items; the bound guards the rounding.
    const auto rank = static_cast<uint64_t>(r);
    return rank < items_ ? rank : items_ - 1;
  }

  // The key number in [0, items) that rank r is spread to.
  uint64_t key_of_rank(uint64_t rank) const { return fnv1a64(rank) % items_; }

  // A key number in [0, items), zipfian by popularity, hot keys spread over the space.
  uint64_t next(std::mt19937_64& rng) const { return key_of_rank(next_rank(rng)); }

  // FNV-1a over the 8 bytes of v, low byte first (YCSB's Utils.fnvhash64 without its sign).
  static uint64_t fnv1a64(uint64_t v) {
    constexpr uint64_t kOffsetBasis = 0xCBF29CE484222325ull;
    constexpr uint64_t kPrime = 1099511628211ull;
    uint64_t h = kOffsetBasis;
    for (int i = 0; i < 8; i++) {
      h ^= v & 0xff;
      h *= kPrime;
      v >>= 8;
    }
    return h;
  }

  static double zeta(uint64_t n, double theta) {
    double sum = 0;
    for (uint64_t i = 1; i <= n; i++) sum += 1.0 / std::pow(static_cast<double>(i), theta);
    return sum;
  }

 private:
  uint64_t items_;
  double theta_;
  double zeta_n_ = 0;
  double alpha_ = 0;
  double eta_ = 0;
  double rank1_bound_ = 0;
};

}  // namespace bw::bench
