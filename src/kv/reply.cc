#include "kv/reply.h"

#include <fmt/format.h>

#include <utility>

namespace bw::kv {

Reply Reply::simple(std::string s) {
  Reply r;
  r.kind = Kind::kSimple;
  r.str = std::move(s);
  return r;
}

Reply Reply::error(std::string message) {
  Reply r;
  r.kind = Kind::kError;
  r.str = std::move(message);
  return r;
}

Reply Reply::integer_value(int64_t v) {
  Reply r;
  r.kind = Kind::kInteger;
  r.integer = v;
  return r;
}

Reply Reply::bulk(std::string s) {
  Reply r;
  r.kind = Kind::kBulk;
  r.str = std::move(s);
  return r;
}

Reply Reply::null() {
  return Reply{};
}

Reply Reply::null_array() {
  Reply r;
  r.kind = Kind::kNullArray;
  return r;
}

Reply Reply::array(std::vector<Reply> elements) {
  Reply r;
  r.kind = Kind::kArray;
  r.elements = std::move(elements);
  return r;
}

Reply Reply::map(std::vector<Reply> keys_and_values) {
  Reply r;
  r.kind = Kind::kMap;
  r.elements = std::move(keys_and_values);
  return r;
}

Reply Reply::set(std::vector<Reply> elements) {
  Reply r;
  r.kind = Kind::kSet;
  r.elements = std::move(elements);
  return r;
}

Reply Reply::double_value(double v) {
  Reply r;
  r.kind = Kind::kDouble;
  r.dbl = v;
  return r;
}

std::string to_string(const Reply& r) {
  switch (r.kind) {
    case Reply::Kind::kSimple:
      return r.str;
    case Reply::Kind::kError:
      return "(error) " + r.str;
    case Reply::Kind::kInteger:
      return fmt::format("(integer) {}", r.integer);
    case Reply::Kind::kBulk:
      return fmt::format("\"{}\"", r.str);
    case Reply::Kind::kNull:
      return "(nil)";
    case Reply::Kind::kNullArray:
      return "(nil array)";
    case Reply::Kind::kDouble:
      return fmt::format("(double) {}", r.dbl);
    case Reply::Kind::kArray:
    case Reply::Kind::kSet:
    case Reply::Kind::kMap: {
      std::string out = r.kind == Reply::Kind::kMap ? "{" : "[";
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += to_string(r.elements[i]);
      }
      out += r.kind == Reply::Kind::kMap ? "}" : "]";
      return out;
    }
  }
  return "?";
}

}  // namespace bw::kv
