#include "kv/apply.h"

#include <cmath>
#include <string>

#include "common/assert.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {
Reply not_integer() {
  return Reply::error("ERR value is not an integer or out of range");
}
Reply too_big() {
  return Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}
}  // namespace

Reply wrong_type() {
  return Reply::error(std::string(kWrongTypeError));
}

Record* Applier::live_typed(std::string_view key, ValueType type, Reply* error) {
  Record* rec = live(key);
  if (rec != nullptr && rec->type != type) {
    *error = wrong_type();
    return nullptr;
  }
  return rec;
}

Record* Applier::create(std::string_view key, ValueType type) {
  Record* rec = keys_.insert(key);
  keys_.reset_value(rec, type);
  rec->version = index_;
  return rec;
}

Record* Applier::live(std::string_view key) {
  Record* rec = keys_.find(key);
  if (rec == nullptr) return nullptr;
  if (rec->deadline_ms != 0 && rec->deadline_ms <= now_ms_) {
    remove(rec, "expired");
    return nullptr;
  }
  return rec;
}

void Applier::emit(std::string_view key, std::string_view event) {
  if (effects_ != nullptr) {
    effects_->key_events.push_back(KeyEvent{std::string(key), std::string(event)});
  }
}

void Applier::remove(Record* rec, std::string_view event) {
  emit(rec->key, event);
  keys_.erase(rec);
}

void Applier::assign(Record* rec, std::string_view value) {
  if (rec->type != ValueType::kString) keys_.reset_value(rec, ValueType::kString);
  keys_.value_resized(rec->value.size(), value.size());
  // Reuse the old buffer when it fits without wasting much; a much larger one is released.
  if (rec->value.capacity() > 2 * value.size() + 32) {
    rec->value = std::string(value);
  } else {
    rec->value.assign(value);
  }
  rec->version = index_;
}

Record* Applier::store(std::string_view key, std::string_view value, WriteCmd::Ttl ttl,
                       int64_t deadline_ms, uint64_t lease_id) {
  Record* rec = live(key);
  if (rec == nullptr) {
    rec = keys_.insert(key);
  } else {
    // Deterministic stand-in for a random draw: the LFU counter is local statistics anyway.
    keys_.touch(rec, index_ * 0x9e3779b97f4a7c15ull);
  }
  assign(rec, value);
  keys_.set_lease(rec, lease_id);
  if (ttl == WriteCmd::Ttl::kClear) keys_.set_deadline(rec, 0);
  if (ttl == WriteCmd::Ttl::kSet) keys_.set_deadline(rec, deadline_ms);
  return rec;
}

