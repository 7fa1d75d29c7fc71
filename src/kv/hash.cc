// Hashes: HSET HSETNX HMSET HDEL HINCRBY HINCRBYFLOAT (writes, applied from the log) and HGET
// HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HRANDFIELD HSCAN (reads). Redis 7 replies and
// errors. Fields keep the order they were first set in (a Redis hash small enough for a listpack
// has the same order); a hash whose last field goes is deleted.
#include <cmath>
#include <random>

#include "common/assert.h"
#include "common/glob.h"
#include "kv/aggregate_read.h"
#include "kv/apply.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

// Sets field to value in h, keeping the byte count; true if the field was added.
bool put(HashValue& h, std::string_view field, std::string_view value) {
  auto [slot, added] = h.table().insert(field);
  const size_t old_bytes = added ? 0 : HashValue::field_bytes(field, *slot);
  slot->assign(value);
  h.resized(old_bytes, HashValue::field_bytes(field, value));
  return added;
}

}  // namespace

Reply Applier::hash_write(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  Reply error;
  Record* rec = live_typed(a[0], ValueType::kHash, &error);
  if (error.is_error()) return error;
  const size_t before = rec == nullptr ? 0 : Keyspace::value_size(*rec);
  // Creates the hash for the commands that write a field.
  auto hash = [&]() -> HashValue& {
    if (rec == nullptr) rec = create(a[0], ValueType::kHash);
    return *rec->hash;
  };
  // Stamps the version and keeps the keyspace's byte count after a change.
  auto changed = [&](std::string_view event) {
    keys_.value_resized(before, Keyspace::value_size(*rec));
    rec->version = index_;
    emit(a[0], event);
  };
  switch (cmd.op) {
    case Op::kHSet:
    case Op::kHMSet: {
      HashValue& h = hash();
      int64_t added = 0;
      for (size_t i = 1; i + 1 < a.size(); i += 2) added += put(h, a[i], a[i + 1]);
      changed("hset");
      return cmd.op == Op::kHSet ? Reply::integer_value(added) : Reply::ok();
    }
    case Op::kHSetNx: {
      if (rec != nullptr && rec->hash->table().find(a[1]) != nullptr) {
        return Reply::integer_value(0);
      }
      put(hash(), a[1], a[2]);
      changed("hset");
      return Reply::integer_value(1);
    }
    case Op::kHDel: {
      if (rec == nullptr) return Reply::integer_value(0);
      HashValue& h = *rec->hash;
      int64_t removed = 0;
      for (size_t i = 1; i < a.size(); ++i) {
        const std::string* value = h.table().find(a[i]);
        if (value == nullptr) continue;
        h.resized(HashValue::field_bytes(a[i], *value), 0);
        h.table().erase(a[i]);
        ++removed;
      }
      if (removed == 0) return Reply::integer_value(0);
      changed("hdel");
      if (h.table().empty()) remove(rec, "del");
      return Reply::integer_value(removed);
    }
    case Op::kHIncrBy: {
      int64_t value = 0;
      const std::string* old = rec == nullptr ? nullptr : rec->hash->table().find(a[1]);
      if (old != nullptr) {
        std::optional<int64_t> v = parse_int64(*old);
        if (!v) return Reply::error("ERR hash value is not an integer");
        value = *v;
      }
      int64_t result = 0;
      if (__builtin_add_overflow(value, cmd.amount, &result)) {
        return Reply::error("ERR increment or decrement would overflow");
      }
      put(hash(), a[1], std::to_string(result));
      changed("hincrby");
      return Reply::integer_value(result);
    }
    case Op::kHIncrByFloat: {
      long double value = 0;
      const std::string* old = rec == nullptr ? nullptr : rec->hash->table().find(a[1]);
      if (old != nullptr) {
        std::optional<long double> v = parse_long_double(*old);
        if (!v) return Reply::error("ERR hash value is not a float");
        value = *v;
      }
      value += cmd.float_amount;
      if (std::isnan(value) || std::isinf(value)) {
        return Reply::error("ERR increment would produce NaN or Infinity");
      }
      std::string text = format_long_double(value);
      put(hash(), a[1], text);
      changed("hincrbyfloat");
      return Reply::bulk(std::move(text));
    }
    default:
      BW_UNREACHABLE("not a hash write: {}", static_cast<int>(cmd.op));
  }
}

