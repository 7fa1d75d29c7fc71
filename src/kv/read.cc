// Read-only commands: evaluated on the local keyspace, hiding keys whose deadline has passed by
// the read's expiry time (Store::read: the log's time, the same on every replica).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/glob.h"
#include "kv/aggregate_read.h"
#include "kv/apply.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

Reply not_integer() {
  return Reply::error("ERR value is not an integer or out of range");
}

bool hidden(const Record& rec, int64_t expiry_ms) {
  return rec.deadline_ms != 0 && rec.deadline_ms <= expiry_ms;
}

Reply ttl(const Keyspace& keys, std::string_view key, ReadClock clock, bool ms, bool absolute) {
  const Record* rec = live_record(keys, key, clock.expiry_ms);
  if (rec == nullptr) return Reply::integer_value(-2);
  if (rec->deadline_ms == 0) return Reply::integer_value(-1);
  if (absolute) return Reply::integer_value(ms ? rec->deadline_ms : rec->deadline_ms / 1000);
  int64_t left = clock.remaining_ms(rec->deadline_ms);
  // Rounded to the nearest second like Redis's (left + 500) / 1000, which would overflow here.
  return Reply::integer_value(ms ? left : left / 1000 + (left % 1000 >= 500 ? 1 : 0));
}

Reply getrange(const Keyspace& keys, std::span<const std::string_view> argv, int64_t expiry_ms) {
  std::optional<int64_t> start = parse_int64(argv[2]);
  std::optional<int64_t> end = parse_int64(argv[3]);
  if (!start || !end) return not_integer();
  const Record* rec = live_record(keys, argv[1], expiry_ms);
  if (rec == nullptr) return Reply::bulk("");
  if (rec->type != ValueType::kString) return wrong_type();
  // Redis's arithmetic, negative indexes counting from the end.
  int64_t s = *start, e = *end;
  auto len = static_cast<int64_t>(rec->value.size());
  if (s < 0 && e < 0 && s > e) return Reply::bulk("");
  if (s < 0) s += len;
  if (e < 0) e += len;
  if (s < 0) s = 0;
  if (e < 0) e = 0;
  if (e >= len) e = len - 1;
  if (s > e || len == 0) return Reply::bulk("");
  return Reply::bulk(rec->value.substr(static_cast<size_t>(s), static_cast<size_t>(e - s + 1)));
}

Reply keys_cmd(const Keyspace& keys, std::string_view pattern, int64_t expiry_ms) {
  std::vector<Reply> out;
  for (const Keyspace::Slot& slot : keys) {
    const Record* rec = slot.rec;
    if (!hidden(*rec, expiry_ms) && glob_match(pattern, rec->key)) {
      out.push_back(Reply::bulk(rec->key));
    }
  }
  return Reply::array(std::move(out));
}

}  // namespace

std::optional<Reply> check_random_count(std::string_view text) {
  std::optional<int64_t> count = parse_int64(text);
  if (!count) return not_integer();
  if (*count == INT64_MIN) {
    return Reply::error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  }
  return std::nullopt;
}

const Record* live_record(const Keyspace& keys, std::string_view key, int64_t expiry_ms) {
  const Record* rec = keys.find(key);
  if (rec == nullptr) return nullptr;
  if (rec->deadline_ms != 0 && rec->deadline_ms <= expiry_ms) return nullptr;
  return rec;
}

