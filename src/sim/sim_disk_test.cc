#include "sim/sim_disk.h"

#include <gtest/gtest.h>

#include <vector>

namespace bw::sim {
namespace {

raft::Entry entry(uint64_t index, uint64_t term, std::string data = "x") {
  return raft::Entry{Term(term), LogIndex(index), raft::EntryType::kNormal, std::move(data)};
}

WriteBatch append(std::vector<raft::Entry> entries, uint64_t term) {
  WriteBatch b;
  b.entries = std::move(entries);
  b.hard_state = raft::HardState{Term(term), kNoNode, LogIndex(1)};
  return b;
}

raft::ConfState three() {
  raft::ConfState c;
  c.voters = {NodeId(1), NodeId(2), NodeId(3)};
  return c;
}

TEST(SimDisk, BootstrapIsDurable) {
  auto disk = SimDisk::bootstrapped(three());
  const raft::BootState boot = disk->boot_state();
  EXPECT_EQ(boot.applied, LogIndex(1));
  EXPECT_EQ(boot.hard_state.term, Term(1));
  EXPECT_EQ(boot.conf, three());
  EXPECT_FALSE(disk->has_unsynced());
}

TEST(SimDisk, WritesAreVisibleAtOnceButDurableOnlyAfterSync) {
  auto disk = SimDisk::bootstrapped(three());
  ASSERT_TRUE(disk->write(append({entry(2, 2), entry(3, 2)}, 2)).ok());
  EXPECT_EQ(disk->log()->last_index(), LogIndex(3));
  EXPECT_EQ(disk->durable_last().first, LogIndex(1));
  disk->sync();
  const std::vector<PersistedEntry> persisted = disk->take_persisted();
  ASSERT_EQ(persisted.size(), 2u);
  EXPECT_EQ(persisted[0].prev_term, Term(1));
  EXPECT_EQ(persisted[1].prev_term, Term(2));
  EXPECT_EQ(disk->durable_last(), std::make_pair(LogIndex(3), Term(2)));
  EXPECT_EQ(disk->durable_hard_state().term, Term(2));
}

TEST(SimDisk, CrashDropsUnsyncedWritesButMayKeepAPrefixOfBatches) {
  auto disk = SimDisk::bootstrapped(three());
  ASSERT_TRUE(disk->write(append({entry(2, 2)}, 2)).ok());
  ASSERT_TRUE(disk->write(append({entry(3, 3)}, 3)).ok());
  ASSERT_EQ(disk->unsynced_batches(), 2u);
  disk->crash_keeping(1);  // the first batch reached the platter, the second did not
  EXPECT_EQ(disk->log()->last_index(), LogIndex(2));
  EXPECT_EQ(disk->boot_state().hard_state.term, Term(2));
  EXPECT_FALSE(disk->has_unsynced());
  disk->crash_keeping(0);
  EXPECT_EQ(disk->log()->last_index(), LogIndex(2));
}

TEST(SimDisk, CompactionIsRefusedWhenTheLogNoLongerHoldsTheIndex) {
  auto disk = SimDisk::bootstrapped(three());
  ASSERT_TRUE(disk->write(append({entry(2, 2), entry(3, 2), entry(4, 2)}, 2)).ok());
  WriteBatch snap;
  snap.compaction = raft::Snapshot{.meta = {.index = LogIndex(3), .term = Term(), .conf = three()},
                                   .data = "image"};
  snap.compact_index = LogIndex(3);
  ASSERT_TRUE(disk->write(snap).ok());
  EXPECT_EQ(disk->log()->first_index(), LogIndex(4));
  EXPECT_FALSE(disk->write(snap).ok());  // index 3 is gone now
  disk->sync();
  EXPECT_EQ(disk->durable_snapshot().meta.index, LogIndex(3));
  EXPECT_EQ(disk->durable_snapshot().data, "image");
  EXPECT_EQ(disk->boot_state().applied, LogIndex(3));
}

}  // namespace
}  // namespace bw::sim
