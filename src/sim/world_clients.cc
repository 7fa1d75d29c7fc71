// The client workload: real kv commands, each client with at most one outstanding. Writes go to
// the node a randomly chosen node names as leader, encoded there as the server encodes them
// (the node's clock stamps the entry); reads go to any node and are served after a ReadIndex
// round. Commands cover strings and counters (SET, GET, INCR, DEL, MGET, EXISTS), versions
// (GETVER, SET IFVER, CAS), expiry (SET PX, PEXPIRE, with reads around the deadline),
// transactions (MULTI/EXEC with WATCH), leases (GRANT, KEEPALIVE, keys bound to a lease, TTL)
// and elections and locks with fencing (ELECT, LOCK, UNLOCK, ELECT.KEEPALIVE, ELECT.LEADER,
// writes with FENCE). An operation with no answer within kClientTimeoutUs has an unknown
// outcome.
#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "common/assert.h"
#include "kv/store.h"
#include "sim/world.h"

namespace bw::sim {
namespace {

constexpr const char* kElection = "e0";

std::vector<std::string_view> views(const std::vector<std::string>& argv) {
  return {argv.begin(), argv.end()};
}

}  // namespace

// Draws the next command of client `c` from what it has learned (versions, lease ids, tokens).
World::Request World::next_request(Client& c) {
  Request q;
  const size_t key = rng_.index(kKeys);
  const std::string k = fmt::format("k{}", key);
  const std::string v = std::to_string(uint64_t{c.id} * 1'000'000 + c.seq);
  const std::string ttl = std::to_string(rng_.range(20, 400));
  const uint64_t dice = rng_.index(100);
  if (dice < 12) {
    q.argv = {"GET", k};
  } else if (dice < 18) {
    q.argv = {"GETVER", k};
  } else if (dice < 21) {
    q.argv = {"MGET", "k0", "k1", "k2"};
  } else if (dice < 24) {
    q.argv = {"EXISTS", k};
  } else if (dice < 27) {
    q.argv = {"ELECT.LEADER", kElection};
  } else if (dice < 29 && c.lease != 0) {
    q.argv = {"LEASE", "TTL", std::to_string(c.lease)};
  } else if (dice < 42) {
    q.argv = {"SET", k, v};
  } else if (dice < 50) {
    q.argv = {"SET", k, v, "PX", ttl};
  } else if (dice < 58) {
    q.argv = {"INCR", k};
  } else if (dice < 62) {
    q.argv = {"DEL", k};
  } else if (dice < 68) {
    q.argv = {"SET", k, v, "IFVER", std::to_string(c.versions[key])};
  } else if (dice < 72) {
    q.argv = {"CAS", k, std::to_string(c.versions[key]), v};
  } else if (dice < 76) {
    q.argv = {"PEXPIRE", k, ttl};
  } else if (dice < 81) {
    const size_t other = rng_.index(kKeys);
    q.transaction = true;
    q.commands = {{"SET", k, v}, {"INCR", fmt::format("k{}", other)}, {"GET", k}};
    q.watched = {{k, c.versions[key]}};
    q.argv = {"MULTI", "SET", k,      v,       "INCR", fmt::format("k{}", other),
              "GET",   k,     "EXEC", "WATCH", k,      std::to_string(c.versions[key])};
  } else if (dice < 84) {
    q.argv = {"LEASE", "GRANT", std::to_string(rng_.range(50, 500))};
  } else if (dice < 86 && c.lease != 0) {
    q.argv = {"LEASE", "KEEPALIVE", std::to_string(c.lease)};
  } else if (dice < 88 && c.lease != 0) {
    q.argv = {"SET", k, v, "LEASE", std::to_string(c.lease)};
  } else if (dice < 91) {
    q.argv = {"ELECT", kElection, fmt::format("c{}", c.id), std::to_string(rng_.range(50, 500))};
  } else if (dice < 93) {
    // LOCK is ELECT under another name: the same names, holders and tokens.
    q.argv = c.token != 0 && rng_.chance(0.3)
                 ? std::vector<std::string>{"UNLOCK", kElection, std::to_string(c.token)}
                 : std::vector<std::string>{"LOCK", kElection, fmt::format("c{}", c.id),
                                            std::to_string(rng_.range(50, 500))};
  } else if (dice < 95 && c.token != 0) {
    q.argv = {"ELECT.KEEPALIVE", kElection, std::to_string(c.token)};
  } else if (c.token != 0) {
    q.argv = {"SET", k, v, "FENCE", kElection, std::to_string(c.token)};
  } else {
    q.argv = {"SET", k, v};
  }
  q.write = q.transaction || q.argv[0] == "SET" || q.argv[0] == "INCR" || q.argv[0] == "DEL" ||
            q.argv[0] == "CAS" || q.argv[0] == "PEXPIRE" || q.argv[0] == "ELECT" ||
            q.argv[0] == "LOCK" || q.argv[0] == "UNLOCK" || q.argv[0] == "ELECT.KEEPALIVE" ||
            (q.argv[0] == "LEASE" && q.argv[1] != "TTL");
  return q;
}

void World::client_issue(uint32_t id) {
  Client& c = clients_[id];
  BW_ASSERT(!c.busy);
  ++c.seq;
  c.request = next_request(c);
  Operation op;
  op.client = id;
  op.write = c.request.write;
  op.argv = c.request.argv;
  op.invoke_us = now_us_;
  op.outcome = Outcome::kUnknown;

  // Ask a random node (of those that ever started); writes follow its idea of the leader.
  std::vector<uint32_t> started;
  for (uint32_t n = 1; n <= nodes_max_; ++n) {
    if (node(n) != nullptr) started.push_back(n);
  }
  uint32_t target = started[rng_.index(started.size())];
  if (op.write) {
    if (Node* n = running(target); n != nullptr) {
      const uint64_t hint = n->raft().leader().value();
      if (hint >= 1 && hint <= nodes_max_) target = static_cast<uint32_t>(hint);
    }
  }
  op.node = NodeId(target);
  c.busy = true;
  c.target = NodeId(target);
  c.op = history_.size();
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kInvoke,
                        .node = target,
                        .a = id,
                        .b = op.write ? 1u : 0u,
                        .c = c.seq});
  history_.push_back(std::move(op));
  schedule(rng_.range(50, kClientLatencyUsMax), EventKind::kClientArrive, id, c.seq);
  schedule(kClientTimeoutUs, EventKind::kClientTimeout, id, c.seq);
}

