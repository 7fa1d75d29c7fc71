// Checksums for everything written to disk or sent between nodes: XXH3-64 from libxxhash.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace bw {

uint64_t checksum64(std::string_view bytes);
uint64_t checksum64(std::span<const uint8_t> bytes);

// Incremental form for data that arrives in pieces; digest() equals checksum64 of the whole.
class Checksummer {
 public:
  Checksummer();
  ~Checksummer();
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;

  void update(std::string_view bytes);
  uint64_t digest() const;

 private:
  void* state_;  // XXH3_state_t, kept opaque so xxhash.h stays out of our headers
};

}  // namespace bw
