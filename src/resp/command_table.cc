#include "resp/command_table.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "absl/strings/ascii.h"
#include "resp/command_data.h"

namespace bw::resp {
namespace {

// Longer names are unknown: lets lookups lowercase into a fixed stack buffer.
constexpr size_t kCommandNameBytesMax = 64;

const CommandSpec* find_in(std::span<const CommandSpec> table, std::string_view lower) {
  auto it =
      std::lower_bound(table.begin(), table.end(), lower,
                       [](const CommandSpec& spec, std::string_view n) { return spec.name < n; });
  if (it == table.end() || it->name != lower) return nullptr;
  return &*it;
}

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  if (name.empty() || name.size() > kCommandNameBytesMax) return nullptr;
  std::array<char, kCommandNameBytesMax> lower;
  for (size_t i = 0; i < name.size(); ++i) lower[i] = absl::ascii_tolower(name[i]);
  return find_in(command_data(), {lower.data(), name.size()});
}

const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name) {
  if (container.subcommands.empty()) return nullptr;
  // Subcommand names are "container|sub".
  const size_t prefix = container.name.size() + 1;
  if (name.empty() || prefix + name.size() > kCommandNameBytesMax) return nullptr;
  std::array<char, kCommandNameBytesMax> full;
  std::copy(container.name.begin(), container.name.end(), full.begin());
  full[container.name.size()] = '|';
  for (size_t i = 0; i < name.size(); ++i) full[prefix + i] = absl::ascii_tolower(name[i]);
  return find_in(container.subcommands, {full.data(), prefix + name.size()});
}

std::span<const CommandSpec> all_commands() {
  return command_data();
}

bool arity_ok(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-static_cast<int64_t>(spec.arity));
}

std::vector<size_t> command_key_indexes(const CommandSpec& spec,
                                        std::span<const std::string_view> argv) {
  std::vector<size_t> indexes;
  const int64_t argc = static_cast<int64_t>(argv.size());
  if (spec.key_count_index > 0) {
    const auto at = static_cast<size_t>(spec.key_count_index);
    if (at >= argv.size()) return indexes;
    int64_t n = 0;
    const std::string_view count = argv[at];
    auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (ec != std::errc() || end != count.data() + count.size() || n < 0) return indexes;
    for (size_t i = at + 1; i < argv.size() && i <= at + static_cast<uint64_t>(n); ++i) {
      indexes.push_back(i);
    }
    return indexes;
  }
  if (spec.first_key <= 0 || spec.key_step <= 0) return indexes;
  int64_t last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
  last = std::min(last, argc - 1);
  for (int64_t i = spec.first_key; i <= last; i += spec.key_step) {
    indexes.push_back(static_cast<size_t>(i));
  }
  return indexes;
}

std::vector<std::string_view> command_key_positions(const CommandSpec& spec,
                                                    std::span<const std::string_view> argv) {
  std::vector<std::string_view> keys;
  for (size_t i : command_key_indexes(spec, argv)) keys.push_back(argv[i]);
  return keys;
}

}  // namespace bw::resp
