// Storage end to end on the in-memory file system: open, write, recover, snapshots,
// compaction and segment removal, identity checks, the dump tool.
#include "storage/storage.h"

#include <gtest/gtest.h>

#include <sstream>

#include "storage/dump.h"
#include "storage/memory_file_system.h"
#include "storage/wal.h"
#include "storage/wal_format.h"

namespace bw::storage {
namespace {

std::vector<raft::Entry> make_entries(uint64_t first, uint64_t n, uint64_t term, size_t bytes = 8) {
  std::vector<raft::Entry> out;
  for (uint64_t i = first; i < first + n; ++i) {
    std::string data = fmt::format("{}:{}:", term, i);
    data.resize(std::max(bytes, data.size()), 'd');
    out.push_back({Term(term), LogIndex(i), raft::EntryType::kNormal, data});
  }
  return out;
}

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs.create_dir("/data").ok()); }
  Options options(bool thread = false) {
    Options o;
    o.dir = "/data/node";
    o.identity = {"test", NodeId(1)};
    o.writer_thread = thread;
    o.segment_bytes_max = 4096;
    return o;
  }
  std::unique_ptr<Storage> open(Options o) {
    auto st = Storage::open(&fs, std::move(o));
    EXPECT_TRUE(st.ok()) << st.status();
    return st.ok() ? std::move(*st) : nullptr;
  }
  std::unique_ptr<Storage> open() { return open(options()); }
  std::vector<raft::Entry> log_of(Storage& st, GroupId g) {
    GroupLog* log = st.group(g);
    if (log == nullptr || log->last_index() < log->first_index()) return {};
    return *log->entries(log->first_index(), log->last_index() + 1, UINT64_MAX);
  }
  size_t segments() { return fs.list("/data/node/wal")->size(); }
  MemoryFileSystem fs;
};

TEST_F(StorageTest, FreshDirectoryIsEmpty) {
  auto st = open();
  EXPECT_TRUE(st->groups().empty());
  GroupLog* log = st->create_group(GroupId(1));
  EXPECT_EQ(log->first_index(), LogIndex(1));
  EXPECT_EQ(log->last_index(), LogIndex(0));
  EXPECT_EQ(*log->term(LogIndex(0)), Term(0));
  EXPECT_TRUE(log->snapshot()->empty());
}

TEST_F(StorageTest, WritesAreVisibleAtOnceAndRecovered) {
  {
    auto st = open();
    bool called = false;
    Status got;
    ASSERT_TRUE(st->submit({.group = GroupId(1),
                            .hard_state = raft::HardState{Term(1), NodeId(1), LogIndex(0)},
                            .entries = make_entries(1, 5, 1)},
                           [&](Status s) {
                             called = true;
                             got = s;
                           })
                    .ok());
    EXPECT_EQ(st->group(GroupId(1))->last_index(), LogIndex(5));  // before durable
    EXPECT_FALSE(called);
    st->drain();
    EXPECT_TRUE(called);
    EXPECT_TRUE(got.ok());
    // A conflicting suffix is replaced; another group shares the WAL.
    ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(4, 3, 2)}).ok());
    ASSERT_TRUE(st->write_sync({.group = GroupId(2),
                                .hard_state = raft::HardState{Term(7), NodeId(2), LogIndex(0)},
                                .conf = raft::ConfState{{NodeId(1), NodeId(2)}, {}, {}}})
                    .ok());
    ASSERT_TRUE(st->write_sync({.group = GroupId(1),
                                .hard_state = raft::HardState{Term(2), NodeId(1), LogIndex(6)}})
                    .ok());
  }
  auto st = open();
  EXPECT_EQ(st->groups(), (std::vector<GroupId>{GroupId(1), GroupId(2)}));
  std::vector<raft::Entry> want = make_entries(1, 3, 1);
  for (auto& e : make_entries(4, 3, 2)) want.push_back(e);
  EXPECT_EQ(log_of(*st, GroupId(1)), want);
  EXPECT_EQ(st->recovered(GroupId(1)).hard_state,
            (raft::HardState{Term(2), NodeId(1), LogIndex(6)}));
  EXPECT_EQ(st->recovered(GroupId(1)).last_index, LogIndex(6));
  EXPECT_EQ(st->recovered(GroupId(2)).hard_state.term, Term(7));
  EXPECT_EQ(st->recovered(GroupId(2)).conf.voters.size(), 2u);
}

