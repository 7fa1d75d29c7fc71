// Peer frames: every message between two nodes travels as one frame on a persistent TCP stream.
//
//   u32 length (LE, of everything after this field) | u8 version | u8 type | payload
//
// The reader is incremental and bounded (frame_bytes_max), so a misbehaving peer can at worst
// get its own connection closed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bw::net {

inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 6;

enum class FrameType : uint8_t {
  // The handshake (net/peer_auth.h): dialer's hello, acceptor's answer and proof, dialer's proof.
  kHello = 1,
  kRaft = 2,                // an encoded raft::Message
  kForward = 3,             // a client command forwarded to the leader
  kForwardReply = 4,        // the leader's RESP reply to a forwarded command
  kForwardTransaction = 5,  // a MULTI/EXEC transaction forwarded to the leader
  kHelloAck = 6,
  kAuth = 7,
};

// Appends one frame to *out.
void append_frame(std::string* out, FrameType type, std::string_view payload);

struct Frame {
  FrameType type;
  std::string_view payload;  // valid until the next FrameReader call that changes the buffer
};

class FrameReader {
 public:
  explicit FrameReader(size_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

  void feed(std::string_view bytes) { buf_.append(bytes); }
  // Raises or lowers the bound for frames not yet read (a link's handshake reads small frames).
  void set_frame_bytes_max(size_t frame_bytes_max) { frame_bytes_max_ = frame_bytes_max; }
  // The next complete frame, std::nullopt-like NotFound when more bytes are needed, or an error
  // (bad version, oversize) after which the connection must be closed.
  Result<bool> next(Frame* frame);

 private:
  size_t frame_bytes_max_;
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace bw::net
