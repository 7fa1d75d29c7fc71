#include "storage/backup_file.h"

#include <gtest/gtest.h>

#include "storage/memory_file_system.h"

namespace bw::storage {
namespace {

BackupInfo sample_info() {
  return BackupInfo{.cluster_id = "prod-1",
                    .source_node = NodeId(2),
                    .created_unix_ms = 1700000000123,
                    .meta = raft::SnapshotMeta{LogIndex(42), Term(7),
                                               raft::ConfState{.voters = {NodeId(1), NodeId(2)},
                                                               .learners = {NodeId(4)}}}};
}

TEST(BackupFile, RoundTrip) {
  const std::string bytes = encode_backup_file(sample_info(), "the image");
  auto d = decode_backup_file(bytes, "b");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->info, sample_info());
  EXPECT_EQ(d->data, "the image");
}

TEST(BackupFile, EmptyImage) {
  auto d = decode_backup_file(encode_backup_file(sample_info(), ""), "b");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->data, "");
}

TEST(BackupFile, WrittenFileEqualsEncoding) {
  MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  ASSERT_TRUE(write_backup_file(fs, "/d/x.bwbackup", sample_info(), "img").ok());
  auto bytes = read_whole_file(fs, "/d/x.bwbackup");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, encode_backup_file(sample_info(), "img"));
  EXPECT_FALSE(*fs.exists("/d/x.bwbackup.tmp"));
}

TEST(BackupFile, EveryFlippedByteIsRefused) {
  const std::string good = encode_backup_file(sample_info(), "some image bytes");
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ bit);
      auto d = decode_backup_file(bad, "b");
      EXPECT_FALSE(d.ok()) << "byte " << i << " bit " << int(bit);
    }
  }
}

TEST(BackupFile, EveryTruncationIsRefused) {
  const std::string good = encode_backup_file(sample_info(), "some image bytes");
  for (size_t n = 0; n < good.size(); ++n) {
    auto d = decode_backup_file(std::string_view(good).substr(0, n), "b");
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_TRUE(absl::IsDataLoss(d.status())) << d.status();
  }
  auto d = decode_backup_file(good + "x", "b");
  EXPECT_FALSE(d.ok());
}

TEST(BackupFile, TruncationNamesTheFile) {
  const std::string good = encode_backup_file(sample_info(), "img");
  auto d = decode_backup_file(std::string_view(good).substr(0, good.size() - 3), "/x/b.bwbackup");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("/x/b.bwbackup"), std::string::npos) << d.status();
  EXPECT_NE(d.status().message().find("truncated"), std::string::npos) << d.status();
}

TEST(BackupFile, UnknownVersionIsNamed) {
  std::string bytes = encode_backup_file(sample_info(), "img");
  bytes[8] = 9;  // version, little-endian
  auto d = decode_backup_file(bytes, "b");
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::IsUnimplemented(d.status())) << d.status();
  EXPECT_NE(d.status().message().find("unknown format version 9"), std::string::npos);
}

TEST(BackupFile, NotABackup) {
  auto d = decode_backup_file(std::string(100, 'x'), "b");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("bad magic"), std::string::npos) << d.status();
}

}  // namespace
}  // namespace bw::storage
