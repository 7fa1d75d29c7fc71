// Decoding of entry payloads (the format is in command.h): what every replica runs on each
// committed entry before applying it.
#include <fmt/format.h>

#include "common/codec.h"
#include "kv/command.h"
#include "kv/command_internal.h"

namespace bw::kv {

namespace {

// After the kind byte of a kind 1 body.
Result<DecodedCommand> decode_command(ByteReader& r, bool reads_allowed) {
  DecodedCommand cmd;
  BW_ASSIGN_OR_RETURN(uint8_t op, r.u8());
  if (!is_write_opcode(op) && !(reads_allowed && is_read_opcode(op))) {
    return absl::DataLossError(fmt::format("bad opcode {}", op));
  }
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
  return cmd;
}

// After the kind byte of a kind 4 body: the fence, then a whole kind 1 body (writes only).
Result<DecodedCommand> decode_fenced(ByteReader& r) {
  BW_ASSIGN_OR_RETURN(std::string_view name, r.bytes(kPayloadArgBytesMax));
  BW_ASSIGN_OR_RETURN(uint64_t token, r.varint());
  BW_ASSIGN_OR_RETURN(uint8_t kind, r.u8());
  if (kind != static_cast<uint8_t>(PayloadKind::kCommand)) {
    return absl::DataLossError(fmt::format("fenced kind {}", kind));
  }
  BW_ASSIGN_OR_RETURN(DecodedCommand cmd, decode_command(r, false));
  cmd.fenced = true;
  cmd.fence_name = name;
  cmd.fence_token = token;
  return cmd;
}

Result<DecodedBatch> decode_batch(ByteReader& r) {
  DecodedBatch batch;
  BW_ASSIGN_OR_RETURN(uint64_t watch_count, r.varint());
  // A watched key takes at least two bytes.
  if (watch_count > kWatchedKeysMax || watch_count > r.remaining() / 2) {
    return absl::DataLossError(fmt::format("bad watch count {}", watch_count));
  }
  batch.watched.reserve(watch_count);
  for (uint64_t i = 0; i < watch_count; ++i) {
    BW_ASSIGN_OR_RETURN(std::string_view key, r.bytes(kPayloadArgBytesMax));
    BW_ASSIGN_OR_RETURN(uint64_t version, r.varint());
    batch.watched.emplace_back(key, version);
  }
  BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
  if (count > kTransactionCommandsMax || count > r.remaining()) {
    return absl::DataLossError(fmt::format("bad command count {}", count));
  }
  batch.commands.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    BW_ASSIGN_OR_RETURN(std::string_view item, r.bytes(kPayloadArgBytesMax));
    ByteReader ir(item);
    BW_ASSIGN_OR_RETURN(uint8_t kind, ir.u8());
    Result<DecodedCommand> cmd = absl::DataLossError(fmt::format("batch item kind {}", kind));
    if (kind == static_cast<uint8_t>(PayloadKind::kCommand)) cmd = decode_command(ir, true);
    if (kind == static_cast<uint8_t>(PayloadKind::kFenced)) cmd = decode_fenced(ir);
    if (!cmd.ok()) return cmd.status();
    if (!ir.done()) return absl::DataLossError("trailing bytes after a batch item");
    batch.commands.push_back(*std::move(cmd));
  }
  return batch;
}

}  // namespace

void write_header(ByteWriter& w, int64_t now_ms) {
  w.u8(kPayloadFormatVersion);
  w.u64(static_cast<uint64_t>(now_ms));
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
  switch (static_cast<PayloadKind>(kind)) {
    case PayloadKind::kCommand: {
      BW_ASSIGN_OR_RETURN(out.body, decode_command(r, false));
      break;
    }
    case PayloadKind::kExpireKey: {
      DecodedExpire exp;
      BW_ASSIGN_OR_RETURN(exp.key, r.bytes(kPayloadArgBytesMax));
      BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
      exp.deadline_ms = static_cast<int64_t>(deadline);
      out.body = exp;
      break;
    }
    case PayloadKind::kBatch: {
      BW_ASSIGN_OR_RETURN(out.body, decode_batch(r));
      break;
    }
    case PayloadKind::kFenced: {
      BW_ASSIGN_OR_RETURN(out.body, decode_fenced(r));
      break;
    }
    case PayloadKind::kExpireLease: {
      DecodedExpireLease exp;
      BW_ASSIGN_OR_RETURN(exp.id, r.varint());
      BW_ASSIGN_OR_RETURN(uint64_t deadline, r.u64());
      exp.deadline_ms = static_cast<int64_t>(deadline);
      out.body = exp;
      break;
    }
    case PayloadKind::kExpireElection: {
      DecodedExpireElection exp;
      BW_ASSIGN_OR_RETURN(exp.name, r.bytes(kPayloadArgBytesMax));
      BW_ASSIGN_OR_RETURN(exp.token, r.varint());
      out.body = exp;
      break;
    }
    case PayloadKind::kExtend: {
      BW_ASSIGN_OR_RETURN(uint64_t extra, r.u64());
      out.body = DecodedExtend{static_cast<int64_t>(extra)};
      break;
    }
    case PayloadKind::kEvict: {
      DecodedEvict evict;
      BW_ASSIGN_OR_RETURN(uint64_t count, r.varint());
      // Each key takes at least one byte, which bounds the reservation by the input size.
      if (count > kEvictKeysMax || count > r.remaining()) {
        return absl::DataLossError(fmt::format("bad evicted key count {}", count));
      }
      evict.keys.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        BW_ASSIGN_OR_RETURN(std::string_view key, r.bytes(kPayloadArgBytesMax));
        evict.keys.push_back(key);
      }
      out.body = std::move(evict);
      break;
    }
    case PayloadKind::kAclUsers: {
      BW_ASSIGN_OR_RETURN(out.body, decode_acl_body(r));
      break;
    }
    default:
      return absl::DataLossError(fmt::format("unknown kv payload kind {}", kind));
  }
  if (!r.done()) return absl::DataLossError("trailing bytes after kv payload");
  return out;
}

}  // namespace bw::kv