Reply Applier::run(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  switch (cmd.op) {
    case Op::kSet:
      return set(cmd);
    case Op::kSetNx:
      if (live(a[0]) != nullptr) return Reply::integer_value(0);
      store(a[0], a[1], WriteCmd::Ttl::kClear, 0);
      emit(a[0], "set");
      return Reply::integer_value(1);
    case Op::kSetEx:
    case Op::kPSetEx:
      store(a[0], a[2], WriteCmd::Ttl::kSet, cmd.deadline_ms);
      emit(a[0], "set");
      emit(a[0], "expire");
      return Reply::ok();
    case Op::kGetSet: {
      Reply error;
      Record* rec = live_typed(a[0], ValueType::kString, &error);
      if (error.is_error()) return error;
      Reply old = rec == nullptr ? Reply::null() : Reply::bulk(rec->value);
      store(a[0], a[1], WriteCmd::Ttl::kClear, 0);
      emit(a[0], "set");
      return old;
    }
    case Op::kGetDel: {
      Reply error;
      Record* rec = live_typed(a[0], ValueType::kString, &error);
      if (error.is_error()) return error;
      if (rec == nullptr) return Reply::null();
      Reply old = Reply::bulk(rec->value);
      remove(rec, "del");
      return old;
    }
    case Op::kGetEx:
      return getex(cmd);
    case Op::kMSet:
    case Op::kMSetNx:
      return mset(cmd);
    case Op::kDel:
    case Op::kUnlink:
      return del(cmd);
    case Op::kIncr:
    case Op::kDecr:
    case Op::kIncrBy:
    case Op::kDecrBy:
      return incr(cmd);
    case Op::kIncrByFloat:
      return incrbyfloat(cmd);
    case Op::kAppend:
      return append(cmd);
    case Op::kSetRange:
      return setrange(cmd);
    case Op::kExpire:
    case Op::kPExpire:
    case Op::kExpireAt:
    case Op::kPExpireAt:
      return expire(cmd);
    case Op::kPersist:
      return persist(cmd);
    case Op::kRename:
    case Op::kRenameNx:
      return rename(cmd);
    case Op::kCopy:
      return copy(cmd);
    case Op::kFlushAll:
    case Op::kFlushDb:
      keys_.clear();  // leases and election holders stay (only their keys go)
      return Reply::ok();
    case Op::kCas:
      return cas(cmd);
    case Op::kLeaseGrant:
      return lease_grant(cmd);
    case Op::kLeaseKeepAlive:
      return lease_keepalive(cmd);
    case Op::kLeaseRevoke:
      return lease_revoke(cmd);
    case Op::kElect:
    case Op::kLock:
      return campaign(cmd);
    case Op::kElectKeepAlive:
      return elect_keepalive(cmd);
    case Op::kElectResign:
    case Op::kUnlock:
      return resign(cmd);
    case Op::kPublish:
    case Op::kSPublish:
      return publish(cmd);
    case Op::kHSet:
    case Op::kHSetNx:
    case Op::kHMSet:
    case Op::kHDel:
    case Op::kHIncrBy:
    case Op::kHIncrByFloat:
      return hash_write(cmd);
    case Op::kSAdd:
    case Op::kSRem:
    case Op::kSPop:
    case Op::kSMove:
    case Op::kSInterStore:
    case Op::kSUnionStore:
    case Op::kSDiffStore:
      return set_write(cmd);
    case Op::kLPush:
    case Op::kRPush:
    case Op::kLPushX:
    case Op::kRPushX:
    case Op::kLPop:
    case Op::kRPop:
    case Op::kLSet:
    case Op::kLInsert:
    case Op::kLRem:
    case Op::kLTrim:
    case Op::kLMove:
    case Op::kRPopLPush:
    case Op::kLMPop:
    case Op::kBLPop:
    case Op::kBRPop:
    case Op::kBLMove:
    case Op::kBRPopLPush:
    case Op::kBLMPop:
      return list_write(cmd);
    default:
      BW_UNREACHABLE("not a write opcode: {}", static_cast<int>(cmd.op));
  }
}

Reply Applier::set(const WriteCmd& cmd) {
  std::string_view key = cmd.args[0];
  if (cmd.lease_id != 0 && live_lease(cmd.lease_id) == nullptr) {
    return Reply::error("ERR no such lease");
  }
  Record* rec = live(key);
  // SET overwrites a value of any type, but SET ... GET must read a string first.
  if (cmd.get && rec != nullptr && rec->type != ValueType::kString) return wrong_type();
  Reply reply = Reply::ok();
  if (cmd.get) reply = rec == nullptr ? Reply::null() : Reply::bulk(rec->value);
  bool found = rec != nullptr;
  if ((cmd.cond == WriteCmd::Cond::kNx && found) || (cmd.cond == WriteCmd::Cond::kXx && !found) ||
      (cmd.if_version && cmd.expected_version != (found ? rec->version : 0))) {
    return cmd.get ? reply : Reply::null();
  }
  rec = store(key, cmd.args[1], cmd.ttl, cmd.deadline_ms, cmd.lease_id);
  emit(key, "set");
  if (cmd.ttl == WriteCmd::Ttl::kSet) {
    emit(key, "expire");
    // An absolute time already past: the key is gone as soon as it is written.
    if (cmd.deadline_ms <= now_ms_) remove(rec, "expired");
  }
  return reply;
}

Reply Applier::getex(const WriteCmd& cmd) {
  Reply error;
  Record* rec = live_typed(cmd.args[0], ValueType::kString, &error);
  if (error.is_error()) return error;
  if (rec == nullptr) return Reply::null();
  Reply reply = Reply::bulk(rec->value);
  if (cmd.ttl == WriteCmd::Ttl::kSet) {
    if (cmd.deadline_absolute && cmd.deadline_ms <= now_ms_) {
      remove(rec, "del");
    } else {
      keys_.set_deadline(rec, cmd.deadline_ms);
      rec->version = index_;
      emit(rec->key, "expire");
    }
  } else if (cmd.ttl == WriteCmd::Ttl::kPersist && rec->deadline_ms != 0) {
    keys_.set_deadline(rec, 0);
    rec->version = index_;
    emit(rec->key, "persist");
  }
  return reply;
}

