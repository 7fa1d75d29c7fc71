#include "raft/memory_storage.h"

#include <gtest/gtest.h>

namespace bw::raft {
namespace {

Entry E(uint64_t term, uint64_t index, std::string data = "") {
  return Entry{Term(term), LogIndex(index), EntryType::kNormal, std::move(data)};
}

TEST(MemoryStorage, EmptyLog) {
  MemoryStorage s;
  EXPECT_EQ(s.first_index(), LogIndex(1));
  EXPECT_EQ(s.last_index(), LogIndex(0));
  EXPECT_EQ(*s.term(LogIndex(0)), Term(0));
  EXPECT_FALSE(s.term(LogIndex(1)).ok());
}

TEST(MemoryStorage, AppendTruncatesConflictingSuffix) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(1, 2), E(2, 3)}).ok());
  EXPECT_EQ(s.last_index(), LogIndex(3));
  ASSERT_TRUE(s.append({E(3, 2, "x")}).ok());
  EXPECT_EQ(s.last_index(), LogIndex(2));
  EXPECT_EQ(*s.term(LogIndex(2)), Term(3));
  EXPECT_FALSE(s.append({E(3, 5)}).ok());  // gap
  EXPECT_FALSE(s.append({E(3, 3), E(3, 5)}).ok());
}

TEST(MemoryStorage, EntriesRespectBytesButReturnAtLeastOne) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1, "aaaa"), E(1, 2, "bbbb"), E(1, 3, "cccc")}).ok());
  auto one = s.entries(LogIndex(1), LogIndex(4), 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto two = s.entries(LogIndex(1), LogIndex(4), 8);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(MemoryStorage, CompactAndSnapshot) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(1, 2), E(2, 3), E(2, 4)}).ok());
  auto snap = s.create_snapshot(LogIndex(3), ConfState{{NodeId(1)}, {}, {}}, "img");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->meta.term, Term(2));
  ASSERT_TRUE(s.compact(LogIndex(3)).ok());
  EXPECT_EQ(s.first_index(), LogIndex(4));
  EXPECT_EQ(*s.term(LogIndex(3)), Term(2));
  EXPECT_FALSE(s.entries(LogIndex(3), LogIndex(5), 100).ok());
  EXPECT_FALSE(s.compact(LogIndex(2)).ok());
  EXPECT_FALSE(s.compact(LogIndex(9)).ok());
  // Appending over compacted entries skips them.
  ASSERT_TRUE(s.append({E(2, 3), E(2, 4), E(3, 5)}).ok());
  EXPECT_EQ(s.last_index(), LogIndex(5));
}

TEST(MemoryStorage, ApplySnapshotReplacesLog) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(1, 2)}).ok());
  Snapshot snap;
  snap.meta.index = LogIndex(10);
  snap.meta.term = Term(4);
  ASSERT_TRUE(s.apply_snapshot(snap).ok());
  EXPECT_EQ(s.first_index(), LogIndex(11));
  EXPECT_EQ(s.last_index(), LogIndex(10));
  EXPECT_EQ(*s.term(LogIndex(10)), Term(4));
  EXPECT_FALSE(s.apply_snapshot(snap).ok());
  s.set_snapshot_unavailable(true);
  EXPECT_EQ(s.snapshot().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace bw::raft
