// Encoding of write commands into Raft entry payloads (leader side) and their decoding (apply
// side, in store.cc). Everything that must be identical on every replica is decided here and
// written into the payload: the leader's wall clock `now_ms`, from which the entry's time (for
// every expiry decision and relative deadline) is max(now_ms, Store::clock_ms()) at apply.
// Format, version 1:
//
//   payload  := format_version:u8 (=1)  now_ms:u64le  body
//   body     := kind:u8 ...
//     kind 1 (command): opcode:u8  argc:varint  (len:varint bytes){argc}    args after the name
//                       SPOP's args end with one the client did not write: the leader's seed
//                       (u64le, 8 bytes), from which every replica derives the same choice.
//     kind 2 (expire) : key:bytes  deadline_ms:u64le   delete key iff its deadline == deadline_ms
//     kind 3 (batch)  : watch_count:varint  (key:bytes version:varint){watch_count}
//                       count:varint  (item:bytes){count}                    MULTI/EXEC
//                       item := a kind 1 or kind 4 body; inside a batch kind 1 may also carry a
//                       read opcode (GET inside MULTI is evaluated at apply)
//     kind 4 (fenced) : name:bytes  token:varint  command:(kind 1 body)    write ... FENCE n t
//     kind 5 (expire lease)   : id:varint  deadline_ms:u64le   iff its deadline is unchanged
//     kind 6 (expire election): name:bytes  token:varint       iff token current and lapsed
//     kind 7 (extend)         : extra_ms:u64le   failover rule (encode_extend_leases)
//     kind 8 (evict)          : count:varint  (key:bytes){count}   maxmemory eviction
//     kind 9 (acl users)      : mode:u8  base:varint  count:varint
//                               (name:bytes user_base:varint definition:bytes){count}
//                               mode 0 updates the named users, each only if its last change is
//                               still at user_base (0: absent); an empty definition deletes.
//                               mode 1 replaces every user, only if the last ACL change of all
//                               is still at base (encode_acl_users).
//
// A new command gets a new opcode (read opcodes are part of the format too, since transactions
// carry reads); existing kinds never change.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "kv/reply.h"

