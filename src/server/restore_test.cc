#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "kv/command.h"
#include "kv/store.h"
#include "server/backup_tool.h"
#include "server/members_file.h"
#include "server/node.h"
#include "storage/posix_file_system.h"
#include "storage/storage.h"

namespace bw::server {
namespace {

namespace fs = std::filesystem;

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bw-restore-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    kv::Store store;
    store.set_member(7, kv::Member{"10.9.9.7:7001", "10.9.9.7:17001"});
    std::vector<std::string_view> set{"SET", "k", "v"};
    auto payload = kv::encode_write(set, 1000);
    ASSERT_TRUE(std::holds_alternative<std::string>(payload));
    store.apply(40, std::get<std::string>(payload));
    const storage::BackupInfo info{
        .cluster_id = "old",
        .source_node = NodeId(7),
        .created_unix_ms = 1,
        .meta = raft::SnapshotMeta{LogIndex(40), Term(3), raft::ConfState{.voters = {NodeId(7)}}}};
    backup_ = dir_ + "/b.bwbackup";
    std::ofstream(backup_, std::ios::binary) << storage::encode_backup_file(info, store.snapshot());
  }
  void TearDown() override { fs::remove_all(dir_); }

  RestoreOptions options(const std::string& data_dir, std::string cluster_id = "") {
    return RestoreOptions{.from = backup_,
                          .data_dir = data_dir,
                          .id = NodeId(2),
                          .peers = {PeerSpec{NodeId(1), "127.0.0.1:7001", "127.0.0.1:17001"},
                                    PeerSpec{NodeId(2), "127.0.0.1:7002", "127.0.0.1:17002"}},
                          .cluster_id = std::move(cluster_id)};
  }

  std::string dir_;
  std::string backup_;
};

TEST_F(RestoreTest, MakesADirectoryOfTheNewCluster) {
  const std::string d = dir_ + "/n2";
  auto info = restore_member(options(d, "new"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->cluster_id, "old");
  storage::PosixFileSystem pfs;
  auto members = read_members_file(pfs, d);
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->cluster_id, "new");
  EXPECT_EQ(members->self, NodeId(2));
  EXPECT_EQ(members->members.size(), 2u);
  auto st = storage::Storage::open(
      &pfs, storage::Options{.dir = d, .identity = {.cluster_id = "new", .node = NodeId(2)}});
  ASSERT_TRUE(st.ok()) << st.status();
  const storage::RecoveredState& rec = (*st)->recovered(kDataGroup);
  EXPECT_EQ(rec.snapshot.index, LogIndex(40));
  EXPECT_EQ(rec.hard_state.commit, LogIndex(40));
  EXPECT_EQ(rec.conf.voters, (std::vector<NodeId>{NodeId(1), NodeId(2)}));
  auto snap = (*st)->group(kDataGroup)->snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  kv::Store store;
  ASSERT_TRUE(store.restore(snap->data).ok());
  EXPECT_EQ(store.version_of("k"), 40u);
  ASSERT_EQ(store.members().size(), 2u);  // the old member 7 is gone
  EXPECT_EQ(store.members().at(1).client_address, "127.0.0.1:7001");
  EXPECT_FALSE(fs::exists(d + ".restore-tmp"));
}

TEST_F(RestoreTest, RefusesADirectoryOfAnotherCluster) {
  const std::string d = dir_ + "/n2";
  ASSERT_TRUE(restore_member(options(d, "other")).ok());
  const auto before = fs::last_write_time(d + "/MEMBERS");
  auto again = restore_member(options(d));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find(d + " belongs to cluster other; the backup is from "
                                              "cluster old"),
            std::string::npos)
      << again.status();
  EXPECT_EQ(fs::last_write_time(d + "/MEMBERS"), before);
  auto same = restore_member(options(d, "other"));
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("already holds data"), std::string::npos) << same.status();
}

TEST_F(RestoreTest, RefusesADamagedFileWritingNothing) {
  std::string bytes;
  {
    std::ifstream in(backup_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(backup_, std::ios::binary | std::ios::trunc) << bytes;
  const std::string d = dir_ + "/n2";
  auto r = restore_member(options(d));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(backup_), std::string::npos) << r.status();
  EXPECT_FALSE(fs::exists(d));
}

TEST_F(RestoreTest, RefusesAnIdOutsideThePeers) {
  RestoreOptions o = options(dir_ + "/n9");
  o.id = NodeId(9);
  EXPECT_FALSE(restore_member(o).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/n9"));
}

}  // namespace
}  // namespace bw::server
