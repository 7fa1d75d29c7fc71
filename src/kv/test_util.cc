#include "kv/test_util.h"

#include <fmt/format.h>

#include "resp/command_table.h"

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

// Node::execute's arity check: THE table's arity for the name, without a trailing FENCE on writes.
std::optional<Reply> table_arity_error(std::span<const std::string_view> argv) {
  const resp::CommandSpec* spec = argv.empty() ? nullptr : resp::find_command(argv[0]);
  if (spec == nullptr) return std::nullopt;
  size_t argc = is_write_command(argv[0]) ? split_fence(argv).command.size() : argv.size();
  if (resp::arity_ok(*spec, argc)) return std::nullopt;
  return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command", spec->name));
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
    case Reply::Kind::kSet:
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
  for (const std::vector<std::string>& command : commands) {
    std::vector<std::string_view> argv(command.begin(), command.end());
    // As the server queues: THE table's arity, then kv's checks, command by command.
    if (std::optional<Reply> err = table_arity_error(argv)) return *err;
    if (std::optional<Reply> err = check_queued(argv, now_ms_)) return *err;
  }
  auto encoded = encode_transaction(commands, watched, now_ms_);
  if (auto* err = std::get_if<Reply>(&encoded)) return *err;
  return propose(std::move(std::get<std::string>(encoded)));
}

Reply Harness::run(std::span<const std::string_view> argv) {
  if (std::optional<Reply> err = table_arity_error(argv)) return *err;
  if (!argv.empty() && !is_read_argv(argv) && is_write_command(argv[0])) {
    auto encoded = encode_write(argv, now_ms_);
    if (auto* err = std::get_if<Reply>(&encoded)) return *err;
    return propose(std::move(std::get<std::string>(encoded)));
  }
  return store_.read(argv, now_ms_, random_++ * 0x9E3779B97F4A7C15ull);
}

}  // namespace bw::kv::testing
