// Internal to kv: the names kv encodes, the parsed form of a write command and payload decoding.
// Shared by command.cc (leader encodes), store.cc (replicas apply) and the fuzz target.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/codec.h"
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
  kCas = 28,
  kLeaseGrant = 29,
  kLeaseKeepAlive = 30,
  kLeaseRevoke = 31,
  kElect = 32,
  kElectKeepAlive = 33,
  kElectResign = 34,
  kLock = 35,
  kUnlock = 36,
  kPublish = 37,
  // Hashes (hash.cc).
  kHSet = 38,
  kHSetNx = 39,
  kHMSet = 40,
  kHDel = 41,
  kHIncrBy = 42,
  kHIncrByFloat = 43,
  // Sets (set.cc).
  kSAdd = 44,
  kSRem = 45,
  kSPop = 46,
  kSMove = 47,
  kSInterStore = 48,
  kSUnionStore = 49,
  kSDiffStore = 50,
  kSPublish = 51,
  // Lists (list.cc).
  kLPush = 52,
  kRPush = 53,
  kLPushX = 54,
  kRPushX = 55,
  kLPop = 56,
  kRPop = 57,
  kLSet = 58,
  kLInsert = 59,
  kLRem = 60,
  kLTrim = 61,
  kLMove = 62,
  kRPopLPush = 63,
  kLMPop = 64,
  // The blocking pops: one attempt each (list.cc); the server waits between attempts.
  kBLPop = 65,
  kBRPop = 66,
  kBLMove = 67,
  kBRPopLPush = 68,
  kBLMPop = 69,
  kCopy = 70,
  kWriteLast = kCopy,
  // Read-only commands (Store::read). Transactions carry them in the log, so these numbers are
  // part of the format as well: only append.
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
  kLeaseTtl,
  kElectLeader,
  kHGet,
  kHMGet,
  kHGetAll,
  kHKeys,
  kHVals,
  kHLen,
  kHExists,
  kHStrLen,
  kHRandField,
  kHScan,
  kSMembers,
  kSIsMember,
  kSMIsMember,
  kSCard,
  kSRandMember,
  kSInter,
  kSUnion,
  kSDiff,
  kSInterCard,
  kSScan,
  kLLen,
  kLRange,
  kLIndex,
  kLPos,
  kTouch,
  kReadLast = kTouch,
};
static_assert(static_cast<int>(Op::kGetVer) == 142, "read opcodes are part of the log format");
static_assert(static_cast<int>(Op::kHGet) == 145, "read opcodes are part of the log format");
static_assert(static_cast<int>(Op::kSScan) == 164, "read opcodes are part of the log format");

bool is_write_opcode(uint8_t op);
bool is_read_opcode(uint8_t op);

// What kv knows of a command: the opcode its name encodes to, which also says whether it is a
// write (goes through the log) or a read (Store::read). Arity, flags and key positions are THE
// command table's (resp, which kv does not include): the server checks a command against it
// before the command reaches kv, as Redis checks arity before calling a command's proc.
struct CommandSpec {
  constexpr CommandSpec(std::string_view name_in, Op op_in, bool takes_index_in = false)
      : name(name_in),
        op(op_in),
        takes_index(takes_index_in),
        words_(name_in.find('|') == std::string_view::npos ? 1 : 2) {}

  std::string_view name;  // lower case, as THE table spells it ("lease|grant")
  Op op;
  // Creates an id from the entry's index (LEASE GRANT, ELECT, LOCK): not allowed in a
  // transaction, where several commands share one index.
  bool takes_index = false;

  bool write() const { return is_write_opcode(static_cast<uint8_t>(op)); }
  // Words naming the command: 1, or 2 for a subcommand (LEASE GRANT); args follow them.
  // Counted once, from the name, when the table is built: lookups ask on every command.
  size_t name_words() const { return words_; }

 private:
  size_t words_;
};

// Case-insensitive lookup by name; null for names kv does not know. "lease" finds the parent
// entry (op kLeaseGrant), which only find_argv resolves to a subcommand.
const CommandSpec* find_command(std::string_view name);
// Lookup of a whole command line, resolving LEASE's subcommand. Null if unknown; `*error` then
// holds the reply (unknown command or subcommand). REQUIRES: error != nullptr.
const CommandSpec* find_argv(std::span<const std::string_view> argv, Reply* error);
// REQUIRES: op is a defined opcode.
const CommandSpec& command_spec(Op op);
// Redis's replies to a command line with too few or too many words, and to an unknown name.
Reply arity_error(const CommandSpec& spec);
Reply unknown_command(std::span<const std::string_view> argv);

// "ERR wrong number of arguments for 'lease|grant' command" when a LEASE subcommand does not have
// its one argument (`argc` counts the name words). Node::execute checks LEASE's own arity from
// THE table but does not resolve subcommands, so this one check stays with kv's LEASE parsing.
std::optional<Reply> check_lease_args(const CommandSpec& spec, size_t argc);

// Bounds on what time-to-live arguments may ask for (LEASE GRANT, ELECT, LOCK): a year.
inline constexpr int64_t kCoordTtlMsMax = 365ll * 24 * 3600 * 1000;
// Bounds on a transaction (leader refuses more; the decoder treats more as corruption).
inline constexpr size_t kTransactionCommandsMax = 65536;
inline constexpr size_t kWatchedKeysMax = 65536;

