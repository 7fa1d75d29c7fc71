// Blocking list pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP on any node.
//
// The node that holds the client waits; the pop itself is a write ordered by the leader, so every
// element goes to exactly one client, also across a failover. Whenever a watched key may hold a
// list in this node's applied state (at once, or when an applied entry changes the key), the node
// proposes one attempt (kv::BlockingPop). An attempt that pops answers the client; one that finds
// every list empty (another client was first) answers the index of its own entry, and the client
// waits on: at once again only if this node has applied that entry and still sees a list,
// otherwise until the next change of a key. Out of time, the client gets Redis's nil. A client
// that disconnects while waiting pops nothing; one that disconnects while its attempt is in the
// log may lose the element it popped (as with a Redis connection that drops after BLPOP pops).
#include <algorithm>
#include <charconv>

#include "server/args.h"
#include "server/node.h"

namespace bw::server {

namespace {
// Takes waiter `id` off the key index under each of its keys.
void unindex(std::multimap<std::string, uint64_t>& index, const std::vector<std::string>& keys,
             uint64_t id) {
  for (const std::string& k : keys) {
    auto [first, last] = index.equal_range(k);
    for (auto it = first; it != last; ++it) {
      if (it->second == id) {
        index.erase(it);
        break;
      }
    }
  }
}
}  // namespace

void Node::route_blocking_pop(ReplyTo to, std::span<const std::string_view> argv,
                              const kv::BlockingPop& pop) {
  if (!pop.valid) {  // the leader's parse answers the error, before the log
    route_write(std::move(to), argv);
    return;
  }
  BlockedPop b{.to = std::move(to),
               .argv = std::vector<std::string>(argv.begin(), argv.end()),
               .keys = std::vector<std::string>(pop.keys.begin(), pop.keys.end()),
               .deadline_ms = pop.timeout_ms == 0 ? 0 : now_ms() + pop.timeout_ms,
               .null_array = pop.null_array};
  // A key of another type answers WRONGTYPE at once, as Redis does (later changes of a key wake
  // the client only when it holds a list).
  bool present = false;
  for (const std::string& key : b.keys) present = present || store().version_of(key) != 0;
  if (present) {
    attempt_pop(std::move(b));
  } else {
    block_pop(std::move(b));
  }
}

bool Node::any_list_ready(const BlockedPop& b) const {
  for (const std::string& key : b.keys) {
    if (store().list_ready(key)) return true;
  }
  return false;
}

void Node::attempt_pop(BlockedPop b) {
  const uint64_t id = next_blocked_pop_++;
  ReplyTo via{
      .session = b.to.session, .seq = b.to.seq, .protocol = b.to.protocol, .pop_attempt = id};
  auto [it, inserted] = pop_attempts_.emplace(id, std::move(b));
  const std::vector<std::string_view> argv = views(it->second.argv);
  route_write(std::move(via), argv);
}

void Node::on_pop_attempt(uint64_t attempt, std::string bytes) {
  auto it = pop_attempts_.find(attempt);
  if (it == pop_attempts_.end()) return;
  BlockedPop b = std::move(it->second);
  pop_attempts_.erase(it);
  // ":<index>\r\n": the attempt at that log index found every list empty.
  uint64_t index = 0;
  if (bytes.size() < 4 || bytes[0] != ':' ||
      std::from_chars(bytes.data() + 1, bytes.data() + bytes.size() - 2, index).ec != std::errc()) {
    reply(b.to, std::move(bytes));  // the pop (or an error)
    return;
  }
  if (b.deadline_ms != 0 && b.deadline_ms <= now_ms()) {
    reply_value(b.to, b.null_array ? kv::Reply::null_array() : kv::Reply::null());
    return;
  }
  if (store().applied_index() >= index && any_list_ready(b)) {
    attempt_pop(std::move(b));  // pushed since the attempt, and this node has seen it
  } else {
    block_pop(std::move(b));
  }
}

void Node::block_pop(BlockedPop b) {
  const uint64_t id = next_blocked_pop_++;
  for (const std::string& key : b.keys) blocked_pop_keys_.emplace(key, id);
  blocked_pops_.emplace(id, std::move(b));
}

void Node::wake_pops(const std::string& key) {
  if (!store().list_ready(key)) return;
  auto [first, last] = blocked_pop_keys_.equal_range(key);
  std::vector<uint64_t> ids;
  for (auto it = first; it != last; ++it) ids.push_back(it->second);
  std::sort(ids.begin(), ids.end());  // the longest waiting first, as Redis serves them
  for (uint64_t id : ids) {
    auto it = blocked_pops_.find(id);
    if (it == blocked_pops_.end()) continue;
    BlockedPop b = std::move(it->second);
    blocked_pops_.erase(it);
    unindex(blocked_pop_keys_, b.keys, id);
    if (b.to.session != nullptr && b.to.session->closed()) continue;  // pops nothing for nobody
    attempt_pop(std::move(b));
  }
}

void Node::expire_blocked_pops(int64_t now) {
  for (auto it = blocked_pops_.begin(); it != blocked_pops_.end();) {
    const BlockedPop& b = it->second;
    const bool gone = b.to.session != nullptr && b.to.session->closed();
    if (!gone && (b.deadline_ms == 0 || b.deadline_ms > now)) {
      ++it;
      continue;
    }
    if (!gone) reply_value(b.to, b.null_array ? kv::Reply::null_array() : kv::Reply::null());
    unindex(blocked_pop_keys_, b.keys, it->first);
    it = blocked_pops_.erase(it);
  }
}

}  // namespace bw::server
