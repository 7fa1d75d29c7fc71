// Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LSET LINSERT LREM LTRIM LMOVE RPOPLPUSH LMPOP (writes,
// applied from the log: which element a pop takes is decided by the log's order, so every element
// goes to exactly one popper) and LLEN LRANGE LINDEX LPOS (reads). Redis 7 replies and errors. A
// list whose last element goes is deleted. The blocking pops (BLPOP ...) are the server's: it
// proposes the non-blocking pop when the list may have elements (docs/commands.md, Lists).
#include <fmt/format.h>

#include "common/assert.h"
#include "kv/aggregate_read.h"
#include "kv/apply.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

// Redis's index arithmetic for LRANGE/LTRIM: [start, end] clamped into the list, or nullopt when
// the range holds nothing.
std::optional<std::pair<size_t, size_t>> clamp_range(int64_t start, int64_t end, size_t size) {
  const auto len = static_cast<int64_t>(size);
  if (start < 0) start = start < -len ? 0 : len + start;
  if (end < 0) end = end < -len ? -1 : len + end;
  if (start > end || start >= len) return std::nullopt;
  if (end >= len) end = len - 1;
  return std::pair<size_t, size_t>(static_cast<size_t>(start), static_cast<size_t>(end));
}

// The element at Redis index `index` (negative from the tail), or null.
template <typename Deque>
auto at_index(Deque& items, int64_t index) -> decltype(&items[0]) {
  const auto len = static_cast<int64_t>(items.size());
  if (index < 0) index += len;
  if (index < 0 || index >= len) return nullptr;
  return &items[static_cast<size_t>(index)];
}

bool is_left(std::string_view where) {
  return equals_ignore_case(where, "left");
}

}  // namespace

// Pops up to `count` elements of a present list at one end; emits the event, deletes the key
// when emptied.
std::vector<std::string> Applier::list_pop(Record* rec, bool left, size_t count) {
  ListValue& l = *rec->list;
  const size_t before = Keyspace::value_size(*rec);
  std::vector<std::string> out;
  while (out.size() < count && !l.items().empty()) {
    std::string& e = left ? l.items().front() : l.items().back();
    l.resized(ListValue::element_bytes(e), 0);
    out.push_back(std::move(e));
    if (left) {
      l.items().pop_front();
    } else {
      l.items().pop_back();
    }
  }
  keys_.value_resized(before, Keyspace::value_size(*rec));
  rec->version = index_;
  emit(rec->key, left ? "lpop" : "rpop");
  if (l.items().empty()) remove(rec, "del");
  return out;
}

// Pushes `elements` one by one at one end of `key`'s list, creating it. Returns the new length.
size_t Applier::list_push(std::string_view key, Record* rec, bool left,
                          std::span<const std::string_view> elements) {
  if (rec == nullptr) rec = create(key, ValueType::kList);
  ListValue& l = *rec->list;
  const size_t before = Keyspace::value_size(*rec);
  for (std::string_view e : elements) {
    l.resized(0, ListValue::element_bytes(e));
    if (left) {
      l.items().emplace_front(e);
    } else {
      l.items().emplace_back(e);
    }
  }
  keys_.value_resized(before, Keyspace::value_size(*rec));
  rec->version = index_;
  emit(key, left ? "lpush" : "rpush");
  return l.items().size();
}

