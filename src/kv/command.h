// Encoding of write commands into Raft entry payloads (leader side) and their decoding (apply
// side, in store.cc). Everything that must be identical on every replica is decided here and
// written into the payload: the leader's wall clock `now_ms` is the time for every expiry decision
// the entry makes. Format, version 1:
//
//   payload  := format_version:u8 (=1)  now_ms:u64le  body
//   body     := kind:u8 ...
//     kind 1 (command): opcode:u8  argc:varint  (len:varint bytes){argc}    args after the name
//     kind 2 (expire) : key:bytes  deadline_ms:u64le   delete key iff its deadline == deadline_ms
//     kind 3 (batch)  : count:varint  (len:varint command-body){count}     reserved for MULTI/EXEC
//
// A new command gets a new opcode; a transaction is a batch of command bodies applied atomically,
// so adding MULTI/EXEC needs no change to existing payloads.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "kv/reply.h"

namespace bw::kv {

inline constexpr uint8_t kPayloadFormatVersion = 1;
// Redis's limit on string values (proto-max-bulk-len default); SETRANGE and APPEND respect it.
inline constexpr uint64_t kValueBytesMax = 512ull * 1024 * 1024;

// Leader side, before proposing a write. `argv[0]` is the command name (any case). Validates the
// command name, arity and syntax (options, integers, expire times) and encodes the command plus
// `now_ms` into an entry payload. Returns the payload, or the error Reply to send right away (e.g.
// "ERR syntax error", "ERR value is not an integer or out of range",
// "ERR invalid expire time in 'set' command") so bad commands never reach the log.
// Thread safe (pure function).
std::variant<std::string, Reply> encode_write(std::span<const std::string_view> argv,
                                              int64_t now_ms);

// Internal command the leader proposes for active expiry: delete `key` only if its deadline is
// still `deadline_ms` (a later SET/EXPIRE/PERSIST that changed it wins). Thread safe.
std::string encode_expire_key(std::string_view key, int64_t deadline_ms, int64_t now_ms);

// True if `name` (any case) is a write command encode_write accepts; false for read commands
// (Store::read) and unknown names.
bool is_write_command(std::string_view name);
// True if `name` (any case) is a command Store::read evaluates.
bool is_read_command(std::string_view name);

}  // namespace bw::kv
