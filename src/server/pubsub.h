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
#include <vector>

#include "common/status.h"
#include "server/session.h"

namespace bw::server {

class PubSub {
 public:
  // What a subscription is to: a channel (SUBSCRIBE), a pattern (PSUBSCRIBE) or a shard channel
  // (SSUBSCRIBE: a namespace of its own, reached by SPUBLISH only).
  enum class Kind : uint8_t { kChannel, kPattern, kShard };

  // (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE for `s`; appends the confirmations (one per channel) to
  // *out, the command's reply. Subscribing twice to one channel is one subscription.
  void subscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> channels,
                 Kind kind, std::string* out);
  void unsubscribe(const std::shared_ptr<Session>& s, std::span<const std::string_view> channels,
                   Kind kind, std::string* out);
  void drop(Session* s);  // connection closed
  // Every subscription of s (channels, patterns, shard channels), and of them the patterns and
  // the shard channels.
  size_t subscriptions(const Session* s) const;
  size_t pattern_subscriptions(const Session* s) const;
  size_t shard_subscriptions(const Session* s) const;

  // Delivers to every matching subscriber; returns how many received it.
  int64_t publish(std::string_view channel, std::string_view message);
  // SPUBLISH: delivers to the shard channel's subscribers ("smessage").
  int64_t publish_shard(std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS / SHARDCHANNELS: channels with a subscriber matching `pattern` (null: all),
  // in name order. PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel.
  std::vector<std::string> channels(Kind kind, const std::string* pattern) const;
  size_t subscribers(Kind kind, const std::string& channel) const;
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
    std::set<std::string> shard_channels;
    std::weak_ptr<Session> session;
    std::set<std::string>& of(Kind kind) {
      return kind == Kind::kPattern ? patterns : kind == Kind::kShard ? shard_channels : channels;
    }
  };
  using Index = std::map<std::string, std::set<Session*>>;
  Index& index(Kind kind) {
    return kind == Kind::kPattern ? patterns_ : kind == Kind::kShard ? shard_channels_ : channels_;
  }
  const Index& index(Kind kind) const {
    return kind == Kind::kPattern ? patterns_ : kind == Kind::kShard ? shard_channels_ : channels_;
  }
  // The count a confirmation of `kind` reports: shard subscriptions for shard channels, the
  // others for channels and patterns (as Redis counts them).
  size_t confirmation_count(const Session* s, Kind kind) const;
  static void write_confirmation(const Session& s, std::string_view kind, std::string_view name,
                                 size_t count, std::string* out);

  Index channels_;
  Index patterns_;
  Index shard_channels_;
  std::map<Session*, Subs> by_session_;
  uint32_t notify_mask_ = 0;
};

}  // namespace bw::server
