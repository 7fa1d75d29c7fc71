// The names kv encodes and their lookup: every command line is looked up here once.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "common/assert.h"
#include "kv/command.h"
#include "kv/command_internal.h"

namespace bw::kv {

namespace {

// The names kv encodes, with their opcodes. Arity, flags and key positions: THE command table
// (resp/command_data.cc); the server checks them before a command gets here.
constexpr std::array kCommands = {
    CommandSpec{"set", Op::kSet},
    CommandSpec{"setnx", Op::kSetNx},
    CommandSpec{"setex", Op::kSetEx},
    CommandSpec{"psetex", Op::kPSetEx},
    CommandSpec{"getset", Op::kGetSet},
    CommandSpec{"getdel", Op::kGetDel},
    CommandSpec{"getex", Op::kGetEx},
    CommandSpec{"mset", Op::kMSet},
    CommandSpec{"msetnx", Op::kMSetNx},
    CommandSpec{"del", Op::kDel},
    CommandSpec{"unlink", Op::kUnlink},
    CommandSpec{"incr", Op::kIncr},
    CommandSpec{"decr", Op::kDecr},
    CommandSpec{"incrby", Op::kIncrBy},
    CommandSpec{"decrby", Op::kDecrBy},
    CommandSpec{"incrbyfloat", Op::kIncrByFloat},
    CommandSpec{"append", Op::kAppend},
    CommandSpec{"setrange", Op::kSetRange},
    CommandSpec{"expire", Op::kExpire},
    CommandSpec{"pexpire", Op::kPExpire},
    CommandSpec{"expireat", Op::kExpireAt},
    CommandSpec{"pexpireat", Op::kPExpireAt},
    CommandSpec{"persist", Op::kPersist},
    CommandSpec{"rename", Op::kRename},
    CommandSpec{"renamenx", Op::kRenameNx},
    CommandSpec{"flushall", Op::kFlushAll},
    CommandSpec{"flushdb", Op::kFlushDb},
    CommandSpec{"get", Op::kGet},
    CommandSpec{"mget", Op::kMGet},
    CommandSpec{"exists", Op::kExists},
    CommandSpec{"strlen", Op::kStrLen},
    CommandSpec{"getrange", Op::kGetRange},
    CommandSpec{"ttl", Op::kTtl},
    CommandSpec{"pttl", Op::kPTtl},
    CommandSpec{"expiretime", Op::kExpireTime},
    CommandSpec{"pexpiretime", Op::kPExpireTime},
    CommandSpec{"type", Op::kType},
    CommandSpec{"keys", Op::kKeys},
    CommandSpec{"scan", Op::kScan},
    CommandSpec{"randomkey", Op::kRandomKey},
    CommandSpec{"dbsize", Op::kDbSize},
    CommandSpec{"getver", Op::kGetVer},
    CommandSpec{"cas", Op::kCas},
    CommandSpec{"lease|grant", Op::kLeaseGrant, true},
    CommandSpec{"lease|keepalive", Op::kLeaseKeepAlive},
    CommandSpec{"lease|revoke", Op::kLeaseRevoke},
    CommandSpec{"lease|ttl", Op::kLeaseTtl},
    CommandSpec{"elect", Op::kElect, true},
    CommandSpec{"elect.keepalive", Op::kElectKeepAlive},
    CommandSpec{"elect.resign", Op::kElectResign},
    CommandSpec{"elect.leader", Op::kElectLeader},
    CommandSpec{"lock", Op::kLock, true},
    CommandSpec{"unlock", Op::kUnlock},
    CommandSpec{"publish", Op::kPublish},
    CommandSpec{"spublish", Op::kSPublish},
    CommandSpec{"hset", Op::kHSet},
    CommandSpec{"hsetnx", Op::kHSetNx},
    CommandSpec{"hmset", Op::kHMSet},
    CommandSpec{"hdel", Op::kHDel},
    CommandSpec{"hincrby", Op::kHIncrBy},
    CommandSpec{"hincrbyfloat", Op::kHIncrByFloat},
    CommandSpec{"hget", Op::kHGet},
    CommandSpec{"hmget", Op::kHMGet},
    CommandSpec{"hgetall", Op::kHGetAll},
    CommandSpec{"hkeys", Op::kHKeys},
    CommandSpec{"hvals", Op::kHVals},
    CommandSpec{"hlen", Op::kHLen},
    CommandSpec{"hexists", Op::kHExists},
    CommandSpec{"hstrlen", Op::kHStrLen},
    CommandSpec{"hrandfield", Op::kHRandField},
    CommandSpec{"hscan", Op::kHScan},
    CommandSpec{"lpush", Op::kLPush},
    CommandSpec{"rpush", Op::kRPush},
    CommandSpec{"lpushx", Op::kLPushX},
    CommandSpec{"rpushx", Op::kRPushX},
    CommandSpec{"lpop", Op::kLPop},
    CommandSpec{"rpop", Op::kRPop},
    CommandSpec{"lset", Op::kLSet},
    CommandSpec{"linsert", Op::kLInsert},
    CommandSpec{"lrem", Op::kLRem},
    CommandSpec{"ltrim", Op::kLTrim},
    CommandSpec{"lmove", Op::kLMove},
    CommandSpec{"rpoplpush", Op::kRPopLPush},
    CommandSpec{"lmpop", Op::kLMPop},
    CommandSpec{"blpop", Op::kBLPop},
    CommandSpec{"brpop", Op::kBRPop},
    CommandSpec{"blmove", Op::kBLMove},
    CommandSpec{"brpoplpush", Op::kBRPopLPush},
    CommandSpec{"blmpop", Op::kBLMPop},
    CommandSpec{"copy", Op::kCopy},
    CommandSpec{"touch", Op::kTouch},
    CommandSpec{"llen", Op::kLLen},
    CommandSpec{"lrange", Op::kLRange},
    CommandSpec{"lindex", Op::kLIndex},
    CommandSpec{"lpos", Op::kLPos},
    CommandSpec{"sadd", Op::kSAdd},
    CommandSpec{"srem", Op::kSRem},
    CommandSpec{"spop", Op::kSPop},
    CommandSpec{"smove", Op::kSMove},
    CommandSpec{"sinterstore", Op::kSInterStore},
    CommandSpec{"sunionstore", Op::kSUnionStore},
    CommandSpec{"sdiffstore", Op::kSDiffStore},
    CommandSpec{"smembers", Op::kSMembers},
    CommandSpec{"sismember", Op::kSIsMember},
    CommandSpec{"smismember", Op::kSMIsMember},
    CommandSpec{"scard", Op::kSCard},
    CommandSpec{"srandmember", Op::kSRandMember},
    CommandSpec{"sinter", Op::kSInter},
    CommandSpec{"sunion", Op::kSUnion},
    CommandSpec{"sdiff", Op::kSDiff},
    CommandSpec{"sintercard", Op::kSInterCard},
    CommandSpec{"sscan", Op::kSScan},
};
// LEASE without its subcommand: what find_command("lease") answers (write routing).
constexpr CommandSpec kLeaseParent{"lease", Op::kLeaseGrant};
// LEASE <subcommand> <argument>: THE table's arity of each lease|x (check_lease_args).
constexpr size_t kLeaseArgc = 3;

// ASCII case-insensitive three-way comparison, `a` already in lower case (the table's names).
int compare_ignore_case(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    char c = b[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (a[i] != c) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(c) ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

}  // namespace

// Redis's reply when a command line has too few or too many words.
Reply arity_error(const CommandSpec& spec) {
  return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command", spec.name));
}

Reply unknown_command(std::span<const std::string_view> argv) {
  // Redis: "unknown command 'x', with args beginning with: 'a' 'b' " (each arg quoted, spaced).
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    args += fmt::format("'{}' ", argv[i].substr(0, 128));
  }
  return Reply::error(fmt::format("ERR unknown command '{}', with args beginning with: {}",
                                  argv.empty() ? "" : argv[0].substr(0, 128), args));
}

const CommandSpec* find_command(std::string_view name) {
  // Every command line asks: a binary search over the names in lower case.
  static const std::vector<const CommandSpec*> by_name = [] {
    std::vector<const CommandSpec*> v;
    v.push_back(&kLeaseParent);
    for (const CommandSpec& spec : kCommands) {
      if (spec.name_words() == 1) v.push_back(&spec);
    }
    std::sort(v.begin(), v.end(),
              [](const CommandSpec* a, const CommandSpec* b) { return a->name < b->name; });
    return v;
  }();
  auto it = std::lower_bound(by_name.begin(), by_name.end(), name,
                             [](const CommandSpec* spec, std::string_view n) {
                               return compare_ignore_case(spec->name, n) < 0;
                             });
  if (it == by_name.end() || compare_ignore_case((*it)->name, name) != 0) return nullptr;
  return *it;
}

const CommandSpec* find_argv(std::span<const std::string_view> argv, Reply* error) {
  const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
  if (spec == nullptr) {
    *error = unknown_command(argv);
    return nullptr;
  }
  if (spec != &kLeaseParent) return spec;
  if (argv.size() < 2) {
    *error = arity_error(*spec);
    return nullptr;
  }
  for (const CommandSpec& sub : kCommands) {
    if (sub.name_words() == 2 && sub.name.starts_with("lease|") &&
        equals_ignore_case(sub.name.substr(6), argv[1])) {
      return &sub;
    }
  }
  *error = Reply::error(
      fmt::format("ERR unknown subcommand '{}'. Try LEASE HELP.", argv[1].substr(0, 128)));
  return nullptr;
}

const CommandSpec& command_spec(Op op) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.op == op) return spec;
  }
  BW_UNREACHABLE("no command with opcode {}", static_cast<int>(op));
}

