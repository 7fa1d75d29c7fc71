#include "server/pubsub.h"

#include <fmt/format.h>
#include <fnmatch.h>

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
  if (event == "sadd" || event == "srem" || event == "spop" || event == "sinterstore" ||
      event == "sunionstore" || event == "sdiffstore") {
    return kSet;
  }
  return kGeneric;  // del, expire, rename_from, rename_to, persist, ...
}

bool glob(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

void write_message(Session& s, std::string_view channel, std::string_view message) {
  std::string out;
  resp::Writer w(&out, s.protocol);
  w.push(3);
  w.bulk("message");
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
  return it == by_session_.end() ? 0 : it->second.channels.size() + it->second.patterns.size();
}

size_t PubSub::pattern_subscriptions(const Session* s) const {
  auto it = by_session_.find(const_cast<Session*>(s));
  return it == by_session_.end() ? 0 : it->second.patterns.size();
}

void PubSub::subscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> names,
                       bool pattern, std::string* out) {
  Subs& subs = by_session_[s.get()];
  subs.session = s;
  for (auto n : names) {
    std::string name(n);
    (pattern ? subs.patterns : subs.channels).insert(name);
    (pattern ? patterns_ : channels_)[name].insert(s.get());
    write_confirmation(*s, pattern ? "psubscribe" : "subscribe", n,
                       subs.channels.size() + subs.patterns.size(), out);
  }
}

void PubSub::unsubscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> names,
                         bool pattern, std::string* out) {
  const char* kind = pattern ? "punsubscribe" : "unsubscribe";
  auto it = by_session_.find(s.get());
  std::vector<std::string> targets(names.begin(), names.end());
  if (targets.empty() && it != by_session_.end()) {
    const auto& mine = pattern ? it->second.patterns : it->second.channels;
    targets.assign(mine.begin(), mine.end());
  }
  if (targets.empty()) {
    write_confirmation(*s, kind, std::string_view(), subscriptions(s.get()), out);
    return;
  }
  auto& index = pattern ? patterns_ : channels_;
  for (const auto& name : targets) {
    if (it != by_session_.end()) {
      (pattern ? it->second.patterns : it->second.channels).erase(name);
    }
    auto ch = index.find(name);
    if (ch != index.end()) {
      ch->second.erase(s.get());
      if (ch->second.empty()) index.erase(ch);
    }
    write_confirmation(*s, kind, name, subscriptions(s.get()), out);
  }
  if (it != by_session_.end() && it->second.channels.empty() && it->second.patterns.empty()) {
    by_session_.erase(it);
  }
}

void PubSub::drop(Session* s) {
  auto it = by_session_.find(s);
  if (it == by_session_.end()) return;
  for (const auto& c : it->second.channels) {
    auto ch = channels_.find(c);
    if (ch != channels_.end() && (ch->second.erase(s), ch->second.empty())) channels_.erase(ch);
  }
  for (const auto& p : it->second.patterns) {
    auto ch = patterns_.find(p);
    if (ch != patterns_.end() && (ch->second.erase(s), ch->second.empty())) patterns_.erase(ch);
  }
  by_session_.erase(it);
}

int64_t PubSub::publish(std::string_view channel, std::string_view message) {
  int64_t received = 0;
  std::string ch(channel);
  if (auto it = channels_.find(ch); it != channels_.end()) {
    for (Session* s : it->second) {
      write_message(*s, channel, message);
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
