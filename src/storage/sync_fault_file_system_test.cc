// SyncFaultFileSystem: slow and failing syncs over another file system, what the Storage does
// when a sync fails (it stops accepting writes), and power cuts that drop unsynced bytes.
#include "storage/sync_fault_file_system.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "storage/fault_file_system.h"
#include "storage/memory_file_system.h"
#include "storage/posix_file_system.h"
#include "storage/storage.h"

namespace bw::storage {
namespace {

using std::chrono::milliseconds;

// Records the delays asked for instead of sleeping.
struct FakeSleep {
  std::mutex mu;
  std::vector<milliseconds> slept;
  SyncFaultFileSystem::Sleep fn() {
    return [this](milliseconds d) {
      std::lock_guard lock(mu);
      slept.push_back(d);
    };
  }
};

class SyncFaultFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs.create_dir("/d").ok()); }
  std::unique_ptr<WritableFile> create(const std::string& path, std::string_view data) {
    auto f = fs.create(path);
    EXPECT_TRUE(f.ok()) << f.status();
    EXPECT_TRUE((*f)->append(data).ok());
    return std::move(*f);
  }
  std::string contents(const std::string& path) {
    Result<std::string> r = read_file(base, path, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }
  MemoryFileSystem mem;
  FaultFileSystem base{&mem, 1};  // tells which bytes reached a successful sync
  FakeSleep sleep;
  int halts = 0;
  SyncFaultFileSystem fs{&base, sleep.fn(), [this] { ++halts; }};
};

TEST_F(SyncFaultFileSystemTest, PassesThroughWhenNoFaultIsSet) {
  auto f = create("/d/a", "hello");
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->close().ok());
  EXPECT_EQ(base.synced_bytes("/d/a"), 5u);
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(fs.rename("/d/a", "/d/b").ok());
  EXPECT_EQ(*fs.list("/d"), std::vector<std::string>{"b"});
  EXPECT_EQ(*read_file(fs, "/d/b", 100), "hello");
  ASSERT_TRUE(fs.truncate("/d/b", 2).ok());
  EXPECT_EQ(*read_file(fs, "/d/b", 100), "he");
  EXPECT_TRUE(*fs.exists("/d/b"));
  ASSERT_TRUE(fs.remove("/d/b").ok());
  EXPECT_FALSE(*fs.exists("/d/b"));
  EXPECT_TRUE(sleep.slept.empty());
  EXPECT_EQ(fs.syncs(), 3u);  // sync, sync_dir, truncate
}

TEST_F(SyncFaultFileSystemTest, DelaysEverySyncUntilSwitchedOff) {
  fs.set_sync_delay(milliseconds(200));
  EXPECT_EQ(fs.sync_delay(), milliseconds(200));
  auto f = create("/d/a", "x");
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(fs.sync_dir("/d").ok());
  ASSERT_TRUE(fs.truncate("/d/a", 0).ok());
  EXPECT_EQ(sleep.slept, std::vector<milliseconds>(3, milliseconds(200)));
  EXPECT_EQ(base.synced_bytes("/d/a"), 0u);  // truncated to 0 after the sync of 1 byte

  fs.set_sync_delay(milliseconds(0));
  ASSERT_TRUE(f->append("yz").ok());
  ASSERT_TRUE(f->sync().ok());
  EXPECT_EQ(sleep.slept.size(), 3u);
  fs.set_sync_delay(milliseconds(-5));  // treated as off
  EXPECT_EQ(fs.sync_delay(), milliseconds(0));
}

TEST_F(SyncFaultFileSystemTest, FailingSyncsLeaveTheDataUnsynced) {
  auto f = create("/d/a", "abc");
  fs.set_sync_failure(true);
  EXPECT_TRUE(fs.sync_failure());
  Status st = f->sync();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("injected"), std::string_view::npos) << st;
  EXPECT_NE(st.message().find("/d/a"), std::string_view::npos) << st;
  EXPECT_EQ(base.synced_bytes("/d/a"), 0u);
  EXPECT_FALSE(fs.sync_dir("/d").ok());
  EXPECT_FALSE(fs.truncate("/d/a", 1).ok());
  EXPECT_EQ(*read_file(fs, "/d/a", 100), "abc");  // the failed truncate did nothing
  // Appends and reads are not affected.
  EXPECT_TRUE(f->append("d").ok());

  fs.set_sync_failure(false);
  ASSERT_TRUE(f->sync().ok());
  EXPECT_EQ(base.synced_bytes("/d/a"), 4u);
}

TEST_F(SyncFaultFileSystemTest, DelayComesBeforeTheFailure) {
  fs.set_sync_delay(milliseconds(50));
  fs.set_sync_failure(true);
  auto f = create("/d/a", "abc");
  EXPECT_FALSE(f->sync().ok());
  EXPECT_EQ(sleep.slept, std::vector<milliseconds>{milliseconds(50)});
}

