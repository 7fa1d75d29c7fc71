// Channel and pattern subscriptions of a node's clients, and keyspace notifications.
//
// Every node delivers to its own subscribers as it applies log entries, so a client connected
// to a follower sees every change, in log order. Notifications are configured per node, as in
// Redis (`notify-keyspace-events`, set with CONFIG SET or the flag of the same name).
//
// Thread safety: none; the node's event-loop thread only.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/session.h"

namespace bw::server {

class PubSub {
 public:
  // (P)SUBSCRIBE / (P)UNSUBSCRIBE for `s`; appends the confirmations (one per channel) to *out,
  // the command's reply.
  void subscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> channels,
                 bool pattern, std::string* out);
  void unsubscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> channels,
                   bool pattern, std::string* out);
  void drop(Session* s);  // connection closed
  size_t subscriptions(const Session* s) const;
  size_t pattern_subscriptions(const Session* s) const;  // of subscriptions(s), the patterns

  // Delivers to every matching subscriber; returns how many received it.
  int64_t publish(std::string_view channel, std::string_view message);
  // Emits the keyspace/keyevent notifications an applied change calls for.
  void notify(std::string_view event, std::string_view key);

  // notify-keyspace-events flags, Redis's letters (K E g $ x e n A ...).
  Status set_notify_flags(std::string_view flags);
  std::string notify_flags() const;

  size_t channel_count() const { return channels_.size(); }
  size_t pattern_count() const { return patterns_.size(); }

 private:
  struct Subs {
    std::set<std::string> channels;
    std::set<std::string> patterns;
    std::weak_ptr<Session> session;
  };
  static void write_confirmation(const Session& s, std::string_view kind, std::string_view name,
                                 size_t count, std::string* out);

  std::map<std::string, std::set<Session*>> channels_;
  std::map<std::string, std::set<Session*>> patterns_;
  std::map<Session*, Subs> by_session_;
  uint32_t notify_mask_ = 0;
};

}  // namespace bw::server