TEST_F(StorageTest, FsyncsAreTimedOnlyWhenTheyHappen) {
  Options none = options();
  none.fsync = FsyncPolicy::kNone;
  {
    auto st = open(none);
    ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(1, 3, 1)}).ok());
    EXPECT_EQ(st->fsync_latency().copy().count, 0u);
  }
  auto st = open();
  ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(4, 3, 1)}).ok());
  ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(7, 3, 1)}).ok());
  EXPECT_EQ(st->fsync_latency().copy().count, 2u);
}

// The writer keeps zeros ahead of its end so that an fdatasync has no size change to write;
// recovery reads them as the unwritten end of the segment, not as a torn write.
TEST_F(StorageTest, SegmentsArePreallocatedAndRecoverWithoutATornTail) {
  for (uint64_t prealloc : {uint64_t{8192}, uint64_t{0}}) {
    SCOPED_TRACE(fmt::format("preallocate_bytes {}", prealloc));
    MemoryFileSystem mem;
    ASSERT_TRUE(mem.create_dir("/data").ok());
    Options o = options();
    o.segment_bytes_max = 64 << 10;
    o.preallocate_bytes = prealloc;
    std::vector<raft::Entry> all;
    {
      auto st = Storage::open(&mem, o);
      ASSERT_TRUE(st.ok()) << st.status();
      for (uint64_t i = 0; i < 20; ++i) {
        std::vector<raft::Entry> batch = make_entries(1 + i * 10, 10, 1, 100);
        all.insert(all.end(), batch.begin(), batch.end());
        ASSERT_TRUE((*st)->write_sync({.group = GroupId(1), .entries = std::move(batch)}).ok());
      }
    }
    const std::string path = "/data/node/wal/" + segment_file_name(1);
    const std::string bytes = *read_file(mem, path, 1 << 20);
    auto scan = wal::scan_segment(bytes, true, path);
    ASSERT_TRUE(scan.ok()) << scan.status();
    EXPECT_FALSE(scan->torn.has_value());
    EXPECT_GT(scan->valid_bytes, 20u * 10 * 100);
    if (prealloc > 0) {
      EXPECT_GT(scan->preallocated_bytes, 0u);
      EXPECT_LE(scan->preallocated_bytes, prealloc);
    } else {
      EXPECT_EQ(scan->preallocated_bytes, 0u);
      EXPECT_EQ(bytes.size(), scan->valid_bytes);
    }
    auto st = Storage::open(&mem, o);
    ASSERT_TRUE(st.ok()) << st.status();
    GroupLog* log = (*st)->group(GroupId(1));
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(*log->entries(LogIndex(1), log->last_index() + 1, UINT64_MAX), all);
  }
}

