// INFO and ROLE replies, in Redis's formats, with a `raft` section of Bellwether's own.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "resp/writer.h"

namespace bw::server {

class Node;

// The process's resident memory (RSS) in bytes, from /proc/self/statm.
uint64_t resident_memory_bytes();

// INFO [section ...]: "default"/"all"/"everything" or named sections, case-insensitive.
std::string render_info(const Node& node, std::span<const std::string_view> sections);
void write_role(const Node& node, resp::Writer& w);

}  // namespace bw::server
