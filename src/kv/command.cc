#include "kv/command.h"

#include <fmt/format.h>

#include <array>

#include "common/assert.h"
#include "common/codec.h"
#include "kv/command_internal.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

enum class PayloadKind : uint8_t { kCommand = 1, kExpireKey = 2, kBatch = 3 };

constexpr std::array kCommands = {
    CommandSpec{"set", Op::kSet, -3, true},
    CommandSpec{"setnx", Op::kSetNx, 3, true},
    CommandSpec{"setex", Op::kSetEx, 4, true},
    CommandSpec{"psetex", Op::kPSetEx, 4, true},
    CommandSpec{"getset", Op::kGetSet, 3, true},
    CommandSpec{"getdel", Op::kGetDel, 2, true},
    CommandSpec{"getex", Op::kGetEx, -2, true},
    CommandSpec{"mset", Op::kMSet, -3, true},
    CommandSpec{"msetnx", Op::kMSetNx, -3, true},
    CommandSpec{"del", Op::kDel, -2, true},
    CommandSpec{"unlink", Op::kUnlink, -2, true},
    CommandSpec{"incr", Op::kIncr, 2, true},
    CommandSpec{"decr", Op::kDecr, 2, true},
    CommandSpec{"incrby", Op::kIncrBy, 3, true},
    CommandSpec{"decrby", Op::kDecrBy, 3, true},
    CommandSpec{"incrbyfloat", Op::kIncrByFloat, 3, true},
    CommandSpec{"append", Op::kAppend, 3, true},
    CommandSpec{"setrange", Op::kSetRange, 4, true},
    CommandSpec{"expire", Op::kExpire, -3, true},
    CommandSpec{"pexpire", Op::kPExpire, -3, true},
    CommandSpec{"expireat", Op::kExpireAt, -3, true},
    CommandSpec{"pexpireat", Op::kPExpireAt, -3, true},
    CommandSpec{"persist", Op::kPersist, 2, true},
    CommandSpec{"rename", Op::kRename, 3, true},
    CommandSpec{"renamenx", Op::kRenameNx, 3, true},
    CommandSpec{"flushall", Op::kFlushAll, -1, true},
    CommandSpec{"flushdb", Op::kFlushDb, -1, true},
    CommandSpec{"get", Op::kGet, 2, false},
    CommandSpec{"mget", Op::kMGet, -2, false},
    CommandSpec{"exists", Op::kExists, -2, false},
    CommandSpec{"strlen", Op::kStrLen, 2, false},
    CommandSpec{"getrange", Op::kGetRange, 4, false},
    CommandSpec{"ttl", Op::kTtl, 2, false},
    CommandSpec{"pttl", Op::kPTtl, 2, false},
    CommandSpec{"expiretime", Op::kExpireTime, 2, false},
    CommandSpec{"pexpiretime", Op::kPExpireTime, 2, false},
    CommandSpec{"type", Op::kType, 2, false},
    CommandSpec{"keys", Op::kKeys, 2, false},
    CommandSpec{"scan", Op::kScan, -2, false},
    CommandSpec{"randomkey", Op::kRandomKey, 1, false},
    CommandSpec{"dbsize", Op::kDbSize, 1, false},
    CommandSpec{"getver", Op::kGetVer, 2, false},
};

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
    default:
      return std::nullopt;
  }
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

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (equals_ignore_case(spec.name, name)) return &spec;
  }
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

