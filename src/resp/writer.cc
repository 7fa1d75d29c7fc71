#include "resp/writer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "common/assert.h"

namespace bw::resp {
namespace {

// Appends s with CR and LF replaced by spaces: a line-framed reply must stay on one line.
void append_line_safe(std::string* out, std::string_view s) {
  const size_t start = out->size();
  out->append(s);
  for (size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
}

}  // namespace

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char text[64];
  const int n = std::snprintf(text, sizeof(text), "%.17g", v);
  return std::string(text, static_cast<size_t>(n));
}

Writer::Writer(std::string* out, int protocol) : out_(out), protocol_(protocol) {
  BW_ASSERT(out_ != nullptr);
  set_protocol(protocol);
}

void Writer::set_protocol(int protocol) {
  BW_ASSERT(protocol == 2 || protocol == 3, "protocol {}", protocol);
  protocol_ = protocol;
}

void Writer::header(char type, uint64_t n) {
  out_->push_back(type);
  fmt::format_to(std::back_inserter(*out_), "{}\r\n", n);
}

void Writer::simple(std::string_view s) {
  out_->push_back('+');
  append_line_safe(out_, s);
  out_->append("\r\n");
}

void Writer::error(std::string_view msg) {
  out_->push_back('-');
  append_line_safe(out_, msg);
  out_->append("\r\n");
}

void Writer::integer(int64_t v) {
  fmt::format_to(std::back_inserter(*out_), ":{}\r\n", v);
}

void Writer::bulk(std::string_view s) {
  header('$', s.size());
  out_->append(s);
  out_->append("\r\n");
}

void Writer::null() {
  out_->append(protocol_ == 3 ? "_\r\n" : "$-1\r\n");
}

void Writer::null_array() {
  out_->append(protocol_ == 3 ? "_\r\n" : "*-1\r\n");
}

void Writer::array(size_t n) {
  header('*', n);
}

void Writer::map(size_t n) {
  if (protocol_ == 3) {
    header('%', n);
  } else {
    header('*', 2 * static_cast<uint64_t>(n));
  }
}

void Writer::set(size_t n) {
  header(protocol_ == 3 ? '~' : '*', n);
}

void Writer::push(size_t n) {
  header(protocol_ == 3 ? '>' : '*', n);
}

void Writer::double_value(double v) {
  const std::string text = format_double(v);
  if (protocol_ == 3) {
    out_->push_back(',');
    out_->append(text);
    out_->append("\r\n");
  } else {
    bulk(text);
  }
}

void Writer::boolean(bool v) {
  if (protocol_ == 3) {
    out_->append(v ? "#t\r\n" : "#f\r\n");
  } else {
    out_->append(v ? ":1\r\n" : ":0\r\n");
  }
}

void Writer::verbatim(std::string_view format, std::string_view text) {
  BW_ASSERT(format.size() == 3, "verbatim format '{}'", format);
  if (protocol_ == 3) {
    header('=', text.size() + 4);
    out_->append(format);
    out_->push_back(':');
    out_->append(text);
    out_->append("\r\n");
  } else {
    bulk(text);
  }
}

void Writer::raw(std::string_view bytes) {
  out_->append(bytes);
}

}  // namespace bw::resp
