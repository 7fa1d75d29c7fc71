// The client workload: each client has at most one operation outstanding. Writes (put, cas) go
// to the node a randomly chosen node names as leader; reads go to any node and are served after
// a ReadIndex round. An operation that gets no answer within kClientTimeoutUs has an unknown
// outcome: it may or may not have taken effect.
#include <fmt/format.h>

#include <vector>

#include "common/assert.h"
#include "common/codec.h"
#include "sim/world.h"

namespace bw::sim {
namespace {

constexpr size_t kWrittenValuesMax = 4;

std::string read_context(uint32_t client, uint64_t seq) {
  std::string out;
  ByteWriter w(&out);
  w.u32(client);
  w.u64(seq);
  return out;
}

}  // namespace

void World::client_issue(uint32_t id) {
  Client& c = clients_[id];
  BW_ASSERT(!c.busy);
  ++c.seq;
  Operation op;
  op.client = id;
  const size_t key = rng_.index(kKeys);
  op.key = fmt::format("k{}", key);
  const uint64_t dice = rng_.index(100);
  if (dice < 45) {
    op.kind = OpKind::kGet;
  } else if (dice < 80 || written_[key].empty()) {
    op.kind = OpKind::kPut;
  } else {
    op.kind = OpKind::kCas;
    op.expected = written_[key][rng_.index(written_[key].size())];
  }
  if (op.kind != OpKind::kGet) {
    op.value = fmt::format("c{}.{}", id, c.seq);
    if (written_[key].size() == kWrittenValuesMax) written_[key].erase(written_[key].begin());
    written_[key].push_back(op.value);
  }
  op.invoke_us = now_us_;
  op.outcome = Outcome::kUnknown;

  // Ask a random node (of those that ever started); writes follow its idea of the leader.
  std::vector<uint32_t> started;
  for (uint32_t n = 1; n <= nodes_max_; ++n) {
    if (node(n) != nullptr) started.push_back(n);
  }
  uint32_t target = started[rng_.index(started.size())];
  if (op.kind != OpKind::kGet) {
    if (Node* n = running(target); n != nullptr) {
      const uint64_t hint = n->raft().leader().value();
      if (hint >= 1 && hint <= nodes_max_) target = static_cast<uint32_t>(hint);
    }
  }
  c.busy = true;
  c.target = NodeId(target);
  c.op = history_.size();
  trace_.add(TraceEvent{.time_us = now_us_,
                        .kind = TraceKind::kInvoke,
                        .node = target,
                        .a = id,
                        .b = static_cast<uint64_t>(op.kind),
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
  const Operation& op = history_[c.op];
  if (op.kind == OpKind::kGet) {
    n->read(read_context(id, c.seq));
    return;
  }
  Command cmd;
  cmd.kind = op.kind == OpKind::kCas ? CommandKind::kCas : CommandKind::kPut;
  cmd.client = id;
  cmd.seq = c.seq;
  cmd.key = op.key;
  cmd.value = op.value;
  cmd.expected = op.expected;
  // A refused proposal never entered any log: a definite failure.
  if (!n->propose(cmd).ok()) client_complete(c, Outcome::kFail);
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

void World::on_write_applied(NodeId id, const Command& cmd, bool changed) {
  if (cmd.client >= clients_.size()) return;
  Client& c = clients_[cmd.client];
  if (!c.busy || c.seq != cmd.seq || c.target != id) return;
  history_[c.op].cas_succeeded = changed;
  client_complete(c, Outcome::kOk);
}

void World::on_read_ready(NodeId id, const std::string& context) {
  ByteReader r(context);
  Result<uint32_t> client = r.u32();
  Result<uint64_t> seq = r.u64();
  if (!client.ok() || !seq.ok() || *client >= clients_.size()) return;
  Client& c = clients_[*client];
  if (!c.busy || c.seq != *seq || c.target != id) return;
  Operation& op = history_[c.op];
  op.read_value = node(static_cast<uint32_t>(id.value()))->machine().get(op.key);
  client_complete(c, Outcome::kOk);
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
