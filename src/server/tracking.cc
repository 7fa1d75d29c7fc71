#include "server/tracking.h"

#include "resp/writer.h"

namespace bw::server {

void Tracking::enable(const std::shared_ptr<Session>& s, Options options) {
  clients_[s.get()] = Client{.session = s, .options = std::move(options)};
}

void Tracking::disable(Session* s) {
  if (clients_.erase(s) == 0) return;
  for (auto it = keys_.begin(); it != keys_.end();) {
    it->second.erase(s);
    if (it->second.empty()) {
      keys_.erase(it++);
    } else {
      ++it;
    }
  }
}

void Tracking::on_read(const Session* s, std::span<const std::string_view> keys) {
  auto it = clients_.find(const_cast<Session*>(s));
  if (it == clients_.end() || it->second.options.bcast) return;
  for (auto k : keys) {
    if (keys_.size() >= kTrackedKeysMax && !keys_.contains(absl::string_view(k.data(), k.size()))) {
      // Make room: invalidate one tracked key for its readers before forgetting it.
      auto victim = keys_.begin();
      std::string key = victim->first;
      on_change(key, nullptr);
    }
    keys_[std::string(k)].insert(const_cast<Session*>(s));
  }
}

void Tracking::send(Client& c, const std::vector<std::string_view>* keys) {
  std::shared_ptr<Session> target;
  if (c.options.redirect != 0) {
    target = find_session ? find_session(c.options.redirect) : nullptr;
  } else {
    target = c.session.lock();
  }
  if (!target || target->closed()) return;
  std::string out;
  resp::Writer w(&out, target->protocol);
  if (target->protocol == 3 && c.options.redirect == 0) {
    w.push(2);
    w.bulk("invalidate");
  } else {
    // RESP2 (or a redirect): a pub/sub message on __redis__:invalidate.
    w.push(3);
    w.bulk("message");
    w.bulk("__redis__:invalidate");
  }
  if (keys == nullptr) {
    w.null_array();
  } else {
    w.array(keys->size());
    for (auto k : *keys) w.bulk(k);
  }
  target->push(std::move(out));
}

void Tracking::on_change(std::string_view key, const Session* writer) {
  if (clients_.empty()) return;
  std::vector<std::string_view> one{key};
  auto it = keys_.find(absl::string_view(key.data(), key.size()));
  if (it != keys_.end()) {
    std::set<Session*> readers = std::move(it->second);
    keys_.erase(it);
    for (Session* r : readers) {
      auto c = clients_.find(r);
      if (c == clients_.end()) continue;
      if (c->second.options.noloop && r == writer) continue;
      send(c->second, &one);
    }
  }
  for (auto& [s, c] : clients_) {
    if (!c.options.bcast) continue;
    if (c.options.noloop && s == writer) continue;
    bool match = c.options.prefixes.empty();
    for (const auto& p : c.options.prefixes) match = match || key.substr(0, p.size()) == p;
    if (match) send(c, &one);
  }
}

void Tracking::on_flush() {
  keys_.clear();
  for (auto& [s, c] : clients_) send(c, nullptr);
}

}  // namespace bw::server
