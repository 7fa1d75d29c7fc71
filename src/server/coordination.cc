// The node's side of coordination: MULTI/EXEC/WATCH, PUBLISH delivery, blocking ELECT/LOCK,
// and leader-driven expiry of leases and election holders. The decisions themselves are made
// by kv as entries apply; this file routes, queues and wakes.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/codec.h"
#include "kv/store.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/node.h"

namespace bw::server {

namespace {

constexpr uint64_t kForwardArgBytesMax = 512ull << 20;
constexpr uint64_t kForwardCountMax = 1u << 20;
constexpr size_t kQueuedCommandsMax = 100000;  // commands one MULTI may queue

void clear_transaction(Session& s) {
  s.in_multi = false;
  s.multi_dirty = false;
  s.queued.clear();
  s.watched.clear();
}

}  // namespace

bool Node::execute_transaction_command(const std::shared_ptr<Session>& s, const ReplyTo& to,
                                       const resp::CommandSpec& spec,
                                       std::span<const std::string_view> argv) {
  std::string_view name = spec.name;
  if (name == "multi") {
    if (s->in_multi) {
      reply_error(to, "ERR MULTI calls can not be nested");
    } else {
      s->in_multi = true;
      reply_value(to, kv::Reply::ok());
    }
    return true;
  }
  if (name == "watch") {
    if (s->in_multi) {
      reply_error(to, "ERR WATCH inside MULTI is not allowed");
      return true;
    }
    // A version read from this node's state: if it is behind, EXEC can only abort spuriously,
    // never succeed over a change it did not see (the check happens when the entry applies).
    for (size_t i = 1; i < argv.size(); ++i) {
      s->watched.emplace_back(std::string(argv[i]), replica_->store().version_of(argv[i]));
    }
    reply_value(to, kv::Reply::ok());
    return true;
  }
  if (name == "unwatch") {
    s->watched.clear();
    reply_value(to, kv::Reply::ok());
    return true;
  }
  if (name == "discard") {
    if (!s->in_multi) {
      reply_error(to, "ERR DISCARD without MULTI");
    } else {
      clear_transaction(*s);
      reply_value(to, kv::Reply::ok());
    }
    return true;
  }
  if (name == "exec") {
    if (!s->in_multi) {
      reply_error(to, "ERR EXEC without MULTI");
      return true;
    }
    if (s->multi_dirty) {
      clear_transaction(*s);
      reply_error(to, "EXECABORT Transaction discarded because of previous errors.");
      return true;
    }
    Transaction tx{.commands = std::move(s->queued), .watched = std::move(s->watched)};
    clear_transaction(*s);
    if (tx.commands.empty() && tx.watched.empty()) {
      reply_value(to, kv::Reply::array({}));
      return true;
    }
    ++counters_.writes;
    route_transaction(to, std::move(tx));
    return true;
  }
  if (!s->in_multi || name == "quit" || name == "reset") return false;
  // Inside MULTI: queue, or refuse now (Redis answers the error and EXEC aborts).
  if (auto err = kv::check_queued(argv, now_ms())) {
    s->multi_dirty = true;
    reply_value(to, *err);
    return true;
  }
  if (s->queued.size() >= kQueuedCommandsMax) {
    s->multi_dirty = true;
    reply_error(to,
                fmt::format("ERR a transaction may queue at most {} commands", kQueuedCommandsMax));
    return true;
  }
  s->queued.emplace_back(argv.begin(), argv.end());
  reply_value(to, kv::Reply::simple("QUEUED"));
  return true;
}

void Node::route_transaction(ReplyTo to, Transaction tx) {
  if (raft().is_leader()) {
    propose_transaction(std::move(to), tx);
  } else if (raft().leader() != kNoNode) {  // not leader_ (node.h)
    forward_transaction(std::move(to), tx);
  } else {
    waiting_for_leader_.push_back(Waiting{.to = std::move(to),
                                          .transaction = std::move(tx),
                                          .deadline_ms = now_ms() + config_.request_timeout_ms});
  }
}

void Node::propose_transaction(ReplyTo to, const Transaction& tx) {
  if (refuse_oom_transaction(to, tx)) return;
  auto encoded = kv::encode_transaction(tx.commands, tx.watched, now_ms());
  if (auto* err = std::get_if<kv::Reply>(&encoded)) {
    reply_value(to, *err);
    return;
  }
  propose_pending(std::move(to), std::move(std::get<std::string>(encoded)));
}

void Node::forward_transaction(ReplyTo to, const Transaction& tx) {
  forward_to_leader(net::FrameType::kForwardTransaction, std::move(to), [&](ByteWriter& w) {
    w.varint(tx.watched.size());
    for (const auto& [key, version] : tx.watched) {
      w.bytes(key);
      w.u64(version);
    }
    w.varint(tx.commands.size());
    for (const auto& cmd : tx.commands) {
      w.varint(cmd.size());
      for (const auto& a : cmd) w.bytes(a);
    }
  });
}

std::optional<Node::Transaction> Node::decode_forwarded_transaction(ByteReader& r) {
  Transaction tx;
  auto watched = r.varint();
  if (!watched.ok() || *watched > kForwardCountMax) return std::nullopt;
  for (uint64_t i = 0; i < *watched; ++i) {
    auto key = r.bytes(kForwardArgBytesMax);
    auto version = r.u64();
    if (!key.ok() || !version.ok()) return std::nullopt;
    tx.watched.emplace_back(std::string(*key), *version);
  }
  auto commands = r.varint();
  if (!commands.ok() || *commands > kForwardCountMax) return std::nullopt;
  for (uint64_t i = 0; i < *commands; ++i) {
    auto argc = r.varint();
    if (!argc.ok() || *argc == 0 || *argc > kForwardCountMax) return std::nullopt;
    std::vector<std::string> cmd;
    for (uint64_t j = 0; j < *argc; ++j) {
      auto a = r.bytes(kForwardArgBytesMax);
      if (!a.ok()) return std::nullopt;
      cmd.emplace_back(*a);
    }
    tx.commands.push_back(std::move(cmd));
  }
  return tx;
}

void Node::on_forward_transaction(NodeId from, std::string_view payload) {
  ByteReader r(payload);
  auto id = r.u64();
  auto proto = r.u8();
  std::optional<Transaction> tx;
  if (id.ok() && proto.ok()) tx = decode_forwarded_transaction(r);
  if (!tx) {
    spdlog::warn("node {}: malformed forwarded transaction from {}", config_.id, from);
    return;
  }
  ReplyTo to{.peer = from, .forward_id = *id, .protocol = *proto == 3 ? 3 : 2};
  for (const auto& command : tx->commands) {
    if (!arity_ok(views(command))) {
      reply_error(to, "ERR forwarded transaction holds a malformed command");
      return;
    }
  }
  if (!raft().is_leader()) {
    reply_error(to, "TRYAGAIN leader changed; retry");
    return;
  }
  propose_transaction(std::move(to), *tx);
}

// ELECT/LOCK ... BLOCK ms: waits (without blocking the node) until the name has no live holder
// in this node's state, then campaigns. Out of time, it campaigns once anyway, so the reply
// names the current holder.
void Node::route_election(ReplyTo to, std::span<const std::string_view> argv, int64_t block_ms) {
  ++counters_.writes;
  std::string name(argv[1]);
  if (replica_->store().election_free(name)) {
    route_write(std::move(to), argv);
    return;
  }
  blocked_elections_.emplace(
      std::move(name), BlockedElection{.to = std::move(to),
                                       .argv = std::vector<std::string>(argv.begin(), argv.end()),
                                       .deadline_ms = block_ms == 0 ? 0 : now_ms() + block_ms});
}

void Node::wake_elections(const std::string& name) {
  auto [first, last] = blocked_elections_.equal_range(name);
  std::vector<BlockedElection> woken;
  for (auto it = first; it != last; ++it) woken.push_back(std::move(it->second));
  blocked_elections_.erase(first, last);
  // Every waiter campaigns; the log picks one winner, and the losers' replies name it.
  for (auto& b : woken) {
    auto v = views(b.argv);
    route_write(std::move(b.to), v);
  }
}

void Node::apply_effects(const kv::ApplyEffects& effects, const Session* writer) {
  for (const auto& ev : effects.key_events) {
    pubsub_.notify(ev.event, ev.key);
    tracking_.on_change(ev.key, writer);
    if (!blocked_pop_keys_.empty() && blocked_pop_keys_.contains(ev.key)) wake_pops(ev.key);
  }
  last_publish_receivers_ = 0;
  for (const auto& p : effects.published) {
    last_publish_receivers_ += p.shard ? pubsub_.publish_shard(p.channel, p.message)
                                       : pubsub_.publish(p.channel, p.message);
  }
  for (const auto& ne : effects.name_events) {
    if (ne.event == "resign" || ne.event == "expired") wake_elections(ne.name);
  }
}

}  // namespace bw::server
