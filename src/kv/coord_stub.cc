// Temporary: API stubs while the coordination commands are implemented.
#include "kv/store.h"

namespace bw::kv {

Reply Store::apply(uint64_t index, std::string_view payload, ApplyEffects* effects) {
  return apply(index, payload, &effects->key_events);
}
uint64_t Store::version_of(std::string_view key, int64_t now_ms) const {
  const Record* rec = keys_.find(key);
  if (rec == nullptr || (rec->deadline_ms != 0 && rec->deadline_ms <= now_ms)) return 0;
  return rec->version;
}
bool Store::election_free(std::string_view name, int64_t now_ms) const {
  const Holder* h = coord_.find_holder(name);
  return h == nullptr || h->deadline_ms <= now_ms;
}
std::vector<std::pair<uint64_t, int64_t>> Store::expired_leases(int64_t, size_t) {
  return {};
}
std::vector<std::pair<std::string, uint64_t>> Store::expired_elections(int64_t, size_t) {
  return {};
}
bool is_read_argv(std::span<const std::string_view> argv) {
  return !argv.empty() && is_read_command(argv[0]);
}
FenceSplit split_fence(std::span<const std::string_view> argv) {
  return FenceSplit{argv};
}
std::optional<int64_t> block_timeout_ms(std::span<const std::string_view>) {
  return std::nullopt;
}
std::variant<std::string, Reply> encode_transaction(
    const std::vector<std::vector<std::string>>&,
    const std::vector<std::pair<std::string, uint64_t>>&, int64_t) {
  return Reply::error("ERR not implemented yet");
}
std::optional<Reply> check_queued(std::span<const std::string_view>, int64_t) {
  return std::nullopt;
}
std::string encode_expire_lease(uint64_t, int64_t, int64_t) {
  return {};
}
std::string encode_expire_election(std::string_view, uint64_t, int64_t) {
  return {};
}
std::string encode_extend_leases(int64_t, int64_t) {
  return {};
}

}  // namespace bw::kv
