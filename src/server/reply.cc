#include "server/reply.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/assert.h"

namespace bw::server {

namespace {
constexpr size_t kEchoedArgBytesMax = 128;  // as Redis: unknown-command errors quote at most this

std::string printable(std::string_view s) {
  std::string out(s.substr(0, kEchoedArgBytesMax));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}
}  // namespace

void write_reply(resp::Writer& w, const kv::Reply& r) {
  using K = kv::Reply::Kind;
  switch (r.kind) {
    case K::kSimple:
      w.simple(r.str);
      return;
    case K::kError:
      w.error(r.str);
      return;
    case K::kInteger:
      w.integer(r.integer);
      return;
    case K::kBulk:
      w.bulk(r.str);
      return;
    case K::kNull:
      w.null();
      return;
    case K::kNullArray:
      w.null_array();
      return;
    case K::kArray:
      w.array(r.elements.size());
      for (const auto& e : r.elements) write_reply(w, e);
      return;
    case K::kMap:
      BW_ASSERT(r.elements.size() % 2 == 0);
      w.map(r.elements.size() / 2);
      for (const auto& e : r.elements) write_reply(w, e);
      return;
    case K::kDouble:
      w.double_value(r.dbl);
      return;
    case K::kSet:
      w.set(r.elements.size());
      for (const auto& e : r.elements) write_reply(w, e);
      return;
  }
  BW_UNREACHABLE("reply kind {}", static_cast<int>(r.kind));
}

std::string unknown_command_message(std::span<const std::string_view> argv) {
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < kEchoedArgBytesMax; ++i) {
    args += fmt::format("'{}' ", printable(argv[i]).substr(0, kEchoedArgBytesMax - args.size()));
  }
  return fmt::format("ERR unknown command '{}', with args beginning with: {}", printable(argv[0]),
                     args);
}

std::string unknown_subcommand_message(std::string_view container, std::string_view sub) {
  std::string upper(container);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", printable(sub), upper);
}

void write_help(resp::Writer& w, std::string_view container,
                std::initializer_list<std::string_view> lines) {
  w.array(lines.size() + 3);
  w.simple(fmt::format("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", container));
  for (std::string_view l : lines) w.simple(l);
  w.simple("HELP");
  w.simple("    Prints this help.");
}

}  // namespace bw::server