bool arity_ok(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

Reply arity_error(const CommandSpec& spec) {
  return Reply::error(fmt::format("ERR wrong number of arguments for '{}' command", spec.name));
}

std::variant<WriteCmd, Reply> parse_write(Op op, std::vector<std::string_view> args,
                                          int64_t now_ms) {
  WriteCmd cmd{.op = op, .args = std::move(args)};
  if (std::optional<Reply> err = parse_args(cmd, now_ms)) return std::move(*err);
  return cmd;
}

std::variant<std::string, Reply> encode_write(std::span<const std::string_view> argv,
                                              int64_t now_ms) {
  const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
  if (spec == nullptr) return unknown_command(argv);
  if (!spec->write) {
    return Reply::error(fmt::format("ERR '{}' is not a write command", spec->name));
  }
  if (!arity_ok(*spec, argv.size())) return arity_error(*spec);
  std::vector<std::string_view> args(argv.begin() + 1, argv.end());
  auto parsed = parse_write(spec->op, args, now_ms);
  if (Reply* err = std::get_if<Reply>(&parsed)) return std::move(*err);

  size_t bytes = 32;
  for (std::string_view a : args) bytes += a.size() + 5;
  std::string out;
  out.reserve(bytes);
  ByteWriter w(&out);
  w.u8(kPayloadFormatVersion);
  w.u64(static_cast<uint64_t>(now_ms));
  w.u8(static_cast<uint8_t>(PayloadKind::kCommand));
  w.u8(static_cast<uint8_t>(spec->op));
  w.varint(args.size());
  for (std::string_view a : args) w.bytes(a);
  return out;
}

std::string encode_expire_key(std::string_view key, int64_t deadline_ms, int64_t now_ms) {
  std::string out;
  ByteWriter w(&out);
  w.u8(kPayloadFormatVersion);
  w.u64(static_cast<uint64_t>(now_ms));
  w.u8(static_cast<uint8_t>(PayloadKind::kExpireKey));
  w.bytes(key);
  w.u64(static_cast<uint64_t>(deadline_ms));
  return out;
}

bool is_write_command(std::string_view name) {
  const CommandSpec* spec = find_command(name);
  return spec != nullptr && spec->write;
}

bool is_read_command(std::string_view name) {
  const CommandSpec* spec = find_command(name);
  return spec != nullptr && !spec->write;
}

Result<DecodedPayload> decode_payload(std::string_view payload) {
  ByteReader r(payload);
  BW_ASSIGN_OR_RETURN(uint8_t version, r.u8());
  if (version != kPayloadFormatVersion) {
    return absl::DataLossError(fmt::format("unknown kv payload version {}", version));
  }
  DecodedPayload out;
  BW_ASSIGN_OR_RETURN(uint64_t now, r.u64());
  out.now_ms = static_cast<int64_t>(now);
  BW_ASSIGN_OR_RETURN(uint8_t kind, r.u8());
  if (kind == static_cast<uint8_t>(PayloadKind::kCommand)) {
    DecodedCommand cmd;
    BW_ASSIGN_OR_RETURN(uint8_t op, r.u8());
    if (!is_write_opcode(op)) return absl::DataLossError(fmt::format("bad opcode {}", op));
    cmd.op = static_cast<Op>(op);
    BW_ASSIGN_OR_RETURN(uint64_t argc, r.varint());
    // Each argument takes at least one byte, which bounds the reservation by the input size.
    if (argc > kPayloadArgsMax || argc > r.remaining()) {
      return absl::DataLossError(fmt::format("bad argument count {}", argc));
    }
    cmd.args.reserve(argc);
    for (uint64_t i = 0; i < argc; ++i) {
      BW_ASSIGN_OR_RETURN(std::string_view a, r.bytes(kPayloadArgBytesMax));
      cmd.args.push_back(a);
    }
    out.body = std::move(cmd);
  } else if (kind == static_cast<uint8_t>(PayloadKind::kExpireKey)) {
    DecodedExpire exp;
    BW_ASSIGN_OR_RETURN(exp.key, r.bytes(kPayloadArgBytesMax));
    BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
    exp.deadline_ms = static_cast<int64_t>(deadline);
    out.body = exp;
  } else {
    return absl::DataLossError(fmt::format("unknown kv payload kind {}", kind));
  }
  if (!r.done()) return absl::DataLossError("trailing bytes after kv payload");
  return out;
}

}  // namespace bw::kv
