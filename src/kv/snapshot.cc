// Snapshot image, version 6, all integers little-endian:
//   magic "BWKVSNAP"  version:u8 (=6)  applied_index:u64  clock_ms:u64  key_count:varint
//   (key:bytes type:u8 value deadline_ms:u64 version:varint lease_id:varint){key_count}
//     value, by type (ValueType):
//       0 string: bytes
//       1 hash:   next_seq:varint count:varint (seq:varint field:bytes value:bytes){count}
//       2 set:    next_seq:varint count:varint (seq:varint member:bytes){count}
//       3 list:   count:varint (element:bytes){count}
//     members in order (increasing seq, each below next_seq); count >= 1
//   lease_count:varint     (id:varint ttl_ms:varint deadline_ms:u64){lease_count}
//   holder_count:varint    (name:bytes holder:bytes token:varint ttl_ms:varint
//                           deadline_ms:u64){holder_count}
//   member_count:varint    (id:varint client_address:bytes peer_address:bytes){member_count}
//   member_id_max:varint
//   acl_index:varint  acl_user_count:varint
//                          (name:bytes definition:bytes index:varint){acl_user_count}
//   checksum:u64 = XXH3-64 of every byte before it
// clock_ms is Store::clock_ms(), the log's time. Version 5 (still restored) has no type byte
// (every value is a string). Version 4 (still restored) has no ACL section
// (no users). Version 3 (still restored) has no member
// section; version 2 (still restored, with clock_ms 0) has
// no clock_ms; version 1 (likewise) has neither clock_ms, lease_id nor the lease and holder
// sections.
// Keys are written in keyspace order, leases by id, holders by name, so equal stores give equal
// images.
#include <fmt/format.h>

#include "common/checksum.h"
#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/store.h"

