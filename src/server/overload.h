// Overload protection limits shared by the node's parts (docs/security.md, "Overload
// protection").
#pragma once

#include <cstdint>
#include <string_view>

namespace bw::server {

// File descriptors kept for the node itself besides one per client: listeners, peer links, the
// write-ahead log's segments, snapshots, the metrics endpoint. The open-files limit is raised to
// maxclients + kReservedFds at start.
inline constexpr uint64_t kReservedFds = 128;
// Step by which the open-files limit asked for is lowered until the kernel grants it.
inline constexpr uint64_t kOpenFilesStep = 16;
// How often idle clients are looked for (timeout).
inline constexpr int64_t kIdleCheckIntervalMs = 1000;
// Redis's reply to a write that may grow memory while the dataset is over maxmemory.
inline constexpr std::string_view kOomError =
    "OOM command not allowed when used memory > 'maxmemory'.";

// Raises RLIMIT_NOFILE so `maxclients` clients fit (maxclients + kReservedFds). Returns the
// maxclients the limit allows: `maxclients` itself, or less when the limit could not be raised
// that far (logged as Redis logs it).
uint64_t adjust_open_files_limit(uint64_t maxclients);

}  // namespace bw::server