TEST_F(StorageTest, InvalidBatchesAreRefusedWithoutEffect) {
  auto st = open();
  ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(1, 3, 1)}).ok());
  auto gap = make_entries(5, 1, 1);
  EXPECT_EQ(st->submit({.group = GroupId(1), .entries = gap}, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  auto holes = make_entries(4, 3, 1);
  holes.erase(holes.begin() + 1);
  EXPECT_FALSE(st->submit({.group = GroupId(1), .entries = holes}, nullptr).ok());
  EXPECT_EQ(st->group(GroupId(1))->last_index(), LogIndex(3));
}

TEST_F(StorageTest, SnapshotCompactAndSegmentRemoval) {
  auto st = open();
  const raft::ConfState conf{{NodeId(1), NodeId(2), NodeId(3)}, {}, {}};
  for (uint64_t i = 1; i <= 200; i += 10) {
    ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(i, 10, 1, 100)}).ok());
  }
  const size_t before = segments();
  EXPECT_GT(before, 3u);
  ASSERT_TRUE(st->save_snapshot(GroupId(1), {LogIndex(150), Term(1), conf}, "image-150").ok());
  EXPECT_EQ(st->compact(GroupId(1), LogIndex(160)).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(st->compact(GroupId(1), LogIndex(150)).ok());
  EXPECT_EQ(st->group(GroupId(1))->first_index(), LogIndex(151));
  EXPECT_EQ(*st->group(GroupId(1))->term(LogIndex(150)), Term(1));
  EXPECT_EQ(st->group(GroupId(1))->entries(LogIndex(100), LogIndex(160), 100).status().code(),
            absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(201, 1, 1)}).ok());
  EXPECT_LT(segments(), before);
  auto snap = st->group(GroupId(1))->snapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->data, "image-150");
  EXPECT_EQ(snap->meta.conf, conf);
  // A newer snapshot replaces the old file.
  ASSERT_TRUE(st->save_snapshot(GroupId(1), {LogIndex(190), Term(1), conf}, "image-190").ok());
  EXPECT_EQ(fs.list("/data/node/snap")->size(), 1u);

  st.reset();
  st = open();
  EXPECT_EQ(st->recovered(GroupId(1)).snapshot.index, LogIndex(190));
  EXPECT_EQ(st->recovered(GroupId(1)).first_index, LogIndex(151));
  EXPECT_EQ(st->recovered(GroupId(1)).last_index, LogIndex(201));
  EXPECT_EQ(log_of(*st, GroupId(1)).front(), make_entries(151, 1, 1, 100).front());
  EXPECT_EQ(st->group(GroupId(1))->snapshot()->data, "image-190");
  auto reader = st->open_snapshot(GroupId(1));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->data_bytes(), 9u);
}

// The server writes a snapshot's file from a forked process, then records it here.
TEST_F(StorageTest, AdoptedSnapshotFileIsRecordedAndRecovered) {
  const raft::SnapshotMeta meta{LogIndex(20), Term(1), {{NodeId(1)}, {}, {}}};
  {
    auto st = open();
    ASSERT_TRUE(st->write_sync({.group = GroupId(1), .entries = make_entries(1, 30, 1)}).ok());
    // Not written yet: refused, and nothing recorded (recovery below would fail otherwise).
    EXPECT_EQ(st->adopt_snapshot(GroupId(1), meta).code(), absl::StatusCode::kNotFound);
  }
  {
    auto st = open();
    ASSERT_TRUE(write_snapshot_file(fs, st->snapshot_file(GroupId(1), meta.index), GroupId(1), meta,
                                    "image-20")
                    .ok());
    ASSERT_TRUE(st->adopt_snapshot(GroupId(1), meta).ok());
    EXPECT_EQ(st->group(GroupId(1))->snapshot_meta(), meta);
    // One older than the recorded one is refused.
    EXPECT_FALSE(st->adopt_snapshot(GroupId(1), {LogIndex(10), Term(1), {}}).ok());
  }
  auto st = open();
  EXPECT_EQ(st->recovered(GroupId(1)).snapshot.index, LogIndex(20));
  EXPECT_EQ(st->group(GroupId(1))->snapshot()->data, "image-20");
}

TEST_F(StorageTest, InstalledSnapshotReplacesTheLog) {
  {
    auto st = open();
    ASSERT_TRUE(st->write_sync({.group = GroupId(3), .entries = make_entries(1, 5, 1)}).ok());
    raft::Snapshot snap;
    snap.meta.index = LogIndex(50);
    snap.meta.term = Term(4);
    snap.meta.conf.voters = {NodeId(1), NodeId(9)};
    snap.data = "leader-img";
    ASSERT_TRUE(st->write_sync({.group = GroupId(3),
                                .hard_state = raft::HardState{Term(4), kNoNode, LogIndex(50)},
                                .entries = make_entries(51, 2, 4),
                                .snapshot = snap})
                    .ok());
    EXPECT_EQ(st->group(GroupId(3))->first_index(), LogIndex(51));
    EXPECT_EQ(st->group(GroupId(3))->last_index(), LogIndex(52));
  }
  auto st = open();
  const RecoveredState& r = st->recovered(GroupId(3));
  EXPECT_EQ(r.snapshot.index, LogIndex(50));
  EXPECT_EQ(r.conf.voters, (std::vector<NodeId>{NodeId(1), NodeId(9)}));
  EXPECT_EQ(log_of(*st, GroupId(3)), make_entries(51, 2, 4));
  EXPECT_EQ(*st->group(GroupId(3))->term(LogIndex(50)), Term(4));
  EXPECT_EQ(st->group(GroupId(3))->snapshot()->data, "leader-img");
}

