#include "reply_reader.h"

#include <fmt/format.h>

#include <charconv>

namespace bw::bench {

namespace {

// Parses all of `text` as a decimal int64; false if it is anything else.
bool parse_length(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

void ReplyReader::feed(std::string_view bytes) {
  // Drop the replies already handed out once they are half the buffer: each byte moves at most
  // once per doubling, and no view into the buffer survives a feed anyway.
  if (begin_ > 0 && begin_ * 2 >= buf_.size()) {
    buf_.erase(0, begin_);
    pos_ -= std::min(pos_, begin_);
    begin_ = 0;
  }
  buf_.append(bytes);
}

ReplyReader::Step ReplyReader::fail(std::string message) {
  error_ = std::move(message);
  return Step::kError;
}

ReplyReader::State ReplyReader::next(Reply* out) {
  if (!error_.empty()) return State::kError;
  size_t pos = open_.empty() ? begin_ : pos_;
  // Each pass reads one value; the loop ends with a whole reply, a need for more bytes, or an
  // error. It is bounded by the bytes buffered: every pass consumes at least one line.
  while (true) {
    Reply v;
    bool opened = false;
    size_t at = pos;
    Step step = value(&pos, &v, &opened);
    if (step == Step::kError) return State::kError;
    if (step == Step::kNeedMore) {
      pos_ = at;
      return State::kNeedMore;
    }
    if (opened) continue;  // read the aggregate's elements
    if (open_.empty()) {
      *out = v;
      begin_ = pos;
      return State::kReply;
    }
    // One element of the innermost aggregate is complete; close every level it completes.
    while (!open_.empty() && --open_.back() == 0) open_.pop_back();
    if (open_.empty()) {
      *out = Reply{ReplyKind::kAggregate, {}};
      begin_ = pos;
      pos_ = pos;
      return State::kReply;
    }
  }
}

ReplyReader::Step ReplyReader::value(size_t* pos, Reply* out, bool* opened) {
  if (*pos >= buf_.size()) return Step::kNeedMore;
  const size_t eol = buf_.find("\r\n", *pos);
  if (eol == std::string::npos) {
    if (buf_.size() - *pos > kReplyLineBytesMax) return fail("reply line too long");
    return Step::kNeedMore;
  }
  if (eol - *pos > kReplyLineBytesMax) return fail("reply line too long");
  const char type = buf_[*pos];
  const std::string_view line(buf_.data() + *pos + 1, eol - *pos - 1);
  switch (type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '(':
    case '#':
    case '_': {
      if (type == '_' && !line.empty()) return fail("malformed null reply");
      ReplyKind kind = type == '+'   ? ReplyKind::kStatus
                       : type == '-' ? ReplyKind::kError
                       : type == ':' ? ReplyKind::kInteger
                       : type == '_' ? ReplyKind::kNull
                                     : ReplyKind::kOther;
      *out = Reply{kind, line};
      *pos = eol + 2;
      return Step::kDone;
    }
    case '$':
    case '=':
    case '!': {
      int64_t len = 0;
      if (!parse_length(line, &len)) return fail("malformed bulk length in reply");
      if (len == -1 && type == '$') {
        *out = Reply{ReplyKind::kNull, {}};
        *pos = eol + 2;
        return Step::kDone;
      }
      if (len < 0 || len > kReplyBulkBytesMax) return fail(fmt::format("bulk length {}", len));
      const size_t body = eol + 2;
      const size_t end = body + static_cast<size_t>(len);
      if (buf_.size() < end + 2) return Step::kNeedMore;
      if (buf_[end] != '\r' || buf_[end + 1] != '\n') return fail("no CRLF after bulk reply");
      *out = Reply{type == '!' ? ReplyKind::kError : ReplyKind::kBulk,
                   std::string_view(buf_.data() + body, static_cast<size_t>(len))};
      *pos = end + 2;
      return Step::kDone;
    }
    case '*':
    case '%':
    case '~':
    case '>': {
      int64_t n = 0;
      if (!parse_length(line, &n)) return fail("malformed aggregate length in reply");
      *pos = eol + 2;
      if (n == -1 && type == '*') {
        *out = Reply{ReplyKind::kNull, {}};
        return Step::kDone;
      }
      if (n < 0 || n > kReplyAggregateElementsMax) return fail(fmt::format("aggregate of {}", n));
      *out = Reply{ReplyKind::kAggregate, {}};
      if (n == 0) return Step::kDone;
      if (open_.size() >= kReplyDepthMax) return fail("aggregates nested too deep");
      open_.push_back(type == '%' ? 2 * n : n);
      *opened = true;
      return Step::kDone;
    }
    default:
      return fail(
          fmt::format("unexpected reply type byte 0x{:02x}", static_cast<unsigned char>(type)));
  }
}

}  // namespace bw::bench