TEST_F(SyncFaultFileSystemTest, AFailedSyncStopsTheStorage) {
  Options o;
  o.dir = "/d/node";
  o.identity = {"test", NodeId(1)};
  o.writer_thread = false;
  auto st = Storage::open(&fs, o);
  ASSERT_TRUE(st.ok()) << st.status();
  (*st)->create_group(GroupId(1));
  raft::Entry e{Term(1), LogIndex(1), raft::EntryType::kNormal, "one"};
  ASSERT_TRUE((*st)->write_sync({.group = GroupId(1), .entries = {e}}).ok());

  fs.set_sync_failure(true);
  e.index = LogIndex(2);
  EXPECT_FALSE((*st)->write_sync({.group = GroupId(1), .entries = {e}}).ok());
  EXPECT_FALSE((*st)->health().ok());
  // Sticky: syncs working again does not make the storage trust its unsynced bytes.
  fs.set_sync_failure(false);
  e.index = LogIndex(3);
  EXPECT_FALSE((*st)->write_sync({.group = GroupId(1), .entries = {e}}).ok());
}

TEST_F(SyncFaultFileSystemTest, SettingsChangeWhileOtherThreadsSync) {
  constexpr int kThreads = 4;
  constexpr int kSyncsPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      auto f = create(fmt::format("/d/f{}", t), "x");
      for (int i = 0; i < kSyncsPerThread; ++i) (void)f->sync();
    });
  }
  for (int i = 0; i < kSyncsPerThread; ++i) {
    fs.set_sync_delay(milliseconds(i % 3));
    fs.set_sync_failure(i % 2 == 0);
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fs.syncs(), uint64_t{kThreads} * kSyncsPerThread);
}

TEST_F(SyncFaultFileSystemTest, PowerCutKeepsOnlySyncedBytes) {
  auto a = create("/d/a", "abc");
  ASSERT_TRUE(a->sync().ok());
  ASSERT_TRUE(a->append("def").ok());
  auto b = create("/d/b", "never synced");
  auto c = create("/d/c", "12");
  ASSERT_TRUE(c->sync().ok());
  ASSERT_TRUE(c->append("3").ok());
  ASSERT_TRUE(c->close().ok());
  ASSERT_TRUE(fs.rename("/d/c", "/d/e").ok());  // what is durable follows the name
  auto t = create("/d/t", "truncated");
  ASSERT_TRUE(fs.truncate("/d/t", 4).ok());  // truncate() syncs
  ASSERT_TRUE(t->append("!").ok());
  auto r = create("/d/r", "removed");
  ASSERT_TRUE(fs.remove("/d/r").ok());
  {
    auto other = base.create("/d/other");  // not written through the wrapper: not cut
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->append("not ours").ok());
  }
  EXPECT_EQ(halts, 0);

  fs.power_cut();
  EXPECT_EQ(halts, 1);
  EXPECT_EQ(contents("/d/a"), "abc");
  EXPECT_EQ(contents("/d/b"), "");
  EXPECT_EQ(contents("/d/e"), "12");
  EXPECT_EQ(contents("/d/t"), "trun");
  EXPECT_EQ(contents("/d/other"), "not ours");
  EXPECT_EQ(*fs.list("/d"), (std::vector<std::string>{"a", "b", "e", "other", "t"}));
}

// What reaches a Storage's recovery after a power cut depends on its fsync policy: with kAlways
// every write it reported durable, with kNone none of them (the WAL is synced only when a
// segment is created or closed).
TEST(SyncFaultFileSystemPowerCutTest, LosesWhatTheFsyncPolicyLeftUnsynced) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kNone}) {
    MemoryFileSystem disk;
    ASSERT_TRUE(disk.create_dir("/d").ok());
    int halts = 0;
    SyncFaultFileSystem fs(&disk, {}, [&halts] { ++halts; });
    Options o;
    o.dir = "/d/node";
    o.identity = {"test", NodeId(1)};
    o.writer_thread = false;
    o.fsync = policy;
    {
      auto st = Storage::open(&fs, o);
      ASSERT_TRUE(st.ok()) << st.status();
      (*st)->create_group(GroupId(1));
      for (uint64_t i = 1; i <= 10; ++i) {
        raft::Entry e{Term(1), LogIndex(i), raft::EntryType::kNormal, fmt::format("e{}", i)};
        ASSERT_TRUE((*st)->write_sync({.group = GroupId(1), .entries = {e}}).ok());
      }
      fs.power_cut();
      ASSERT_EQ(halts, 1);
    }
    auto st = Storage::open(&disk, o);
    ASSERT_TRUE(st.ok()) << st.status();
    const LogIndex last =
        (*st)->was_recovered(GroupId(1)) ? (*st)->recovered(GroupId(1)).last_index : LogIndex(0);
    EXPECT_EQ(last, LogIndex(policy == FsyncPolicy::kAlways ? 10 : 0));
  }
}

TEST(SyncFaultFileSystemPosixTest, RealDelayOnRealFiles) {
  const std::string root =
      (std::filesystem::temp_directory_path() / fmt::format("bw-sync-fault-test-{}", ::getpid()))
          .string();
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  PosixFileSystem posix;
  SyncFaultFileSystem fs(&posix);
  auto f = fs.create(join_path(root, "a"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->append("data").ok());
  fs.set_sync_delay(milliseconds(30));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE((*f)->sync().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(30));
  ASSERT_TRUE((*f)->close().ok());
  EXPECT_EQ(*read_file(fs, join_path(root, "a"), 100), "data");
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace bw::storage
