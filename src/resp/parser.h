// Incremental RESP request parser: Redis multibulk (`*N\r\n$L\r\n...`) and inline (`SET a b\r\n`)
// commands, with Redis's limits and error texts.
//
// Bytes go in through prepare()/commit() (zero-copy: the socket reads straight into the buffer)
// or feed(); next() hands out one complete command at a time. Parsing keeps its position between
// calls, so input that trickles in one byte at a time costs O(n) in total, never a rescan. When a
// bulk header is parsed, the buffer is sized once for the whole bulk, so a 100 MiB value is read in
// place and not copied while it arrives.
//
// Where we are deliberately stricter than Redis 7.0 (same error texts otherwise):
//  - a bulk must be followed by "\r\n" ("Protocol error: expected CRLF after bulk data"; Redis
//    skips two bytes unchecked), and header lines must end in "\r\n", not a bare '\r';
//  - a byte other than '$' where a bulk header starts is an error at once, not after its line;
//  - a NUL byte ends an inline line's arguments (Redis's strchr() stops at it and the connection
//    waits for a newline it never sees);
//  - limits are judged on the length of the line or command, never on how it was split into
//    reads, so every split of the same input gives the same commands and the same error.
//
// Thread safety: none; one Parser per connection, used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bw::resp {

struct ParserLimits {
  // Largest argument (Redis proto-max-bulk-len), multibulk or inline.
  uint64_t bulk_bytes_max = 512ull << 20;
  // Most arguments in one command; a larger `*N` header is "invalid multibulk length".
  uint32_t args_max = 65536;
  // Longest inline command line and longest `*N` / `$L` header line (Redis PROTO_INLINE_MAX_SIZE).
  uint64_t inline_bytes_max = 64 << 10;
  // Hard cap on buffered, not yet parsed input: one command may not need more than this (Redis
  // client-query-buffer-limit).
  uint64_t buffer_bytes_max = 1ull << 30;
};

class Parser {
 public:
  enum class State { kCommand, kNeedMore, kError };

  // While a large bulk arrives, the buffer keeps at least this much room past the bulk's end, so
  // prepare(bytes_min <= kReadSlackBytes) never moves the bulk received so far.
  static constexpr size_t kReadSlackBytes = 64 << 10;

  explicit Parser(ParserLimits limits = {});
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Writable space at the end of the input buffer, at least bytes_min bytes long (usually more).
  // May move unparsed bytes, so it invalidates the views of the last command.
  std::span<char> prepare(size_t bytes_min);
  // REQUIRES: bytes <= size of the span the last prepare() returned, written by the caller.
  void commit(size_t bytes);
  // Convenience: prepare() + copy + commit().
  void feed(std::string_view bytes);

  // Parses the next complete command. On kCommand, *argv holds its arguments (never empty); the
  // views stay valid until the next call to next(), prepare() or feed(). Empty inline lines and
  // `*0` / `*-1` headers are skipped, as Redis does. On kError the parser stays in error for good
  // (the connection must reply `-ERR <error()>` and close); nothing more is parsed.
  State next(std::vector<std::string_view>* argv);

  // true if the error is the query buffer limit (buffer_bytes_max, Redis's
  // client-query-buffer-limit): Redis closes such a client without a reply.
  bool query_buffer_limit_hit() const { return error_ == kQueryBufferLimitError; }
  static constexpr std::string_view kQueryBufferLimitError =
      "Protocol error: query buffer limit exceeded";

  // The Redis error text without the "ERR " prefix, e.g. "Protocol error: invalid bulk length".
  // Empty unless next() returned kError.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }

  // Input received and not yet returned as a command.
  size_t buffered_bytes() const { return end_ - begin_; }
  // Bytes of the current buffer (for memory accounting).
  size_t capacity_bytes() const { return capacity_; }
  // Total bytes ever moved inside or between buffers (compaction and growth); lets tests and
  // metrics check that large values are not copied while they arrive.
  uint64_t bytes_moved() const { return bytes_moved_; }
  // Total bytes ever searched for line ends; stays O(input) however the input is split.
  uint64_t bytes_scanned() const { return bytes_scanned_; }
  const ParserLimits& limits() const { return limits_; }
  // CONFIG SET proto-max-bulk-len: headers parsed from now on are checked against the new
  // bulk_bytes_max (a bulk already announced keeps the length it was accepted with).
  void set_bulk_bytes_max(uint64_t bytes) { limits_.bulk_bytes_max = bytes; }

 private:
  enum class Mode { kNone, kInline, kMultibulk };
  enum class Step { kCommand, kNeedMore, kError, kSkip };

  Step parse_inline();
  Step parse_multibulk();
  Step parse_bulk_header();
  Step fail(std::string message);
  // Finds `\r\n` ending the header line that starts at line_begin; sets *cr to the '\r'.
  Step find_header_line(size_t line_begin, const char* too_big_message, size_t* cr);
  bool reserve_command_bytes(size_t command_bytes);
  void move_unparsed_to(char* dest);
  void finish_command();

  ParserLimits limits_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  // Invariant: begin_ <= pos_ <= end_ <= capacity_ and begin_ <= scan_ <= end_.
  size_t begin_ = 0;  // first byte of the command being parsed
  size_t pos_ = 0;    // next unparsed byte of that command
  size_t end_ = 0;    // end of received bytes
  size_t scan_ = 0;   // bytes before this were already searched for the current line's end
  size_t last_prepared_ = 0;
  Mode mode_ = Mode::kNone;
  int64_t args_left_ = -1;   // multibulk arguments still to read; -1 before the `*N` header
  int64_t bulk_bytes_ = -1;  // length of the bulk being read; -1 before its `$L` header
  // Arguments of the current command as (offset from begin_, length): offsets survive moves.
  std::vector<std::pair<size_t, size_t>> args_;
  std::string inline_args_;  // unescaped inline arguments; args_ point into it in inline mode
  std::string error_;
  uint64_t bytes_moved_ = 0;
  uint64_t bytes_scanned_ = 0;
};

}  // namespace bw::resp
