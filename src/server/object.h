// OBJECT ENCODING / REFCOUNT / HELP: how Redis 7.0 would store a key's value, judged from this
// node's applied state (a local read, as DEBUG OBJECT's).
#pragma once

#include <span>
#include <string_view>

#include "kv/store.h"
#include "resp/writer.h"

namespace bw::server {

// Redis's encoding thresholds as redis-server 7.0.15 reports them (CONFIG GET): a value past them
// leaves the compact encoding.
inline constexpr size_t kEmbstrBytesMax = 44;             // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
inline constexpr int64_t kListpackHashEntriesMax = 512;   // hash-max-listpack-entries
inline constexpr size_t kListpackHashValueBytesMax = 64;  // hash-max-listpack-value
inline constexpr int64_t kIntsetEntriesMax = 512;         // set-max-intset-entries

// argv: OBJECT <subcommand> [key]. REQUIRES: argv.size() >= 2.
void write_object_reply(const kv::Store& store, std::span<const std::string_view> argv,
                        resp::Writer& w);

}  // namespace bw::server
