#include "kv/store.h"

#include "common/assert.h"
#include "kv/apply.h"
#include "kv/command_internal.h"

namespace bw::kv {

Reply Store::apply(uint64_t index, std::string_view payload, std::vector<KeyEvent>* events) {
  BW_ASSERT(index > applied_index_, "apply of index {} after {}", index, applied_index_);
  Result<DecodedPayload> decoded = decode_payload(payload);
  BW_ASSERT(decoded.ok(), "undecodable kv payload at index {}: {}", index,
            decoded.status().ToString());
  applied_index_ = index;
  Applier applier(&keys_, index, decoded->now_ms, events);
  if (const auto* exp = std::get_if<DecodedExpire>(&decoded->body)) {
    return applier.expire_key(exp->key, exp->deadline_ms);
  }
  auto& cmd = std::get<DecodedCommand>(decoded->body);
  const CommandSpec& spec = command_spec(cmd.op);
  BW_ASSERT(arity_ok(spec, cmd.args.size() + 1), "bad arity for {} at index {}", spec.name, index);
  auto parsed = parse_write(cmd.op, std::move(cmd.args), decoded->now_ms);
  // The leader parsed the same bytes with the same now_ms before proposing, so an error here
  // means nodes run different parsers; answering the error keeps this node deterministic.
  if (Reply* err = std::get_if<Reply>(&parsed)) return std::move(*err);
  return applier.run(std::get<WriteCmd>(parsed));
}

Reply Store::read(std::span<const std::string_view> argv, int64_t now_ms, uint64_t random) const {
  return evaluate_read(keys_, argv, now_ms, random);
}

std::vector<std::pair<std::string, int64_t>> Store::expired_keys(int64_t now_ms, size_t max) {
  std::vector<std::pair<std::string, int64_t>> out;
  const Keyspace::DeadlineSet& deadlines = keys_.deadlines();
  auto it = deadlines.begin();
  if (expiry_cursor_deadline_ms_ != 0) {
    Record probe;
    probe.key = expiry_cursor_key_;
    it = deadlines.upper_bound(Keyspace::DeadlineRef{expiry_cursor_deadline_ms_, &probe});
  }
  while (out.size() < max && it != deadlines.end() && it->deadline_ms <= now_ms) {
    out.emplace_back(it->rec->key, it->deadline_ms);
    ++it;
  }
  if (it == deadlines.end() || it->deadline_ms > now_ms || out.empty()) {
    // Reached the end of what has expired: start over next time, so keys whose deletion was
    // proposed but lost (leader change) are proposed again.
    expiry_cursor_deadline_ms_ = 0;
    expiry_cursor_key_.clear();
  } else {
    expiry_cursor_deadline_ms_ = out.back().second;
    expiry_cursor_key_ = out.back().first;
  }
  return out;
}

}  // namespace bw::kv