namespace bw::kv {

inline constexpr uint8_t kPayloadFormatVersion = 1;
// Redis's limit on string values (proto-max-bulk-len default); SETRANGE and APPEND respect it.
inline constexpr uint64_t kValueBytesMax = 512ull * 1024 * 1024;

// Leader side, before proposing a write. `argv[0]` is the command name (any case). Validates the
// command name and syntax (options, integers, expire times) and encodes the command plus `now_ms`
// into an entry payload. Returns the payload, or the error Reply to send right away (e.g.
// "ERR syntax error", "ERR value is not an integer or out of range",
// "ERR invalid expire time in 'set' command") so bad commands never reach the log.
// REQUIRES: argv without a trailing FENCE fits the arity THE command table (resp) gives its
// name; kv keeps no copy of it (the server checks, as Redis does before calling a command).
// Thread safe. Pure except for one thing: a command whose effect is random (SPOP) gets a 64-bit
// seed from a per-thread generator seeded by std::random_device, appended to its arguments in
// the entry, from which every replica derives the same choice.
std::variant<std::string, Reply> encode_write(std::span<const std::string_view> argv,
                                              int64_t now_ms);

// Internal command the leader proposes for active expiry: delete `key` only if its deadline is
// still `deadline_ms` (a later SET/EXPIRE/PERSIST that changed it wins). Thread safe.
std::string encode_expire_key(std::string_view key, int64_t deadline_ms, int64_t now_ms);

// True if `name` (any case) is a write command encode_write accepts; false for read commands
// (Store::read) and unknown names. "lease" counts as a write although LEASE TTL is a read: route
// with is_read_argv first.
bool is_write_command(std::string_view name);
// True if `name` (any case) is a command Store::read evaluates.
bool is_read_command(std::string_view name);
// True if Store::read evaluates this command line: is_read_command(argv[0]) or LEASE TTL.
// Servers route on this before is_write_command.
bool is_read_argv(std::span<const std::string_view> argv);
// Both answers for one command line from a single lookup of its name (a server asks them of
// every command): write_name == is_write_command(argv[0]), read == is_read_argv(argv).
struct CommandKind {
  bool write_name = false;
  bool read = false;
};
CommandKind command_kind(std::span<const std::string_view> argv);

// ---- Coordination (versions, transactions, leases, elections, fencing, PUBLISH) ----
//
// encode_write also accepts: CAS, SET ... IFVER v / LEASE id, LEASE GRANT|KEEPALIVE|REVOKE, ELECT,
// ELECT.KEEPALIVE, ELECT.RESIGN, LOCK, UNLOCK, PUBLISH, and a trailing `FENCE name token` on any
// write (docs/commands.md has syntax and replies). ELECT/LOCK accept `BLOCK timeout-ms` (stripped:
// blocking is the server's job; see block_timeout_ms).

// A trailing `FENCE name token` split off a command line. The rule: if argv has at least 4 words
// and argv[size-3] is FENCE (any case), the last three words are the fence, whatever the command.
struct FenceSplit {
  std::span<const std::string_view> command;  // argv without the fence
  bool fenced = false;
  std::string_view name;  // when fenced
  std::string_view token_text;
};
FenceSplit split_fence(std::span<const std::string_view> argv);

// ELECT/LOCK: the BLOCK option's timeout in ms (0 = no limit), or nullopt when absent or when
// argv is not ELECT/LOCK. encode_write validates it (non-negative integer) and leaves it out of
// the payload. Pure.
std::optional<int64_t> block_timeout_ms(std::span<const std::string_view> argv);

// MULTI/EXEC: one entry that applies `commands` in order atomically. `watched` holds the version
// each WATCHed key had when WATCH ran (Store::version_of; 0 = absent). Returns the payload, or the
// error Reply of the first command that cannot be queued (unknown command, syntax, or a
// command not allowed in a transaction: LEASE GRANT, ELECT, LOCK, since their id is the entry's
// index). Reads (GET, MGET, GETVER, ELECT.LEADER, ...) are allowed and answered at apply.
// REQUIRES: each command fits THE command table's arity, as for encode_write (the server checks
// it when the command is queued). Thread safe; pure except for SPOP's seeds (encode_write).
std::variant<std::string, Reply> encode_transaction(
    const std::vector<std::vector<std::string>>& commands,
    const std::vector<std::pair<std::string, uint64_t>>& watched, int64_t now_ms);
// The same checks for one command at MULTI queue time (Redis answers QUEUED or the error then).
// Returns nullopt if the command may be queued. `now_ms` is the node's wall clock, as for
// encode_write: it only bounds relative deadlines (overflow) and judges no key's existence, so it
// need not be the log's time; the EXEC entry parses every command again at its own time.
std::optional<Reply> check_queued(std::span<const std::string_view> argv, int64_t now_ms);

// Leader-driven expiry of a lease: revokes lease `id` (deleting its keys, "expired" events) iff
// its deadline is still `deadline_ms` and <= the entry's now_ms. Thread safe.
std::string encode_expire_lease(uint64_t id, int64_t deadline_ms, int64_t now_ms);
// Leader-driven expiry of an election/lock holder: frees `name` iff its token is still `token`
// and its deadline <= the entry's now_ms. Thread safe.
std::string encode_expire_election(std::string_view name, uint64_t token, int64_t now_ms);
// Failover rule: a new leader proposes this before proposing any expiry. Every lease and every
// election holder still present gets deadline = max(deadline, now_ms) + extra_ms (pass one
// election timeout), so time the cluster spent without a leader never ends a lease early.
// Thread safe.
std::string encode_extend_leases(int64_t extra_ms, int64_t now_ms);

// maxmemory eviction, decided by the leader (eviction.h): deletes each of `keys` that exists,
// whatever its deadline, with an "evicted" event. Replies the number deleted. At most
// kEvictKeysMax keys (the decoder's bound). Thread safe.
inline constexpr size_t kEvictKeysMax = 4096;
std::string encode_evict_keys(std::span<const std::string> keys, int64_t now_ms);

// ---- Blocking list pops ----
//
// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP are held by the server, which proposes them as one
// attempt each time a watched key may hold a list: applied, an attempt pops like LPOP/LMOVE/LMPOP
// (replying [key, element], the element, or [key, [elements]]), or finds every list empty and
// replies the integer index of its own entry, after which the server waits for a list event on
// a key. Inside MULTI an attempt that finds nothing replies nil, as Redis's blocking commands do
// in a transaction.
struct BlockingPop {
  bool valid = false;      // syntax and timeout as Redis checks them; else route it once
  int64_t timeout_ms = 0;  // 0: wait forever
  std::vector<std::string_view> keys;  // the lists whose events wake it
  bool null_array = false;  // out of time: a nil array (BLPOP BRPOP BLMPOP) or a nil bulk
};
// nullopt if argv is not a blocking pop. Thread safe (pure function).
std::optional<BlockingPop> blocking_pop(std::span<const std::string_view> argv);

// ---- ACL users ----
//
// kv keeps the users as opaque canonical definitions (the server's ACL rule engine writes and
// reads them; kv never interprets one) with the log index of each user's last change. The
// leader computes new definitions from its applied state and names the state it computed from,
// so a change made meanwhile by another entry refuses this one instead of being overwritten.

// One user of an ACL entry.
struct AclUserChange {
  std::string name;
  uint64_t base = 0;       // mode kUpdate: the user's last change index seen (0: absent)
  std::string definition;  // empty: delete the user (kUpdate only)
};
enum class AclMode : uint8_t {
  kUpdate = 0,      // change the named users, each only if unchanged since its base
  kReplaceAll = 1,  // the users become exactly these, only if no ACL change since `base`
};
// Bounds a decoder enforces on an ACL entry and on the users of a snapshot image.
inline constexpr uint64_t kAclUsersMax = 10000;
inline constexpr uint64_t kAclUserNameBytesMax = 1024;
inline constexpr uint64_t kAclDefinitionBytesMax = 1 << 20;
// The reply when a user changed between the leader's reading and the entry's applying.
inline constexpr std::string_view kAclConflictError =
    "TRYAGAIN the ACL user changed concurrently; retry the command";

// Leader side. Applied, the entry answers OK, or for an update that deletes users the number of
// users deleted, or kAclConflictError (nothing changed). Thread safe (pure function).
std::string encode_acl_users(AclMode mode, uint64_t base, const std::vector<AclUserChange>& users,
                             int64_t now_ms);

}  // namespace bw::kv