Reply Applier::mset(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  if (cmd.op == Op::kMSetNx) {
    for (size_t i = 0; i < a.size(); i += 2) {
      if (live(a[i]) != nullptr) return Reply::integer_value(0);
    }
  }
  for (size_t i = 0; i < a.size(); i += 2) {
    store(a[i], a[i + 1], WriteCmd::Ttl::kClear, 0);
    emit(a[i], "set");
  }
  return cmd.op == Op::kMSetNx ? Reply::integer_value(1) : Reply::ok();
}

Reply Applier::del(const WriteCmd& cmd) {
  int64_t deleted = 0;
  for (std::string_view key : cmd.args) {
    if (Record* rec = live(key)) {
      remove(rec, "del");
      ++deleted;
    }
  }
  return Reply::integer_value(deleted);
}

Reply Applier::incr(const WriteCmd& cmd) {
  std::string_view key = cmd.args[0];
  Reply error;
  Record* rec = live_typed(key, ValueType::kString, &error);
  if (error.is_error()) return error;
  int64_t value = 0;
  if (rec != nullptr) {
    std::optional<int64_t> v = parse_int64(rec->value);
    if (!v) return not_integer();
    value = *v;
  }
  int64_t result = 0;
  if (__builtin_add_overflow(value, cmd.amount, &result)) {
    return Reply::error("ERR increment or decrement would overflow");
  }
  if (rec == nullptr) rec = keys_.insert(key);
  assign(rec, std::to_string(result));  // INCR keeps the deadline
  emit(key, "incrby");
  return Reply::integer_value(result);
}

Reply Applier::incrbyfloat(const WriteCmd& cmd) {
  std::string_view key = cmd.args[0];
  Reply error;
  Record* rec = live_typed(key, ValueType::kString, &error);
  if (error.is_error()) return error;
  long double value = 0;
  if (rec != nullptr) {
    std::optional<long double> v = parse_long_double(rec->value);
    if (!v) return Reply::error("ERR value is not a valid float");
    value = *v;
  }
  value += cmd.float_amount;
  if (std::isnan(value) || std::isinf(value)) {
    return Reply::error("ERR increment would produce NaN or Infinity");
  }
  std::string text = format_long_double(value);
  if (rec == nullptr) rec = keys_.insert(key);
  assign(rec, text);
  emit(key, "incrbyfloat");
  return Reply::bulk(std::move(text));
}

Reply Applier::append(const WriteCmd& cmd) {
  std::string_view key = cmd.args[0];
  std::string_view tail = cmd.args[1];
  Reply error;
  Record* rec = live_typed(key, ValueType::kString, &error);
  if (error.is_error()) return error;
  if (rec == nullptr) {
    rec = store(key, tail, WriteCmd::Ttl::kClear, 0);
  } else {
    if (rec->value.size() + tail.size() > kValueBytesMax) return too_big();
    keys_.value_resized(rec->value.size(), rec->value.size() + tail.size());
    rec->value.append(tail);
    rec->version = index_;
  }
  emit(key, "append");
  return Reply::integer_value(static_cast<int64_t>(rec->value.size()));
}

Reply Applier::setrange(const WriteCmd& cmd) {
  std::string_view key = cmd.args[0];
  std::string_view piece = cmd.args[2];
  auto offset = static_cast<size_t>(cmd.amount);
  Reply error;
  Record* rec = live_typed(key, ValueType::kString, &error);
  if (error.is_error()) return error;
  if (piece.empty()) {
    // Redis answers the current length and writes nothing, not even a zero-length key.
    return Reply::integer_value(rec == nullptr ? 0 : static_cast<int64_t>(rec->value.size()));
  }
  if (rec == nullptr) rec = keys_.insert(key);
  size_t old_size = rec->value.size();
  if (offset + piece.size() > old_size) rec->value.resize(offset + piece.size(), '\0');
  rec->value.replace(offset, piece.size(), piece);
  keys_.value_resized(old_size, rec->value.size());
  rec->version = index_;
  emit(key, "setrange");
  return Reply::integer_value(static_cast<int64_t>(rec->value.size()));
}

