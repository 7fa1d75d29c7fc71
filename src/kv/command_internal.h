// Internal to kv: the command table, the parsed form of a write command and payload decoding.
// Shared by command.cc (leader encodes), store.cc (replicas apply) and the fuzz target.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "kv/reply.h"

namespace bw::kv {

// ASCII case-insensitive equality (command names and options). absl's EqualsIgnoreCase takes
// absl::string_view, which the packaged abseil does not alias to std::string_view.
inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::ranges::equal(a, b, [&](char x, char y) { return lower(x) == lower(y); });
}

// Opcodes of write commands are part of the log format: never renumber, only append. Read
// commands never reach the log; their numbers are free to change.
enum class Op : uint8_t {
  kSet = 1,
  kSetNx = 2,
  kSetEx = 3,
  kPSetEx = 4,
  kGetSet = 5,
  kGetDel = 6,
  kGetEx = 7,
  kMSet = 8,
  kMSetNx = 9,
  kDel = 10,
  kUnlink = 11,
  kIncr = 12,
  kDecr = 13,
  kIncrBy = 14,
  kDecrBy = 15,
  kIncrByFloat = 16,
  kAppend = 17,
  kSetRange = 18,
  kExpire = 19,
  kPExpire = 20,
  kExpireAt = 21,
  kPExpireAt = 22,
  kPersist = 23,
  kRename = 24,
  kRenameNx = 25,
  kFlushAll = 26,
  kFlushDb = 27,
  kWriteLast = kFlushDb,
  // Read-only commands (Store::read).
  kGet = 128,
  kMGet,
  kExists,
  kStrLen,
  kGetRange,
  kTtl,
  kPTtl,
  kExpireTime,
  kPExpireTime,
  kType,
  kKeys,
  kScan,
  kRandomKey,
  kDbSize,
  kGetVer,
};

struct CommandSpec {
  std::string_view name;  // lower case, as Redis spells it in error messages
  Op op;
  int arity;  // Redis convention: n = exactly n words with the name, -n = at least n
  bool write;
};

// Case-insensitive lookup; null for names kv does not know.
const CommandSpec* find_command(std::string_view name);
// REQUIRES: op is a defined opcode.
const CommandSpec& command_spec(Op op);
bool is_write_opcode(uint8_t op);

// "ERR wrong number of arguments for 'get' command", or nullopt if `argc` (with the name) fits.
bool arity_ok(const CommandSpec& spec, size_t argc);
Reply arity_error(const CommandSpec& spec);

// A write command after syntax checks. Absolute deadlines are computed from the entry's now_ms.
struct WriteCmd {
  enum class Cond : uint8_t { kNone, kNx, kXx };
  enum class Ttl : uint8_t { kClear, kKeep, kSet, kPersist, kUnchanged };
  Op op;
  std::vector<std::string_view> args;  // arguments after the command name
  Cond cond = Cond::kNone;
  bool get = false;                // SET ... GET
  Ttl ttl = Ttl::kClear;           // SET family: what happens to the deadline
  int64_t deadline_ms = 0;         // when ttl == kSet; EXPIRE family: the absolute time asked for
  bool deadline_absolute = false;  // EXAT/PXAT (GETEX deletes the key if already past)
  int64_t amount = 0;              // INCRBY/DECRBY delta, SETRANGE offset
  long double float_amount = 0;    // INCRBYFLOAT
  uint8_t expire_flags = 0;        // EXPIRE: kExpireNx | kExpireXx | kExpireGt | kExpireLt
};
inline constexpr uint8_t kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8;

// Syntax checks and parsing of a write command's arguments (after the name); the error Reply is
// what the client gets. Pure: the same (op, args, now_ms) always gives the same result, which is
// what lets the leader check once and every replica parse again at apply.
// REQUIRES: arity already checked.
std::variant<WriteCmd, Reply> parse_write(Op op, std::vector<std::string_view> args,
                                          int64_t now_ms);

// A decoded entry payload (see command.h for the format). Views point into the payload.
struct DecodedCommand {
  Op op;
  std::vector<std::string_view> args;
};
struct DecodedExpire {
  std::string_view key;
  int64_t deadline_ms;
};
struct DecodedPayload {
  int64_t now_ms = 0;
  std::variant<DecodedCommand, DecodedExpire> body;
};
// Bounds a decoder enforces (defence against a corrupt entry; the leader never exceeds them).
inline constexpr uint64_t kPayloadArgsMax = 1024 * 1024;
inline constexpr uint64_t kPayloadArgBytesMax = 512ull * 1024 * 1024;

Result<DecodedPayload> decode_payload(std::string_view payload);

}  // namespace bw::kv