// A write command after syntax checks. Absolute deadlines are computed from the entry's time.
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
  bool if_version = false;         // SET ... IFVER (expected_version), CAS
  uint64_t expected_version = 0;   // 0 = the key must not exist
  uint64_t lease_id = 0;           // SET ... LEASE; LEASE KEEPALIVE/REVOKE
  uint64_t token = 0;              // ELECT.KEEPALIVE/RESIGN, UNLOCK
  int64_t ttl_ms = 0;              // LEASE GRANT, ELECT, LOCK
  int64_t block_ms = -1;           // ELECT/LOCK BLOCK option (leader side only; not encoded)
  uint64_t seed = 0;               // SPOP: the leader's random seed (kSeedBytes in the entry)
};
inline constexpr uint8_t kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8;

// Where a write's arguments come from. An entry may carry arguments the leader added after the
// client's: SPOP's seed (kSeedBytes, little-endian), the last argument, which a client cannot
// pass (the leader parses the client's words alone and then appends its own seed).
enum class ArgsFrom : uint8_t { kClient, kLog };
inline constexpr size_t kSeedBytes = 8;
// True for the commands whose entry carries a seed.
inline bool takes_seed(Op op) {
  return op == Op::kSPop;
}

// Syntax checks and parsing of a write command's arguments (after the name); the error Reply is
// what the client gets. Pure: the same (op, args, now_ms, from) always gives the same result,
// which is what lets the leader check once and every replica parse again at apply.
// REQUIRES: the command's arity fits THE command table (the server checked it).
std::variant<WriteCmd, Reply> parse_write(Op op, std::vector<std::string_view> args, int64_t now_ms,
                                          ArgsFrom from);
// A blocking command's timeout (BLPOP ... timeout): seconds, fractions allowed, 0 = no limit.
// The time in ms (rounded up), -1 if negative, nullopt if not a number or above
// kBlockTimeoutMsMax. parse_block_timeout: the same as Redis's error reply.
inline constexpr int64_t kBlockTimeoutMsMax = 365ll * 24 * 3600 * 1000 * 100;
std::optional<int64_t> block_timeout_ms_of(std::string_view text);
std::optional<Reply> parse_block_timeout(std::string_view text);
// LMPOP-style arguments after the name: numkeys key [key ...] end [COUNT count], where end is
// `end1` or `end2` (LEFT/RIGHT, MIN/MAX); nullopt if valid, else Redis's error reply.
std::optional<Reply> parse_mpop(std::span<const std::string_view> args, std::string_view end1,
                                std::string_view end2);

// A decoded entry payload (see command.h for the format). Views point into the payload.
struct DecodedCommand {
  Op op;
  std::vector<std::string_view> args;
  bool fenced = false;  // kind 4: apply only if `fence_token` is `fence_name`'s live token
  std::string_view fence_name;
  uint64_t fence_token = 0;
};
struct DecodedExpire {
  std::string_view key;
  int64_t deadline_ms;
};
struct DecodedBatch {
  std::vector<std::pair<std::string_view, uint64_t>> watched;  // key, version (0 = absent)
  std::vector<DecodedCommand> commands;                        // may hold read opcodes
};
struct DecodedExpireLease {
  uint64_t id;
  int64_t deadline_ms;
};
struct DecodedExpireElection {
  std::string_view name;
  uint64_t token;
};
struct DecodedExtend {
  int64_t extra_ms;
};
struct DecodedEvict {
  std::vector<std::string_view> keys;
};
struct DecodedAclUser {
  std::string_view name;
  uint64_t base;
  std::string_view definition;  // empty: delete
};
struct DecodedAcl {
  uint8_t mode;  // AclMode
  uint64_t base;
  std::vector<DecodedAclUser> users;
};
struct DecodedPayload {
  int64_t now_ms = 0;
  std::variant<DecodedCommand, DecodedExpire, DecodedBatch, DecodedExpireLease,
               DecodedExpireElection, DecodedExtend, DecodedEvict, DecodedAcl>
      body;
};
// Bounds a decoder enforces (defence against a corrupt entry; the leader never exceeds them).
inline constexpr uint64_t kPayloadArgsMax = 1024 * 1024;
inline constexpr uint64_t kPayloadArgBytesMax = 512ull * 1024 * 1024;

Result<DecodedPayload> decode_payload(std::string_view payload);

// Shared by the encoders of command.cc and acl_payload.cc.
inline constexpr uint8_t kAclPayloadKind = 9;
// The kind byte of a payload body (command.h), shared by the encoders and decode.cc.
enum class PayloadKind : uint8_t {
  kCommand = 1,
  kExpireKey = 2,
  kBatch = 3,
  kFenced = 4,
  kExpireLease = 5,
  kExpireElection = 6,
  kExtend = 7,
  kEvict = 8,
  kAclUsers = 9,
};
static_assert(static_cast<uint8_t>(PayloadKind::kAclUsers) == kAclPayloadKind);
// The payload prefix every kind shares: format version and the leader's now_ms.
void write_header(ByteWriter& w, int64_t now_ms);
// After the kind byte of a kind 9 body.
Result<DecodedAcl> decode_acl_body(ByteReader& r);

}  // namespace bw::kv
