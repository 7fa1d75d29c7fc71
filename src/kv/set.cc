// Sets: SADD SREM SPOP SMOVE SINTERSTORE SUNIONSTORE SDIFFSTORE (writes, applied from the log) and
// SMEMBERS SISMEMBER SMISMEMBER SCARD SRANDMEMBER SINTER SUNION SDIFF SINTERCARD SSCAN (reads).
// Redis 7.0 replies and errors. Members keep the order they were first added in, except in
// replies about a set that Redis would hold as an intset (every member an integer, at most
// kIntSetMembersMax of them): those list members sorted numerically, as redis-server does. A set
// whose last member goes is deleted. SPOP's choice comes from the seed the leader wrote into the
// entry; SRANDMEMBER's from the read's `random`.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <random>

#include "common/assert.h"
#include "kv/aggregate_read.h"
#include "kv/apply.h"
#include "kv/numbers.h"

namespace bw::kv {

namespace {

using Table = SetValue::Table;
using Node = Table::Node;

// Redis's set-max-intset-entries default: the largest set it keeps as a sorted intset.
constexpr size_t kIntSetMembersMax = 512;

// Sorts `items` numerically if they are what Redis keeps as an intset: at most kIntSetMembersMax
// names, each an integer by parse_int64's rules. Returns whether it did.
template <typename T, typename Name>
bool intset_order(std::vector<T>& items, Name name) {
  if (items.size() > kIntSetMembersMax) return false;
  std::vector<std::pair<int64_t, size_t>> keyed;
  keyed.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::optional<int64_t> v = parse_int64(name(items[i]));
    if (!v) return false;
    keyed.emplace_back(*v, i);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<T> sorted;
  sorted.reserve(items.size());
  for (const auto& [value, i] : keyed) sorted.push_back(std::move(items[i]));
  items = std::move(sorted);
  return true;
}

std::string_view node_name(const Node* node) {
  return node->first;
}

// The members of `t` in the order replies list them (see the file comment). *intset (if not
// null) tells whether they were sorted as an intset.
std::vector<const Node*> members_in_reply_order(const Table& t, bool* intset = nullptr) {
  std::vector<const Node*> out;
  out.reserve(t.size());
  for (const auto& [seq, node] : t) out.push_back(node);
  const bool sorted = intset_order(out, node_name);
  if (intset != nullptr) *intset = sorted;
  return out;
}

// A set reply (RESP3 '~', as Redis sends SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count).
Reply members_reply(const SetValue* s) {
  std::vector<Reply> out;
  if (s != nullptr) {
    for (const Node* node : members_in_reply_order(s->table()))
      out.push_back(Reply::bulk(node->first));
  }
  return Reply::set(std::move(out));
}

// Adds `member`, keeping the byte count; true if it was not there.
bool add(SetValue& s, std::string_view member) {
  if (!s.table().insert(member).second) return false;
  s.resized(0, SetValue::member_bytes(member));
  return true;
}

// Removes `member`, keeping the byte count; true if it was there.
bool erase(SetValue& s, std::string_view member) {
  if (!s.table().erase(member)) return false;
  s.resized(SetValue::member_bytes(member), 0);
  return true;
}

bool contains(const SetValue* s, std::string_view member) {
  return s != nullptr && s->table().find(member) != nullptr;
}

// The smallest of `sets` (the first of equal ones), or null if one is absent (an empty set).
const SetValue* smallest_of(const std::vector<const SetValue*>& sets) {
  const SetValue* smallest = nullptr;
  for (const SetValue* s : sets) {
    if (s == nullptr) return nullptr;
    if (smallest == nullptr || s->table().size() < smallest->table().size()) smallest = s;
  }
  return smallest;
}

// Whether `member` is in every one of `sets` (null: empty) other than `skip`.
bool in_all_but(const std::vector<const SetValue*>& sets, const SetValue* skip,
                std::string_view member) {
  return std::all_of(sets.begin(), sets.end(),
                     [&](const SetValue* s) { return s == skip || contains(s, member); });
}

// SINTER / SUNION / SDIFF of `sets` (null: an absent key, an empty set) as a new set. The
// intersection walks the smallest set (the first of equal ones), the union and the difference
// their first set, each in its own order: the same result, in the same order, on every node.
std::unique_ptr<SetValue> combine(Op op, const std::vector<const SetValue*>& sets) {
  auto out = std::make_unique<SetValue>();
  if (op == Op::kSInter || op == Op::kSInterStore) {
    const SetValue* smallest = smallest_of(sets);
    if (smallest == nullptr) return out;
    for (const auto& [seq, node] : smallest->table()) {
      if (in_all_but(sets, smallest, node->first)) add(*out, node->first);
    }
  } else if (op == Op::kSUnion || op == Op::kSUnionStore) {
    for (const SetValue* s : sets) {
      if (s == nullptr) continue;
      for (const auto& [seq, node] : s->table()) add(*out, node->first);
    }
  } else {
    if (sets.front() == nullptr) return out;
    for (const auto& [seq, node] : sets.front()->table()) {
      const std::string_view member = node->first;
      const bool elsewhere = std::any_of(sets.begin() + 1, sets.end(),
                                         [&](const SetValue* s) { return contains(s, member); });
      if (!elsewhere) add(*out, member);
    }
  }
  return out;
}

// `count` distinct members of `t` (0 < count < size) chosen by `rng`: a partial Fisher-Yates
// shuffle over the ranks of the set's order.
std::vector<const Node*> distinct_members(const Table& t, size_t count, std::mt19937_64& rng) {
  std::vector<const Node*> nodes;
  nodes.reserve(t.size());
  for (const auto& [seq, node] : t) nodes.push_back(node);
  for (size_t i = 0; i < count; ++i) std::swap(nodes[i], nodes[i + rng() % (nodes.size() - i)]);
  nodes.resize(count);
  return nodes;
}

}  // namespace

Reply Applier::set_write(const WriteCmd& cmd) {
  if (cmd.op == Op::kSMove) return smove(cmd);
  if (cmd.op == Op::kSInterStore || cmd.op == Op::kSUnionStore || cmd.op == Op::kSDiffStore) {
    return set_store(cmd);
  }
  const auto& a = cmd.args;
  Reply error;
  Record* rec = live_typed(a[0], ValueType::kSet, &error);
  if (error.is_error()) return error;
  const size_t before = rec == nullptr ? 0 : Keyspace::value_size(*rec);
  // Stamps the version and keeps the keyspace's byte count after a change; deletes the set if it
  // became empty.
  auto changed = [&](std::string_view event) {
    keys_.value_resized(before, Keyspace::value_size(*rec));
    rec->version = index_;
    emit(a[0], event);
    if (rec->set->table().empty()) remove(rec, "del");
  };
  switch (cmd.op) {
    case Op::kSAdd: {
      int64_t added = 0;
      for (size_t i = 1; i < a.size(); ++i) {
        if (rec != nullptr && contains(rec->set.get(), a[i])) continue;
        if (rec == nullptr) rec = create(a[0], ValueType::kSet);
        added += add(*rec->set, a[i]);
      }
      if (added > 0) changed("sadd");
      return Reply::integer_value(added);
    }
    case Op::kSRem: {
      if (rec == nullptr) return Reply::integer_value(0);
      int64_t removed = 0;
      for (size_t i = 1; i < a.size(); ++i) removed += erase(*rec->set, a[i]);
      if (removed > 0) changed("srem");
      return Reply::integer_value(removed);
    }
    case Op::kSPop: {
      const bool with_count = a.size() == 2;
      if (rec == nullptr) return with_count ? Reply::set({}) : Reply::null();
      const Table& t = rec->set->table();
      std::mt19937_64 rng(cmd.seed);
      if (!with_count) {
        std::string member = t.at(rng() % t.size())->first;
        erase(*rec->set, member);
        changed("spop");
        return Reply::bulk(std::move(member));
      }
      if (cmd.amount == 0) return Reply::set({});
      std::vector<Reply> out;
      if (static_cast<uint64_t>(cmd.amount) >= t.size()) {
        for (const Node* node : members_in_reply_order(t)) out.push_back(Reply::bulk(node->first));
      } else {
        for (const Node* node : distinct_members(t, static_cast<size_t>(cmd.amount), rng)) {
          out.push_back(Reply::bulk(node->first));
        }
      }
      for (const Reply& r : out) erase(*rec->set, r.str);
      changed("spop");
      return Reply::set(std::move(out));
    }
    default:
      BW_UNREACHABLE("not a set write: {}", static_cast<int>(cmd.op));
  }
}

// SMOVE source destination member, in Redis's order: an absent source answers 0 before any type
// check; moving within one set changes nothing.
Reply Applier::smove(const WriteCmd& cmd) {
  const std::string_view from = cmd.args[0];
  const std::string_view to = cmd.args[1];
  const std::string_view member = cmd.args[2];
  Record* src = live(from);
  Record* dst = live(to);
  if (src == nullptr) return Reply::integer_value(0);
  if (src->type != ValueType::kSet || (dst != nullptr && dst->type != ValueType::kSet)) {
    return wrong_type();
  }
  if (src == dst) return Reply::integer_value(contains(src->set.get(), member) ? 1 : 0);
  const size_t src_before = Keyspace::value_size(*src);
  if (!erase(*src->set, member)) return Reply::integer_value(0);
  keys_.value_resized(src_before, Keyspace::value_size(*src));
  src->version = index_;
  emit(from, "srem");
  if (src->set->table().empty()) remove(src, "del");
  if (dst == nullptr) dst = create(to, ValueType::kSet);
  const size_t dst_before = Keyspace::value_size(*dst);
  if (add(*dst->set, member)) {
    keys_.value_resized(dst_before, Keyspace::value_size(*dst));
    dst->version = index_;
    emit(to, "sadd");
  }
  return Reply::integer_value(1);
}

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the destination, whatever it
// held, becomes the result (a new key: no deadline, no lease), or is deleted when the result is
// empty.
Reply Applier::set_store(const WriteCmd& cmd) {
  std::vector<const SetValue*> sets;
  for (size_t i = 1; i < cmd.args.size(); ++i) {
    Reply error;
    Record* rec = live_typed(cmd.args[i], ValueType::kSet, &error);
    if (error.is_error()) return error;
    sets.push_back(rec == nullptr ? nullptr : rec->set.get());
  }
  // Computed before the destination goes: it may be one of the sources.
  std::unique_ptr<SetValue> result = combine(cmd.op, sets);
  const std::string_view key = cmd.args[0];
  Record* dst = live(key);
  if (dst != nullptr) keys_.erase(dst);  // Redis sends no "del" for an overwritten destination
  if (result->table().empty()) {
    if (dst != nullptr) emit(key, "del");
    return Reply::integer_value(0);
  }
  const auto size = static_cast<int64_t>(result->table().size());
  Record* rec = create(key, ValueType::kSet);
  keys_.value_resized(Keyspace::value_size(*rec), result->bytes());
  rec->set = std::move(result);
  emit(key, cmd.op == Op::kSInterStore   ? "sinterstore"
            : cmd.op == Op::kSUnionStore ? "sunionstore"
                                         : "sdiffstore");
  return Reply::integer_value(size);
}

namespace {

// SRANDMEMBER key [count], following Redis's srandmemberWithCountCommand: a negative count may
// repeat members; a positive one returns distinct members, the whole set when count >= its size.
Reply srandmember(const SetValue* s, std::span<const std::string_view> argv, uint64_t random) {
  if (argv.size() == 2) {
    if (s == nullptr) return Reply::null();
    return Reply::bulk(s->table().at(random % s->table().size())->first);
  }
  std::vector<Reply> out;
  if (s == nullptr || argv[2] == "0") return Reply::array(std::move(out));
  const int64_t count = *parse_int64(argv[2]);  // checked by the caller
  const Table& t = s->table();
  std::mt19937_64 rng(random);
  if (count < 0) {
    const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(-count), kRandomRepliesMax);
    for (uint64_t i = 0; i < n; ++i) out.push_back(Reply::bulk(t.at(rng() % t.size())->first));
    return Reply::array(std::move(out));
  }
  if (static_cast<uint64_t>(count) >= t.size()) {
    for (const Node* node : members_in_reply_order(t)) out.push_back(Reply::bulk(node->first));
    return Reply::array(std::move(out));
  }
  for (const Node* node : distinct_members(t, static_cast<size_t>(count), rng)) {
    out.push_back(Reply::bulk(node->first));
  }
  return Reply::array(std::move(out));
}

// The argument errors Redis reports before looking at any key.
std::optional<Reply> check_read_args(Op op, std::span<const std::string_view> argv,
                                     int64_t* limit) {
  switch (op) {
    case Op::kSScan:
      if (!parse_scan_cursor(argv[2])) return Reply::error("ERR invalid cursor");
      return std::nullopt;
    case Op::kSRandMember: {
      if (argv.size() > 3) return Reply::error("ERR syntax error");
      if (argv.size() == 2) return std::nullopt;
      return check_random_count(argv[2]);
    }
    case Op::kSInterCard: {
      std::optional<int64_t> numkeys = parse_int64(argv[1]);
      if (!numkeys || *numkeys <= 0) return Reply::error("ERR numkeys should be greater than 0");
      if (static_cast<uint64_t>(*numkeys) > argv.size() - 2) {
        return Reply::error("ERR Number of keys can't be greater than number of args");
      }
      for (size_t i = 2 + static_cast<size_t>(*numkeys); i < argv.size(); i += 2) {
        if (!equals_ignore_case(argv[i], "limit") || i + 1 >= argv.size()) {
          return Reply::error("ERR syntax error");
        }
        std::optional<int64_t> v = parse_int64(argv[i + 1]);
        if (!v || *v < 0) return Reply::error("ERR LIMIT can't be negative");
        *limit = *v;
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// SSCAN of a set Redis holds as an intset: the whole set in one reply, sorted, cursor 0, after
// the same option checks as any scan.
class IntSetView {
 public:
  using Item = std::pair<uint64_t, const Node*>;
  explicit IntSetView(std::vector<const Node*> sorted) {
    for (const Node* node : sorted) items_.emplace_back(node->second.seq, node);
  }
  size_t size() const { return items_.size(); }
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }
  std::vector<Item>::const_iterator lower_bound(uint64_t) const { return items_.begin(); }

 private:
  std::vector<Item> items_;
};

void emit_member(const Node& node, std::vector<Reply>* out) {
  out->push_back(Reply::bulk(node.first));
}

}  // namespace

Reply evaluate_set_read(const Keyspace& keys, Op op, std::span<const std::string_view> argv,
                        int64_t expiry_ms, uint64_t random) {
  int64_t limit = 0;
  if (std::optional<Reply> err = check_read_args(op, argv, &limit)) return std::move(*err);
  // The keys a command reads, each checked for its type: Redis looks at all of them first.
  size_t first = 1;
  size_t last = 1;
  if (op == Op::kSInter || op == Op::kSUnion || op == Op::kSDiff) last = argv.size() - 1;
  if (op == Op::kSInterCard) {
    first = 2;
    last = 1 + static_cast<size_t>(*parse_int64(argv[1]));
  }
  std::vector<const SetValue*> sets;
  for (size_t i = first; i <= last; ++i) {
    const Record* rec = live_record(keys, argv[i], expiry_ms);
    if (rec != nullptr && rec->type != ValueType::kSet) return wrong_type();
    sets.push_back(rec == nullptr ? nullptr : rec->set.get());
  }
  const SetValue* s = sets.front();
  switch (op) {
    case Op::kSMembers:
      return members_reply(s);
    case Op::kSIsMember:
      return Reply::integer_value(contains(s, argv[2]) ? 1 : 0);
    case Op::kSMIsMember: {
      std::vector<Reply> out;
      for (size_t i = 2; i < argv.size(); ++i) {
        out.push_back(Reply::integer_value(contains(s, argv[i]) ? 1 : 0));
      }
      return Reply::array(std::move(out));
    }
    case Op::kSCard:
      return Reply::integer_value(s == nullptr ? 0 : static_cast<int64_t>(s->table().size()));
    case Op::kSRandMember:
      return srandmember(s, argv, random);
    case Op::kSInter:
    case Op::kSUnion:
    case Op::kSDiff: {
      std::unique_ptr<SetValue> result = combine(op, sets);
      return members_reply(result.get());
    }
    case Op::kSInterCard: {
      const SetValue* smallest = smallest_of(sets);
      int64_t count = 0;
      if (smallest == nullptr) return Reply::integer_value(0);
      for (const auto& [seq, node] : smallest->table()) {
        if (limit != 0 && count == limit) break;
        count += in_all_but(sets, smallest, node->first) ? 1 : 0;
      }
      return Reply::integer_value(count);
    }
    case Op::kSScan: {
      if (s != nullptr) {
        bool intset = false;
        std::vector<const Node*> sorted = members_in_reply_order(s->table(), &intset);
        if (intset) {
          IntSetView view(std::move(sorted));
          return scan_members(&view, argv, emit_member, kIntSetMembersMax);
        }
      }
      return scan_members(s == nullptr ? nullptr : &s->table(), argv, emit_member);
    }
    default:
      return Reply::error("ERR not a set read");
  }
}

}  // namespace bw::kv
