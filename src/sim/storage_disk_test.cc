#include "sim/storage_disk.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <vector>

namespace bw::sim {
namespace {

raft::Entry entry(uint64_t index, uint64_t term, std::string data = "x") {
  return raft::Entry{Term(term), LogIndex(index), raft::EntryType::kNormal, std::move(data)};
}

WriteBatch append(uint64_t first, uint64_t last, uint64_t term) {
  WriteBatch b;
  for (uint64_t i = first; i <= last; ++i)
    b.entries.push_back(entry(i, term, std::string(40, 'a')));
  b.hard_state = raft::HardState{Term(term), kNoNode, LogIndex(1)};
  return b;
}

raft::ConfState three() {
  raft::ConfState c;
  c.voters = {NodeId(1), NodeId(2), NodeId(3)};
  return c;
}

StorageDiskOptions options(uint64_t seed) {
  spdlog::set_level(spdlog::level::off);  // recovery logs every torn tail it cuts
  return StorageDiskOptions{.node = NodeId(1), .group = GroupId(1), .seed = seed};
}

TEST(StorageDisk, BootstrapIsRecoveredFromTheWal) {
  auto disk = StorageDisk::bootstrapped(options(1), three());
  const raft::BootState boot = disk->boot_state();
  EXPECT_EQ(boot.hard_state.term, Term(1));
  EXPECT_EQ(boot.hard_state.commit, LogIndex(1));
  EXPECT_EQ(boot.applied, LogIndex(1));
  EXPECT_EQ(boot.conf.voters, three().voters);
  EXPECT_EQ(disk->durable_snapshot().meta.index, LogIndex(1));
  EXPECT_EQ(disk->durable_last(), std::make_pair(LogIndex(1), Term(1)));
  EXPECT_EQ(disk->unsynced_batches(), 0u);
}

TEST(StorageDisk, WritesAreVisibleAtOnceButDurableOnlyAfterSync) {
  auto disk = StorageDisk::bootstrapped(options(1), three());
  ASSERT_TRUE(disk->write(append(2, 3, 2)).ok());
  EXPECT_EQ(disk->log()->last_index(), LogIndex(3));
  EXPECT_EQ(disk->durable_last().first, LogIndex(1));
  EXPECT_EQ(disk->unsynced_batches(), 1u);
  EXPECT_TRUE(disk->take_persisted().empty());
  disk->sync();
  const std::vector<PersistedEntry> persisted = disk->take_persisted();
  ASSERT_EQ(persisted.size(), 2u);
  EXPECT_EQ(persisted[0].prev_term, Term(1));  // the bootstrap snapshot's
  EXPECT_EQ(persisted[1].prev_term, Term(2));
  EXPECT_EQ(disk->durable_last(), std::make_pair(LogIndex(3), Term(2)));
  EXPECT_EQ(disk->unsynced_batches(), 0u);
}

// Crash with a synced batch and an unsynced one, at every kind of cut the PRNG can draw: the
// recovered log always holds the synced entries, is a prefix of what was written, and torn
// records at the tail are cut off rather than failing recovery.
TEST(StorageDisk, CrashRecoversAPrefixAndCutsTornTails) {
  uint64_t torn = 0, lost = 0, kept = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    auto disk = StorageDisk::bootstrapped(options(seed), three());
    ASSERT_TRUE(disk->write(append(2, 3, 2)).ok());
    disk->sync();
    for (uint64_t i = 4; i <= 9; ++i) ASSERT_TRUE(disk->write(append(i, i, 3)).ok());
    Rng rng(seed);
    disk->crash(rng);
    ASSERT_TRUE(disk->status().ok()) << "seed " << seed << ": " << disk->status().ToString();
    const LogIndex last = disk->log()->last_index();
    ASSERT_GE(last, LogIndex(3)) << "seed " << seed << ": a synced entry was lost";
    ASSERT_LE(last, LogIndex(9));
    Result<std::vector<raft::Entry>> entries =
        disk->log()->entries(LogIndex(2), last + 1, UINT64_MAX);
    ASSERT_TRUE(entries.ok());
    for (const raft::Entry& e : *entries) {
      EXPECT_EQ(e.term, Term(e.index.value() <= 3 ? 2 : 3)) << "seed " << seed;
      EXPECT_EQ(e.data, std::string(40, 'a'));
    }
    EXPECT_GE(disk->boot_state().hard_state.term, Term(2));
    EXPECT_EQ(disk->durable_last().first, last);
    torn += disk->torn_tails();
    lost += last == LogIndex(3);
    kept += last == LogIndex(9);
    // The recovered disk takes writes again, and they survive the next crash once synced.
    ASSERT_TRUE(disk->write(append(last.value() + 1, last.value() + 1, 4)).ok());
    disk->sync();
    disk->crash(rng);
    ASSERT_TRUE(disk->status().ok()) << "seed " << seed << ": " << disk->status().ToString();
    EXPECT_EQ(disk->log()->last_index(), last + 1) << "seed " << seed;
  }
  // Every outcome actually happened.
  EXPECT_GT(torn, 10u);
  EXPECT_GT(lost, 10u);
  EXPECT_GT(kept, 10u);
}

TEST(StorageDisk, SnapshotAndCompactionSurviveACrash) {
  auto disk = StorageDisk::bootstrapped(options(3), three());
  ASSERT_TRUE(disk->write(append(2, 10, 2)).ok());
  disk->sync();
  EXPECT_FALSE(disk->snapshot(LogIndex(1), three(), "old", LogIndex(1)).ok());  // nothing new
  ASSERT_TRUE(disk->snapshot(LogIndex(8), three(), "image", LogIndex(6)).ok());
  disk->sync();
  EXPECT_EQ(disk->snapshot_index(), LogIndex(8));
  EXPECT_EQ(disk->log()->first_index(), LogIndex(7));
  Rng rng(3);
  disk->crash(rng);
  ASSERT_TRUE(disk->status().ok()) << disk->status().ToString();
  const raft::Snapshot snap = disk->durable_snapshot();
  EXPECT_EQ(snap.meta.index, LogIndex(8));
  EXPECT_EQ(snap.meta.term, Term(2));
  EXPECT_EQ(snap.data, "image");
  EXPECT_EQ(disk->boot_state().applied, LogIndex(8));
  EXPECT_EQ(disk->log()->first_index(), LogIndex(7));
  EXPECT_EQ(disk->log()->last_index(), LogIndex(10));
}

// The planted storage bug: writes are reported durable at the sync event without an fsync, so
// a power cut can take back what the node was told is durable.
TEST(StorageDisk, DurableBeforeFsyncLosesReportedWritesInACrash) {
  uint64_t lost = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    StorageDiskOptions o = options(seed);
    o.durable_before_fsync = true;
    auto disk = StorageDisk::bootstrapped(o, three());
    ASSERT_TRUE(disk->write(append(2, 3, 2)).ok());
    disk->sync();
    ASSERT_EQ(disk->durable_last().first, LogIndex(3));  // what the node is told
    Rng rng(seed);
    disk->crash(rng);
    ASSERT_TRUE(disk->status().ok()) << disk->status().ToString();
    lost += disk->log()->last_index() < LogIndex(3);
  }
  EXPECT_GT(lost, 10u);
}

}  // namespace
}  // namespace bw::sim