Reply Applier::expire(const WriteCmd& cmd) {
  Record* rec = live(cmd.args[0]);
  if (rec == nullptr) return Reply::integer_value(0);
  const int64_t when = cmd.deadline_ms;
  const int64_t current = rec->deadline_ms;  // 0 = none (Redis's -1)
  const uint8_t f = cmd.expire_flags;
  if ((f & kExpireNx) && current != 0) return Reply::integer_value(0);
  if ((f & kExpireXx) && current == 0) return Reply::integer_value(0);
  // No deadline counts as infinite: GT never wins over it, LT always does.
  if ((f & kExpireGt) && (current == 0 || when <= current)) return Reply::integer_value(0);
  if ((f & kExpireLt) && current != 0 && when >= current) return Reply::integer_value(0);
  if (when <= now_ms_) {
    remove(rec, "del");
  } else {
    keys_.set_deadline(rec, when);
    rec->version = index_;
    emit(rec->key, "expire");
  }
  return Reply::integer_value(1);
}

Reply Applier::persist(const WriteCmd& cmd) {
  Record* rec = live(cmd.args[0]);
  if (rec == nullptr || rec->deadline_ms == 0) return Reply::integer_value(0);
  keys_.set_deadline(rec, 0);
  rec->version = index_;
  emit(rec->key, "persist");
  return Reply::integer_value(1);
}

Reply Applier::rename(const WriteCmd& cmd) {
  const bool nx = cmd.op == Op::kRenameNx;
  std::string_view from = cmd.args[0];
  std::string_view to = cmd.args[1];
  Record* src = live(from);
  if (src == nullptr) return Reply::error("ERR no such key");
  if (from == to) return nx ? Reply::integer_value(0) : Reply::ok();
  if (Record* dst = live(to)) {
    if (nx) return Reply::integer_value(0);
    keys_.erase(dst);  // Redis sends no "del" for the overwritten destination
  }
  Record* dst = keys_.insert(to);
  // The value changes owner, not size: value_bytes stays right once src is erased empty.
  dst->type = src->type;
  dst->value = std::move(src->value);
  dst->hash = std::move(src->hash);
  dst->set = std::move(src->set);
  dst->list = std::move(src->list);
  src->type = ValueType::kString;
  src->value.clear();
  keys_.set_deadline(dst, src->deadline_ms);
  keys_.set_lease(dst, src->lease_id);  // like the deadline, the lease moves with the value
  dst->version = index_;
  emit(from, "rename_from");
  keys_.erase(src);
  emit(to, "rename_to");
  return nx ? Reply::integer_value(1) : Reply::ok();
}

// COPY source destination [DB 0] [REPLACE]: a new key with the source's value (any type) and
// deadline; the lease stays with the source. Event "copy_to" on the destination.
Reply Applier::copy(const WriteCmd& cmd) {
  std::string_view from = cmd.args[0];
  std::string_view to = cmd.args[1];
  if (from == to) return Reply::error("ERR source and destination objects are the same");
  Record* src = live(from);
  if (src == nullptr) return Reply::integer_value(0);
  if (Record* dst = live(to)) {
    if (cmd.cond != WriteCmd::Cond::kXx) return Reply::integer_value(0);
    keys_.erase(dst);  // Redis sends no "del" for the replaced destination
  }
  Record* dst = create(to, src->type);
  switch (src->type) {
    case ValueType::kString:
      dst->value = src->value;
      break;
    case ValueType::kHash:
      for (const auto& [seq, node] : src->hash->table()) {
        dst->hash->table().insert(node->first).first->assign(node->second.value);
      }
      dst->hash->resized(0, src->hash->bytes());
      break;
    case ValueType::kSet:
      for (const auto& [seq, node] : src->set->table()) dst->set->table().insert(node->first);
      dst->set->resized(0, src->set->bytes());
      break;
    case ValueType::kList:
      dst->list->items() = src->list->items();
      dst->list->resized(0, src->list->bytes());
      break;
  }
  keys_.value_resized(0, Keyspace::value_size(*dst));
  keys_.set_deadline(dst, src->deadline_ms);
  emit(to, "copy_to");
  return Reply::integer_value(1);
}

Reply Applier::expire_key(std::string_view key, int64_t deadline_ms) {
  Record* rec = keys_.find(key);
  if (rec == nullptr || rec->deadline_ms == 0 || rec->deadline_ms != deadline_ms ||
      rec->deadline_ms > now_ms_) {
    return Reply::integer_value(0);
  }
  remove(rec, "expired");
  return Reply::integer_value(1);
}

Reply Applier::evict(std::span<const std::string_view> keys) {
  int64_t evicted = 0;
  for (std::string_view key : keys) {
    Record* rec = keys_.find(key);
    if (rec == nullptr) continue;
    remove(rec, "evicted");
    ++evicted;
  }
  return Reply::integer_value(evicted);
}

}  // namespace bw::kv