bool is_write_opcode(uint8_t op) {
  return op >= static_cast<uint8_t>(Op::kSet) && op <= static_cast<uint8_t>(Op::kWriteLast);
}

bool is_read_opcode(uint8_t op) {
  return op >= static_cast<uint8_t>(Op::kGet) && op <= static_cast<uint8_t>(Op::kReadLast);
}

std::optional<Reply> check_lease_args(const CommandSpec& spec, size_t argc) {
  if (spec.name_words() == 1 || argc == kLeaseArgc) return std::nullopt;
  return arity_error(spec);
}

bool is_write_command(std::string_view name) {
  const CommandSpec* spec = find_command(name);
  return spec != nullptr && spec->write();
}

bool is_read_command(std::string_view name) {
  const CommandSpec* spec = find_command(name);
  return spec != nullptr && !spec->write();
}

bool is_read_argv(std::span<const std::string_view> argv) {
  Reply ignored;
  const CommandSpec* spec = find_argv(argv, &ignored);
  return spec != nullptr && !spec->write();
}

CommandKind command_kind(std::span<const std::string_view> argv) {
  const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
  if (spec == nullptr) return {};
  if (spec != &kLeaseParent) return {.write_name = spec->write(), .read = !spec->write()};
  return {.write_name = true, .read = is_read_argv(argv)};  // LEASE TTL is a read
}

}  // namespace bw::kv
