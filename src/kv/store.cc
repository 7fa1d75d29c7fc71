#include "kv/store.h"

namespace bw::kv {

Reply Store::apply(uint64_t index, std::string_view /*payload*/,
                   std::vector<KeyEvent>* /*events*/) {
  applied_index_ = index;
  return Reply::error("ERR not implemented yet");
}

Reply Store::read(std::span<const std::string_view> /*argv*/, int64_t /*now_ms*/,
                  uint64_t /*random*/) const {
  return Reply::error("ERR not implemented yet");
}

std::vector<std::pair<std::string, int64_t>> Store::expired_keys(int64_t /*now_ms*/,
                                                                 size_t /*max*/) {
  return {};
}

std::string Store::snapshot() const {
  return {};
}

Status Store::restore(std::string_view /*image*/) {
  return absl::UnimplementedError("restore");
}

}  // namespace bw::kv
