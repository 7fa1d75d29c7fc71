#include "resp/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/assert.h"

namespace bw::resp {
namespace {

constexpr size_t kInitialBytes = 16 << 10;
// An empty buffer larger than this is given back instead of kept (one big value must not pin
// memory for the connection's lifetime).
constexpr size_t kShrinkBytes = 1 << 20;

// Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, no overflow.
bool parse_int64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// isspace() in the C locale, without the locale lookup.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Redis's sdssplitargs: splits an inline line into arguments, unquoting "..." (with \n \r \t \b
// \a \xHH escapes) and '...' (with \' only). Appends the unquoted bytes to *arena and their
// (offset, length) to *args. Returns false on unbalanced quotes, or a closing quote not followed
// by a space.
bool split_inline_args(std::string_view line, std::string* arena,
                       std::vector<std::pair<size_t, size_t>>* args) {
  // sdssplitargs works on C strings: a NUL byte ends the line.
  line = line.substr(0, line.find('\0'));
  size_t i = 0;
  const size_t n = line.size();
  auto at = [&](size_t k) { return k < n ? line[k] : '\0'; };
  while (true) {
    while (i < n && is_space(line[i])) ++i;
    if (i >= n) return true;
    const size_t start = arena->size();
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(i);
      if (in_double) {
        if (c == '\\' && at(i + 1) == 'x' && is_hex_digit(at(i + 2)) && is_hex_digit(at(i + 3))) {
          arena->push_back(static_cast<char>(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          switch (at(i)) {
            case 'n':
              arena->push_back('\n');
              break;
            case 'r':
              arena->push_back('\r');
              break;
            case 't':
              arena->push_back('\t');
              break;
            case 'b':
              arena->push_back('\b');
              break;
            case 'a':
              arena->push_back('\a');
              break;
            default:
              arena->push_back(at(i));
              break;
          }
        } else if (c == '"') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          arena->push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          arena->push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !is_space(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          arena->push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            arena->push_back(c);
            break;
        }
      }
      if (i < n) ++i;
    }
    args->emplace_back(start, arena->size() - start);
  }
}

}  // namespace

Parser::Parser(ParserLimits limits) : limits_(limits) {
  BW_ASSERT(limits_.args_max > 0);
  BW_ASSERT(limits_.inline_bytes_max > 0);
}

void Parser::move_unparsed_to(char* dest) {
  const size_t unparsed = end_ - begin_;
  if (unparsed > 0 && dest != buffer_.get() + begin_) {
    std::memmove(dest, buffer_.get() + begin_, unparsed);
    bytes_moved_ += unparsed;
  }
  pos_ -= begin_;
  scan_ -= begin_;
  end_ -= begin_;
  begin_ = 0;
}

std::span<char> Parser::prepare(size_t bytes_min) {
  if (begin_ == end_) {
    // Nothing unparsed: start over at the front for free.
    begin_ = pos_ = scan_ = end_ = 0;
    if (capacity_ > kShrinkBytes && bytes_min <= kShrinkBytes) {
      buffer_.reset();
      capacity_ = 0;
    }
  }
  if (capacity_ - end_ < bytes_min) {
    const size_t unparsed = end_ - begin_;
    // Slide down only if that frees at least as many bytes as it moves: each byte is then moved
    // at most once per byte consumed, which keeps the total work linear.
    if (begin_ >= unparsed && capacity_ - unparsed >= bytes_min) {
      move_unparsed_to(buffer_.get());
    } else {
      const size_t needed = unparsed + bytes_min;
      const size_t capacity = std::max({needed, 2 * capacity_, kInitialBytes});
      std::unique_ptr<char[]> bigger(new char[capacity]);
      move_unparsed_to(bigger.get());
      buffer_ = std::move(bigger);
      capacity_ = capacity;
    }
  }
  last_prepared_ = capacity_ - end_;
  return {buffer_.get() + end_, last_prepared_};
}

void Parser::commit(size_t bytes) {
  BW_ASSERT(bytes <= last_prepared_, "commit({}) past prepare()'s {} bytes", bytes, last_prepared_);
  end_ += bytes;
  last_prepared_ -= bytes;
}

void Parser::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  std::span<char> space = prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

// Grows the buffer so the current command, command_bytes long from begin_, fits in place with
// kReadSlackBytes to spare: a big bulk is then read straight into its final place.
bool Parser::reserve_command_bytes(size_t command_bytes) {
  if (command_bytes > limits_.buffer_bytes_max) return false;
  if (begin_ + command_bytes <= capacity_) return true;
  // At least double, so a command of many medium arguments is not copied once per argument.
  const size_t capacity =
      std::max(command_bytes + kReadSlackBytes,
               std::min<size_t>(2 * capacity_, limits_.buffer_bytes_max + kReadSlackBytes));
  std::unique_ptr<char[]> bigger(new char[capacity]);
  move_unparsed_to(bigger.get());
  buffer_ = std::move(bigger);
  capacity_ = capacity;
  last_prepared_ = 0;
  return true;
}

Parser::Step Parser::fail(std::string message) {
  error_ = std::move(message);
  return Step::kError;
}

Parser::State Parser::next(std::vector<std::string_view>* argv) {
  argv->clear();
  if (failed()) return State::kError;
  while (true) {
    if (begin_ == end_) return State::kNeedMore;
    if (mode_ == Mode::kNone) {
      mode_ = buffer_[begin_] == '*' ? Mode::kMultibulk : Mode::kInline;
      pos_ = scan_ = begin_;
      args_.clear();
      inline_args_.clear();
    }
    const Step step = mode_ == Mode::kInline ? parse_inline() : parse_multibulk();
    switch (step) {
      case Step::kSkip:
        continue;
      case Step::kError:
        return State::kError;
      case Step::kNeedMore:
        if (buffered_bytes() > limits_.buffer_bytes_max) {
          fail(std::string(kQueryBufferLimitError));
          return State::kError;
        }
        return State::kNeedMore;
      case Step::kCommand: {
        const char* base = mode_ == Mode::kMultibulk ? buffer_.get() + begin_ : inline_args_.data();
        argv->reserve(args_.size());
        for (const auto& [offset, length] : args_) argv->emplace_back(base + offset, length);
        finish_command();
        return State::kCommand;
      }
    }
  }
}

void Parser::finish_command() {
  begin_ = scan_ = pos_;
  mode_ = Mode::kNone;
  args_left_ = -1;
  bulk_bytes_ = -1;
}

Parser::Step Parser::parse_inline() {
  const char* data = buffer_.get();
  const void* newline = std::memchr(data + scan_, '\n', end_ - scan_);
  bytes_scanned_ +=
      newline == nullptr ? end_ - scan_ : static_cast<const char*>(newline) - (data + scan_) + 1;
  if (newline == nullptr) {
    scan_ = end_;
    // Judge the line by its length, not by how much of it arrived in one read: it may still end
    // in "\r\n", and the '\r' does not count.
    if (end_ - begin_ > limits_.inline_bytes_max + 1) {
      return fail("Protocol error: too big inline request");
    }
    return Step::kNeedMore;
  }
  const size_t nl = static_cast<size_t>(static_cast<const char*>(newline) - data);
  size_t line_end = nl;
  if (line_end > begin_ && data[line_end - 1] == '\r') --line_end;
  if (line_end - begin_ > limits_.inline_bytes_max) {
    return fail("Protocol error: too big inline request");
  }
  inline_args_.reserve(line_end - begin_);
  args_left_ = -1;
  if (!split_inline_args({data + begin_, line_end - begin_}, &inline_args_, &args_)) {
    return fail("Protocol error: unbalanced quotes in request");
  }
  if (args_.size() > limits_.args_max) {
    return fail("Protocol error: too many arguments in inline request");
  }
  // Whatever the framing, no argument is longer than proto-max-bulk-len.
  for (const auto& arg : args_) {
    if (arg.second > limits_.bulk_bytes_max) return fail("Protocol error: invalid bulk length");
  }
  pos_ = nl + 1;
  if (args_.empty()) {
    finish_command();
    return Step::kSkip;
  }
  return Step::kCommand;
}

Parser::Step Parser::find_header_line(size_t line_begin, const char* too_big_message, size_t* cr) {
  const char* data = buffer_.get();
  const size_t from = std::max(scan_, line_begin);
  const void* found = std::memchr(data + from, '\r', end_ - from);
  bytes_scanned_ +=
      found == nullptr ? end_ - from : static_cast<const char*>(found) - (data + from) + 1;
  if (found == nullptr) {
    scan_ = end_;
    if (end_ - line_begin > limits_.inline_bytes_max) return fail(too_big_message);
    return Step::kNeedMore;
  }
  *cr = static_cast<size_t>(static_cast<const char*>(found) - data);
  scan_ = *cr;
  if (*cr - line_begin > limits_.inline_bytes_max) return fail(too_big_message);
  if (*cr + 1 >= end_) return Step::kNeedMore;
  return Step::kCommand;
}

Parser::Step Parser::parse_multibulk() {
  const char* data = buffer_.get();
  if (args_left_ < 0) {
    size_t cr = 0;
    const Step line = find_header_line(pos_, "Protocol error: too big mbulk count string", &cr);
    if (line != Step::kCommand) return line;
    int64_t count = 0;
    if (!parse_int64({data + pos_ + 1, cr - pos_ - 1}, &count) || data[cr + 1] != '\n' ||
        count > static_cast<int64_t>(limits_.args_max)) {
      return fail("Protocol error: invalid multibulk length");
    }
    pos_ = scan_ = cr + 2;
    if (count <= 0) {
      finish_command();
      return Step::kSkip;
    }
    args_left_ = count;
    args_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }
  while (args_left_ > 0) {
    if (bulk_bytes_ < 0) {
      const Step header = parse_bulk_header();
      if (header != Step::kCommand) return header;
      data = buffer_.get();  // the header may have grown the buffer
    }
    const size_t length = static_cast<size_t>(bulk_bytes_);
    if (end_ - pos_ < length + 2) return Step::kNeedMore;
    if (data[pos_ + length] != '\r' || data[pos_ + length + 1] != '\n') {
      return fail("Protocol error: expected CRLF after bulk data");
    }
    args_.emplace_back(pos_ - begin_, length);
    pos_ += length + 2;
    scan_ = pos_;
    bulk_bytes_ = -1;
    --args_left_;
  }
  return Step::kCommand;
}

Parser::Step Parser::parse_bulk_header() {
  if (pos_ == end_) return Step::kNeedMore;
  const char* data = buffer_.get();
  // Reject a wrong type byte at once rather than after a whole line of garbage has arrived.
  if (data[pos_] != '$') {
    return fail(fmt::format("Protocol error: expected '$', got '{}'", data[pos_]));
  }
  size_t cr = 0;
  const Step line = find_header_line(pos_, "Protocol error: too big bulk count string", &cr);
  if (line != Step::kCommand) return line;
  int64_t length = 0;
  if (!parse_int64({data + pos_ + 1, cr - pos_ - 1}, &length) || data[cr + 1] != '\n' ||
      length < 0 || static_cast<uint64_t>(length) > limits_.bulk_bytes_max) {
    return fail("Protocol error: invalid bulk length");
  }
  pos_ = scan_ = cr + 2;
  bulk_bytes_ = length;
  if (!reserve_command_bytes(pos_ - begin_ + static_cast<size_t>(length) + 2)) {
    return fail(std::string(kQueryBufferLimitError));
  }
  return Step::kCommand;
}

}  // namespace bw::resp
