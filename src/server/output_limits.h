// Redis's client-output-buffer-limit: per client class, a hard limit (cut at once) and a soft
// limit (cut once the output has stayed over it for soft_seconds). 0 disables a limit.
//
// Classes: `normal` (every client not subscribed), `pubsub` (a client subscribed to at least one
// channel or pattern), `replica` (accepted and reported for Redis tools; Bellwether has no Redis
// replica connections, followers replicate over the peer transport with its own bounds, so it
// applies to no client). MONITOR clients count as normal, as in Redis.
//
// Thread safety: none; pure values and functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bw::server {

enum class ClientClass : uint8_t { kNormal, kReplica, kPubSub };

struct OutputLimit {
  uint64_t hard_bytes = 0;
  uint64_t soft_bytes = 0;
  uint64_t soft_seconds = 0;
  bool operator==(const OutputLimit&) const = default;
};

struct OutputBufferLimits {
  // Redis's defaults: "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60".
  OutputLimit normal{};
  OutputLimit replica{256ull << 20, 64ull << 20, 60};
  OutputLimit pubsub{32ull << 20, 8ull << 20, 60};
  const OutputLimit& of(ClientClass c) const {
    return c == ClientClass::kPubSub ? pubsub : c == ClientClass::kReplica ? replica : normal;
  }
  bool operator==(const OutputBufferLimits&) const = default;
};

// CONFIG SET / the flag: "<class> <hard> <soft> <soft-seconds> ..." (memory units allowed, class
// names normal, replica or slave, pubsub); the classes named change, the others keep their
// values in `base`. Errors are Redis's texts.
Result<OutputBufferLimits> parse_output_buffer_limits(std::string_view text,
                                                      OutputBufferLimits base);
// CONFIG GET's form, as Redis 7 prints it: bytes, class "slave" for replica.
std::string format_output_buffer_limits(const OutputBufferLimits& limits);

// One client's soft-limit clock: when its output first stayed over the soft limit (0: not over).
struct OutputLimitState {
  int64_t soft_since_ms = 0;
};

// Redis's checkClientOutputBufferLimits: true if `bytes` of pending output break `limit` at
// `now_ms` (a monotonic clock); updates the soft-limit clock.
bool output_limit_reached(const OutputLimit& limit, uint64_t bytes, int64_t now_ms,
                          OutputLimitState* state);

}  // namespace bw::server
