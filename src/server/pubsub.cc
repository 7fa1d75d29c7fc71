#include "server/pubsub.h"

#include <fmt/format.h>

#include "common/glob.h"
#include "resp/writer.h"

namespace bw::server {

namespace {

// Notification classes, as Redis's NOTIFY_* bits.
enum : uint32_t {
  kKeyspace = 1u << 0,  // K
  kKeyevent = 1u << 1,  // E
  kGeneric = 1u << 2,   // g
  kString = 1u << 3,    // $
  kList = 1u << 4,      // l (no list events yet)
  kSet = 1u << 5,       // s
  kHash = 1u << 6,      // h
  kZset = 1u << 7,      // z (no sorted-set events yet)
  kExpired = 1u << 8,   // x
  kEvicted = 1u << 9,   // e
  kStream = 1u << 10,   // t (no stream events yet)
  kModule = 1u << 13,   // d (never fires: no modules)
  kNew = 1u << 14,      // n
  // A: every class but n (and m, key misses, which Bellwether does not emit).
  kAll =
      kGeneric | kString | kList | kSet | kHash | kZset | kExpired | kEvicted | kStream | kModule,
};

uint32_t event_class(std::string_view event) {
  if (event == "expired") return kExpired;
  if (event == "evicted") return kEvicted;
  if (event == "new") return kNew;
  if (event == "set" || event == "setrange" || event == "incrby" || event == "incrbyfloat" ||
      event == "append") {
    return kString;
  }
  if (event == "hset" || event == "hdel" || event == "hincrby" || event == "hincrbyfloat") {
    return kHash;
  }
  if (event == "lpush" || event == "rpush" || event == "lpop" || event == "rpop" ||
      event == "lset" || event == "linsert" || event == "lrem" || event == "ltrim") {
    return kList;
  }
  if (event == "sadd" || event == "srem" || event == "spop" || event == "sinterstore" ||
      event == "sunionstore" || event == "sdiffstore") {
    return kSet;
  }
  return kGeneric;  // del, expire, rename_from, rename_to, persist, ...
}

// Redis's glob (binary safe, Redis's escapes and classes).
bool glob(const std::string& pattern, const std::string& text) {
  return glob_match(pattern, text);
}

void write_message(Session& s, std::string_view kind, std::string_view channel,
                   std::string_view message) {
  std::string out;
  resp::Writer w(&out, s.protocol);
  w.push(3);
  w.bulk(kind);
  w.bulk(channel);
  w.bulk(message);
  s.push(std::move(out));
}

void write_pmessage(Session& s, std::string_view pattern, std::string_view channel,
                    std::string_view message) {
  std::string out;
  resp::Writer w(&out, s.protocol);
  w.push(4);
  w.bulk("pmessage");
  w.bulk(pattern);
  w.bulk(channel);
  w.bulk(message);
  s.push(std::move(out));
}

}  // namespace

void PubSub::write_confirmation(const Session& s, std::string_view kind, std::string_view name,
                                size_t count, std::string* out) {
  resp::Writer w(out, s.protocol);
  w.push(3);
  w.bulk(kind);
  if (name.data() == nullptr) {
    w.null();
  } else {
    w.bulk(name);
  }
  w.integer(static_cast<int64_t>(count));
}

size_t PubSub::subscriptions(const Session* s) const {
  auto it = by_session_.find(const_cast<Session*>(s));
  if (it == by_session_.end()) return 0;
  const Subs& subs = it->second;
  return subs.channels.size() + subs.patterns.size() + subs.shard_channels.size();
}

size_t PubSub::pattern_subscriptions(const Session* s) const {
  auto it = by_session_.find(const_cast<Session*>(s));
  return it == by_session_.end() ? 0 : it->second.patterns.size();
}

size_t PubSub::shard_subscriptions(const Session* s) const {
  auto it = by_session_.find(const_cast<Session*>(s));
  return it == by_session_.end() ? 0 : it->second.shard_channels.size();
}

size_t PubSub::confirmation_count(const Session* s, Kind kind) const {
  const size_t shard = shard_subscriptions(s);
  return kind == Kind::kShard ? shard : subscriptions(s) - shard;
}

namespace {
std::string_view kind_name(PubSub::Kind kind, bool subscribe) {
  switch (kind) {
    case PubSub::Kind::kChannel:
      return subscribe ? "subscribe" : "unsubscribe";
    case PubSub::Kind::kPattern:
      return subscribe ? "psubscribe" : "punsubscribe";
    case PubSub::Kind::kShard:
      return subscribe ? "ssubscribe" : "sunsubscribe";
  }
  return "";
}
}  // namespace

void PubSub::subscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> names,
                       Kind kind, std::string* out) {
  Subs& subs = by_session_[s.get()];
  subs.session = s;
  for (auto n : names) {
    std::string name(n);
    subs.of(kind).insert(name);
    index(kind)[name].insert(s.get());
    write_confirmation(*s, kind_name(kind, true), n, confirmation_count(s.get(), kind), out);
  }
}

