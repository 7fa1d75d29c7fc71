#include "common/codec.h"

#include <fmt/format.h>

namespace bw {

namespace {
constexpr int kVarintBytesMax = 10;

Status truncated(size_t pos, size_t need) {
  return absl::DataLossError(fmt::format("truncated input at byte {}: need {} more", pos, need));
}
}  // namespace

void ByteWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    u8(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  u8(static_cast<uint8_t>(v));
}

void ByteWriter::bytes(std::string_view v) {
  varint(v.size());
  raw(v);
}

Result<uint8_t> ByteReader::u8() {
  if (remaining() < 1) return truncated(pos_, 1);
  return static_cast<uint8_t>(in_[pos_++]);
}

Result<uint32_t> ByteReader::u32() {
  if (remaining() < 4) return truncated(pos_, 4);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 4;
  return v;
}

Result<uint64_t> ByteReader::u64() {
  if (remaining() < 8) return truncated(pos_, 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 8;
  return v;
}

Result<uint64_t> ByteReader::varint() {
  uint64_t v = 0;
  for (int i = 0; i < kVarintBytesMax; ++i) {
    if (remaining() < 1) return truncated(pos_, 1);
    uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    if (i == kVarintBytesMax - 1 && b > 1) {
      return absl::DataLossError(fmt::format("varint overflows 64 bits at byte {}", pos_ - 1));
    }
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return v;
  }
  return absl::DataLossError(fmt::format("varint longer than {} bytes", kVarintBytesMax));
}

Result<std::string_view> ByteReader::bytes(uint64_t bytes_max) {
  BW_ASSIGN_OR_RETURN(uint64_t n, varint());
  if (n > bytes_max) {
    return absl::DataLossError(
        fmt::format("length {} at byte {} exceeds the limit of {}", n, pos_, bytes_max));
  }
  return raw(static_cast<size_t>(n));
}

Result<std::string_view> ByteReader::raw(size_t n) {
  if (remaining() < n) return truncated(pos_, n);
  std::string_view v = in_.substr(pos_, n);
  pos_ += n;
  return v;
}

}  // namespace bw
