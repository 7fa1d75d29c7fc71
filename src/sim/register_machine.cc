#include "sim/register_machine.h"

#include "common/codec.h"

namespace bw::sim {
namespace {
constexpr uint64_t kFieldBytesMax = 1 << 16;
constexpr uint64_t kRegistersMax = 1 << 20;
}  // namespace

std::string encode_command(const Command& c) {
  std::string out;
  ByteWriter w(&out);
  w.u8(static_cast<uint8_t>(c.kind));
  w.u32(c.client);
  w.u64(c.seq);
  w.bytes(c.key);
  w.bytes(c.value);
  w.bytes(c.expected);
  return out;
}

Result<Command> decode_command(std::string_view data) {
  ByteReader r(data);
  Command c;
  BW_ASSIGN_OR_RETURN(uint8_t kind, r.u8());
  if (kind != static_cast<uint8_t>(CommandKind::kPut) &&
      kind != static_cast<uint8_t>(CommandKind::kCas)) {
    return absl::InvalidArgumentError("unknown command kind");
  }
  c.kind = static_cast<CommandKind>(kind);
  BW_ASSIGN_OR_RETURN(c.client, r.u32());
  BW_ASSIGN_OR_RETURN(c.seq, r.u64());
  BW_ASSIGN_OR_RETURN(std::string_view key, r.bytes(kFieldBytesMax));
  BW_ASSIGN_OR_RETURN(std::string_view value, r.bytes(kFieldBytesMax));
  BW_ASSIGN_OR_RETURN(std::string_view expected, r.bytes(kFieldBytesMax));
  if (!r.done()) return absl::InvalidArgumentError("trailing bytes after command");
  c.key = key;
  c.value = value;
  c.expected = expected;
  return c;
}

bool RegisterMachine::apply(const Command& c) {
  if (c.kind == CommandKind::kCas) {
    auto it = registers_.find(c.key);
    if (it == registers_.end() || it->second != c.expected) return false;
  }
  registers_[c.key] = c.value;
  return true;
}

std::string RegisterMachine::get(const std::string& key) const {
  auto it = registers_.find(key);
  return it == registers_.end() ? std::string() : it->second;
}

std::string RegisterMachine::snapshot() const {
  std::string out;
  ByteWriter w(&out);
  w.varint(registers_.size());
  for (const auto& [k, v] : registers_) {
    w.bytes(k);
    w.bytes(v);
  }
  return out;
}

Status RegisterMachine::restore(std::string_view image) {
  std::map<std::string, std::string> registers;
  if (!image.empty()) {
    ByteReader r(image);
    BW_ASSIGN_OR_RETURN(uint64_t n, r.varint());
    if (n > kRegistersMax) return absl::InvalidArgumentError("too many registers");
    for (uint64_t i = 0; i < n; ++i) {
      BW_ASSIGN_OR_RETURN(std::string_view k, r.bytes(kFieldBytesMax));
      BW_ASSIGN_OR_RETURN(std::string_view v, r.bytes(kFieldBytesMax));
      registers.emplace(std::string(k), std::string(v));
    }
    if (!r.done()) return absl::InvalidArgumentError("trailing bytes after registers");
  }
  registers_ = std::move(registers);
  return OkStatus();
}

}  // namespace bw::sim
