// Fuzz target: the member list decoder (a MEMBER JOIN answer arrives from the network) on
// arbitrary bytes; whatever decodes must encode back to a list that decodes to the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.h"
#include "server/members_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto list = bw::server::decode_member_list(in);
  if (list.ok()) {
    auto again = bw::server::decode_member_list(bw::server::encode_member_list(*list));
    BW_ASSERT(again.ok() && *again == *list, "member list does not round-trip");
  }
  return 0;
}