TEST_F(StorageTest, ManyGroupsAcrossManySegmentsSurviveRestarts) {
  std::map<GroupId, std::vector<raft::Entry>> want;
  for (int round = 0; round < 4; ++round) {
    auto st = open();
    for (uint64_t i = 0; i < 30; ++i) {
      const GroupId g(1 + i % 5);
      auto es = make_entries(want[g].size() + 1, 3, 1 + round, 50);
      ASSERT_TRUE(st->submit({.group = g, .entries = es}, nullptr).ok());
      want[g].insert(want[g].end(), es.begin(), es.end());
    }
    st->drain();
    for (auto& [g, es] : want) {
      // Compact half of each log after a snapshot, so old segments become obsolete.
      const LogIndex at(es.size() / 2);
      if (at <= st->group(g)->snapshot_meta().index) continue;
      ASSERT_TRUE(st->save_snapshot(g, {at, es[at.value() - 1].term, {}}, "img").ok());
      ASSERT_TRUE(st->compact(g, at).ok());
    }
  }
  auto st = open();
  for (auto& [g, es] : want) {
    const LogIndex first = st->group(g)->first_index();
    std::vector<raft::Entry> tail(es.begin() + static_cast<long>(first.value() - 1), es.end());
    EXPECT_EQ(log_of(*st, g), tail) << g.value();
  }
}

TEST_F(StorageTest, AnotherNodesDirectoryIsRefused) {
  { open(); }
  Options o = options();
  o.identity.node = NodeId(2);
  auto st = Storage::open(&fs, o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.status().message().find("node 1"), std::string::npos) << st.status();
}

TEST_F(StorageTest, MissingSegmentIsAnError) {
  {
    auto st = open();
    for (uint64_t i = 1; i <= 100; i += 10) {
      ASSERT_TRUE(
          st->write_sync({.group = GroupId(1), .entries = make_entries(i, 10, 1, 100)}).ok());
    }
  }
  auto names = *fs.list("/data/node/wal");
  ASSERT_GT(names.size(), 3u);
  ASSERT_TRUE(fs.remove("/data/node/wal/" + names[1]).ok());
  auto st = Storage::open(&fs, options());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.status().message().find("missing"), std::string::npos) << st.status();
  // The oldest segment gone: the group's entries have a hole at the start.
  ASSERT_TRUE(fs.remove("/data/node/wal/" + names[0]).ok());
  st = Storage::open(&fs, options());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("missing"), std::string::npos) << st.status();
}

TEST_F(StorageTest, ThreadedWriterAndCallbacks) {
  auto st = open(options(/*thread=*/true));
  absl::Mutex mu;
  int done = 0;
  for (uint64_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(st->submit({.group = GroupId(1), .entries = make_entries(i, 1, 1)}, [&](Status s) {
                    EXPECT_TRUE(s.ok());
                    absl::MutexLock lock(&mu);
                    ++done;
                  }).ok());
  }
  st->drain();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(done, 50);
}

TEST_F(StorageTest, DumpPrintsEveryPart) {
  {
    auto st = open();
    ASSERT_TRUE(st->write_sync({.group = GroupId(4),
                                .hard_state = raft::HardState{Term(2), NodeId(1), LogIndex(1)},
                                .entries = make_entries(1, 2, 2)})
                    .ok());
    ASSERT_TRUE(
        st->save_snapshot(GroupId(4), {LogIndex(2), Term(2), {{NodeId(1)}, {}, {}}}, "i").ok());
  }
  std::ostringstream out;
  Status s = dump_data_dir(fs, "/data/node", out);
  EXPECT_TRUE(s.ok()) << s;
  const std::string text = out.str();
  for (const char* want : {"identity: cluster 'test' node 1", "entries", "index 1..2", "hard-state",
                           "term 2 vote 1 commit 1", "snapshot 0000000000000004-",
                           "group 4: term 2 vote 1 commit 1; snapshot 2@2; log 1..2",
                           "preallocated bytes not yet written"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

}  // namespace
}  // namespace bw::storage
