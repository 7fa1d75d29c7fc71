#include "sim/invariants.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/checksum.h"
#include "raft/memory_storage.h"

namespace bw::sim {
namespace {

raft::MemoryStorage log_of(std::vector<uint64_t> terms) {
  raft::MemoryStorage log;
  std::vector<raft::Entry> entries;
  for (size_t i = 0; i < terms.size(); ++i) {
    entries.push_back(raft::Entry{Term(terms[i]), LogIndex(i + 1), raft::EntryType::kNormal,
                                  fmt::format("e{}", i + 1) + fmt::format("t{}", terms[i])});
  }
  EXPECT_TRUE(log.append(entries).ok());
  return log;
}

TEST(Invariants, TwoLeadersInOneTermAreCaught) {
  InvariantChecker c(3);
  c.on_leader(NodeId(1), Term(2));
  c.on_leader(NodeId(1), Term(2));
  c.on_leader(NodeId(2), Term(3));
  EXPECT_FALSE(c.failed());
  c.on_leader(NodeId(3), Term(2));
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "election safety");
}

TEST(Invariants, LeaderMissingACommittedEntryIsCaught) {
  InvariantChecker c(3);
  raft::MemoryStorage full = log_of({1, 1, 2});
  c.on_commit(NodeId(1), Term(2), LogIndex(3), full);
  raft::MemoryStorage good = log_of({1, 1, 2, 3});
  c.on_leader_log(NodeId(2), Term(3), good);
  EXPECT_FALSE(c.failed());
  raft::MemoryStorage short_log = log_of({1, 1});
  c.on_leader_log(NodeId(3), Term(4), short_log);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "leader completeness");
}

TEST(Invariants, DivergentApplicationIsCaught) {
  InvariantChecker c(3);
  raft::MemoryStorage log = log_of({1, 1});
  c.on_commit(NodeId(1), Term(1), LogIndex(2), log);
  c.on_commit(NodeId(2), Term(1), LogIndex(2), log);
  c.on_apply(NodeId(1), LogIndex(1), Term(1), 7);
  c.on_apply(NodeId(2), LogIndex(1), Term(1), 7);
  EXPECT_FALSE(c.failed());
  c.on_apply(NodeId(2), LogIndex(2), Term(1), 8);
  c.on_apply(NodeId(1), LogIndex(2), Term(1), 9);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "state machine safety");
}

TEST(Invariants, ApplyingBeyondCommitIsCaught) {
  InvariantChecker c(3);
  c.on_apply(NodeId(1), LogIndex(1), Term(1), 7);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "state machine safety");
}

TEST(Invariants, CommitGoingBackIsCaughtExceptAcrossRestart) {
  InvariantChecker c(3);
  raft::MemoryStorage log = log_of({1, 1, 1});
  c.on_commit(NodeId(1), Term(1), LogIndex(3), log);
  c.on_restart(NodeId(1), LogIndex(1), LogIndex(0));
  c.on_commit(NodeId(1), Term(1), LogIndex(2), log);
  EXPECT_FALSE(c.failed());
  c.on_commit(NodeId(1), Term(1), LogIndex(1), log);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "commit monotonicity");
}

TEST(Invariants, DifferentDataUnderOneIndexAndTermIsCaught) {
  InvariantChecker c(3);
  c.on_persisted(NodeId(1), PersistedEntry{LogIndex(5), Term(2), Term(2), 11});
  c.on_persisted(NodeId(2), PersistedEntry{LogIndex(5), Term(2), Term(2), 11});
  EXPECT_FALSE(c.failed());
  c.on_persisted(NodeId(3), PersistedEntry{LogIndex(5), Term(2), Term(1), 11});
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.violation()->invariant, "log matching");
}

TEST(Invariants, CommitThatAnElectableNodeLacksIsCaught) {
  // Figure 8: entry 2 (term 2) replicated to nodes 1 and 2 by the term-4 leader; node 3 holds
  // a term-3 entry at index 2, so nodes 2 and 3 would elect node 3.
  auto voter = [](uint64_t id, uint64_t last, uint64_t last_term, bool has) {
    return VoterLog{NodeId(id),     LogIndex(last),  Term(last_term),
                    LogIndex(last), Term(last_term), has};
  };
  InvariantChecker ok(3);
  ok.on_leader_commit(NodeId(1), LogIndex(3),
                      {voter(1, 3, 4, true), voter(2, 3, 4, true), voter(3, 2, 3, false)});
  EXPECT_FALSE(ok.failed());
  InvariantChecker bad(3);
  bad.on_leader_commit(NodeId(1), LogIndex(2),
                       {voter(1, 3, 4, true), voter(2, 2, 2, true), voter(3, 2, 3, false)});
  ASSERT_TRUE(bad.failed());
  EXPECT_EQ(bad.violation()->invariant, "commit durability");
}

}  // namespace
}  // namespace bw::sim