Reply Applier::list_write(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  if (cmd.op == Op::kLMPop) return lmpop(cmd);
  if (cmd.op == Op::kLMove || cmd.op == Op::kRPopLPush) return lmove(cmd);
  if (cmd.op >= Op::kBLPop && cmd.op <= Op::kBLMPop) return blocking_pop(cmd);
  Reply error;
  Record* rec = live_typed(a[0], ValueType::kList, &error);
  if (error.is_error()) return error;
  switch (cmd.op) {
    case Op::kLPush:
    case Op::kRPush:
    case Op::kLPushX:
    case Op::kRPushX: {
      const bool x = cmd.op == Op::kLPushX || cmd.op == Op::kRPushX;
      if (x && rec == nullptr) return Reply::integer_value(0);
      const bool left = cmd.op == Op::kLPush || cmd.op == Op::kLPushX;
      const size_t n = list_push(a[0], rec, left, std::span(a).subspan(1));
      return Reply::integer_value(static_cast<int64_t>(n));
    }
    case Op::kLPop:
    case Op::kRPop: {
      const bool has_count = a.size() == 2;
      if (rec == nullptr) return has_count ? Reply::null_array() : Reply::null();
      const bool left = cmd.op == Op::kLPop;
      if (!has_count) return Reply::bulk(std::move(list_pop(rec, left, 1)[0]));
      if (cmd.amount == 0) return Reply::array({});
      std::vector<Reply> out;
      for (std::string& e : list_pop(rec, left, static_cast<size_t>(cmd.amount))) {
        out.push_back(Reply::bulk(std::move(e)));
      }
      return Reply::array(std::move(out));
    }
    case Op::kLSet: {
      if (rec == nullptr) return Reply::error("ERR no such key");
      std::string* e = at_index(rec->list->items(), *parse_int64(a[1]));
      if (e == nullptr) return Reply::error("ERR index out of range");
      const size_t before = Keyspace::value_size(*rec);
      rec->list->resized(ListValue::element_bytes(*e), ListValue::element_bytes(a[2]));
      e->assign(a[2]);
      keys_.value_resized(before, Keyspace::value_size(*rec));
      rec->version = index_;
      emit(a[0], "lset");
      return Reply::ok();
    }
    case Op::kLInsert: {
      if (rec == nullptr) return Reply::integer_value(0);
      auto& items = rec->list->items();
      auto it = std::find(items.begin(), items.end(), a[2]);
      if (it == items.end()) return Reply::integer_value(-1);
      if (!equals_ignore_case(a[1], "before")) ++it;
      const size_t before = Keyspace::value_size(*rec);
      items.emplace(it, a[3]);
      rec->list->resized(0, ListValue::element_bytes(a[3]));
      keys_.value_resized(before, Keyspace::value_size(*rec));
      rec->version = index_;
      emit(a[0], "linsert");
      return Reply::integer_value(static_cast<int64_t>(items.size()));
    }
    case Op::kLRem: {
      if (rec == nullptr) return Reply::integer_value(0);
      const int64_t count = *parse_int64(a[1]);
      auto& items = rec->list->items();
      const size_t before = Keyspace::value_size(*rec);
      // |count| matches from the head (count > 0) or the tail (count < 0); 0: every match.
      const uint64_t limit = count == 0  ? UINT64_MAX
                             : count < 0 ? static_cast<uint64_t>(-(count + 1)) + 1
                                         : static_cast<uint64_t>(count);
      std::deque<std::string> kept;
      uint64_t removed = 0;
      auto consider = [&](std::string& e, bool front) {
        if (removed < limit && e == a[2]) {
          rec->list->resized(ListValue::element_bytes(e), 0);
          ++removed;
        } else if (front) {
          kept.push_front(std::move(e));
        } else {
          kept.push_back(std::move(e));
        }
      };
      if (count < 0) {
        for (auto it = items.rbegin(); it != items.rend(); ++it) consider(*it, true);
      } else {
        for (std::string& e : items) consider(e, false);
      }
      items.swap(kept);
      if (removed == 0) return Reply::integer_value(0);
      keys_.value_resized(before, Keyspace::value_size(*rec));
      rec->version = index_;
      emit(a[0], "lrem");
      if (items.empty()) remove(rec, "del");
      return Reply::integer_value(static_cast<int64_t>(removed));
    }
    case Op::kLTrim: {
      if (rec == nullptr) return Reply::ok();
      auto& items = rec->list->items();
      auto range = clamp_range(*parse_int64(a[1]), *parse_int64(a[2]), items.size());
      const size_t keep_from = range ? range->first : items.size();
      const size_t keep_to = range ? range->second + 1 : items.size();
      const size_t before = Keyspace::value_size(*rec);
      for (size_t i = 0; i < items.size(); ++i) {
        if (i < keep_from || i >= keep_to) {
          rec->list->resized(ListValue::element_bytes(items[i]), 0);
        }
      }
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(keep_to), items.end());
      items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(keep_from));
      keys_.value_resized(before, Keyspace::value_size(*rec));
      rec->version = index_;
      emit(a[0], "ltrim");
      if (items.empty()) remove(rec, "del");
      return Reply::ok();
    }
    default:
      BW_UNREACHABLE("not a list write: {}", static_cast<int>(cmd.op));
  }
}

