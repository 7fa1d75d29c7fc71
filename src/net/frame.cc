#include "net/frame.h"

#include <fmt/format.h>

#include "common/codec.h"

namespace bw::net {

void append_frame(std::string* out, FrameType type, std::string_view payload) {
  out->reserve(out->size() + kFrameHeaderBytes + payload.size());  // one allocation, not two
  ByteWriter w(out);
  w.u32(static_cast<uint32_t>(payload.size() + 2));
  w.u8(kFrameVersion);
  w.u8(static_cast<uint8_t>(type));
  w.raw(payload);
}

Result<bool> FrameReader::next(Frame* frame) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);  // bound the dead prefix kept in front of unread bytes
    pos_ = 0;
  }
  std::string_view rest = std::string_view(buf_).substr(pos_);
  if (rest.size() < 4) return false;
  ByteReader r(rest);
  uint32_t length = *r.u32();
  if (length < 2 || length > frame_bytes_max_) {
    return absl::DataLossError(
        fmt::format("peer frame length {} outside [2, {}]", length, frame_bytes_max_));
  }
  if (rest.size() < 4 + static_cast<size_t>(length)) return false;
  uint8_t version = *r.u8();
  if (version != kFrameVersion) {
    return absl::DataLossError(fmt::format("peer frame version {} unsupported", version));
  }
  uint8_t type = *r.u8();
  if (type < static_cast<uint8_t>(FrameType::kHello) ||
      type > static_cast<uint8_t>(FrameType::kAuth)) {
    return absl::DataLossError(fmt::format("peer frame type {} unknown", type));
  }
  frame->type = static_cast<FrameType>(type);
  frame->payload = rest.substr(kFrameHeaderBytes, length - 2);
  pos_ += 4 + length;
  return true;
}

}  // namespace bw::net
