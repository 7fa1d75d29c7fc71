// The reply of a kv command as a plain value, independent of RESP: the server encodes it as RESP2
// or RESP3. Error strings carry Redis's prefix and text ("ERR syntax error", "WRONGTYPE ...")
// without the leading '-'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bw::kv {

struct Reply {
  enum class Kind : uint8_t {
    kSimple,     // str
    kError,      // str
    kInteger,    // integer
    kBulk,       // str
    kNull,       // nil bulk string (RESP2 $-1, RESP3 _)
    kNullArray,  // nil array (RESP2 *-1, RESP3 _)
    kArray,      // elements
    kMap,        // elements: key, value, key, value, ...
    kDouble,     // dbl (RESP3 ','; RESP2 encodes as a bulk string)
    kSet,        // elements (RESP3 '~'; RESP2 an array)
  };

  Kind kind = Kind::kNull;
  std::string str;
  int64_t integer = 0;
  double dbl = 0;
  std::vector<Reply> elements;

  // (The integer factory is integer_value(): a static member cannot share the name of the field
  // `integer`.)
  static Reply simple(std::string s);
  static Reply error(std::string message);
  static Reply integer_value(int64_t v);
  static Reply bulk(std::string s);
  static Reply null();
  static Reply null_array();
  static Reply array(std::vector<Reply> elements);
  static Reply map(std::vector<Reply> keys_and_values);
  static Reply set(std::vector<Reply> elements);
  static Reply double_value(double v);
  static Reply ok() { return simple("OK"); }

  bool is_error() const { return kind == Kind::kError; }
  bool operator==(const Reply&) const = default;
};

// Readable form for tests and logs, e.g. `["v", (integer) 7]`, `(error) ERR syntax error`, `(nil)`.
std::string to_string(const Reply& r);

}  // namespace bw::kv