Reply Applier::lmove(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  const bool rpoplpush = cmd.op == Op::kRPopLPush;
  const bool from_left = !rpoplpush && is_left(a[2]);
  const bool to_left = rpoplpush || is_left(a[3]);
  Reply error;
  Record* src = live_typed(a[0], ValueType::kList, &error);
  if (error.is_error()) return error;
  if (src == nullptr) return Reply::null();
  Record* dst = live_typed(a[1], ValueType::kList, &error);
  if (error.is_error()) return error;
  std::string element = std::move(list_pop(src, from_left, 1)[0]);
  // The source may be gone now (it was emptied), or be the destination (a rotation).
  dst = live_typed(a[1], ValueType::kList, &error);
  const std::string_view e = element;
  list_push(a[1], dst, to_left, std::span(&e, 1));
  return Reply::bulk(std::move(element));
}

// One attempt of a blocking pop (command.h, BlockingPop).
Reply Applier::blocking_pop(const WriteCmd& cmd) {
  const auto& a = cmd.args;
  WriteCmd plain = cmd;
  Reply r;
  switch (cmd.op) {
    case Op::kBLPop:
    case Op::kBRPop:
      // keys... timeout: as LMPOP numkeys keys... LEFT|RIGHT, one element, reshaped.
      for (size_t i = 0; i + 1 < a.size(); ++i) {
        Reply error;
        Record* rec = live_typed(a[i], ValueType::kList, &error);
        if (error.is_error()) return error;
        if (rec == nullptr) continue;
        std::vector<Reply> out;
        out.push_back(Reply::bulk(std::string(a[i])));
        out.push_back(Reply::bulk(std::move(list_pop(rec, cmd.op == Op::kBLPop, 1)[0])));
        return Reply::array(std::move(out));
      }
      r = Reply::null_array();
      break;
    case Op::kBLMove:
    case Op::kBRPopLPush:
      plain.op = cmd.op == Op::kBLMove ? Op::kLMove : Op::kRPopLPush;
      plain.args.pop_back();  // the timeout
      r = lmove(plain);
      break;
    default:  // kBLMPop: timeout numkeys key... LEFT|RIGHT [COUNT n]
      plain.op = Op::kLMPop;
      plain.args.erase(plain.args.begin());
      r = lmpop(plain);
      break;
  }
  const bool empty = r.kind == Reply::Kind::kNull || r.kind == Reply::Kind::kNullArray;
  if (empty && !in_transaction_) return Reply::integer_value(static_cast<int64_t>(index_));
  return r;
}

Reply Applier::lmpop(const WriteCmd& cmd) {
  const auto& a = cmd.args;  // numkeys key... LEFT|RIGHT [COUNT n]
  const auto numkeys = static_cast<size_t>(*parse_int64(a[0]));
  const bool left = is_left(a[numkeys + 1]);
  const size_t count = a.size() > numkeys + 2 ? static_cast<size_t>(*parse_int64(a.back())) : 1;
  for (size_t i = 1; i <= numkeys; ++i) {
    Reply error;
    Record* rec = live_typed(a[i], ValueType::kList, &error);
    if (error.is_error()) return error;
    if (rec == nullptr) continue;
    std::vector<Reply> popped;
    for (std::string& e : list_pop(rec, left, count)) popped.push_back(Reply::bulk(std::move(e)));
    std::vector<Reply> out;
    out.push_back(Reply::bulk(std::string(a[i])));
    out.push_back(Reply::array(std::move(popped)));
    return Reply::array(std::move(out));
  }
  return Reply::null_array();
}