void PubSub::unsubscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> names,
                         Kind kind, std::string* out) {
  const std::string_view reply_kind = kind_name(kind, false);
  auto it = by_session_.find(s.get());
  std::vector<std::string> targets(names.begin(), names.end());
  if (targets.empty() && it != by_session_.end()) {
    const auto& mine = it->second.of(kind);
    targets.assign(mine.begin(), mine.end());
  }
  if (targets.empty()) {
    write_confirmation(*s, reply_kind, std::string_view(), confirmation_count(s.get(), kind), out);
    return;
  }
  Index& idx = index(kind);
  for (const auto& name : targets) {
    if (it != by_session_.end()) it->second.of(kind).erase(name);
    auto ch = idx.find(name);
    if (ch != idx.end()) {
      ch->second.erase(s.get());
      if (ch->second.empty()) idx.erase(ch);
    }
    write_confirmation(*s, reply_kind, name, confirmation_count(s.get(), kind), out);
  }
  if (it != by_session_.end() && subscriptions(s.get()) == 0) by_session_.erase(it);
}

void PubSub::drop(Session* s) {
  auto it = by_session_.find(s);
  if (it == by_session_.end()) return;
  for (Kind kind : {Kind::kChannel, Kind::kPattern, Kind::kShard}) {
    Index& idx = index(kind);
    for (const auto& c : it->second.of(kind)) {
      auto ch = idx.find(c);
      if (ch != idx.end() && (ch->second.erase(s), ch->second.empty())) idx.erase(ch);
    }
  }
  by_session_.erase(it);
}

int64_t PubSub::publish(std::string_view channel, std::string_view message) {
  int64_t received = 0;
  std::string ch(channel);
  if (auto it = channels_.find(ch); it != channels_.end()) {
    for (Session* s : it->second) {
      write_message(*s, "message", channel, message);
      ++received;
    }
  }
  for (const auto& [pattern, sessions] : patterns_) {
    if (!glob(pattern, ch)) continue;
    for (Session* s : sessions) {
      write_pmessage(*s, pattern, channel, message);
      ++received;
    }
  }
  return received;
}

int64_t PubSub::publish_shard(std::string_view channel, std::string_view message) {
  int64_t received = 0;
  if (auto it = shard_channels_.find(std::string(channel)); it != shard_channels_.end()) {
    for (Session* s : it->second) {
      write_message(*s, "smessage", channel, message);
      ++received;
    }
  }
  return received;
}

std::vector<std::string> PubSub::channels(Kind kind, const std::string* pattern) const {
  std::vector<std::string> out;
  for (const auto& [name, sessions] : index(kind)) {
    if (pattern == nullptr || glob(*pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSub::subscribers(Kind kind, const std::string& channel) const {
  const Index& idx = index(kind);
  auto it = idx.find(channel);
  return it == idx.end() ? 0 : it->second.size();
}

void PubSub::notify(std::string_view event, std::string_view key) {
  if ((notify_mask_ & event_class(event)) == 0) return;
  if (channels_.empty() && patterns_.empty()) return;
  if (notify_mask_ & kKeyspace) publish(fmt::format("__keyspace@0__:{}", key), event);
  if (notify_mask_ & kKeyevent) publish(fmt::format("__keyevent@0__:{}", event), key);
}

Status PubSub::set_notify_flags(std::string_view flags) {
  uint32_t mask = 0;
  for (char c : flags) {
    switch (c) {
      case 'K':
        mask |= kKeyspace;
        break;
      case 'E':
        mask |= kKeyevent;
        break;
      case 'g':
        mask |= kGeneric;
        break;
      case '$':
        mask |= kString;
        break;
      case 'l':
        mask |= kList;
        break;
      case 's':
        mask |= kSet;
        break;
      case 'h':
        mask |= kHash;
        break;
      case 'z':
        mask |= kZset;
        break;
      case 't':
        mask |= kStream;
        break;
      case 'd':
        mask |= kModule;
        break;
      case 'x':
        mask |= kExpired;
        break;
      case 'e':
        mask |= kEvicted;
        break;
      case 'n':
        mask |= kNew;
        break;
      case 'A':
        mask |= kAll;
        break;
      case 'm':
        break;  // key misses: accepted, never fire
      default:
        return absl::InvalidArgumentError(fmt::format("Invalid event class character '{}'", c));
    }
  }
  // Redis: without K or E nothing is delivered, and the class letters alone are meaningless.
  if ((mask & (kKeyspace | kKeyevent)) == 0) mask = 0;
  notify_mask_ = mask;
  return OkStatus();
}

std::string PubSub::notify_flags() const {
  std::string out;
  if ((notify_mask_ & kAll) == kAll) {
    out += 'A';
  } else {
    if (notify_mask_ & kGeneric) out += 'g';
    if (notify_mask_ & kString) out += '$';
    if (notify_mask_ & kList) out += 'l';
    if (notify_mask_ & kSet) out += 's';
    if (notify_mask_ & kHash) out += 'h';
    if (notify_mask_ & kZset) out += 'z';
    if (notify_mask_ & kExpired) out += 'x';
    if (notify_mask_ & kEvicted) out += 'e';
    if (notify_mask_ & kStream) out += 't';
    if (notify_mask_ & kModule) out += 'd';
  }
  if (notify_mask_ & kNew) out += 'n';
  if (notify_mask_ & kKeyspace) out += 'K';
  if (notify_mask_ & kKeyevent) out += 'E';
  return out;
}

}  // namespace bw::server
