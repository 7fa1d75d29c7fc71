// Internal to kv: executes one parsed write command against the keyspace at one log index.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "kv/command_internal.h"
#include "kv/keyspace.h"
#include "kv/reply.h"
#include "kv/store.h"

namespace bw::kv {

// One entry's worth of writes. `now_ms` is the entry's time: keys whose deadline <= now_ms are
// absent for these writes and are removed lazily (with an "expired" event) when touched.
class Applier {
 public:
  Applier(Keyspace* keys, uint64_t index, int64_t now_ms, std::vector<KeyEvent>* events)
      : keys_(*keys), index_(index), now_ms_(now_ms), events_(events) {}

  Reply run(const WriteCmd& cmd);
  // Active expiry: deletes `key` iff its deadline is still `deadline_ms` and has passed.
  Reply expire_key(std::string_view key, int64_t deadline_ms);

 private:
  Record* live(std::string_view key);
  void emit(std::string_view key, std::string_view event);
  // Writes `value` into `key` (creating it), stamps the version and applies `ttl`.
  Record* store(std::string_view key, std::string_view value, WriteCmd::Ttl ttl,
                int64_t deadline_ms);
  void assign(Record* rec, std::string_view value);
  void remove(Record* rec, std::string_view event);

  Reply set(const WriteCmd& cmd);
  Reply getex(const WriteCmd& cmd);
  Reply mset(const WriteCmd& cmd);
  Reply del(const WriteCmd& cmd);
  Reply incr(const WriteCmd& cmd);
  Reply incrbyfloat(const WriteCmd& cmd);
  Reply append(const WriteCmd& cmd);
  Reply setrange(const WriteCmd& cmd);
  Reply expire(const WriteCmd& cmd);
  Reply persist(const WriteCmd& cmd);
  Reply rename(const WriteCmd& cmd);

  Keyspace& keys_;
  const uint64_t index_;
  const int64_t now_ms_;
  std::vector<KeyEvent>* const events_;
};

// Evaluates a read-only command (Store::read's contract).
Reply evaluate_read(const Keyspace& keys, std::span<const std::string_view> argv, int64_t now_ms,
                    uint64_t random);

}  // namespace bw::kv
