// Incremental reader of RESP2/RESP3 replies for resp-load: splits the byte stream of a connection
// into whole replies and tells what each one is (status, error, integer, bulk, null, aggregate).
//
// The project's src/resp holds the request side (a parser of commands, a writer of replies); this
// is the other direction, kept minimal: a load generator needs the framing and the kind of each
// reply, not a tree of values. Aggregates (arrays, maps, sets, pushes, attributes) are walked and
// returned as one reply of kind kAggregate. Every length is bounded; bytes that are not RESP put
// the reader in error for good.
//
// Thread safety: none; one reader per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bw::bench {

// Longest header or simple line (`+...`, `-...`, `:...`, `$len`); Redis's inline limit.
inline constexpr size_t kReplyLineBytesMax = 64 << 10;
// Largest bulk reply accepted; a load generator's values are far smaller.
inline constexpr int64_t kReplyBulkBytesMax = 64 << 20;
// Most elements announced by one aggregate header.
inline constexpr int64_t kReplyAggregateElementsMax = 1 << 20;
// Deepest nesting of aggregates.
inline constexpr size_t kReplyDepthMax = 32;

enum class ReplyKind { kStatus, kError, kInteger, kBulk, kNull, kAggregate, kOther };

struct Reply {
  ReplyKind kind = ReplyKind::kOther;
  // kStatus, kError (without the '-'), kInteger, kBulk: the bytes. Valid until the next call to
  // feed() or next(). Empty for aggregates.
  std::string_view text;
};

class ReplyReader {
 public:
  enum class State { kReply, kNeedMore, kError };

  void feed(std::string_view bytes);

  // Takes the next whole reply out of what was fed. On kError the reader stays in error for good
  // and error() says why.
  State next(Reply* out);

  const std::string& error() const { return error_; }
  size_t buffered_bytes() const { return buf_.size() - begin_; }

 private:
  enum class Step { kDone, kNeedMore, kError };

  // Parses one value at *pos and moves *pos past it. An aggregate header with elements pushes a
  // level and sets *opened: its elements come next.
  Step value(size_t* pos, Reply* out, bool* opened);
  Step fail(std::string message);

  std::string buf_;
  size_t begin_ = 0;  // the first byte of the reply being read
  // Elements still to read of each open aggregate, outermost first.
  std::vector<int64_t> open_;
  size_t pos_ = 0;  // where the next value of the reply being read starts (aggregates only)
  std::string error_;
};

}  // namespace bw::bench
