// Unit tests for every FileSystem: the shared contract (typed over each implementation and
// wrapper), then the faults only FaultFileSystem injects.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/fault_file_system.h"
#include "storage/memory_file_system.h"
#include "storage/posix_file_system.h"
#include "storage/sync_fault_file_system.h"

namespace bw::storage {
namespace {

// Each fixture owns a file system and a fresh root directory in it.
struct PosixEnv {
  PosixEnv() {
    root = (std::filesystem::temp_directory_path() /
            fmt::format("bw-fs-test-{}-{}", ::getpid(), counter++))
               .string();
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
  }
  ~PosixEnv() { std::filesystem::remove_all(root); }
  FileSystem& fs() { return posix; }
  PosixFileSystem posix;
  std::string root;
  static inline int counter = 0;
};
struct MemoryEnv {
  MemoryEnv() { EXPECT_TRUE(mem.create_dir(root).ok()); }
  FileSystem& fs() { return mem; }
  MemoryFileSystem mem;
  std::string root = "/root";
};
struct FaultEnv {
  FaultEnv() { EXPECT_TRUE(fault.create_dir(root).ok()); }
  FileSystem& fs() { return fault; }
  MemoryFileSystem mem;
  FaultFileSystem fault{&mem, 7};
  std::string root = "/root";
};

// The bare forwarding base: every call must reach the wrapped file system unchanged.
struct WrapperEnv {
  WrapperEnv() { EXPECT_TRUE(wrapper.create_dir(root).ok()); }
  FileSystem& fs() { return wrapper; }
  MemoryFileSystem mem;
  FileSystemWrapper wrapper{&mem};
  std::string root = "/root";
};
struct SyncFaultEnv {
  SyncFaultEnv() { EXPECT_TRUE(sync_fault.create_dir(root).ok()); }
  FileSystem& fs() { return sync_fault; }
  MemoryFileSystem mem;
  SyncFaultFileSystem sync_fault{&mem};
  std::string root = "/root";
};

template <typename Env>
class FileSystemContract : public ::testing::Test {
 protected:
  std::string path(std::string_view name) { return join_path(env.root, name); }
  std::string contents(const std::string& p) {
    Result<std::string> r = read_file(env.fs(), p, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }
  Env env;
};
using Envs = ::testing::Types<PosixEnv, MemoryEnv, FaultEnv, WrapperEnv, SyncFaultEnv>;
TYPED_TEST_SUITE(FileSystemContract, Envs);

TYPED_TEST(FileSystemContract, WriteSyncReadBack) {
  FileSystem& fs = this->env.fs();
  auto f = fs.create(this->path("a"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->append("hello ").ok());
  ASSERT_TRUE((*f)->append("world").ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->close().ok());
  EXPECT_EQ(this->contents(this->path("a")), "hello world");
  auto r = fs.open_read(this->path("a"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 11u);
  std::string chunk;
  ASSERT_TRUE((*r)->read_at(6, 100, &chunk).ok());
  EXPECT_EQ(chunk, "world");
  ASSERT_TRUE((*r)->read_at(11, 4, &chunk).ok());
  EXPECT_EQ(chunk, "");
}

TYPED_TEST(FileSystemContract, AppendsOverwritePreallocatedZeros) {
  FileSystem& fs = this->env.fs();
  auto f = fs.create(this->path("a"));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->append("abc").ok());
  ASSERT_TRUE((*f)->preallocate(4096).ok());
  ASSERT_TRUE((*f)->append("def").ok());
  ASSERT_TRUE((*f)->preallocate(100).ok());  // shorter than the file: no effect
  std::string want = "abcdef" + std::string(4090, '\0');
  EXPECT_EQ(this->contents(this->path("a")), want);
  // Past the zeros the file grows again.
  ASSERT_TRUE((*f)->append(std::string(5000, 'y')).ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->close().ok());
  want = "abcdef" + std::string(5000, 'y');
  EXPECT_EQ(this->contents(this->path("a")), want);
}

TYPED_TEST(FileSystemContract, CreateTruncatesExisting) {
  FileSystem& fs = this->env.fs();
  ASSERT_TRUE(write_file_atomic(fs, this->path("a"), "long contents").ok());
  auto f = fs.create(this->path("a"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->append("x").ok());
  ASSERT_TRUE((*f)->close().ok());
  EXPECT_EQ(this->contents(this->path("a")), "x");
}

TYPED_TEST(FileSystemContract, ListRenameRemoveExists) {
  FileSystem& fs = this->env.fs();
  ASSERT_TRUE(fs.create_dir(this->path("sub")).ok());
  ASSERT_TRUE(fs.create_dir(this->path("sub")).ok());  // idempotent
  ASSERT_TRUE(write_file_atomic(fs, this->path("b"), "2").ok());
  ASSERT_TRUE(write_file_atomic(fs, this->path("a"), "1").ok());
  ASSERT_TRUE(write_file_atomic(fs, join_path(this->path("sub"), "c"), "3").ok());
  auto names = fs.list(this->env.root);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));  // files only, sorted
  ASSERT_TRUE(fs.rename(this->path("a"), this->path("b")).ok());
  EXPECT_EQ(this->contents(this->path("b")), "1");
  EXPECT_FALSE(*fs.exists(this->path("a")));
  ASSERT_TRUE(fs.remove(this->path("b")).ok());
  EXPECT_FALSE(*fs.exists(this->path("b")));
  EXPECT_TRUE(*fs.exists(this->path("sub")));
  ASSERT_TRUE(fs.sync_dir(this->env.root).ok());
}

TYPED_TEST(FileSystemContract, TruncateAndMissingFiles) {
  FileSystem& fs = this->env.fs();
  ASSERT_TRUE(write_file_atomic(fs, this->path("a"), "abcdef").ok());
  ASSERT_TRUE(fs.truncate(this->path("a"), 2).ok());
  EXPECT_EQ(this->contents(this->path("a")), "ab");
  EXPECT_EQ(fs.open_read(this->path("nope")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fs.remove(this->path("nope")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fs.list(this->path("nodir")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(read_file(fs, this->path("a"), 1).ok());  // over the size limit
}

TEST(PathTest, JoinAndParent) {
  EXPECT_EQ(join_path("a/b", "c"), "a/b/c");
  EXPECT_EQ(join_path("a/b/", "c"), "a/b/c");
  EXPECT_EQ(parent_dir("a/b/c"), "a/b");
  EXPECT_EQ(parent_dir("c"), ".");
  EXPECT_EQ(parent_dir("/c"), "/");
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs.create_dir("/d").ok()); }
  std::string contents(const std::string& p) { return *read_file(mem, p, 1 << 20); }
  // A durable file with `synced` synced and `unsynced` appended after.
  void make(const std::string& p, std::string_view synced, std::string_view unsynced) {
    auto f = fs.create(p);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->append(synced).ok());
    ASSERT_TRUE((*f)->sync().ok());
    ASSERT_TRUE(fs.sync_dir("/d").ok());
    ASSERT_TRUE((*f)->append(unsynced).ok());
    file = std::move(*f);
  }
  MemoryFileSystem mem;
  FaultFileSystem fs{&mem, 42};
  std::unique_ptr<WritableFile> file;
};

TEST_F(FaultTest, CrashDropsUnsyncedBytes) {
  make("/d/a", "durable", "-lost");
  EXPECT_EQ(contents("/d/a"), "durable-lost");  // readable before the crash (page cache)
  ASSERT_TRUE(fs.crash(CrashMode::kDropUnsynced).ok());
  EXPECT_EQ(contents("/d/a"), "durable");
  // Handles from before the crash are dead.
  EXPECT_EQ(file->append("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FaultTest, CrashCanKeepUnsyncedBytes) {
  make("/d/a", "durable", "-kept");
  ASSERT_TRUE(fs.crash(CrashMode::kKeepUnsynced).ok());
  EXPECT_EQ(contents("/d/a"), "durable-kept");
}

TEST_F(FaultTest, CrashTearsAtArbitraryBytesDeterministically) {
  std::set<size_t> sizes;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    MemoryFileSystem m;
    FaultFileSystem f(&m, seed);
    ASSERT_TRUE(f.create_dir("/d").ok());
    auto w = *f.create("/d/a");
    ASSERT_TRUE(w->append("0123").ok());
    ASSERT_TRUE(w->sync().ok());
    ASSERT_TRUE(f.sync_dir("/d").ok());
    ASSERT_TRUE(w->append("456789").ok());
    ASSERT_TRUE(f.crash(CrashMode::kTearUnsynced).ok());
    std::string got = *read_file(m, "/d/a", 100);
    EXPECT_EQ(got, std::string("0123456789").substr(0, got.size()));
    EXPECT_GE(got.size(), 4u);
    sizes.insert(got.size());
  }
  EXPECT_GT(sizes.size(), 3u);  // the tear point varies with the seed
}

TEST_F(FaultTest, PreallocateSyncsAndCrashRestoresZerosUnderLostBytes) {
  make("/d/a", "durable", "+synced by preallocate");
  ASSERT_TRUE(file->preallocate(64).ok());
  ASSERT_TRUE(file->append("-lost").ok());
  const std::string kept = "durable+synced by preallocate";
  EXPECT_EQ(contents("/d/a"), kept + "-lost" + std::string(64 - kept.size() - 5, '\0'));
  ASSERT_TRUE(fs.crash(CrashMode::kDropUnsynced).ok());
  EXPECT_EQ(contents("/d/a"), kept + std::string(64 - kept.size(), '\0'));
}

TEST_F(FaultTest, PreallocateSpendsTheSpaceBudgetAndFailsLikeSync) {
  auto f = *fs.create("/d/a");
  ASSERT_TRUE(f->append("abc").ok());
  fs.set_space_bytes(10);
  Status s = f->preallocate(100);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(contents("/d/a"), "abc" + std::string(10, '\0'));
  fs.set_space_bytes(std::nullopt);
  fs.set_sync_failure(true);
  EXPECT_FALSE(f->preallocate(200).ok());
}

TEST_F(FaultTest, UnsyncedDirectoryEntryVanishes) {
  auto f = *fs.create("/d/new");
  ASSERT_TRUE(f->append("data").ok());
  ASSERT_TRUE(f->sync().ok());  // data synced, but the name never was
  ASSERT_TRUE(fs.crash(CrashMode::kKeepUnsynced).ok());
  EXPECT_FALSE(*mem.exists("/d/new"));
}

TEST_F(FaultTest, UnsyncedRenameIsUndone) {
  ASSERT_TRUE(write_file_atomic(fs, "/d/target", "old").ok());
  auto f = *fs.create("/d/tmp");
  ASSERT_TRUE(f->append("new").ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->close().ok());
  ASSERT_TRUE(fs.rename("/d/tmp", "/d/target").ok());
  EXPECT_EQ(contents("/d/target"), "new");
  ASSERT_TRUE(fs.crash(CrashMode::kKeepUnsynced).ok());
  EXPECT_EQ(contents("/d/target"), "old");
  // With the directory synced, the rename sticks.
  ASSERT_TRUE(write_file_atomic(fs, "/d/target", "newer").ok());
  ASSERT_TRUE(fs.crash(CrashMode::kDropUnsynced).ok());
  EXPECT_EQ(contents("/d/target"), "newer");
}

TEST_F(FaultTest, FailAfterAppendsWritesAPrefixThenDies) {
  auto f = *fs.create("/d/a");
  fs.fail_after_appends(2, 3);
  ASSERT_TRUE(f->append("aa").ok());
  ASSERT_TRUE(f->append("bb").ok());
  EXPECT_FALSE(f->append("cccccc").ok());
  EXPECT_FALSE(f->append("d").ok());
  EXPECT_FALSE(f->sync().ok());
  EXPECT_EQ(contents("/d/a"), "aabbccc");
  EXPECT_EQ(fs.appends(), 2u);
}

TEST_F(FaultTest, SyncFailureLeavesDataUnsynced) {
  make("/d/a", "x", "y");
  fs.set_sync_failure(true);
  Status s = file->sync();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(fs.sync_dir("/d").ok());
  EXPECT_EQ(fs.synced_bytes("/d/a"), 1u);
  ASSERT_TRUE(fs.crash(CrashMode::kDropUnsynced).ok());
  EXPECT_EQ(contents("/d/a"), "x");
}

TEST_F(FaultTest, NoSpaceAfterBudget) {
  auto f = *fs.create("/d/a");
  fs.set_space_bytes(5);
  ASSERT_TRUE(f->append("abc").ok());
  Status s = f->append("defg");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(contents("/d/a"), "abcde");
  fs.set_space_bytes(std::nullopt);
  EXPECT_TRUE(f->append("more").ok());
}

TEST_F(FaultTest, BitFlips) {
  make("/d/a", "abcd", "");
  ASSERT_TRUE(fs.flip_bit("/d/a", 1, 0).ok());
  EXPECT_EQ(contents("/d/a"), "accd");
  auto off = fs.flip_random_bit("/d/a");
  ASSERT_TRUE(off.ok());
  EXPECT_LT(*off, 4u);
  EXPECT_NE(contents("/d/a"), "accd");
  EXPECT_FALSE(fs.flip_bit("/d/a", 4, 0).ok());
}

}  // namespace
}  // namespace bw::storage
