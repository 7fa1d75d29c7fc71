#include "sim/invariants.h"

#include <fmt/format.h>

#include <limits>
#include <utility>

#include "common/assert.h"
#include "common/checksum.h"

namespace bw::sim {
namespace {
constexpr uint64_t kAllBytes = std::numeric_limits<uint64_t>::max();
}

InvariantChecker::InvariantChecker(size_t nodes_max) : nodes_(nodes_max + 1) {}

InvariantChecker::NodeState& InvariantChecker::node(NodeId id) {
  BW_ASSERT(id.value() < nodes_.size());
  return nodes_[id.value()];
}

void InvariantChecker::fail(std::string invariant, std::string details) {
  if (!violation_) violation_ = Violation{std::move(invariant), std::move(details)};
}

void InvariantChecker::on_recovery_failure(NodeId id, const std::string& error) {
  fail("crash recovery", fmt::format("node {} cannot recover its data directory: {}", id, error));
}

void InvariantChecker::on_leader(NodeId id, Term term) {
  auto [it, inserted] = leaders_.emplace(term, id);
  if (!inserted && it->second != id) {
    fail("election safety",
         fmt::format("two leaders in term {}: node {} and node {}", term, it->second, id));
  }
}

void InvariantChecker::on_leader_log(NodeId id, Term term, raft::LogStorage& log) {
  if (!completeness_checked_.insert(term).second) return;
  check_completeness(id, term, log);
}

void InvariantChecker::check_completeness(NodeId id, Term term, raft::LogStorage& log) {
  const LogIndex first = log.first_index();
  const LogIndex last = log.last_index();
  for (uint64_t i = first.value(); i < committed_.size(); ++i) {
    const Committed& c = committed_[i];
    if (!c.known || c.observed_term >= term) continue;
    if (LogIndex(i) > last) {
      fail("leader completeness",
           fmt::format("node {} became leader of term {} with last index {}, but entry {} (term "
                       "{}) was committed in an earlier term",
                       id, term, last, i, c.id.term));
      return;
    }
    Result<std::vector<raft::Entry>> e = log.entries(LogIndex(i), LogIndex(i + 1), kAllBytes);
    BW_ASSERT(e.ok());
    const EntryId have{e->front().term, checksum64(e->front().data)};
    if (have != c.id) {
      fail("leader completeness",
           fmt::format("node {} became leader of term {} holding entry {} of term {}, but the "
                       "committed entry {} has term {} (data hash {:x} vs {:x})",
                       id, term, i, have.term, i, c.id.term, have.data_hash, c.id.data_hash));
      return;
    }
  }
}

void InvariantChecker::on_persisted(NodeId id, const PersistedEntry& e) {
  auto [it, inserted] = persisted_.emplace(std::make_pair(e.index.value(), e.term.value()),
                                           Matched{e.data_hash, e.prev_term});
  if (inserted) return;
  if (it->second.data_hash != e.data_hash) {
    fail("log matching", fmt::format("node {} persisted entry {} of term {} with data hash {:x}, "
                                     "another node has {:x}",
                                     id, e.index, e.term, e.data_hash, it->second.data_hash));
  } else if (it->second.prev_term != e.prev_term) {
    fail("log matching",
         fmt::format("node {} persisted entry {} of term {} after an entry of term {}, another "
                     "node has it after term {}",
                     id, e.index, e.term, e.prev_term, it->second.prev_term));
  }
}

void InvariantChecker::on_commit(NodeId id, Term term, LogIndex commit, raft::LogStorage& log) {
  NodeState& n = node(id);
  if (commit < n.commit) {
    fail("commit monotonicity",
         fmt::format("node {} commit index went back from {} to {}", id, n.commit, commit));
    return;
  }
  if (commit > log.last_index()) {
    fail("commit within log", fmt::format("node {} commit index {} is beyond its last entry {}", id,
                                          commit, log.last_index()));
    return;
  }
  const LogIndex lo = std::max(n.commit + 1, log.first_index());
  n.commit = commit;
  if (lo > commit) return;
  Result<std::vector<raft::Entry>> entries = log.entries(lo, commit + 1, kAllBytes);
  BW_ASSERT(entries.ok());
  if (committed_.size() <= commit.value()) committed_.resize(commit.value() + 1);
  for (const raft::Entry& e : *entries) {
    Committed& c = committed_[e.index.value()];
    const EntryId have{e.term, checksum64(e.data)};
    if (!c.known) {
      c = Committed{true, have, term};
      continue;
    }
    if (c.id != have) {
      fail("state machine safety",
           fmt::format("node {} committed entry {} of term {}, but entry {} of term {} was "
                       "committed before",
                       id, e.index, e.term, e.index, c.id.term));
      return;
    }
    if (term < c.observed_term) c.observed_term = term;
  }
}

void InvariantChecker::on_leader_commit(NodeId leader, LogIndex commit,
                                        const std::vector<VoterLog>& voters) {
  auto up_to_date = [](Term t1, LogIndex i1, Term t2, LogIndex i2) {
    return t1 > t2 || (t1 == t2 && i1 >= i2);  // is (t1, i1) at least as up to date as (t2, i2)
  };
  for (const VoterLog& m : voters) {
    if (m.has_entry) continue;
    size_t would_vote = 0;
    for (const VoterLog& v : voters) {
      if (up_to_date(m.last_term, m.last, v.durable_last_term, v.durable_last)) ++would_vote;
    }
    if (would_vote * 2 > voters.size()) {
      fail("commit durability",
           fmt::format("leader {} committed through {}, but node {} (last entry {} of term {}) "
                       "lacks entry {} and {} of {} voters would elect it",
                       leader, commit, m.id, m.last, m.last_term, commit, would_vote,
                       voters.size()));
      return;
    }
  }
}

void InvariantChecker::on_apply(NodeId id, LogIndex index, Term term, uint64_t data_hash) {
  NodeState& n = node(id);
  if (index != n.applied + 1) {
    fail("state machine safety",
         fmt::format("node {} applied entry {} right after entry {}", id, index, n.applied));
    return;
  }
  n.applied = index;
  if (index > n.commit) {
    fail("state machine safety",
         fmt::format("node {} applied entry {} beyond its commit index {}", id, index, n.commit));
    return;
  }
  if (applied_.size() <= index.value()) applied_.resize(index.value() + 1);
  std::optional<EntryId>& first = applied_[index.value()];
  const EntryId have{term, data_hash};
  if (!first) {
    first = have;
  } else if (*first != have) {
    fail("state machine safety",
         fmt::format("node {} applied entry {} of term {} (hash {:x}), but entry {} of term {} "
                     "(hash {:x}) was applied elsewhere",
                     id, index, term, data_hash, index, first->term, first->data_hash));
  }
}

void InvariantChecker::on_snapshot_restored(NodeId id, LogIndex index) {
  NodeState& n = node(id);
  if (index < n.applied) {
    fail("state machine safety",
         fmt::format("node {} restored a snapshot at {} below its applied index {}", id, index,
                     n.applied));
  }
  n.applied = index;
  if (index > n.commit) n.commit = index;
}

void InvariantChecker::on_restart(NodeId id, LogIndex durable_commit, LogIndex applied) {
  NodeState& n = node(id);
  n.commit = durable_commit;
  n.applied = applied;
}

void InvariantChecker::on_requests_checked(NodeId node, uint64_t oldest_pending, LogIndex applied) {
  if (oldest_pending == 0 || oldest_pending > applied.value()) return;
  fail("write-answered", fmt::format("node {} applied through {} but the write it proposed at {} "
                                     "is still waiting for an answer",
                                     node, applied, oldest_pending));
}

}  // namespace bw::sim
