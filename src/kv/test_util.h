// Test helpers for kv: run commands through encode_write + Store::apply (writes) or Store::read,
// and render replies in the golden-file notation. Like the server, the harness checks a command's
// arity against THE command table (resp) first: kv keeps no copy of it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kv/store.h"

namespace bw::kv::testing {

// "quoted" bulk/simple strings with \" \\ \xHH escapes, (integer) N, (nil), (error) TEXT, [a, b].
std::string render(const Reply& r);

// A store driven by command lines at a controllable time; each write takes the next log index.
// Unknown commands reach kv, which answers them.
class Harness {
 public:
  explicit Harness(int64_t now_ms = kStartMs) : now_ms_(now_ms) {}

  Reply run(std::span<const std::string_view> argv);
  Reply run(std::initializer_list<std::string_view> argv) {
    std::vector<std::string_view> v(argv);
    return run(v);
  }
  std::string r(std::initializer_list<std::string_view> argv) { return render(run(argv)); }

  // MULTI/EXEC: encodes the transaction (watched keys with the versions given) and proposes it,
  // or returns the queueing error (the first command's arity error, as when queued).
  Reply exec(const std::vector<std::vector<std::string>>& commands,
             const std::vector<std::pair<std::string, uint64_t>>& watched = {});
  // WATCH: the version the key has now.
  std::pair<std::string, uint64_t> watch(std::string_view key) const {
    return {std::string(key), store_.version_of(key)};
  }
  // Applies (and logs) an entry stamped now_ms() that changes nothing (an expire entry for
  // deadline 0, which no key has), so the log's time (Store::clock_ms, by which reads judge
  // expiry) catches up with the harness's clock.
  Reply tick() { return propose(encode_expire_key("", 0, now_ms_)); }

  // Applies a raw payload at the next index, without logging it.
  Reply apply(std::string_view payload) { return store_.apply(++index_, payload, &effects_); }
  // Logs and applies a payload, as a proposal that committed.
  Reply propose(std::string payload) {
    log_.push_back(std::move(payload));
    return apply(log_.back());
  }

  Store& store() { return store_; }
  int64_t now_ms() const { return now_ms_; }
  // Moves the clock that stamps writes and that reads pass as their local clock. Reads see
  // deadlines pass only once an entry stamped at or after them applies (tick()).
  void advance_ms(int64_t ms) { now_ms_ += ms; }
  uint64_t index() const { return index_; }
  std::vector<KeyEvent> take_events() { return std::exchange(effects_.key_events, {}); }
  ApplyEffects take_effects() { return std::exchange(effects_, {}); }
  // Payloads of every write applied so far, in order (for replay tests).
  const std::vector<std::string>& log() const { return log_; }

  static constexpr int64_t kStartMs = 1'700'000'000'000;

 private:
  Store store_;
  int64_t now_ms_;
  uint64_t index_ = 0;
  uint64_t random_ = 0;
  ApplyEffects effects_;
  std::vector<std::string> log_;
};

}  // namespace bw::kv::testing
