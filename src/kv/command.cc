#include "kv/command.h"

namespace bw::kv {

std::variant<std::string, Reply> encode_write(std::span<const std::string_view> /*argv*/,
                                              int64_t /*now_ms*/) {
  return Reply::error("ERR not implemented yet");
}

std::string encode_expire_key(std::string_view /*key*/, int64_t /*deadline_ms*/,
                              int64_t /*now_ms*/) {
  return {};
}

bool is_write_command(std::string_view) {
  return false;
}
bool is_read_command(std::string_view) {
  return false;
}

}  // namespace bw::kv
