// RESP2 / RESP3 reply encoder. Appends to a caller-owned string, so a connection can encode many
// replies into one output buffer and send them with one write.
//
// Thread safety: none. The Writer does not own `out`, which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bw::resp {

class Writer {
 public:
  // REQUIRES: out != nullptr; protocol is 2 or 3.
  explicit Writer(std::string* out, int protocol = 2);

  void set_protocol(int protocol);
  int protocol() const { return protocol_; }
  std::string* out() const { return out_; }

  // `+s`. CR and LF inside s are replaced by spaces (they would break the framing).
  void simple(std::string_view s);
  // `-msg`; msg comes without the '-', e.g. "ERR syntax error". CR/LF become spaces, as in Redis.
  void error(std::string_view msg);
  void integer(int64_t v);
  void bulk(std::string_view s);
  void null();        // RESP2 `$-1`, RESP3 `_`
  void null_array();  // RESP2 `*-1`, RESP3 `_`
  // Aggregate headers; the caller then writes the elements (2n of them for map()).
  void array(size_t n);
  void map(size_t n);   // RESP3 `%n`; RESP2 `*2n`
  void set(size_t n);   // RESP3 `~n`; RESP2 `*n`
  void push(size_t n);  // RESP3 `>n`; RESP2 `*n`
  // RESP3 `,1.5`; RESP2 the same text as a bulk string. Formatted like Redis 7.0 (`%.17g`,
  // `inf`, `-inf`, `nan`).
  void double_value(double v);
  void boolean(bool v);  // RESP3 `#t` / `#f`; RESP2 `:1` / `:0`
  // RESP3 `=len\r\nfmt:text`; RESP2 a bulk string of text. REQUIRES: format.size() == 3.
  void verbatim(std::string_view format, std::string_view text);
  // Appends already encoded bytes (e.g. a reply relayed from another node).
  void raw(std::string_view bytes);

 private:
  void header(char type, uint64_t n);

  std::string* out_;
  int protocol_;
};

// Formats a double as Redis 7.0 does in replies (`%.17g`, "inf", "-inf", "nan").
std::string format_double(double v);

}  // namespace bw::resp
