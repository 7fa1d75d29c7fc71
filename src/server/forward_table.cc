#include "server/forward_table.h"

#include <algorithm>

namespace bw::server {

uint64_t ForwardTable::add(ReplyTo to, NodeId leader, net::FrameType type, int64_t deadline_ms) {
  const uint64_t id = next_id_++;
  entries_[id] =
      Entry{.to = std::move(to), .deadline_ms = deadline_ms, .leader = leader, .type = type};
  return id;
}

std::optional<ForwardTable::Entry> ForwardTable::take(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

ForwardTable::Entry* ForwardTable::find(uint64_t id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

void ForwardTable::shorten(NodeId leader, int64_t deadline_ms) {
  for (auto& [id, e] : entries_) {
    if (e.leader == leader) e.deadline_ms = std::min(e.deadline_ms, deadline_ms);
  }
}

std::vector<ForwardTable::Entry> ForwardTable::expire(int64_t now_ms) {
  std::vector<Entry> expired;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.deadline_ms <= now_ms) {
      expired.push_back(std::move(it->second));
      it = entries_.erase(it);
    } else {
      ++it;  // deadlines may be out of id order: a leader change shortens some
    }
  }
  return expired;
}

}  // namespace bw::server