std::optional<uint64_t> parse_scan_cursor(std::string_view text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string buf(text);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(buf.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

namespace {

// SCAN over the (hash, key) order: the cursor is the next hash to visit, so every key present
// for the whole scan is returned (keys sharing a hash are always visited together).
Reply scan(const Keyspace& keys, std::span<const std::string_view> argv, int64_t expiry_ms) {
  std::optional<uint64_t> cursor = parse_scan_cursor(argv[1]);
  if (!cursor) return Reply::error("ERR invalid cursor");
  int64_t count = 10;
  std::string_view pattern = "*";
  std::optional<std::string_view> type;  // SCAN ... TYPE t: only keys of type t
  for (size_t i = 2; i < argv.size(); i += 2) {
    bool has_value = i + 1 < argv.size();
    if (equals_ignore_case(argv[i], "count") && has_value) {
      std::optional<int64_t> c = parse_int64(argv[i + 1]);
      if (!c) return not_integer();
      if (*c < 1) return Reply::error("ERR syntax error");
      count = *c;
    } else if (equals_ignore_case(argv[i], "match") && has_value) {
      pattern = argv[i + 1];
    } else if (equals_ignore_case(argv[i], "type") && has_value) {
      type = argv[i + 1];
    } else {
      return Reply::error("ERR syntax error");
    }
  }
  auto budget = static_cast<size_t>(std::min<int64_t>(count, kScanCountMax));
  std::vector<Reply> found;
  auto it = keys.lower_bound(*cursor);
  size_t visited = 0;
  uint64_t last_hash = 0;
  while (it != keys.end() && (visited < budget || it->hash == last_hash)) {
    const Record& rec = *it->rec;
    if ((!type || equals_ignore_case(*type, type_name(rec.type))) && !hidden(rec, expiry_ms) &&
        glob_match(pattern, rec.key)) {
      found.push_back(Reply::bulk(rec.key));
    }
    last_hash = it->hash;
    ++visited;
    ++it;
  }
  uint64_t next = it == keys.end() ? 0 : it->hash;
  std::vector<Reply> reply;
  reply.push_back(Reply::bulk(std::to_string(next)));
  reply.push_back(Reply::array(std::move(found)));
  return Reply::array(std::move(reply));
}

Reply randomkey(const Keyspace& keys, int64_t expiry_ms, uint64_t random) {
  if (keys.size() == 0) return Reply::null();
  auto it = keys.lower_bound(random);
  for (size_t probe = 0; probe < kRandomKeyProbesMax && probe < keys.size(); ++probe) {
    if (it == keys.end()) it = keys.begin();
    if (!hidden(*it->rec, expiry_ms)) return Reply::bulk(it->rec->key);
    ++it;
  }
  return Reply::null();
}

Reply lease_ttl(const Coordination& coord, std::string_view id_text, ReadClock clock) {
  std::optional<int64_t> id = parse_int64(id_text);
  if (!id) return not_integer();
  const Lease* lease = *id > 0 ? coord.find_lease(static_cast<uint64_t>(*id)) : nullptr;
  if (lease == nullptr || lease->deadline_ms <= clock.expiry_ms) return Reply::integer_value(-2);
  return Reply::integer_value(clock.remaining_ms(lease->deadline_ms));
}

Reply elect_leader(const Coordination& coord, std::string_view name, ReadClock clock) {
  const Holder* h = coord.find_holder(name);
  if (h == nullptr || h->deadline_ms <= clock.expiry_ms) return Reply::null_array();
  std::vector<Reply> out;
  out.push_back(Reply::bulk(h->holder));
  out.push_back(Reply::integer_value(static_cast<int64_t>(h->token)));
  out.push_back(Reply::integer_value(clock.remaining_ms(h->deadline_ms)));
  return Reply::array(std::move(out));
}

Reply evaluate(const Keyspace& keys, const Coordination& coord, Op op,
               std::span<const std::string_view> argv, ReadClock clock, uint64_t random) {
  // Existence is judged at the expiry time only; the local clock serves remaining times.
  const int64_t expiry_ms = clock.expiry_ms;
  switch (op) {
    case Op::kLeaseTtl:
      return lease_ttl(coord, argv[2], clock);
    case Op::kElectLeader:
      return elect_leader(coord, argv[1], clock);
    case Op::kGet: {
      const Record* rec = live_record(keys, argv[1], expiry_ms);
      if (rec == nullptr) return Reply::null();
      return rec->type == ValueType::kString ? Reply::bulk(rec->value) : wrong_type();
    }
    case Op::kMGet: {
      std::vector<Reply> out;
      out.reserve(argv.size() - 1);
      for (size_t i = 1; i < argv.size(); ++i) {
        const Record* rec = live_record(keys, argv[i], expiry_ms);
        // Like Redis, a key of another type reads as absent.
        bool string = rec != nullptr && rec->type == ValueType::kString;
        out.push_back(string ? Reply::bulk(rec->value) : Reply::null());
      }
      return Reply::array(std::move(out));
    }
    case Op::kTouch:  // the accesses themselves are the server's (Store::touch)
    case Op::kExists: {
      int64_t n = 0;
      for (size_t i = 1; i < argv.size(); ++i)
        n += live_record(keys, argv[i], expiry_ms) != nullptr;
      return Reply::integer_value(n);
    }
    case Op::kStrLen: {
      const Record* rec = live_record(keys, argv[1], expiry_ms);
      if (rec != nullptr && rec->type != ValueType::kString) return wrong_type();
      return Reply::integer_value(rec == nullptr ? 0 : static_cast<int64_t>(rec->value.size()));
    }
    case Op::kGetRange:
      return getrange(keys, argv, expiry_ms);
    case Op::kTtl:
      return ttl(keys, argv[1], clock, false, false);
    case Op::kPTtl:
      return ttl(keys, argv[1], clock, true, false);
    case Op::kExpireTime:
      return ttl(keys, argv[1], clock, false, true);
    case Op::kPExpireTime:
      return ttl(keys, argv[1], clock, true, true);
    case Op::kType: {
      const Record* rec = live_record(keys, argv[1], expiry_ms);
      return Reply::simple(std::string(rec == nullptr ? "none" : type_name(rec->type)));
    }
    case Op::kKeys:
      return keys_cmd(keys, argv[1], expiry_ms);
    case Op::kScan:
      return scan(keys, argv, expiry_ms);
    case Op::kRandomKey:
      return randomkey(keys, expiry_ms, random);
    case Op::kDbSize:
      // Like Redis, counts keys whose deadline passed but that are not removed yet.
      return Reply::integer_value(static_cast<int64_t>(keys.size()));
    case Op::kGetVer: {
      const Record* rec = live_record(keys, argv[1], expiry_ms);
      if (rec == nullptr) return Reply::null();
      if (rec->type != ValueType::kString) return wrong_type();
      std::vector<Reply> out;
      out.push_back(Reply::bulk(rec->value));
      out.push_back(Reply::integer_value(static_cast<int64_t>(rec->version)));
      return Reply::array(std::move(out));
    }
    case Op::kHGet:
    case Op::kHMGet:
    case Op::kHGetAll:
    case Op::kHKeys:
    case Op::kHVals:
    case Op::kHLen:
    case Op::kHExists:
    case Op::kHStrLen:
    case Op::kHRandField:
    case Op::kHScan:
      return evaluate_hash_read(keys, op, argv, expiry_ms, random);
    case Op::kSMembers:
    case Op::kSIsMember:
    case Op::kSMIsMember:
    case Op::kSCard:
    case Op::kSRandMember:
    case Op::kSInter:
    case Op::kSUnion:
    case Op::kSDiff:
    case Op::kSInterCard:
    case Op::kSScan:
      return evaluate_set_read(keys, op, argv, expiry_ms, random);
    case Op::kLLen:
    case Op::kLRange:
    case Op::kLIndex:
    case Op::kLPos:
      return evaluate_list_read(keys, op, argv, expiry_ms);
    default:
      return Reply::error("ERR not a read-only command");
  }
}

}  // namespace

Reply evaluate_read(const Keyspace& keys, const Coordination& coord,
                    std::span<const std::string_view> argv, ReadClock clock, uint64_t random) {
  Reply error;
  const CommandSpec* spec = find_argv(argv, &error);
  if (spec == nullptr) return error;
  if (spec->write()) {
    return Reply::error(fmt::format("ERR '{}' is not a read-only command", spec->name));
  }
  // The server checked the arity against THE command table; LEASE TTL's is kv's to check.
  if (auto err = check_lease_args(*spec, argv.size())) return std::move(*err);
  return evaluate(keys, coord, spec->op, argv, clock, random);
}

}  // namespace bw::kv
