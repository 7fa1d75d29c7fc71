#include "kv/store.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/assert.h"
#include "kv/apply.h"
#include "kv/command_internal.h"

namespace bw::kv {

namespace {

// A write of the log (top level or inside a batch): fence, then parse, then run.
Reply run_write(Applier& applier, DecodedCommand& cmd, int64_t now_ms) {
  if (cmd.fenced) {
    if (std::optional<Reply> err = applier.check_fence(cmd.fence_name, cmd.fence_token)) {
      return std::move(*err);
    }
  }
  auto parsed = parse_write(cmd.op, std::move(cmd.args), now_ms, ArgsFrom::kLog);
  // The leader parsed the same bytes before proposing, with its own clock, which may be behind
  // the entry's time (Store::apply). So an error here means a relative deadline that overflows
  // at the later time, or nodes running different parsers; every replica parses at the same
  // time, so answering the error keeps them identical.
  if (Reply* err = std::get_if<Reply>(&parsed)) return std::move(*err);
  return applier.run(std::get<WriteCmd>(parsed));
}

// The version of `key` if it exists at time `now_ms`, else 0.
uint64_t live_version(const Keyspace& keys, std::string_view key, int64_t now_ms) {
  const Record* rec = keys.find(key);
  if (rec == nullptr || (rec->deadline_ms != 0 && rec->deadline_ms <= now_ms)) return 0;
  return rec->version;
}

// Walks a (deadline, id) index from just after `cursor` (from the start when cursor.first is 0)
// collecting up to `max` entries with deadline <= now_ms; moves the cursor, or resets it once
// the expired prefix is exhausted so entries whose expiry was proposed but lost come round again.
template <typename Set, typename Id>
std::vector<std::pair<int64_t, Id>> walk_expired(const Set& set, std::pair<int64_t, Id>& cursor,
                                                 int64_t now_ms, size_t max) {
  std::vector<std::pair<int64_t, Id>> out;
  auto it = cursor.first == 0 ? set.begin() : set.upper_bound(cursor);
  while (out.size() < max && it != set.end() && it->first <= now_ms) {
    out.push_back(*it);
    ++it;
  }
  if (it == set.end() || it->first > now_ms || out.empty()) {
    cursor = {0, Id{}};
  } else {
    cursor = out.back();
  }
  return out;
}

}  // namespace

Reply Store::apply(uint64_t index, std::string_view payload, std::vector<KeyEvent>* events) {
  if (events == nullptr) return apply(index, payload, static_cast<ApplyEffects*>(nullptr));
  ApplyEffects effects;
  Reply reply = apply(index, payload, &effects);
  if (events->empty()) {
    *events = std::move(effects.key_events);
  } else {
    events->insert(events->end(), std::make_move_iterator(effects.key_events.begin()),
                   std::make_move_iterator(effects.key_events.end()));
  }
  return reply;
}

Reply Store::apply(uint64_t index, std::string_view payload, ApplyEffects* effects) {
  BW_ASSERT(index > applied_index_, "apply of index {} after {}", index, applied_index_);
  Result<DecodedPayload> decoded = decode_payload(payload);
  BW_ASSERT(decoded.ok(), "undecodable kv payload at index {}: {}", index,
            decoded.status().ToString());
  applied_index_ = index;
  // Time never goes back in the log: an entry stamped by a leader whose clock is behind its
  // predecessor's must not make a key, lease or holder that already expired live again.
  clock_ms_ = std::max(clock_ms_, decoded->now_ms);
  const int64_t now_ms = clock_ms_;
  Applier applier(&keys_, &coord_, index, now_ms, effects);
  if (const auto* exp = std::get_if<DecodedExpire>(&decoded->body)) {
    return applier.expire_key(exp->key, exp->deadline_ms);
  }
  if (const auto* exp = std::get_if<DecodedExpireLease>(&decoded->body)) {
    return applier.expire_lease(exp->id, exp->deadline_ms);
  }
  if (const auto* exp = std::get_if<DecodedExpireElection>(&decoded->body)) {
    return applier.expire_election(exp->name, exp->token);
  }
  if (const auto* ext = std::get_if<DecodedExtend>(&decoded->body)) {
    return applier.extend(ext->extra_ms);
  }
  if (const auto* evict = std::get_if<DecodedEvict>(&decoded->body)) {
    Reply r = applier.evict(evict->keys);
    evicted_keys_ += static_cast<uint64_t>(r.integer);
    return r;
  }
  if (auto* batch = std::get_if<DecodedBatch>(&decoded->body)) {
    return apply_batch(applier, *batch, index, now_ms);
  }
  if (const auto* acl = std::get_if<DecodedAcl>(&decoded->body)) return apply_acl(*acl, index);
  // Arity was checked against THE command table before the leader proposed the entry.
  return run_write(applier, std::get<DecodedCommand>(decoded->body), now_ms);
}

// All or nothing: a user (or, replacing all, the ACL state) changed since the leader read it
// refuses the whole entry.
Reply Store::apply_acl(const DecodedAcl& acl, uint64_t index) {
  if (acl.mode == static_cast<uint8_t>(AclMode::kReplaceAll)) {
    if (acl.base != acl_index_) return Reply::error(std::string(kAclConflictError));
    acl_users_.clear();
    for (const DecodedAclUser& u : acl.users) {
      acl_users_.insert_or_assign(std::string(u.name),
                                  AclUserRecord{std::string(u.definition), index});
    }
    acl_index_ = index;
    return Reply::ok();
  }
  for (const DecodedAclUser& u : acl.users) {
    auto it = acl_users_.find(u.name);
    const uint64_t current = it == acl_users_.end() ? 0 : it->second.index;
    if (current != u.base) return Reply::error(std::string(kAclConflictError));
  }
  int64_t deleted = 0;
  bool deletes = false;
  for (const DecodedAclUser& u : acl.users) {
    if (u.definition.empty()) {
      deletes = true;
      if (auto it = acl_users_.find(u.name); it != acl_users_.end()) {
        acl_users_.erase(it);
        ++deleted;
      }
    } else {
      acl_users_.insert_or_assign(std::string(u.name),
                                  AclUserRecord{std::string(u.definition), index});
    }
  }
  acl_index_ = index;
  return deletes ? Reply::integer_value(deleted) : Reply::ok();
}

Reply Store::apply_batch(Applier& applier, DecodedBatch& batch, uint64_t index, int64_t now_ms) {
  applier.set_in_transaction();
  for (const auto& [key, version] : batch.watched) {
    if (live_version(keys_, key, now_ms) != version) return Reply::null_array();
  }
  // A transaction with a stale fence applies nothing: its EXEC answers the fence's error.
  for (const DecodedCommand& cmd : batch.commands) {
    if (!cmd.fenced) continue;
    if (std::optional<Reply> err = applier.check_fence(cmd.fence_name, cmd.fence_token)) {
      return std::move(*err);
    }
  }
  std::vector<Reply> replies;
  replies.reserve(batch.commands.size());
  std::vector<std::string_view> argv;
  for (DecodedCommand& cmd : batch.commands) {
    const CommandSpec& spec = command_spec(cmd.op);
    if (spec.takes_index) {  // never proposed by a leader; kept deterministic
      replies.push_back(
          Reply::error(fmt::format("ERR '{}' is not allowed in a transaction", spec.name)));
    } else if (spec.write()) {
      replies.push_back(run_write(applier, cmd, now_ms));
    } else {
      // A read sees the writes before it in the transaction.
      argv.clear();
      if (spec.name_words() == 2) {
        size_t bar = spec.name.find('|');
        argv.push_back(spec.name.substr(0, bar));
        argv.push_back(spec.name.substr(bar + 1));
      } else {
        argv.push_back(spec.name);
      }
      argv.insert(argv.end(), cmd.args.begin(), cmd.args.end());
      // Remaining times count from the entry's time too: every replica answers the same.
      replies.push_back(evaluate_read(keys_, coord_, argv, ReadClock{now_ms, now_ms}, index));
    }
  }
  return Reply::array(std::move(replies));
}

bool Store::list_ready(std::string_view key) const {
  const Record* rec = live_record(keys_, key, clock_ms_);
  return rec != nullptr && rec->type == ValueType::kList;
}

Reply Store::read(std::span<const std::string_view> argv, int64_t now_ms, uint64_t random) const {
  return evaluate_read(keys_, coord_, argv, ReadClock{clock_ms_, now_ms}, random);
}

Reply Store::read_with_expiry_clock(std::span<const std::string_view> argv, int64_t expiry_now_ms,
                                    int64_t local_now_ms, uint64_t random) const {
  return evaluate_read(keys_, coord_, argv, ReadClock{expiry_now_ms, local_now_ms}, random);
}

uint64_t Store::version_of(std::string_view key) const {
  return live_version(keys_, key, clock_ms_);
}

bool Store::election_free(std::string_view name) const {
  const Holder* h = coord_.find_holder(name);
  return h == nullptr || h->deadline_ms <= clock_ms_;
}

std::vector<std::pair<std::string, int64_t>> Store::expired_keys(int64_t now_ms, size_t max) {
  std::vector<std::pair<std::string, int64_t>> out;
  const Keyspace::DeadlineSet& deadlines = keys_.deadlines();
  auto it = deadlines.begin();
  if (expiry_cursor_deadline_ms_ != 0) {
    Record probe;
    probe.key = expiry_cursor_key_;
    it = deadlines.upper_bound(Keyspace::DeadlineRef{expiry_cursor_deadline_ms_, &probe});
  }
  while (out.size() < max && it != deadlines.end() && it->deadline_ms <= now_ms) {
    out.emplace_back(it->rec->key, it->deadline_ms);
    ++it;
  }
  if (it == deadlines.end() || it->deadline_ms > now_ms || out.empty()) {
    // Reached the end of what has expired: start over next time, so keys whose deletion was
    // proposed but lost (leader change) are proposed again.
    expiry_cursor_deadline_ms_ = 0;
    expiry_cursor_key_.clear();
  } else {
    expiry_cursor_deadline_ms_ = out.back().second;
    expiry_cursor_key_ = out.back().first;
  }
  return out;
}

std::vector<std::pair<uint64_t, int64_t>> Store::expired_leases(int64_t now_ms, size_t max) {
  std::vector<std::pair<uint64_t, int64_t>> out;
  for (const auto& [deadline, id] :
       walk_expired(coord_.lease_deadlines(), lease_cursor_, now_ms, max)) {
    out.emplace_back(id, deadline);
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Store::expired_elections(int64_t now_ms, size_t max) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (auto& [deadline, name] :
       walk_expired(coord_.holder_deadlines(), election_cursor_, now_ms, max)) {
    const Holder* h = coord_.find_holder(name);
    BW_ASSERT(h != nullptr);
    out.emplace_back(std::move(name), h->token);
  }
  return out;
}

}  // namespace bw::kv
