#include "kv/command.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <random>

#include "common/assert.h"
#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

Reply syntax_error() {
  return Reply::error("ERR syntax error");
}
Reply not_integer() {
  return Reply::error("ERR value is not an integer or out of range");
}
Reply invalid_expire(Op op) {
  return Reply::error(
      fmt::format("ERR invalid expire time in '{}' command", command_spec(op).name));
}

bool is_opt(std::string_view arg, std::string_view name) {
  return equals_ignore_case(arg, name);
}

// A version: a non-negative integer (0 = "the key must not exist").
std::optional<uint64_t> parse_version(std::string_view text) {
  std::optional<int64_t> v = parse_int64(text);
  if (!v || *v < 0) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

// A lease id or fencing token: a positive integer (both are log indexes).
std::optional<uint64_t> parse_id(std::string_view text) {
  std::optional<int64_t> v = parse_int64(text);
  if (!v || *v <= 0) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

// A coordination time to live: 1..kCoordTtlMsMax ms whose deadline from now_ms is positive.
std::optional<Reply> parse_ttl(WriteCmd& cmd, std::string_view text, int64_t now_ms) {
  std::optional<int64_t> v = parse_int64(text);
  if (!v) return not_integer();
  int64_t deadline = 0;
  if (*v <= 0 || *v > kCoordTtlMsMax || __builtin_add_overflow(now_ms, *v, &deadline) ||
      deadline <= 0) {
    return Reply::error(
        fmt::format("ERR invalid ttl-ms in '{}' command", command_spec(cmd.op).name));
  }
  cmd.ttl_ms = *v;
  return std::nullopt;
}

// ELECT/LOCK name id ttl-ms [BLOCK timeout-ms].
std::optional<Reply> parse_campaign(WriteCmd& cmd, int64_t now_ms) {
  if (cmd.args.size() != 3 && cmd.args.size() != 5) return syntax_error();
  if (cmd.args.size() == 5) {
    if (!is_opt(cmd.args[3], "block")) return syntax_error();
    std::optional<int64_t> block = parse_int64(cmd.args[4]);
    if (!block) return Reply::error("ERR timeout is not an integer or out of range");
    if (*block < 0) return Reply::error("ERR timeout is negative");
    cmd.block_ms = *block;
  }
  return parse_ttl(cmd, cmd.args[2], now_ms);
}

std::optional<Reply> parse_token(WriteCmd& cmd, std::string_view text) {
  std::optional<uint64_t> token = parse_id(text);
  if (!token) return not_integer();
  cmd.token = *token;
  return std::nullopt;
}

// Redis's getExpireMillisecondsOrReply: a positive count of `unit_ms`, made absolute by adding
// now_ms when relative. Sets cmd.deadline_ms or returns the error.
std::optional<Reply> parse_set_expire(WriteCmd& cmd, std::string_view text, int64_t unit_ms,
                                      bool relative, int64_t now_ms) {
  std::optional<int64_t> v = parse_int64(text);
  if (!v) return not_integer();
  int64_t ms = *v;
  if (ms <= 0 || (unit_ms == 1000 && ms > INT64_MAX / 1000)) return invalid_expire(cmd.op);
  ms *= unit_ms;
  if (relative && __builtin_add_overflow(ms, now_ms, &ms)) return invalid_expire(cmd.op);
  if (ms <= 0) return invalid_expire(cmd.op);
  cmd.deadline_ms = ms;
  cmd.ttl = WriteCmd::Ttl::kSet;
  cmd.deadline_absolute = !relative;
  return std::nullopt;
}

// SET and GETEX options, following Redis's parseExtendedStringArgumentsOrReply: repeating the
// same option is allowed (the last expire wins); mixing exclusive ones is a syntax error.
std::optional<Reply> parse_string_options(WriteCmd& cmd, size_t first, int64_t now_ms) {
  const bool is_set = cmd.op == Op::kSet;
  enum : unsigned { kEx = 1, kPx = 2, kExAt = 4, kPxAt = 8, kKeepTtl = 16, kPersist = 32 };
  unsigned seen = 0;
  std::string_view expire_text;
  for (size_t i = first; i < cmd.args.size(); ++i) {
    std::string_view opt = cmd.args[i];
    bool has_next = i + 1 < cmd.args.size();
    auto expire_opt = [&](unsigned flag) {
      unsigned others = (kEx | kPx | kExAt | kPxAt | kKeepTtl | kPersist) & ~flag;
      if ((seen & others) != 0 || !has_next) return false;
      seen |= flag;
      expire_text = cmd.args[++i];
      return true;
    };
    if (is_set && is_opt(opt, "nx") && cmd.cond != WriteCmd::Cond::kXx) {
      cmd.cond = WriteCmd::Cond::kNx;
    } else if (is_set && is_opt(opt, "xx") && cmd.cond != WriteCmd::Cond::kNx) {
      cmd.cond = WriteCmd::Cond::kXx;
    } else if (is_set && is_opt(opt, "get")) {
      cmd.get = true;
    } else if (is_set && is_opt(opt, "ifver") && has_next) {
      std::optional<uint64_t> v = parse_version(cmd.args[++i]);
      if (!v) return not_integer();
      cmd.if_version = true;
      cmd.expected_version = *v;
    } else if (is_set && is_opt(opt, "lease") && has_next) {
      std::optional<uint64_t> id = parse_id(cmd.args[++i]);
      if (!id) return not_integer();
      cmd.lease_id = *id;
    } else if (is_set && is_opt(opt, "keepttl") &&
               (seen & (kEx | kPx | kExAt | kPxAt | kPersist)) == 0) {
      seen |= kKeepTtl;
    } else if (!is_set && is_opt(opt, "persist") &&
               (seen & (kEx | kPx | kExAt | kPxAt | kKeepTtl)) == 0) {
      seen |= kPersist;
    } else if (is_opt(opt, "ex") && expire_opt(kEx)) {
    } else if (is_opt(opt, "px") && expire_opt(kPx)) {
    } else if (is_opt(opt, "exat") && expire_opt(kExAt)) {
    } else if (is_opt(opt, "pxat") && expire_opt(kPxAt)) {
    } else {
      return syntax_error();
    }
  }
  if (seen & kKeepTtl) cmd.ttl = WriteCmd::Ttl::kKeep;
  if (seen & kPersist) cmd.ttl = WriteCmd::Ttl::kPersist;
  if (seen & kEx) return parse_set_expire(cmd, expire_text, 1000, true, now_ms);
  if (seen & kPx) return parse_set_expire(cmd, expire_text, 1, true, now_ms);
  if (seen & kExAt) return parse_set_expire(cmd, expire_text, 1000, false, now_ms);
  if (seen & kPxAt) return parse_set_expire(cmd, expire_text, 1, false, now_ms);
  return std::nullopt;
}

// EXPIRE family, following Redis's expireGenericCommand: options first, then the time, which may
// be negative or past (the key is then deleted at apply).
std::optional<Reply> parse_expire(WriteCmd& cmd, int64_t now_ms) {
  for (size_t i = 2; i < cmd.args.size(); ++i) {
    std::string_view opt = cmd.args[i];
    if (is_opt(opt, "nx")) {
      cmd.expire_flags |= kExpireNx;
    } else if (is_opt(opt, "xx")) {
      cmd.expire_flags |= kExpireXx;
    } else if (is_opt(opt, "gt")) {
      cmd.expire_flags |= kExpireGt;
    } else if (is_opt(opt, "lt")) {
      cmd.expire_flags |= kExpireLt;
    } else {
      return Reply::error(fmt::format("ERR Unsupported option {}", opt));
    }
  }
  uint8_t f = cmd.expire_flags;
  if ((f & kExpireNx) && (f & (kExpireXx | kExpireGt | kExpireLt))) {
    return Reply::error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((f & kExpireGt) && (f & kExpireLt)) {
    return Reply::error("ERR GT and LT options at the same time are not compatible");
  }
  std::optional<int64_t> v = parse_int64(cmd.args[1]);
  if (!v) return not_integer();
  int64_t when = *v;
  bool seconds = cmd.op == Op::kExpire || cmd.op == Op::kExpireAt;
  bool relative = cmd.op == Op::kExpire || cmd.op == Op::kPExpire;
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return invalid_expire(cmd.op);
    when *= 1000;
  }
  int64_t base = relative ? now_ms : 0;
  if (when > INT64_MAX - base) return invalid_expire(cmd.op);
  cmd.deadline_ms = when + base;
  return std::nullopt;
}

std::optional<Reply> parse_flush(WriteCmd& cmd) {
  if (cmd.args.size() > 1) return syntax_error();
  if (cmd.args.size() == 1 && !is_opt(cmd.args[0], "async") && !is_opt(cmd.args[0], "sync")) {
    return syntax_error();
  }
  return std::nullopt;
}

// LMOVE/BLMOVE source destination wherefrom whereto: each end LEFT or RIGHT.
std::optional<Reply> check_move_ends(const std::vector<std::string_view>& args) {
  for (std::string_view where : {args[2], args[3]}) {
    if (!is_opt(where, "left") && !is_opt(where, "right")) return syntax_error();
  }
  return std::nullopt;
}

// LPOP/RPOP key [count]: the count as Redis's getPositiveLongFromObjectOrReply checks it.
std::optional<Reply> parse_pop_count(WriteCmd& cmd) {
  if (cmd.args.size() > 2) return arity_error(command_spec(cmd.op));
  cmd.amount = 1;
  if (cmd.args.size() == 2) {
    std::optional<int64_t> v = parse_int64(cmd.args[1]);
    if (!v || *v < 0) return Reply::error("ERR value is out of range, must be positive");
    cmd.amount = *v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Reply> parse_block_timeout(std::string_view text) {
  std::optional<int64_t> ms = block_timeout_ms_of(text);
  if (!ms) return Reply::error("ERR timeout is not a float or out of range");
  if (*ms < 0) return Reply::error("ERR timeout is negative");
  return std::nullopt;
}

std::optional<int64_t> block_timeout_ms_of(std::string_view text) {
  // Redis's getTimeoutFromObjectOrReply: seconds as a long double, to ms; -1 ms: negative.
  std::optional<long double> v = parse_long_double(text);
  if (!v || std::isnan(*v) || std::isinf(*v)) return std::nullopt;
  if (*v < 0) return -1;
  const long double ms = *v * 1000;
  if (ms > static_cast<long double>(kBlockTimeoutMsMax)) return std::nullopt;
  return static_cast<int64_t>(std::ceil(ms));
}

std::optional<Reply> parse_mpop(std::span<const std::string_view> args, std::string_view end1,
                                std::string_view end2) {
  // numkeys key [key ...] end [COUNT count]
  std::optional<int64_t> numkeys = parse_int64(args[0]);
  if (!numkeys || *numkeys <= 0) return Reply::error("ERR numkeys should be greater than 0");
  if (static_cast<uint64_t>(*numkeys) > args.size() - 2) return syntax_error();
  const size_t where = static_cast<size_t>(*numkeys) + 1;
  if (!is_opt(args[where], end1) && !is_opt(args[where], end2)) return syntax_error();
  if (args.size() == where + 1) return std::nullopt;
  if (args.size() != where + 3 || !is_opt(args[where + 1], "count")) return syntax_error();
  std::optional<int64_t> count = parse_int64(args[where + 2]);
  if (!count || *count <= 0) return Reply::error("ERR count should be greater than 0");
  return std::nullopt;
}

namespace {

std::optional<Reply> parse_args(WriteCmd& cmd, int64_t now_ms) {
  switch (cmd.op) {
    case Op::kSet:
      return parse_string_options(cmd, 2, now_ms);
    case Op::kGetEx:
      cmd.ttl = WriteCmd::Ttl::kUnchanged;
      return parse_string_options(cmd, 1, now_ms);
    case Op::kSetEx:
    case Op::kPSetEx:
      return parse_set_expire(cmd, cmd.args[1], cmd.op == Op::kSetEx ? 1000 : 1, true, now_ms);
    case Op::kMSet:
    case Op::kMSetNx:
      if (cmd.args.size() % 2 != 0) return arity_error(command_spec(cmd.op));
      return std::nullopt;
    case Op::kIncr:
      cmd.amount = 1;
      return std::nullopt;
    case Op::kDecr:
      cmd.amount = -1;
      return std::nullopt;
    case Op::kIncrBy:
    case Op::kDecrBy: {
      std::optional<int64_t> v = parse_int64(cmd.args[1]);
      if (!v) return not_integer();
      if (cmd.op == Op::kDecrBy) {
        if (*v == INT64_MIN) return Reply::error("ERR decrement would overflow");
        *v = -*v;
      }
      cmd.amount = *v;
      return std::nullopt;
    }
    case Op::kIncrByFloat: {
      std::optional<long double> v = parse_long_double(cmd.args[1]);
      if (!v) return Reply::error("ERR value is not a valid float");
      cmd.float_amount = *v;
      return std::nullopt;
    }
    case Op::kSetRange: {
      std::optional<int64_t> v = parse_int64(cmd.args[1]);
      if (!v) return not_integer();
      if (*v < 0) return Reply::error("ERR offset is out of range");
      uint64_t len = cmd.args[2].size();
      if (len > 0 && static_cast<uint64_t>(*v) + len > kValueBytesMax) {
        return Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
      }
      cmd.amount = *v;
      return std::nullopt;
    }
    case Op::kExpire:
    case Op::kPExpire:
    case Op::kExpireAt:
    case Op::kPExpireAt:
      return parse_expire(cmd, now_ms);
    case Op::kFlushAll:
    case Op::kFlushDb:
      return parse_flush(cmd);
    case Op::kCas: {
      std::optional<uint64_t> v = parse_version(cmd.args[1]);
      if (!v) return not_integer();
      cmd.if_version = true;
      cmd.expected_version = *v;
      return std::nullopt;
    }
    case Op::kLeaseGrant:
      return parse_ttl(cmd, cmd.args[0], now_ms);
    case Op::kLeaseKeepAlive:
    case Op::kLeaseRevoke: {
      std::optional<uint64_t> id = parse_id(cmd.args[0]);
      if (!id) return not_integer();
      cmd.lease_id = *id;
      return std::nullopt;
    }
    case Op::kElect:
    case Op::kLock:
      return parse_campaign(cmd, now_ms);
    case Op::kElectKeepAlive:
    case Op::kElectResign:
    case Op::kUnlock:
      return parse_token(cmd, cmd.args[1]);
    case Op::kHSet:
    case Op::kHMSet:
      // key (field value)...
      if (cmd.args.size() % 2 != 1) return arity_error(command_spec(cmd.op));
      return std::nullopt;
    case Op::kHIncrBy: {
      std::optional<int64_t> v = parse_int64(cmd.args[2]);
      if (!v) return not_integer();
      cmd.amount = *v;
      return std::nullopt;
    }
    case Op::kHIncrByFloat: {
      std::optional<long double> v = parse_long_double(cmd.args[2]);
      if (!v) return Reply::error("ERR value is not a valid float");
      if (std::isnan(*v) || std::isinf(*v)) return Reply::error("ERR value is NaN or Infinity");
      cmd.float_amount = *v;
      return std::nullopt;
    }
    case Op::kLPop:
    case Op::kRPop:
      return parse_pop_count(cmd);
    case Op::kLSet:
    case Op::kLRem:
      if (!parse_int64(cmd.args[1])) return not_integer();
      return std::nullopt;
    case Op::kLTrim:
      if (!parse_int64(cmd.args[1]) || !parse_int64(cmd.args[2])) return not_integer();
      return std::nullopt;
    case Op::kLInsert:
      if (!is_opt(cmd.args[1], "before") && !is_opt(cmd.args[1], "after")) return syntax_error();
      return std::nullopt;
    case Op::kLMove:
      return check_move_ends(cmd.args);
    case Op::kLMPop:
      return parse_mpop(cmd.args, "left", "right");
    case Op::kBLPop:
    case Op::kBRPop:
    case Op::kBRPopLPush:
      return parse_block_timeout(cmd.args.back());
    case Op::kBLMove:
      if (auto err = check_move_ends(cmd.args)) return err;
      return parse_block_timeout(cmd.args[4]);
    case Op::kCopy:
      // source destination [DB 0] [REPLACE]: one database only.
      for (size_t i = 2; i < cmd.args.size(); ++i) {
        if (is_opt(cmd.args[i], "replace")) {
          cmd.cond = WriteCmd::Cond::kXx;  // overwrite an existing destination
        } else if (is_opt(cmd.args[i], "db") && i + 1 < cmd.args.size()) {
          std::optional<int64_t> db = parse_int64(cmd.args[++i]);
          if (!db) return not_integer();
          if (*db != 0) return Reply::error("ERR DB index is out of range");
        } else {
          return syntax_error();
        }
      }
      return std::nullopt;
    case Op::kBLMPop:
      if (auto err = parse_block_timeout(cmd.args[0])) return err;
      return parse_mpop(std::span(cmd.args).subspan(1), "left", "right");
    case Op::kSPop: {
      // key [count]: Redis checks the count before the key.
      if (cmd.args.size() > 2) return syntax_error();
      if (cmd.args.size() == 1) return std::nullopt;
      std::optional<int64_t> v = parse_int64(cmd.args[1]);
      if (!v || *v < 0) return Reply::error("ERR value is out of range, must be positive");
      cmd.amount = *v;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// The seed of a command whose effect is random (SPOP): chosen here, once, so that every replica
// applying the entry makes the same choice. The only impure part of encode_write.
uint64_t random_seed() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// A kind 1 body (or kind 4 around it when fenced) for a command line that is known to be valid.
void write_command(ByteWriter& w, const FenceSplit& fence, uint64_t fence_token, Op op,
                   std::span<const std::string_view> args) {
  if (fence.fenced) {
    w.u8(static_cast<uint8_t>(PayloadKind::kFenced));
    w.bytes(fence.name);
    w.varint(fence_token);
  }
  w.u8(static_cast<uint8_t>(PayloadKind::kCommand));
  w.u8(static_cast<uint8_t>(op));
  w.varint(args.size());
  for (std::string_view a : args) w.bytes(a);
}

// Validates one command line (a top-level write, or a transaction item when `in_transaction`)
// and appends its body to *out. Returns the error Reply instead when it is not valid.
std::optional<Reply> encode_command(std::string* out, std::span<const std::string_view> argv,
                                    int64_t now_ms, bool in_transaction) {
  FenceSplit fence = split_fence(argv);
  Reply error;
  const CommandSpec* spec = find_argv(fence.command, &error);
  if (spec == nullptr) return error;
  if (!spec->write() && !in_transaction) {
    return Reply::error(fmt::format("ERR '{}' is not a write command", spec->name));
  }
  if (!spec->write() && fence.fenced) {
    return Reply::error("ERR FENCE applies to write commands only");
  }
  if (in_transaction && spec->takes_index) {
    return Reply::error(fmt::format("ERR '{}' is not allowed in a transaction", spec->name));
  }
  if (auto err = check_lease_args(*spec, fence.command.size())) return std::move(*err);
  std::span<const std::string_view> args = fence.command.subspan(spec->name_words());
  uint64_t token = 0;
  if (fence.fenced) {
    std::optional<uint64_t> t = parse_id(fence.token_text);
    if (!t) return not_integer();
    token = *t;
  }
  std::vector<std::string_view> seeded;
  std::string seed;
  if (spec->write()) {
    auto parsed = parse_write(spec->op, std::vector<std::string_view>(args.begin(), args.end()),
                              now_ms, ArgsFrom::kClient);
    if (Reply* err = std::get_if<Reply>(&parsed)) return std::move(*err);
    // BLOCK is the proposing server's business: the entry is a plain campaign.
    if (spec->op == Op::kElect || spec->op == Op::kLock) args = args.first(3);
    if (takes_seed(spec->op)) {
      ByteWriter sw(&seed);
      sw.u64(random_seed());
      seeded.assign(args.begin(), args.end());
      seeded.push_back(seed);
      args = seeded;
    }
  }
  size_t bytes = 16 + fence.name.size() + fence.token_text.size();
  for (std::string_view a : args) bytes += a.size() + 5;
  out->reserve(out->size() + bytes);
  ByteWriter w(out);
  write_command(w, fence, token, spec->op, args);
  return std::nullopt;
}

}  // namespace

std::optional<BlockingPop> blocking_pop(std::span<const std::string_view> argv) {
  const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
  if (spec == nullptr) return std::nullopt;
  const Op op = spec->op;
  if (op != Op::kBLPop && op != Op::kBRPop && op != Op::kBLMove && op != Op::kBRPopLPush &&
      op != Op::kBLMPop) {
    return std::nullopt;
  }
  BlockingPop pop;
  std::vector<std::string_view> args(argv.begin() + 1, argv.end());
  auto parsed = parse_write(op, args, 0, ArgsFrom::kClient);
  if (std::holds_alternative<Reply>(parsed)) return pop;
  pop.valid = true;
  pop.null_array = op == Op::kBLPop || op == Op::kBRPop || op == Op::kBLMPop;
  const std::string_view timeout = op == Op::kBLMPop ? args[0] : args.back();
  pop.timeout_ms = *block_timeout_ms_of(timeout);
  if (op == Op::kBLPop || op == Op::kBRPop) {
    pop.keys.assign(args.begin(), args.end() - 1);
  } else if (op == Op::kBLMPop) {
    const auto numkeys = static_cast<size_t>(*parse_int64(args[1]));
    pop.keys.assign(args.begin() + 2, args.begin() + 2 + static_cast<std::ptrdiff_t>(numkeys));
  } else {
    pop.keys.push_back(args[0]);  // the source
  }
  return pop;
}

std::variant<WriteCmd, Reply> parse_write(Op op, std::vector<std::string_view> args, int64_t now_ms,
                                          ArgsFrom from) {
  WriteCmd cmd{.op = op, .args = std::move(args)};
  if (from == ArgsFrom::kLog && takes_seed(op)) {
    // Every leader appends one after the key; an entry without them was never proposed by one.
    if (cmd.args.size() < 2 || cmd.args.back().size() != kSeedBytes) {
      return Reply::error(fmt::format("ERR '{}' entry without its seed", command_spec(op).name));
    }
    ByteReader r(cmd.args.back());
    cmd.seed = *r.u64();
    cmd.args.pop_back();
  }
  if (std::optional<Reply> err = parse_args(cmd, now_ms)) return std::move(*err);
  return cmd;
}

FenceSplit split_fence(std::span<const std::string_view> argv) {
  FenceSplit out{.command = argv};
  size_t n = argv.size();
  if (n >= 4 && equals_ignore_case(argv[n - 3], "fence")) {
    out.command = argv.first(n - 3);
    out.fenced = true;
    out.name = argv[n - 2];
    out.token_text = argv[n - 1];
  }
  return out;
}

std::optional<int64_t> block_timeout_ms(std::span<const std::string_view> argv) {
  std::span<const std::string_view> cmd = split_fence(argv).command;
  if (cmd.size() != 6) return std::nullopt;
  if (!equals_ignore_case(cmd[0], "elect") && !equals_ignore_case(cmd[0], "lock")) {
    return std::nullopt;
  }
  if (!is_opt(cmd[4], "block")) return std::nullopt;
  std::optional<int64_t> v = parse_int64(cmd[5]);
  if (!v || *v < 0) return std::nullopt;
  return v;
}

std::variant<std::string, Reply> encode_write(std::span<const std::string_view> argv,
                                              int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  if (std::optional<Reply> err = encode_command(&out, argv, now_ms, false)) return std::move(*err);
  return out;
}

std::optional<Reply> check_queued(std::span<const std::string_view> argv, int64_t now_ms) {
  std::string scratch;
  return encode_command(&scratch, argv, now_ms, true);
}

std::variant<std::string, Reply> encode_transaction(
    const std::vector<std::vector<std::string>>& commands,
    const std::vector<std::pair<std::string, uint64_t>>& watched, int64_t now_ms) {
  if (commands.size() > kTransactionCommandsMax) {
    return Reply::error(
        fmt::format("ERR a transaction holds at most {} commands", kTransactionCommandsMax));
  }
  if (watched.size() > kWatchedKeysMax) {
    return Reply::error(fmt::format("ERR at most {} keys can be watched", kWatchedKeysMax));
  }
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kBatch));
  w.varint(watched.size());
  for (const auto& [key, version] : watched) {
    w.bytes(key);
    w.varint(version);
  }
  w.varint(commands.size());
  std::string item;
  std::vector<std::string_view> argv;
  for (const std::vector<std::string>& command : commands) {
    argv.assign(command.begin(), command.end());
    item.clear();
    if (std::optional<Reply> err = encode_command(&item, argv, now_ms, true)) {
      return std::move(*err);
    }
    w.bytes(item);
  }
  return out;
}

std::string encode_expire_key(std::string_view key, int64_t deadline_ms, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kExpireKey));
  w.bytes(key);
  w.u64(static_cast<uint64_t>(deadline_ms));
  return out;
}

std::string encode_expire_lease(uint64_t id, int64_t deadline_ms, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kExpireLease));
  w.varint(id);
  w.u64(static_cast<uint64_t>(deadline_ms));
  return out;
}

std::string encode_expire_election(std::string_view name, uint64_t token, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kExpireElection));
  w.bytes(name);
  w.varint(token);
  return out;
}

std::string encode_extend_leases(int64_t extra_ms, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kExtend));
  w.u64(static_cast<uint64_t>(extra_ms));
  return out;
}

std::string encode_evict_keys(std::span<const std::string> keys, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  write_header(w, now_ms);
  w.u8(static_cast<uint8_t>(PayloadKind::kEvict));
  w.varint(keys.size());
  for (const std::string& key : keys) w.bytes(key);
  return out;
}

}  // namespace bw::kv
