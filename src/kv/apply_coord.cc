// The coordination commands of Applier: CAS, leases, elections/locks, fencing, PUBLISH, and the
// leader's expire/extend entries for leases and holders.
#include <fmt/format.h>

#include <algorithm>

#include "common/assert.h"
#include "kv/apply.h"

namespace bw::kv {

namespace {
Reply no_such_lease() {
  return Reply::error("ERR no such lease");
}

// ELECT/LOCK's reply: [won, holder, token, remaining-ms].
Reply campaign_reply(bool won, const Holder& h, int64_t now_ms) {
  std::vector<Reply> out;
  out.push_back(Reply::integer_value(won ? 1 : 0));
  out.push_back(Reply::bulk(h.holder));
  out.push_back(Reply::integer_value(static_cast<int64_t>(h.token)));
  out.push_back(Reply::integer_value(h.deadline_ms - now_ms));
  return Reply::array(std::move(out));
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? INT64_MAX : out;
}

// now_ms + ttl_ms as a deadline. The ttl was validated against the granting entry's time; a
// later entry's time is the leader's clock too, but a deadline must stay positive whatever it is.
int64_t deadline_after(int64_t now_ms, int64_t ttl_ms) {
  return std::max<int64_t>(1, saturating_add(now_ms, ttl_ms));
}
}  // namespace

const Lease* Applier::live_lease(uint64_t id) const {
  const Lease* lease = coord_.find_lease(id);
  return lease != nullptr && lease->deadline_ms > now_ms_ ? lease : nullptr;
}

const Holder* Applier::live_holder(std::string_view name) const {
  const Holder* h = coord_.find_holder(name);
  return h != nullptr && h->deadline_ms > now_ms_ ? h : nullptr;
}

void Applier::emit_name(std::string_view name, std::string_view event, uint64_t token) {
  if (effects_ != nullptr) {
    effects_->name_events.push_back(NameEvent{std::string(name), std::string(event), token});
  }
}

Reply Applier::cas(const WriteCmd& cmd) {
  Record* rec = live(cmd.args[0]);
  if (cmd.expected_version != (rec == nullptr ? 0 : rec->version)) return Reply::integer_value(0);
  store(cmd.args[0], cmd.args[2], WriteCmd::Ttl::kClear, 0);
  emit(cmd.args[0], "set");
  return Reply::integer_value(static_cast<int64_t>(index_));
}

Reply Applier::lease_grant(const WriteCmd& cmd) {
  // One id per entry: Store::apply keeps LEASE GRANT out of transactions (takes_index).
  coord_.add_lease(index_, cmd.ttl_ms, now_ms_ + cmd.ttl_ms);
  return Reply::integer_value(static_cast<int64_t>(index_));
}

Reply Applier::lease_keepalive(const WriteCmd& cmd) {
  const Lease* lease = live_lease(cmd.lease_id);
  if (lease == nullptr) return no_such_lease();
  int64_t ttl_ms = lease->ttl_ms;
  coord_.set_lease_deadline(cmd.lease_id, deadline_after(now_ms_, ttl_ms));
  return Reply::integer_value(ttl_ms);
}

Reply Applier::lease_revoke(const WriteCmd& cmd) {
  if (coord_.find_lease(cmd.lease_id) == nullptr) return no_such_lease();
  return Reply::integer_value(end_lease(cmd.lease_id, "del"));
}

int64_t Applier::end_lease(uint64_t id, std::string_view live_event) {
  int64_t deleted = 0;
  for (const std::string& key : keys_.lease_keys(id)) {
    Record* rec = keys_.find(key);
    BW_ASSERT(rec != nullptr);
    BW_ASSERT(rec->lease_id == id);
    bool lapsed = rec->deadline_ms != 0 && rec->deadline_ms <= now_ms_;
    remove(rec, lapsed ? "expired" : live_event);
    deleted += lapsed ? 0 : 1;
  }
  coord_.erase_lease(id);
  return deleted;
}

Reply Applier::expire_lease(uint64_t id, int64_t deadline_ms) {
  const Lease* lease = coord_.find_lease(id);
  if (lease == nullptr || lease->deadline_ms != deadline_ms || deadline_ms > now_ms_) {
    return Reply::integer_value(0);
  }
  end_lease(id, "expired");
  return Reply::integer_value(1);
}

Reply Applier::campaign(const WriteCmd& cmd) {
  std::string_view name = cmd.args[0];
  std::string_view candidate = cmd.args[1];
  if (const Holder* h = live_holder(name)) {
    if (h->holder != candidate) return campaign_reply(false, *h, now_ms_);
    // The holder campaigning again keeps its token and restarts its time to live.
    Holder refreshed = *h;
    refreshed.ttl_ms = cmd.ttl_ms;
    refreshed.deadline_ms = deadline_after(now_ms_, cmd.ttl_ms);
    coord_.set_holder(name, refreshed);
    return campaign_reply(true, refreshed, now_ms_);
  }
  if (const Holder* lapsed = coord_.find_holder(name)) {
    emit_name(name, "expired", lapsed->token);
  }
  Holder h{.holder = std::string(candidate),
           .token = index_,
           .ttl_ms = cmd.ttl_ms,
           .deadline_ms = now_ms_ + cmd.ttl_ms};
  coord_.set_holder(name, h);
  emit_name(name, "elect", index_);
  return campaign_reply(true, h, now_ms_);
}

Reply Applier::holder_error(std::string_view prefix, std::string_view name, uint64_t token) const {
  const Holder* h = coord_.find_holder(name);
  if (h == nullptr) return Reply::error(fmt::format("{} '{}' has no holder", prefix, name));
  if (h->token == token) {
    BW_ASSERT(h->deadline_ms <= now_ms_);
    return Reply::error(fmt::format("{} token {} for '{}' has expired", prefix, token, name));
  }
  if (h->deadline_ms <= now_ms_) {
    return Reply::error(
        fmt::format("{} '{}' has no holder (token {} expired)", prefix, name, h->token));
  }
  return Reply::error(fmt::format("{} token {} for '{}' is {}; the current token is {}", prefix,
                                  token, name, token < h->token ? "stale" : "unknown", h->token));
}

std::optional<Reply> Applier::check_fence(std::string_view name, uint64_t token) const {
  const Holder* h = live_holder(name);
  if (h != nullptr && h->token == token) return std::nullopt;
  return holder_error("FENCED", name, token);
}

Reply Applier::elect_keepalive(const WriteCmd& cmd) {
  std::string_view name = cmd.args[0];
  const Holder* h = live_holder(name);
  if (h == nullptr || h->token != cmd.token) return holder_error("ERR", name, cmd.token);
  int64_t ttl_ms = h->ttl_ms;
  coord_.set_holder_deadline(name, deadline_after(now_ms_, ttl_ms));
  return Reply::integer_value(ttl_ms);
}

Reply Applier::resign(const WriteCmd& cmd) {
  std::string_view name = cmd.args[0];
  const Holder* h = coord_.find_holder(name);
  if (h == nullptr || h->token != cmd.token) return Reply::integer_value(0);
  coord_.erase_holder(name);
  emit_name(name, "resign", cmd.token);
  return Reply::integer_value(1);
}

Reply Applier::expire_election(std::string_view name, uint64_t token) {
  const Holder* h = coord_.find_holder(name);
  if (h == nullptr || h->token != token || h->deadline_ms > now_ms_) {
    return Reply::integer_value(0);
  }
  coord_.erase_holder(name);
  emit_name(name, "expired", token);
  return Reply::integer_value(1);
}

Reply Applier::extend(int64_t extra_ms) {
  extra_ms = std::max<int64_t>(extra_ms, 0);
  coord_.extend_all([&](int64_t deadline_ms) {
    return saturating_add(std::max(deadline_ms, now_ms_), extra_ms);
  });
  return Reply::ok();
}

Reply Applier::publish(const WriteCmd& cmd) {
  if (effects_ != nullptr) {
    effects_->published.push_back(
        Published{std::string(cmd.args[0]), std::string(cmd.args[1]), cmd.op == Op::kSPublish});
  }
  return Reply::integer_value(0);
}

}  // namespace bw::kv
