#include "kv/test_util.h"

#include <fmt/format.h>

namespace bw::kv::testing {

namespace {
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c >= 32 && c < 127) {
      out += ch;
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out + "\"";
}
}  // namespace

std::string render(const Reply& r) {
  switch (r.kind) {
    case Reply::Kind::kSimple:
    case Reply::Kind::kBulk:
      return quote(r.str);
    case Reply::Kind::kError:
      return "(error) " + r.str;
    case Reply::Kind::kInteger:
      return fmt::format("(integer) {}", r.integer);
    case Reply::Kind::kNull:
    case Reply::Kind::kNullArray:
      return "(nil)";
    case Reply::Kind::kDouble:
      return fmt::format("(double) {}", r.dbl);
    case Reply::Kind::kArray:
    case Reply::Kind::kMap: {
      std::string out = "[";
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += render(r.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

Reply Harness::exec(const std::vector<std::vector<std::string>>& commands,
                    const std::vector<std::pair<std::string, uint64_t>>& watched) {
  auto encoded = encode_transaction(commands, watched, now_ms_);
  if (auto* err = std::get_if<Reply>(&encoded)) return *err;
  return propose(std::move(std::get<std::string>(encoded)));
}

Reply Harness::run(std::span<const std::string_view> argv) {
  if (!argv.empty() && !is_read_argv(argv) && is_write_command(argv[0])) {
    auto encoded = encode_write(argv, now_ms_);
    if (auto* err = std::get_if<Reply>(&encoded)) return *err;
    return propose(std::move(std::get<std::string>(encoded)));
  }
  return store_.read(argv, now_ms_, random_++ * 0x9E3779B97F4A7C15ull);
}

}  // namespace bw::kv::testing