void World::client_arrive(uint32_t id, uint64_t seq) {
  Client& c = clients_[id];
  if (!c.busy || c.seq != seq) return;
  const auto target = static_cast<uint32_t>(c.target.value());
  Node* n = running(target);
  if (n == nullptr) {
    client_complete(c, Outcome::kFail);  // connection refused: nothing happened
    return;
  }
  if (slots_[target].paused) {
    // The request waits in the socket buffer of the paused process.
    if (slots_[target].inbox.size() < kInboxMax) slots_[target].inbox.push_back(id);
    return;
  }
  client_execute(n, id);
}

void World::client_execute(Node* n, uint32_t id) {
  Client& c = clients_[id];
  const uint64_t seq = c.seq;
  const Request& q = c.request;
  if (!q.write) {
    n->read([this, n, id, seq](const Status& st) { on_read_done(n, id, seq, st); });
    return;
  }
  std::variant<std::string, kv::Reply> encoded =
      q.transaction ? kv::encode_transaction(q.commands, q.watched, n->now_ms())
                    : kv::encode_write(views(q.argv), n->now_ms());
  if (std::holds_alternative<kv::Reply>(encoded)) {
    client_complete(c, Outcome::kFail);  // refused before entering any log (e.g. bad FENCE)
    return;
  }
  const Term term = n->raft().term();
  Result<LogIndex> index = n->propose(
      std::move(std::get<std::string>(encoded)),
      [this, id, seq](const Status& st, const kv::Reply& r) { on_write_done(id, seq, st, r); });
  if (!index.ok()) {
    // A refused proposal never entered any log: a definite failure.
    if (c.busy && c.seq == seq) client_complete(c, Outcome::kFail);
    return;
  }
  Operation& op = history_[c.op];
  op.proposed_index = index->value();
  op.proposed_term = term;
  if (op.outcome == Outcome::kOk) op.position = index->value();  // answered already
}

