// Test helpers for kv: run commands through encode_write + Store::apply (writes) or Store::read,
// and render replies in the golden-file notation.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "kv/store.h"

namespace bw::kv::testing {

// "quoted" bulk/simple strings with \" \\ \xHH escapes, (integer) N, (nil), (error) TEXT, [a, b].
std::string render(const Reply& r);

// A store driven by command lines at a controllable time; each write takes the next log index.
class Harness {
 public:
  explicit Harness(int64_t now_ms = kStartMs) : now_ms_(now_ms) {}

  Reply run(std::span<const std::string_view> argv);
  Reply run(std::initializer_list<std::string_view> argv) {
    std::vector<std::string_view> v(argv);
    return run(v);
  }
  std::string r(std::initializer_list<std::string_view> argv) { return render(run(argv)); }

  // Applies a raw payload at the next index, without logging it.
  Reply apply(std::string_view payload) { return store_.apply(++index_, payload, &events_); }
  // Logs and applies a payload, as a proposal that committed.
  Reply propose(std::string payload) {
    log_.push_back(std::move(payload));
    return apply(log_.back());
  }

  Store& store() { return store_; }
  int64_t now_ms() const { return now_ms_; }
  void advance_ms(int64_t ms) { now_ms_ += ms; }
  uint64_t index() const { return index_; }
  std::vector<KeyEvent> take_events() { return std::move(events_); }
  // Payloads of every write applied so far, in order (for replay tests).
  const std::vector<std::string>& log() const { return log_; }

  static constexpr int64_t kStartMs = 1'700'000'000'000;

 private:
  Store store_;
  int64_t now_ms_;
  uint64_t index_ = 0;
  uint64_t random_ = 0;
  std::vector<KeyEvent> events_;
  std::vector<std::string> log_;
};

}  // namespace bw::kv::testing
