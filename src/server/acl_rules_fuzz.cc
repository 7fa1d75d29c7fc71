// libFuzzer target for the ACL rule parser: random rule strings into ACL SETUSER's parsing and
// random text into the aclfile loader. Whatever applies must describe itself canonically: the
// description applied to a fresh user gives the same description (what replication relies on).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "server/acl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static const bw::server::AclCommandIndex index;  // immutable once built

  bw::server::AclUser user(&index, "fuzz");
  if (user.apply_rules(bw::server::split_acl_rules(input)).ok()) {
    const std::string canonical = user.describe();
    bw::server::AclUser again(&index, "fuzz");
    BW_ASSERT(again.apply_rules(bw::server::split_acl_rules(canonical)).ok(), "{}", canonical);
    BW_ASSERT(again.describe() == canonical, "{} vs {}", again.describe(), canonical);
  }

  auto lines = bw::server::parse_acl_file(input, index);
  if (lines.ok()) {
    for (const auto& line : *lines) BW_ASSERT(!line.name.empty());
  }
  return 0;
}