void World::on_write_done(uint32_t id, uint64_t seq, const Status& st, const kv::Reply& reply) {
  Client& c = clients_[id];
  if (!c.busy || c.seq != seq) return;
  Operation& op = history_[c.op];
  if (st.ok()) {
    op.position = op.proposed_index;
    op.reply = reply;
    learn(c, reply);
    client_complete(c, Outcome::kOk);
  } else if (absl::IsAborted(st)) {
    op.not_applied = true;  // another leader's entry took the index
    client_complete(c, Outcome::kFail);
  } else {
    client_timeout(id, seq);  // the node does not know the outcome
  }
}

void World::on_read_done(Node* n, uint32_t id, uint64_t seq, const Status& st) {
  Client& c = clients_[id];
  if (!c.busy || c.seq != seq || !n->running()) return;
  if (!st.ok()) {
    client_complete(c, Outcome::kFail);  // a read that fails changed nothing
    return;
  }
  Operation& op = history_[c.op];
  op.position = n->applied().value();
  op.local_now_ms = n->now_ms();
  op.reply = n->replica().evaluate_read(views(c.request.argv), 0);
  learn(c, op.reply);
  client_complete(c, Outcome::kOk);
}

// Remembers what a reply tells the client: versions (GETVER), lease ids, election tokens.
void World::learn(Client& c, const kv::Reply& r) {
  const std::vector<std::string>& argv = c.request.argv;
  if (argv[0] == "GETVER" && r.kind == kv::Reply::Kind::kArray && r.elements.size() == 2) {
    c.versions[argv[1][1] - '0'] = static_cast<uint64_t>(r.elements[1].integer);
  } else if (argv[0] == "LEASE" && argv[1] == "GRANT" && r.kind == kv::Reply::Kind::kInteger) {
    c.lease = static_cast<uint64_t>(r.integer);
  } else if ((argv[0] == "ELECT" || argv[0] == "LOCK") && r.kind == kv::Reply::Kind::kArray &&
             r.elements.size() == 4 && r.elements[0].integer == 1) {
    c.token = static_cast<uint64_t>(r.elements[2].integer);
  }
}

void World::resume_inbox(uint32_t id) {
  std::deque<uint32_t> inbox = std::move(slots_[id].inbox);
  slots_[id].inbox.clear();
  for (uint32_t client : inbox) {
    Client& c = clients_[client];
    Node* n = available(id);
    if (n == nullptr) return;
    if (c.busy && c.target == NodeId(id)) client_execute(n, client);
  }
}

void World::on_entry_applied(NodeId, const raft::Entry& e) {
  if (committed_.contains(e.index.value())) return;  // the checker compares the others
  committed_[e.index.value()] =
      CommittedEntry{.term = e.term,
                     .kv = e.type != raft::EntryType::kConfChange && !e.data.empty(),
                     .data = e.data};
}

void World::client_timeout(uint32_t id, uint64_t seq) {
  Client& c = clients_[id];
  if (!c.busy || c.seq != seq) return;
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kTimeout,
                        .node = c.target.value(),
                        .a = id,
                        .c = seq});
  c.busy = false;  // the operation stays in the history with an unknown outcome
  schedule(rng_.range(0, kThinkUsMax), EventKind::kClientIssue, id, 0);
}

void World::client_complete(Client& c, Outcome outcome) {
  Operation& op = history_[c.op];
  op.outcome = outcome;
  op.complete_us = now_us_;
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kComplete,
                        .node = c.target.value(),
                        .a = c.id,
                        .b = static_cast<uint64_t>(outcome),
                        .c = c.seq});
  c.busy = false;
  schedule(rng_.range(0, kThinkUsMax), EventKind::kClientIssue, c.id, 0);
}

}  // namespace bw::sim