namespace bw::kv {

namespace {
constexpr std::string_view kMagic = "BWKVSNAP";
constexpr uint8_t kSnapshotVersion = 6;
constexpr uint8_t kSnapshotVersionNoTypes = 5;
constexpr uint8_t kSnapshotVersionNoAcl = 4;
constexpr uint8_t kSnapshotVersionNoMembers = 3;
constexpr uint8_t kSnapshotVersionNoClock = 2;
constexpr uint8_t kSnapshotVersionNoLeases = 1;
constexpr size_t kChecksumBytes = 8;
// Smallest encoded record: empty key and value (1 + 1), deadline (8), version (1).
constexpr uint64_t kRecordBytesMin = 11;
// Smallest encoded member: seq (1) and an empty name (1).
constexpr uint64_t kMemberBytesMinEncoded = 2;
// Smallest lease: id (1), ttl (1), deadline (8); smallest holder: 1 + 1 + 1 + 1 + 8.
constexpr uint64_t kLeaseBytesMin = 10;
constexpr uint64_t kHolderBytesMin = 12;
// Smallest member: id (1) and two empty addresses (1 + 1).
constexpr uint64_t kMemberBytesMin = 3;
// Smallest ACL user: a name of one byte (2), an empty definition (1) and an index (1).
constexpr uint64_t kAclUserBytesMin = 4;
// Holder names and ids are command arguments; their bound is the argument bound.
constexpr uint64_t kNameBytesMax = kValueBytesMax;

Status corrupt(std::string_view what) {
  return absl::DataLossError(fmt::format("kv snapshot: {}", what));
}

bool ttl_ok(uint64_t ttl_ms) {
  return ttl_ms > 0 && ttl_ms <= static_cast<uint64_t>(kCoordTtlMsMax);
}

void write_value(ByteWriter& w, const Record& rec) {
  w.u8(static_cast<uint8_t>(rec.type));
  switch (rec.type) {
    case ValueType::kString:
      w.bytes(rec.value);
      return;
    case ValueType::kHash: {
      const HashValue::Table& t = rec.hash->table();
      w.varint(t.next_seq());
      w.varint(t.size());
      for (const auto& [seq, node] : t) {
        w.varint(seq);
        w.bytes(node->first);
        w.bytes(node->second.value);
      }
      return;
    }
    case ValueType::kSet: {
      const SetValue::Table& t = rec.set->table();
      w.varint(t.next_seq());
      w.varint(t.size());
      for (const auto& [seq, node] : t) {
        w.varint(seq);
        w.bytes(node->first);
      }
      return;
    }
    case ValueType::kList:
      w.varint(rec.list->items().size());
      for (const std::string& e : rec.list->items()) w.bytes(e);
      return;
  }
}

// Reads an aggregate's members into `table` (empty), calling add(name, value bytes) for each.
template <typename Table, typename Read>
Status read_members(ByteReader& r, Table& table, Read read_one) {
  BW_ASSIGN_OR_RETURN(uint64_t next_seq, r.varint());
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  if (count == 0) return corrupt("empty aggregate value");
  if (count > r.remaining() / kMemberBytesMinEncoded) return corrupt("member count exceeds image");
  for (uint64_t i = 0; i < count; ++i) {
    BW_ASSIGN_OR_RETURN(uint64_t seq, r.varint());
    BW_RETURN_IF_ERROR(read_one(seq));
  }
  if (!table.restore_next_seq(next_seq)) return corrupt("member sequence beyond next_seq");
  return OkStatus();
}

Status read_value(ByteReader& r, Keyspace& keys, Record* rec) {
  BW_ASSIGN_OR_RETURN(uint8_t type, r.u8());
  switch (static_cast<ValueType>(type)) {
    case ValueType::kString: {
      BW_ASSIGN_OR_RETURN(std::string_view value, r.bytes(kValueBytesMax));
      rec->value.assign(value);
      keys.value_resized(0, value.size());
      return OkStatus();
    }
    case ValueType::kHash: {
      keys.reset_value(rec, ValueType::kHash);
      HashValue& h = *rec->hash;
      BW_RETURN_IF_ERROR(read_members(r, h.table(), [&](uint64_t seq) -> Status {
        BW_ASSIGN_OR_RETURN(std::string_view field, r.bytes(kValueBytesMax));
        BW_ASSIGN_OR_RETURN(std::string_view value, r.bytes(kValueBytesMax));
        if (!h.table().restore(field, seq, std::string(value))) {
          return corrupt("hash field duplicate or out of order");
        }
        h.resized(0, HashValue::field_bytes(field, value));
        return OkStatus();
      }));
      keys.value_resized(0, h.bytes());
      return OkStatus();
    }
    case ValueType::kSet: {
      keys.reset_value(rec, ValueType::kSet);
      SetValue& set = *rec->set;
      BW_RETURN_IF_ERROR(read_members(r, set.table(), [&](uint64_t seq) -> Status {
        BW_ASSIGN_OR_RETURN(std::string_view member, r.bytes(kValueBytesMax));
        if (!set.table().restore(member, seq, Empty{})) {
          return corrupt("set member duplicate or out of order");
        }
        set.resized(0, SetValue::member_bytes(member));
        return OkStatus();
      }));
      keys.value_resized(0, set.bytes());
      return OkStatus();
    }
    case ValueType::kList: {
      keys.reset_value(rec, ValueType::kList);
      ListValue& list = *rec->list;
      BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
      if (count == 0) return corrupt("empty aggregate value");
      if (count > r.remaining()) return corrupt("element count exceeds image");
      for (uint64_t i = 0; i < count; ++i) {
        BW_ASSIGN_OR_RETURN(std::string_view element, r.bytes(kValueBytesMax));
        list.items().emplace_back(element);
        list.resized(0, ListValue::element_bytes(element));
      }
      keys.value_resized(0, list.bytes());
      return OkStatus();
    }
  }
  return corrupt(fmt::format("unknown value type {}", type));
}
}  // namespace

std::string Store::snapshot() const {
  std::string out;
  out.reserve(48 + keys_.size() * 24 + keys_.value_bytes() + coord_.leases().size() * 20 +
              coord_.elections().size() * 48);
  ByteWriter w(&out);
  w.raw(kMagic);
  w.u8(kSnapshotVersion);
  w.u64(applied_index_);
  w.u64(static_cast<uint64_t>(clock_ms_));
  w.varint(keys_.size());
  for (const Keyspace::Slot& slot : keys_) {
    const Record* rec = slot.rec;
    w.bytes(rec->key);
    write_value(w, *rec);
    w.u64(static_cast<uint64_t>(rec->deadline_ms));
    w.varint(rec->version);
    w.varint(rec->lease_id);
  }
  w.varint(coord_.leases().size());
  for (const auto& [id, lease] : coord_.leases()) {
    w.varint(id);
    w.varint(static_cast<uint64_t>(lease.ttl_ms));
    w.u64(static_cast<uint64_t>(lease.deadline_ms));
  }
  w.varint(coord_.elections().size());
  for (const auto& [name, h] : coord_.elections()) {
    w.bytes(name);
    w.bytes(h.holder);
    w.varint(h.token);
    w.varint(static_cast<uint64_t>(h.ttl_ms));
    w.u64(static_cast<uint64_t>(h.deadline_ms));
  }
  w.varint(members_.size());
  for (const auto& [id, m] : members_) {
    w.varint(id);
    w.bytes(m.client_address);
    w.bytes(m.peer_address);
  }
  w.varint(member_id_max_);
  w.varint(acl_index_);
  w.varint(acl_users_.size());
  for (const auto& [name, user] : acl_users_) {
    w.bytes(name);
    w.bytes(user.definition);
    w.varint(user.index);
  }
  w.u64(checksum64(out));
  return out;
}

Status Store::restore(std::string_view image) {
  keys_.clear();
  coord_.clear();
  members_.clear();
  member_id_max_ = 0;
  acl_users_.clear();
  acl_index_ = 0;
  applied_index_ = 0;
  clock_ms_ = 0;
  expiry_cursor_deadline_ms_ = 0;
  expiry_cursor_key_.clear();
  lease_cursor_ = {0, 0};
  election_cursor_ = {0, {}};
  Status s = [&]() -> Status {
    if (image.size() < kMagic.size() + 1 + 8 + 1 + kChecksumBytes) return corrupt("too short");
    std::string_view body = image.substr(0, image.size() - kChecksumBytes);
    ByteReader trailer(image.substr(body.size()));
    BW_ASSIGN_OR_RETURN(uint64_t sum, trailer.u64());
    if (sum != checksum64(body)) return corrupt("checksum mismatch");
    ByteReader r(body);
    BW_ASSIGN_OR_RETURN(std::string_view magic, r.raw(kMagic.size()));
    if (magic != kMagic) return corrupt("bad magic");
    BW_ASSIGN_OR_RETURN(uint8_t version, r.u8());
    if (version != kSnapshotVersion && version != kSnapshotVersionNoTypes &&
        version != kSnapshotVersionNoAcl && version != kSnapshotVersionNoMembers &&
        version != kSnapshotVersionNoClock && version != kSnapshotVersionNoLeases) {
      return corrupt(fmt::format("unknown version {}", version));
    }
    const bool with_leases = version != kSnapshotVersionNoLeases;
    BW_ASSIGN_OR_RETURN(uint64_t applied, r.u64());
    uint64_t clock = 0;
    if (version >= kSnapshotVersionNoMembers) {
      BW_ASSIGN_OR_RETURN(clock, r.u64());
      if (static_cast<int64_t>(clock) < 0) return corrupt("negative clock");
    }
    BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
    if (count > r.remaining() / kRecordBytesMin) return corrupt("key count exceeds the image");
    for (uint64_t i = 0; i < count; ++i) {
      BW_ASSIGN_OR_RETURN(std::string_view key, r.bytes(kValueBytesMax));
      if (keys_.find(key) != nullptr) return corrupt("duplicate key");
      Record* rec = keys_.insert(key);
      if (version == kSnapshotVersion) {
        BW_RETURN_IF_ERROR(read_value(r, keys_, rec));
      } else {
        BW_ASSIGN_OR_RETURN(std::string_view value, r.bytes(kValueBytesMax));
        rec->value.assign(value);
        keys_.value_resized(0, value.size());
      }
      BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
      BW_ASSIGN_OR_RETURN(uint64_t key_version, r.varint());
      uint64_t lease_id = 0;
      if (with_leases) {
        BW_ASSIGN_OR_RETURN(lease_id, r.varint());
      }
      if (static_cast<int64_t>(deadline) < 0) return corrupt("negative deadline");
      if (key_version > applied) return corrupt("key version beyond the applied index");
      if (lease_id > applied) return corrupt("lease id beyond the applied index");
      rec->version = key_version;
      keys_.set_deadline(rec, static_cast<int64_t>(deadline));
      keys_.set_lease(rec, lease_id);
    }
    if (with_leases) {
      BW_RETURN_IF_ERROR(restore_coordination(r, applied));
    }
    if (version >= kSnapshotVersionNoAcl) {
      BW_RETURN_IF_ERROR(restore_members(r));
    }
    if (version >= kSnapshotVersionNoTypes) {
      BW_RETURN_IF_ERROR(restore_acl(r, applied));
    }
    if (!r.done()) return corrupt("trailing bytes");
    applied_index_ = applied;
    clock_ms_ = static_cast<int64_t>(clock);
    return OkStatus();
  }();
  if (!s.ok()) {
    keys_.clear();
    coord_.clear();
    members_.clear();
    member_id_max_ = 0;
    acl_users_.clear();
    acl_index_ = 0;
  }
  return s;
}

Status Store::restore_coordination(ByteReader& r, uint64_t applied) {
  BW_ASSIGN_OR_RETURN(uint64_t lease_count, r.varint());
  if (lease_count > r.remaining() / kLeaseBytesMin) return corrupt("lease count exceeds image");
  for (uint64_t i = 0; i < lease_count; ++i) {
    BW_ASSIGN_OR_RETURN(uint64_t id, r.varint());
    BW_ASSIGN_OR_RETURN(uint64_t ttl_ms, r.varint());
    BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
    if (id == 0 || id > applied) return corrupt("lease id out of range");
    if (!ttl_ok(ttl_ms)) return corrupt("lease ttl out of range");
    if (static_cast<int64_t>(deadline) <= 0) return corrupt("lease deadline out of range");
    if (coord_.find_lease(id) != nullptr) return corrupt("duplicate lease");
    coord_.add_lease(id, static_cast<int64_t>(ttl_ms), static_cast<int64_t>(deadline));
  }
  BW_ASSIGN_OR_RETURN(uint64_t holder_count, r.varint());
  if (holder_count > r.remaining() / kHolderBytesMin) return corrupt("holder count exceeds image");
  for (uint64_t i = 0; i < holder_count; ++i) {
    BW_ASSIGN_OR_RETURN(std::string_view name, r.bytes(kNameBytesMax));
    BW_ASSIGN_OR_RETURN(std::string_view holder, r.bytes(kNameBytesMax));
    BW_ASSIGN_OR_RETURN(uint64_t token, r.varint());
    BW_ASSIGN_OR_RETURN(uint64_t ttl_ms, r.varint());
    BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
    if (token == 0 || token > applied) return corrupt("token out of range");
    if (!ttl_ok(ttl_ms)) return corrupt("holder ttl out of range");
    if (static_cast<int64_t>(deadline) <= 0) return corrupt("holder deadline out of range");
    if (coord_.find_holder(name) != nullptr) return corrupt("duplicate holder");
    coord_.set_holder(name, Holder{.holder = std::string(holder),
                                   .token = token,
                                   .ttl_ms = static_cast<int64_t>(ttl_ms),
                                   .deadline_ms = static_cast<int64_t>(deadline)});
  }
  // Every attached key names a lease that exists.
  for (const Keyspace::Slot& slot : keys_) {
    uint64_t id = slot.rec->lease_id;
    if (id != 0 && coord_.find_lease(id) == nullptr) return corrupt("key of an unknown lease");
  }
  return OkStatus();
}

Status Store::restore_members(ByteReader& r) {
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  if (count > r.remaining() / kMemberBytesMin) return corrupt("member count exceeds the image");
  for (uint64_t i = 0; i < count; ++i) {
    BW_ASSIGN_OR_RETURN(uint64_t id, r.varint());
    BW_ASSIGN_OR_RETURN(std::string_view client, r.bytes(kMemberAddressBytesMax));
    BW_ASSIGN_OR_RETURN(std::string_view peer, r.bytes(kMemberAddressBytesMax));
    if (id == 0) return corrupt("member id 0");
    if (members_.count(id) != 0) return corrupt("duplicate member");
    members_[id] = Member{std::string(client), std::string(peer)};
  }
  BW_ASSIGN_OR_RETURN(uint64_t id_max, r.varint());
  member_id_max_ = id_max;
  if (!members_.empty() && members_.rbegin()->first > member_id_max_) {
    return corrupt("member id beyond the largest id recorded");
  }
  return OkStatus();
}

Status Store::restore_acl(ByteReader& r, uint64_t applied) {
  BW_ASSIGN_OR_RETURN(uint64_t acl_index, r.varint());
  if (acl_index > applied) return corrupt("ACL change beyond the applied index");
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  if (count > kAclUsersMax || count > r.remaining() / kAclUserBytesMin) {
    return corrupt("ACL user count exceeds the image");
  }
  std::string_view previous;
  for (uint64_t i = 0; i < count; ++i) {
    BW_ASSIGN_OR_RETURN(std::string_view name, r.bytes(kAclUserNameBytesMax));
    BW_ASSIGN_OR_RETURN(std::string_view definition, r.bytes(kAclDefinitionBytesMax));
    BW_ASSIGN_OR_RETURN(uint64_t index, r.varint());
    if (name.empty() || definition.empty()) return corrupt("empty ACL user");
    if (i > 0 && name <= previous) return corrupt("ACL users out of order");
    if (index == 0 || index > acl_index) return corrupt("ACL user change out of range");
    previous = name;
    acl_users_.emplace(std::string(name), AclUserRecord{std::string(definition), index});
  }
  acl_index_ = acl_index;
  return OkStatus();
}

std::string encode_member(const Member& m) {
  std::string out;
  ByteWriter w(&out);
  w.bytes(m.client_address);
  w.bytes(m.peer_address);
  return out;
}

Result<Member> decode_member(std::string_view bytes) {
  ByteReader r(bytes);
  auto client = r.bytes(kMemberAddressBytesMax);
  auto peer = client.ok() ? r.bytes(kMemberAddressBytesMax) : client;
  if (!client.ok() || !peer.ok() || !r.done()) {
    return absl::InvalidArgumentError("not a member record (client and peer address)");
  }
  return Member{std::string(*client), std::string(*peer)};
}

}  // namespace bw::kv
