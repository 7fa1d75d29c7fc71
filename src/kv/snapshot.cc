// Snapshot image, version 1, all integers little-endian:
//   magic "BWKVSNAP"  version:u8  applied_index:u64  key_count:varint
//   (key:bytes value:bytes deadline_ms:u64 version:varint){key_count}
//   checksum:u64 = XXH3-64 of every byte before it
// Keys are written in keyspace order, so equal stores give equal images.
#include <fmt/format.h>

#include "common/checksum.h"
#include "common/codec.h"
#include "kv/store.h"

namespace bw::kv {

namespace {
constexpr std::string_view kMagic = "BWKVSNAP";
constexpr uint8_t kSnapshotVersion = 1;
constexpr size_t kChecksumBytes = 8;
// Smallest encoded record: empty key and value (1 + 1), deadline (8), version (1).
constexpr uint64_t kRecordBytesMin = 11;

Status corrupt(std::string_view what) {
  return absl::DataLossError(fmt::format("kv snapshot: {}", what));
}
}  // namespace

std::string Store::snapshot() const {
  std::string out;
  out.reserve(32 + keys_.size() * 24 + keys_.value_bytes());
  ByteWriter w(&out);
  w.raw(kMagic);
  w.u8(kSnapshotVersion);
  w.u64(applied_index_);
  w.varint(keys_.size());
  for (const Keyspace::Slot& slot : keys_) {
    const Record* rec = slot.rec;
    w.bytes(rec->key);
    w.bytes(rec->value);
    w.u64(static_cast<uint64_t>(rec->deadline_ms));
    w.varint(rec->version);
  }
  w.u64(checksum64(out));
  return out;
}

Status Store::restore(std::string_view image) {
  keys_.clear();
  applied_index_ = 0;
  expiry_cursor_deadline_ms_ = 0;
  expiry_cursor_key_.clear();
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
    if (version != kSnapshotVersion) return corrupt(fmt::format("unknown version {}", version));
    BW_ASSIGN_OR_RETURN(uint64_t applied, r.u64());
    BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
    if (count > r.remaining() / kRecordBytesMin) return corrupt("key count exceeds the image");
    for (uint64_t i = 0; i < count; ++i) {
      BW_ASSIGN_OR_RETURN(std::string_view key, r.bytes(kValueBytesMax));
      BW_ASSIGN_OR_RETURN(std::string_view value, r.bytes(kValueBytesMax));
      BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
      BW_ASSIGN_OR_RETURN(uint64_t key_version, r.varint());
      if (static_cast<int64_t>(deadline) < 0) return corrupt("negative deadline");
      if (key_version > applied) return corrupt("key version beyond the applied index");
      if (keys_.find(key) != nullptr) return corrupt("duplicate key");
      Record* rec = keys_.insert(key);
      rec->value.assign(value);
      keys_.value_resized(0, value.size());
      rec->version = key_version;
      keys_.set_deadline(rec, static_cast<int64_t>(deadline));
    }
    if (!r.done()) return corrupt("trailing bytes");
    applied_index_ = applied;
    return OkStatus();
  }();
  if (!s.ok()) keys_.clear();
  return s;
}

}  // namespace bw::kv
