// The ACL users entry (payload kind 9, command.h): the leader's encoding and its decoding.
#include <fmt/format.h>

#include "common/codec.h"
#include "kv/command.h"
#include "kv/command_internal.h"

namespace bw::kv {

std::string encode_acl_users(AclMode mode, uint64_t base, const std::vector<AclUserChange>& users,
                             int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(kAclPayloadKind);
  w.u8(static_cast<uint8_t>(mode));
  w.varint(base);
  w.varint(users.size());
  for (const AclUserChange& u : users) {
    w.bytes(u.name);
    w.varint(u.base);
    w.bytes(u.definition);
  }
  return out;
}

// After the kind byte of a kind 9 body.
Result<DecodedAcl> decode_acl_body(ByteReader& r) {
  DecodedAcl acl;
  BW_ASSIGN_OR_RETURN(acl.mode, r.u8());
  if (acl.mode > static_cast<uint8_t>(AclMode::kReplaceAll)) {
    return absl::DataLossError(fmt::format("bad ACL mode {}", acl.mode));
  }
  BW_ASSIGN_OR_RETURN(acl.base, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  // A user takes at least three bytes.
  if (count > kAclUsersMax || count > r.remaining() / 3) {
    return absl::DataLossError(fmt::format("bad ACL user count {}", count));
  }
  acl.users.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    DecodedAclUser u;
    BW_ASSIGN_OR_RETURN(u.name, r.bytes(kAclUserNameBytesMax));
    BW_ASSIGN_OR_RETURN(u.base, r.varint());
    BW_ASSIGN_OR_RETURN(u.definition, r.bytes(kAclDefinitionBytesMax));
    if (u.name.empty()) return absl::DataLossError("ACL user without a name");
    if (u.definition.empty() && acl.mode != static_cast<uint8_t>(AclMode::kUpdate)) {
      return absl::DataLossError("ACL user without a definition in a replacement");
    }
    acl.users.push_back(u);
  }
  return acl;
}

}  // namespace bw::kv