namespace {

// HRANDFIELD key [count [WITHVALUES]], following Redis's hrandfieldWithCountCommand: a negative
// count may repeat fields; a positive one returns distinct fields, the whole hash when count >=
// its size (in order).
Reply hrandfield(const HashValue* h, std::span<const std::string_view> argv, uint64_t random) {
  if (argv.size() == 2) {
    if (h == nullptr) return Reply::null();
    return Reply::bulk(h->table().at(random % h->table().size())->first);
  }
  if (auto err = check_random_count(argv[2])) return std::move(*err);
  const std::optional<int64_t> count = parse_int64(argv[2]);
  bool with_values = false;
  if (argv.size() == 4 && equals_ignore_case(argv[3], "withvalues")) {
    with_values = true;
  } else if (argv.size() > 3) {
    return Reply::error("ERR syntax error");
  }
  if (with_values && *count < -(INT64_MAX / 2)) return Reply::error("ERR value is out of range");
  std::vector<Reply> out;
  if (h == nullptr || *count == 0) return Reply::array(std::move(out));
  const HashValue::Table& t = h->table();
  auto emit = [&](const HashValue::Table::Node* node) {
    out.push_back(Reply::bulk(node->first));
    if (with_values) out.push_back(Reply::bulk(node->second.value));
  };
  std::mt19937_64 rng(random);
  if (*count < 0) {
    const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(-*count), kRandomRepliesMax);
    for (uint64_t i = 0; i < n; ++i) emit(t.at(rng() % t.size()));
    return Reply::array(std::move(out));
  }
  if (static_cast<uint64_t>(*count) >= t.size()) {
    for (const auto& [seq, node] : t) emit(node);
    return Reply::array(std::move(out));
  }
  // Distinct ranks: a partial Fisher-Yates shuffle over the ranks, then in rank order.
  std::vector<size_t> ranks(t.size());
  for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = i;
  const auto n = static_cast<size_t>(*count);
  for (size_t i = 0; i < n; ++i) std::swap(ranks[i], ranks[i + rng() % (ranks.size() - i)]);
  ranks.resize(n);
  for (size_t r : ranks) emit(t.at(r));
  return Reply::array(std::move(out));
}

}  // namespace

Reply evaluate_hash_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                         int64_t expiry_ms, uint64_t random) {
  // Redis checks a scan's cursor before the key's type.
  if (op == Op::kHScan && !parse_scan_cursor(argv[2])) return Reply::error("ERR invalid cursor");
  const Record* rec = live_record(keys, argv[1], expiry_ms);
  if (rec != nullptr && rec->type != ValueType::kHash) return wrong_type();
  const HashValue* h = rec == nullptr ? nullptr : rec->hash.get();
  auto field = [&](std::string_view name) -> const std::string* {
    return h == nullptr ? nullptr : h->table().find(name);
  };
  switch (op) {
    case Op::kHGet: {
      const std::string* v = field(argv[2]);
      return v == nullptr ? Reply::null() : Reply::bulk(*v);
    }
    case Op::kHMGet: {
      std::vector<Reply> out;
      for (size_t i = 2; i < argv.size(); ++i) {
        const std::string* v = field(argv[i]);
        out.push_back(v == nullptr ? Reply::null() : Reply::bulk(*v));
      }
      return Reply::array(std::move(out));
    }
    case Op::kHGetAll:
    case Op::kHKeys:
    case Op::kHVals: {
      std::vector<Reply> out;
      if (h != nullptr) {
        for (const auto& [seq, node] : h->table()) {
          if (op != Op::kHVals) out.push_back(Reply::bulk(node->first));
          if (op != Op::kHKeys) out.push_back(Reply::bulk(node->second.value));
        }
      }
      return op == Op::kHGetAll ? Reply::map(std::move(out)) : Reply::array(std::move(out));
    }
    case Op::kHLen:
      return Reply::integer_value(h == nullptr ? 0 : static_cast<int64_t>(h->table().size()));
    case Op::kHExists:
      return Reply::integer_value(field(argv[2]) != nullptr ? 1 : 0);
    case Op::kHStrLen: {
      const std::string* v = field(argv[2]);
      return Reply::integer_value(v == nullptr ? 0 : static_cast<int64_t>(v->size()));
    }
    case Op::kHRandField:
      return hrandfield(h, argv, random);
    case Op::kHScan:
      return scan_members(h == nullptr ? nullptr : &h->table(), argv,
                          [](const HashValue::Table::Node& node, std::vector<Reply>* out) {
                            out->push_back(Reply::bulk(node.first));
                            out->push_back(Reply::bulk(node.second.value));
                          });
    default:
      return Reply::error("ERR not a hash read");
  }
}

}  // namespace bw::kv
