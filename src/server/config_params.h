// The configuration parameters: one table naming every parameter CONFIG GET, CONFIG SET and
// CONFIG REWRITE know, how to read it from a NodeConfig, whether it may change while the node runs,
// how a value is checked, and its command-line flag / config-file key. docs/operations.md
// ("Configuration") lists the same table; a unit test keeps them in step.
//
// Names are Redis's where Redis has the parameter (appendfsync, notify-keyspace-events, ...), else
// the command-line flag's name. CONFIG SET follows Redis 7: several parameters at once, all or
// none, with Redis's error texts.
//
// Thread safety: none; pure functions over a NodeConfig the caller owns.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/config.h"

namespace bw::server {

// Named bounds of the values CONFIG SET and the flags accept.
inline constexpr uint64_t kProtoMaxBulkLenMin = 1ull << 20;        // Redis's minimum: 1mb
inline constexpr uint64_t kProtoMaxBulkLenMax = 1ull << 30;        // the parser's buffer cap
inline constexpr uint64_t kClientOutputBytesMin = 1ull << 20;      // 1mb
inline constexpr uint64_t kClientOutputBytesMax = 64ull << 30;     // 64gb
inline constexpr uint64_t kSlowlogMaxLenMax = 1ull << 20;          // entries
inline constexpr uint64_t kLatencyThresholdMsMax = 86400000;       // one day
inline constexpr uint64_t kSnapshotEntriesMax = 1000000000000ull;  // 10^12 entries
inline constexpr uint64_t kShutdownTransferMsMax = 600000;         // ten minutes
inline constexpr uint64_t kWalPreallocateBytesMax = 64ull << 20;   // a whole WAL segment
inline constexpr uint64_t kMaxClientsMin = 1;                      // Redis's bounds
inline constexpr uint64_t kMaxClientsMax = 1000000;
inline constexpr uint64_t kMaxMemoryMax = 1ull << 50;           // 1 PiB
inline constexpr uint64_t kQueryBufferLimitMin = 1ull << 20;    // Redis's minimum: 1mb
inline constexpr uint64_t kQueryBufferLimitMax = 1ull << 30;    // the parser's buffer cap
inline constexpr uint64_t kIdleTimeoutSecondsMax = 1ull << 31;  // Redis's: INT_MAX

// How CONFIG REWRITE writes a value into the TOML/INI file CLI11 reads.
enum class FileValue : uint8_t {
  kNone,    // not written: a fixed value reported for Redis tools, or no flag
  kString,  // "quoted"
  kNumber,  // bare
  kBool,    // true / false (CONFIG GET shows yes / no)
};

struct ConfigParam {
  std::string_view name;      // CONFIG GET/SET name, lower case
  std::string_view file_key;  // the flag (--file_key) and config-file key; empty: none
  FileValue file_value;
  std::string_view meaning;  // one line, for the documentation (the default is get(NodeConfig{}))
  // Why the value may or may not change at run time (documentation).
  std::string_view run_time;
  bool mutable_at_run_time;
  std::string (*get)(const NodeConfig& config);
  // Checks `value` and stores it in *config; the error is Redis's text after "- " (e.g.
  // "argument must be 'yes' or 'no'"). Null for values that are only reported.
  Status (*parse)(NodeConfig* config, std::string_view value);
};

std::span<const ConfigParam> config_params();
// By name, case-insensitive; null if unknown.
const ConfigParam* find_config_param(std::string_view name);

// CONFIG GET pattern...: (name, value) of every parameter matching one of the glob patterns
// (case-insensitive), each once, in table order.
std::vector<std::pair<std::string, std::string>> config_get(
    const NodeConfig& config, std::span<const std::string_view> patterns);

// CONFIG SET name value [name value ...], all or none: nullopt with *config changed, or Redis's
// whole error line with *config untouched.
std::optional<std::string> config_set(NodeConfig* config,
                                      std::span<const std::string_view> names_and_values);

// Stores a value given by a flag or the config file at start, whether mutable or not. Errors
// name the key.
Status set_config_value(NodeConfig* config, std::string_view name, std::string_view value);

// "512mb", "1gb", "100" -> bytes, as Redis's memory values (k = 1000, kb = 1024, ...).
std::optional<uint64_t> parse_memory_value(std::string_view text);
// spdlog's level for a loglevel value: spdlog's names and Redis's (debug, verbose, notice,
// warning, nothing).
std::optional<int> parse_log_level(std::string_view text);

// The table as Markdown rows (name, flag / file key, default, changes at run time, meaning):
// docs/operations.md holds this text, checked by a unit test.
std::string config_params_markdown();

// CONFIG REWRITE's text: `file` (the TOML/INI file the node started with) with the value of every
// key the table writes replaced in place, comments and other lines kept, and the keys whose
// running value differs from the default and that the file lacks appended at the end.
// (The node writes it with storage::write_file_atomic: temp file, fsync, rename, fsync.)
std::string rewrite_config_text(std::string_view file, const NodeConfig& config);

}  // namespace bw::server
