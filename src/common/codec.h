// Byte codecs for wire and disk formats: little-endian fixed-width integers, LEB128 varints and
// length-prefixed byte strings. The reader never reads past its input and reports truncation or
// oversize as an error value, so it is safe on untrusted bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bw {

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void u8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void varint(uint64_t v);
  // varint length followed by the bytes.
  void bytes(std::string_view v);
  void raw(std::string_view v) { out_->append(v); }

  size_t size() const { return out_->size(); }
  std::string* buffer() { return out_; }

 private:
  std::string* out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  Result<uint8_t> u8();
  Result<uint32_t> u32();
  Result<uint64_t> u64();
  Result<uint64_t> varint();
  // A length-prefixed string of at most `bytes_max` bytes; the view points into the input.
  Result<std::string_view> bytes(uint64_t bytes_max);
  Result<std::string_view> raw(size_t n);

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace bw