namespace {

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len], as Redis's lposCommand.
Reply lpos(const ListValue* list, std::span<const std::string_view> argv) {
  int64_t rank = 1;
  int64_t count = -1;  // -1: no COUNT (a single index or nil)
  int64_t maxlen = 0;
  for (size_t j = 3; j < argv.size(); ++j) {
    const bool more = j + 1 < argv.size();
    if (equals_ignore_case(argv[j], "rank") && more) {
      std::optional<int64_t> v = parse_int64(argv[++j]);
      if (!v) return Reply::error("ERR value is not an integer or out of range");
      if (*v == 0) {
        return Reply::error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
      // Redis negates a negative rank in a long: the lowest long stays negative, and it then
      // answers as for rank -1.
      rank = *v == INT64_MIN ? -1 : *v;
    } else if (equals_ignore_case(argv[j], "count") && more) {
      std::optional<int64_t> v = parse_int64(argv[++j]);
      if (!v || *v < 0) return Reply::error("ERR COUNT can't be negative");
      count = *v;
    } else if (equals_ignore_case(argv[j], "maxlen") && more) {
      std::optional<int64_t> v = parse_int64(argv[++j]);
      if (!v || *v < 0) return Reply::error("ERR MAXLEN can't be negative");
      maxlen = *v;
    } else {
      return Reply::error("ERR syntax error");
    }
  }
  std::vector<Reply> found;
  if (list != nullptr) {
    const auto& items = list->items();
    const auto len = static_cast<int64_t>(items.size());
    int64_t skip = (rank > 0 ? rank : -rank) - 1;
    const uint64_t wanted = count == 0 ? UINT64_MAX : count < 0 ? 1 : static_cast<uint64_t>(count);
    for (int64_t n = 0; n < len && (maxlen == 0 || n < maxlen) && found.size() < wanted; ++n) {
      const int64_t i = rank > 0 ? n : len - 1 - n;
      if (items[static_cast<size_t>(i)] != argv[2]) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      found.push_back(Reply::integer_value(i));
    }
  }
  if (count >= 0) return Reply::array(std::move(found));
  return found.empty() ? Reply::null() : std::move(found[0]);
}

}  // namespace

Reply evaluate_list_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                         int64_t expiry_ms) {
  const Record* rec = live_record(keys, argv[1], expiry_ms);
  // LPOS checks its options before the key's type, as Redis does.
  if (op == Op::kLPos && (rec == nullptr || rec->type == ValueType::kList)) {
    return lpos(rec == nullptr ? nullptr : rec->list.get(), argv);
  }
  if (op == Op::kLPos) {
    Reply r = lpos(nullptr, argv);
    return r.is_error() ? r : wrong_type();
  }
  // LRANGE and LINDEX parse their integers before looking at the key.
  std::optional<int64_t> n1, n2;
  if (op == Op::kLRange || op == Op::kLIndex) {
    n1 = parse_int64(argv[2]);
    if (op == Op::kLRange) n2 = parse_int64(argv[3]);
    if (!n1 || (op == Op::kLRange && !n2)) {
      return Reply::error("ERR value is not an integer or out of range");
    }
  }
  if (rec != nullptr && rec->type != ValueType::kList) return wrong_type();
  const ListValue* l = rec == nullptr ? nullptr : rec->list.get();
  switch (op) {
    case Op::kLLen:
      return Reply::integer_value(l == nullptr ? 0 : static_cast<int64_t>(l->items().size()));
    case Op::kLIndex: {
      const std::string* e = l == nullptr ? nullptr : at_index(l->items(), *n1);
      return e == nullptr ? Reply::null() : Reply::bulk(*e);
    }
    case Op::kLRange: {
      std::vector<Reply> out;
      auto range = l == nullptr ? std::nullopt : clamp_range(*n1, *n2, l->items().size());
      if (range) {
        for (size_t i = range->first; i <= range->second; ++i) {
          out.push_back(Reply::bulk(l->items()[i]));
        }
      }
      return Reply::array(std::move(out));
    }
    default:
      return Reply::error("ERR not a list read");
  }
}

}  // namespace bw::kv
