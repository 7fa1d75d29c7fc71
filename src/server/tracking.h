// Client-side caching support (Redis 6+ CLIENT TRACKING): remembers which keys each tracking
// client read on this node, and sends it an invalidation when any of them changes as the node
// applies the log. BCAST mode sends every change under the client's prefixes instead. RESP3
// clients get `>2 invalidate [keys]` pushes on their own connection; RESP2 clients name another
// connection (REDIRECT id) subscribed to `__redis__:invalidate`.
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

#include "absl/container/flat_hash_map.h"
#include "server/session.h"

namespace bw::server {

class PubSub;

class Tracking {
 public:
  // Bound on remembered (key, client) pairs; past it the oldest keys are invalidated early,
  // as Redis does with tracking-table-max-keys.
  static constexpr size_t kTrackedKeysMax = 1'000'000;

  struct Options {
    bool bcast = false;
    std::vector<std::string> prefixes;
    uint64_t redirect = 0;  // client id receiving the invalidations; 0 = the client itself
    bool noloop = false;
  };

  void enable(const std::shared_ptr<Session>& s, Options options);
  void disable(Session* s);
  bool enabled(const Session* s) const { return clients_.contains(const_cast<Session*>(s)); }
  // After a read by `s` of `keys`.
  void on_read(const Session* s, std::span<const std::string_view> keys);
  // A key changed (applied on this node). `writer` is the local session that wrote it, if any.
  void on_change(std::string_view key, const Session* writer);
  // Every key changed (FLUSHALL / FLUSHDB): clients are told to drop their whole cache.
  void on_flush();

  size_t tracked_keys() const { return keys_.size(); }
  size_t clients() const { return clients_.size(); }

  // Finds a session by client id, for REDIRECT; set by the node.
  std::function<std::shared_ptr<Session>(uint64_t)> find_session;

 private:
  struct Client {
    std::weak_ptr<Session> session;
    Options options;
  };
  void send(Client& c, const std::vector<std::string_view>* keys);

  std::map<Session*, Client> clients_;
  absl::flat_hash_map<std::string, std::set<Session*>> keys_;
};

}  // namespace bw::server
