// Crash consistency and corruption detection, on the fault-injecting file system.
//
// A seeded workload (appends with conflicting suffixes, hard states, snapshots, compaction,
// segment rolls, over three groups) is recorded as a list of record-level steps. It is run
// with the "process" dying after every write and at random byte offsets inside writes, then
// the disk loses, keeps or tears what was not synced. After recovery the state of every group
// must equal the workload's state after some prefix of its steps that contains every
// acknowledged step: everything synced is present, nothing unsynced is invented, and the log
// is a prefix of what was written.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <random>

#include "storage/fault_file_system.h"
#include "storage/memory_file_system.h"
#include "storage/storage.h"
#include "storage/wal_format.h"

namespace bw::storage {
namespace {

// Thousands of expected warnings (torn tails) and errors would drown the test output.
const bool kQuietLogs = [] {
  spdlog::set_level(spdlog::level::off);
  return true;
}();

struct Step {
  enum Kind { kEntries, kHardState, kSnapshot, kCompact } kind = kEntries;
  GroupId group;
  std::vector<raft::Entry> entries;
  raft::HardState hs;
  LogIndex index;
  Term term;
};

struct Op {
  enum Kind { kSubmit, kDrain, kSnapshot, kCompact } kind = kDrain;
  GroupId group;
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hs;
  LogIndex index;
  Term term;
  size_t steps = 0;  // record-level steps this op contributes
};

struct GroupModel {
  raft::HardState hs;
  LogIndex compact;
  Term compact_term;
  LogIndex snap;
  std::vector<raft::Entry> entries;  // after `compact`
  bool operator==(const GroupModel&) const = default;
  LogIndex last() const { return compact + entries.size(); }
  Term term_at(LogIndex i) const {
    return i == compact ? compact_term : entries[i - compact - 1].term;
  }
};
using Model = std::map<GroupId, GroupModel>;

void apply_step(Model& m, const Step& s) {
  GroupModel& g = m[s.group];
  switch (s.kind) {
    case Step::kEntries:
      g.entries.resize(s.entries.front().index - g.compact - 1);
      g.entries.insert(g.entries.end(), s.entries.begin(), s.entries.end());
      break;
    case Step::kHardState:
      g.hs = s.hs;
      break;
    case Step::kSnapshot:
      g.snap = s.index;
      break;
    case Step::kCompact:
      g.entries.erase(g.entries.begin(),
                      g.entries.begin() + static_cast<long>(s.index - g.compact));
      g.compact = s.index;
      g.compact_term = s.term;
      break;
  }
}

struct Workload {
  std::vector<Op> ops;
  std::vector<Step> steps;
};

Workload make_workload(uint64_t seed, int ops_n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  Workload w;
  Model m;
  std::map<GroupId, uint64_t> term;
  for (int k = 0; k < ops_n; ++k) {
    const GroupId g(1 + pick(3));
    GroupModel& gm = m[g];
    uint64_t& t = term[g];
    if (t == 0) t = 1;
    const uint64_t roll = pick(100);
    Op op;
    op.group = g;
    size_t first_step = w.steps.size();
    if (roll < 55) {
      op.kind = Op::kSubmit;
      LogIndex first = gm.last() + 1;
      if (pick(100) < 15) {
        ++t;  // a new leader overwrites a suffix
        const LogIndex floor = std::max(gm.compact, gm.snap) + 1;
        const uint64_t back = pick(3);
        first = std::max(floor, first - std::min<uint64_t>(back, first.value() - 1));
      }
      const uint64_t n = 1 + pick(4);
      for (uint64_t i = 0; i < n; ++i) {
        std::string data(pick(200), 'x');
        for (char& c : data) c = static_cast<char>('a' + pick(26));
        op.entries.push_back({Term(t), first + i, raft::EntryType::kNormal, data});
      }
      w.steps.push_back(Step{Step::kEntries, g, op.entries, {}, {}, {}});
      apply_step(m, w.steps.back());
      if (pick(2) == 0) {
        op.hs = raft::HardState{Term(t), NodeId(1 + pick(3)), gm.last() - pick(2)};
        w.steps.push_back(Step{Step::kHardState, g, {}, *op.hs, {}, {}});
        apply_step(m, w.steps.back());
      }
    } else if (roll < 75) {
      op.kind = Op::kDrain;
    } else if (roll < 88) {
      if (gm.last() <= std::max(gm.snap, gm.compact)) continue;
      op.kind = Op::kSnapshot;
      op.index = gm.last() - pick(gm.last() - std::max(gm.snap, gm.compact));
      op.term = gm.term_at(op.index);
      w.steps.push_back(Step{Step::kSnapshot, g, {}, {}, op.index, op.term});
      apply_step(m, w.steps.back());
    } else {
      if (gm.snap <= gm.compact) continue;
      op.kind = Op::kCompact;
      op.index = gm.snap;
      op.term = gm.term_at(op.index);
      w.steps.push_back(Step{Step::kCompact, g, {}, {}, op.index, op.term});
      apply_step(m, w.steps.back());
    }
    op.steps = w.steps.size() - first_step;
    w.ops.push_back(std::move(op));
  }
  return w;
}

Options test_options() {
  Options o;
  o.dir = "/d/node";
  o.identity = {"crash", NodeId(1)};
  o.writer_thread = false;
  o.segment_bytes_max = 2048;  // many segment rolls
  return o;
}

std::string image(LogIndex i) {
  return fmt::format("image-{}", i);
}

struct RunResult {
  size_t acked = 0;
  size_t attempted = 0;
};

// Runs the workload until the first error (the process died).
RunResult run(FileSystem& fs, const Workload& w) {
  RunResult r;
  auto st = Storage::open(&fs, test_options());
  if (!st.ok()) return r;
  size_t steps = 0;
  for (const Op& op : w.ops) {
    const size_t end = steps + op.steps;
    Status s;
    switch (op.kind) {
      case Op::kSubmit:
        s = (*st)->submit({.group = op.group, .hard_state = op.hs, .entries = op.entries},
                          [&r, end](Status ok) {
                            if (ok.ok()) r.acked = std::max(r.acked, end);
                          });
        break;
      case Op::kDrain:
        (*st)->drain();
        s = (*st)->health();
        break;
      case Op::kSnapshot:
        s = (*st)->save_snapshot(op.group, {op.index, op.term, {}}, image(op.index));
        if (s.ok()) r.acked = end;
        break;
      case Op::kCompact:
        s = (*st)->compact(op.group, op.index);
        break;
    }
    steps = end;
    r.attempted = steps;
    if (!s.ok()) return r;
  }
  (*st)->drain();  // makes trailing compactions durable too
  if ((*st)->health().ok()) r.acked = r.attempted;
  return r;
}

Model recovered_model(Storage& st) {
  Model m;
  for (GroupId g : st.groups()) {
    GroupLog* log = st.group(g);
    GroupModel& gm = m[g];
    gm.hs = st.recovered(g).hard_state;
    gm.compact = log->first_index() - 1;
    gm.compact_term = *log->term(gm.compact);
    gm.snap = log->snapshot_meta().index;
    if (log->last_index() >= log->first_index()) {
      gm.entries = *log->entries(log->first_index(), log->last_index() + 1, UINT64_MAX);
    }
  }
  return m;
}

// Recovered state equals the model after some prefix p with acked <= p <= attempted.
::testing::AssertionResult matches_a_prefix(const Model& got, const Workload& w,
                                            const RunResult& r) {
  Model m;
  for (size_t p = 0; p <= r.attempted; ++p) {
    if (p > 0) apply_step(m, w.steps[p - 1]);
    if (p < r.acked) continue;
    Model pruned = m;
    std::erase_if(pruned, [](const auto& kv) { return kv.second == GroupModel{}; });
    Model got_pruned = got;
    std::erase_if(got_pruned, [](const auto& kv) { return kv.second == GroupModel{}; });
    if (pruned == got_pruned) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "recovered state matches no prefix in [" << r.acked << ", " << r.attempted << "] of "
         << w.steps.size() << " steps";
}

void check_snapshots_readable(Storage& st) {
  for (GroupId g : st.groups()) {
    auto snap = st.group(g)->snapshot();
    ASSERT_TRUE(snap.ok()) << snap.status();
    if (!snap->empty()) {
      EXPECT_EQ(snap->data, image(snap->meta.index));
    }
  }
}

class CrashTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(CrashTest, CrashAtEveryWriteAndInsideWrites) {
  const uint64_t seed = GetParam();
  const Workload w = make_workload(seed, 160);
  uint64_t appends_total = 0;
  {
    MemoryFileSystem mem;
    FaultFileSystem fault(&mem, seed);
    ASSERT_TRUE(mem.create_dir("/d").ok());
    RunResult r = run(fault, w);
    ASSERT_EQ(r.acked, w.steps.size());
    appends_total = fault.appends();
    auto st = Storage::open(&fault, test_options());
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(matches_a_prefix(recovered_model(**st), w, {w.steps.size(), w.steps.size()}));
  }
  ASSERT_GT(appends_total, 40u);
  std::mt19937_64 rng(seed);
  const CrashMode modes[] = {CrashMode::kDropUnsynced, CrashMode::kTearUnsynced,
                             CrashMode::kKeepUnsynced};
  int runs = 0;
  for (uint64_t k = 0; k <= appends_total; ++k) {
    for (uint64_t partial : {uint64_t{0}, 1 + rng() % 400}) {
      SCOPED_TRACE(fmt::format("seed {} crash after {} appends + {} bytes", seed, k, partial));
      MemoryFileSystem mem;
      FaultFileSystem fault(&mem, seed * 1000 + k);
      ASSERT_TRUE(mem.create_dir("/d").ok());
      fault.fail_after_appends(k, partial);
      const RunResult r = run(fault, w);
      ASSERT_TRUE(fault.crash(modes[runs++ % 3]).ok());
      auto st = Storage::open(&fault, test_options());
      ASSERT_TRUE(st.ok()) << st.status();
      EXPECT_TRUE(matches_a_prefix(recovered_model(**st), w, r));
      check_snapshots_readable(**st);
      // Recovery is idempotent and the recovered node can write on.
      ASSERT_TRUE((*st)
                      ->write_sync({.group = GroupId(9),
                                    .hard_state = raft::HardState{Term(1), kNoNode, {}}})
                      .ok());
    }
  }
}

TEST_P(CrashTest, FailedFsyncIsStickyAndRecoverable) {
  const uint64_t seed = GetParam();
  const Workload w = make_workload(seed, 160);
  for (int fail_at_op = 10; fail_at_op < 160; fail_at_op += 37) {
    MemoryFileSystem mem;
    FaultFileSystem fault(&mem, seed);
    ASSERT_TRUE(mem.create_dir("/d").ok());
    Workload head = w;
    head.ops.resize(fail_at_op);
    RunResult r = run(fault, head);
    // Now every fsync fails: the next durable write reports it, and so does every later one.
    auto st = Storage::open(&fault, test_options());
    ASSERT_TRUE(st.ok());
    fault.set_sync_failure(true);
    Status first =
        (*st)->write_sync({.group = GroupId(7), .entries = {{Term(1), LogIndex(1), {}, "x"}}});
    EXPECT_FALSE(first.ok());
    EXPECT_FALSE((*st)->health().ok());
    EXPECT_FALSE((*st)->submit({.group = GroupId(7)}, nullptr).ok());
    st->reset();
    ASSERT_TRUE(fault.crash(CrashMode::kDropUnsynced).ok());
    auto again = Storage::open(&fault, test_options());
    ASSERT_TRUE(again.ok()) << again.status();
    Model got = recovered_model(**again);
    got.erase(GroupId(7));  // its one write may or may not have reached the disk
    EXPECT_TRUE(matches_a_prefix(got, w, {r.acked, r.acked}));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, CrashTest, ::testing::Values(1, 2, 3));

// ---- corruption: flip a bit at every byte of every file; recovery must notice each one ----

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mem.create_dir("/d").ok());
    w = make_workload(11, 60);
    ASSERT_EQ(run(mem, w).acked, w.steps.size());
    // A final snapshot so that a snapshot file certainly exists.
    auto st = Storage::open(&mem, test_options());
    ASSERT_TRUE(st.ok());
    GroupLog* log = (*st)->group(GroupId(1));
    ASSERT_NE(log, nullptr);
    snap_index = log->last_index();
    if (snap_index > log->snapshot_meta().index) {
      ASSERT_TRUE((*st)
                      ->save_snapshot(GroupId(1), {snap_index, *log->term(snap_index), {}},
                                      image(snap_index))
                      .ok());
    }
    // And one more record after it, so the newest segment ends in entries.
    GroupLog* log2 = (*st)->create_group(GroupId(2));
    ASSERT_TRUE((*st)
                    ->write_sync({.group = GroupId(2),
                                  .entries = {{Term(99), log2->last_index() + 1, {}, "last"}}})
                    .ok());
    intact = recovered_model(**st);
  }
  std::vector<std::string> files(const std::string& dir) {
    std::vector<std::string> out;
    Result<std::vector<std::string>> names = mem.list(dir);
    EXPECT_TRUE(names.ok()) << names.status();
    if (!names.ok()) return out;
    for (const std::string& n : *names) out.push_back(join_path(dir, n));
    return out;
  }
  MemoryFileSystem mem;
  Workload w;
  LogIndex snap_index;
  Model intact;
};

TEST_F(CorruptionTest, EveryFlippedWalByteIsDetected) {
  const std::vector<std::string> segments = files("/d/node/wal");
  ASSERT_GE(segments.size(), 3u);
  int errors = 0;
  int torn = 0;
  int unwritten = 0;
  for (size_t k = 0; k < segments.size(); ++k) {
    const std::string& path = segments[k];
    const std::string original = *read_file(mem, path, 1 << 20);
    auto scan = wal::scan_segment(original, true, path);
    ASSERT_TRUE(scan.ok());
    const uint64_t last_record =
        scan->records.empty() ? wal::kSegmentHeaderBytes : scan->records.back().offset;
    for (size_t at = 0; at < original.size(); ++at) {
      SCOPED_TRACE(fmt::format("{} byte {}", path, at));
      MemoryFileSystem copy;
      ASSERT_TRUE(copy.create_dir("/d").ok());
      ASSERT_TRUE(copy.create_dir("/d/node").ok());
      for (const char* sub : {"/d/node/wal", "/d/node/snap"}) {
        ASSERT_TRUE(copy.create_dir(sub).ok());
        for (const std::string& f : files(sub)) {
          std::string bytes = *read_file(mem, f, 1 << 20);
          if (f == path) bytes[at] = static_cast<char>(bytes[at] ^ (1 << (at % 8)));
          ASSERT_TRUE(write_file_atomic(copy, f, bytes).ok());
        }
      }
      ASSERT_TRUE(
          write_file_atomic(copy, "/d/node/IDENTITY", *read_file(mem, "/d/node/IDENTITY", 4096))
              .ok());
      auto st = Storage::open(&copy, test_options());
      const bool newest = k + 1 == segments.size();
      const bool newest_tail = newest && at >= last_record;
      if (newest && at >= scan->valid_bytes) {
        // In the preallocated zeros after the last record: a torn tail that holds nothing.
        ASSERT_TRUE(st.ok()) << st.status();
        EXPECT_EQ(recovered_model(**st), intact);
        ++unwritten;
      } else if (!newest_tail) {
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
        EXPECT_NE(st.status().message().find(path), std::string::npos) << st.status();
        ++errors;
      } else {
        // Indistinguishable from a torn write: the record is dropped, never served; or what
        // it dropped leaves a dangling reference (a removed snapshot), which is an error.
        if (st.ok()) {
          EXPECT_NE(recovered_model(**st), intact);
          ++torn;
        } else {
          EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
        }
      }
    }
  }
  EXPECT_GT(errors, 1000);
  EXPECT_GT(torn, 0);
  EXPECT_GT(unwritten, 0);  // the segments are preallocated
}

TEST_F(CorruptionTest, EveryFlippedSnapshotByteIsDetected) {
  const std::vector<std::string> snaps = files("/d/node/snap");
  ASSERT_FALSE(snaps.empty());
  for (const std::string& path : snaps) {
    const std::string original = *read_file(mem, path, 1 << 20);
    for (size_t at = 0; at < original.size(); ++at) {
      ASSERT_TRUE(mem.truncate(path, 0).ok());
      std::string bytes = original;
      bytes[at] = static_cast<char>(bytes[at] ^ (1 << (at % 8)));
      ASSERT_TRUE(write_file_atomic(mem, path, bytes).ok());
      auto st = Storage::open(&mem, test_options());
      ASSERT_FALSE(st.ok()) << path << " byte " << at;
      EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(st.status().message().find(path), std::string::npos) << st.status();
    }
    ASSERT_TRUE(write_file_atomic(mem, path, original).ok());
  }
  EXPECT_TRUE(Storage::open(&mem, test_options()).ok());
}

TEST_F(CorruptionTest, DamagedIdentityIsDetected) {
  ASSERT_TRUE(write_file_atomic(mem, "/d/node/IDENTITY", "garbage").ok());
  auto st = Storage::open(&mem, test_options());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace bw::storage
