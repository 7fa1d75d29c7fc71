// Record framing, the segment scanner's torn-tail and corruption rules, snapshot files and the
// identity file.
#include "storage/wal_format.h"

#include <gtest/gtest.h>

#include "common/checksum.h"
#include "storage/identity.h"
#include "storage/memory_file_system.h"
#include "storage/snapshot_file.h"

namespace bw::storage {
namespace {

std::vector<raft::Entry> make_entries(uint64_t first, uint64_t n, uint64_t term) {
  std::vector<raft::Entry> out;
  for (uint64_t i = first; i < first + n; ++i) {
    out.push_back({Term(term), LogIndex(i), raft::EntryType::kNormal, fmt::format("v{}", i)});
  }
  return out;
}

std::string segment_with_three_records() {
  std::string seg = wal::segment_header(7);
  wal::append_entries(&seg, GroupId(1), make_entries(1, 3, 2));
  wal::append_hard_state(&seg, GroupId(2), {Term(5), NodeId(3), LogIndex(9)});
  wal::append_compact(&seg, GroupId(1), {LogIndex(2), Term(2)});
  return seg;
}

TEST(WalFormatTest, RecordsRoundTrip) {
  std::string seg = wal::segment_header(7);
  const raft::ConfState conf{{NodeId(1), NodeId(2)}, {NodeId(4)}, {}};
  wal::append_entries(&seg, GroupId(1), make_entries(10, 2, 3));
  wal::append_hard_state(&seg, GroupId(1), {Term(3), NodeId(2), LogIndex(11)});
  wal::append_conf_state(&seg, GroupId(9), conf);
  wal::append_snapshot(&seg, GroupId(1),
                       {wal::SnapshotKind::kInstalled, {LogIndex(8), Term(2), conf}});
  wal::append_compact(&seg, GroupId(1), {LogIndex(8), Term(2)});
  auto scan = wal::scan_segment(seg, false, "seg");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->seq, 7u);
  EXPECT_EQ(scan->valid_bytes, seg.size());
  ASSERT_EQ(scan->records.size(), 5u);
  EXPECT_EQ(*wal::decode_entries(scan->records[0].payload), make_entries(10, 2, 3));
  EXPECT_EQ(*wal::decode_hard_state(scan->records[1].payload),
            (raft::HardState{Term(3), NodeId(2), LogIndex(11)}));
  EXPECT_EQ(scan->records[2].group, GroupId(9));
  EXPECT_EQ(*wal::decode_conf_state(scan->records[2].payload), conf);
  auto snap = *wal::decode_snapshot(scan->records[3].payload);
  EXPECT_EQ(snap.kind, wal::SnapshotKind::kInstalled);
  EXPECT_EQ(snap.meta, (raft::SnapshotMeta{LogIndex(8), Term(2), conf}));
  EXPECT_EQ(wal::decode_compact(scan->records[4].payload)->index, LogIndex(8));
}

TEST(WalFormatTest, TornTailAtEveryLengthOfTheNewestSegment) {
  const std::string seg = segment_with_three_records();
  auto whole = *wal::scan_segment(seg, true, "s");
  std::vector<uint64_t> ends{whole.records[1].offset, whole.records[2].offset, seg.size()};
  for (size_t len = 0; len < seg.size(); ++len) {
    auto scan = wal::scan_segment(std::string_view(seg).substr(0, len), true, "s");
    ASSERT_TRUE(scan.ok()) << len << ": " << scan.status();
    // The valid prefix is the longest whole-record boundary within len.
    uint64_t expect = len < wal::kSegmentHeaderBytes ? 0 : wal::kSegmentHeaderBytes;
    for (uint64_t e : ends) {
      if (e <= len) expect = e;
    }
    const bool torn = len < wal::kSegmentHeaderBytes || len != expect;
    EXPECT_EQ(scan->valid_bytes, expect) << len;
    EXPECT_EQ(scan->torn.has_value(), torn) << len;
    // An older segment may not be torn.
    EXPECT_EQ(wal::scan_segment(std::string_view(seg).substr(0, len), false, "s").ok(), !torn);
  }
}

TEST(WalFormatTest, ZeroFilledTailIsTheUnwrittenEndInAnySegment) {
  std::string seg = segment_with_three_records();
  const uint64_t written = seg.size();
  seg.append(4096 + 7, '\0');
  for (bool newest : {true, false}) {
    auto scan = wal::scan_segment(seg, newest, "s");
    ASSERT_TRUE(scan.ok()) << scan.status();
    EXPECT_EQ(scan->records.size(), 3u);
    EXPECT_FALSE(scan->torn.has_value());
    EXPECT_EQ(scan->valid_bytes, written);
    EXPECT_EQ(scan->preallocated_bytes, 4096u + 7);
  }
}

TEST(WalFormatTest, AnAllZeroRecordHeaderIsNeverValid) {
  // Its checksum field (0) would have to equal the checksum of the 24 zero bytes after it.
  EXPECT_NE(checksum64(std::string(24, '\0')), 0u);
}

// A torn write in the middle of preallocated zeros, with a whole record after it: the record is
// found across the zeros, so this is corruption, not a torn tail.
TEST(WalFormatTest, AValidRecordAfterAZeroRunIsCorruption) {
  std::string seg = segment_with_three_records();
  auto whole = *wal::scan_segment(seg, true, "s");
  const std::string last_record(std::string_view(seg).substr(whole.records[2].offset));
  const uint64_t written = seg.size();
  seg.append(4096, '\0');
  seg[written + 5] = 'x';
  seg.append(3000, '\0');
  seg.append(last_record);
  seg.append(100, '\0');
  auto scan = wal::scan_segment(seg, true, "s");
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(scan.status().message().find("valid records follow"), std::string::npos)
      << scan.status();
}

TEST(WalFormatTest, ZerosWithAByteSetAreATornTailOnlyInTheNewestSegment) {
  std::string seg = segment_with_three_records();
  const uint64_t written = seg.size();
  seg.append(4096, '\0');
  seg[written + 100] = 'x';  // a write that reached the disk only in part
  auto newest = wal::scan_segment(seg, true, "s");
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->records.size(), 3u);
  EXPECT_TRUE(newest->torn.has_value());
  EXPECT_EQ(newest->valid_bytes, written);
  auto older = wal::scan_segment(seg, false, "wal/0003.wal");
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(older.status().message().find(fmt::format("offset {}", written)), std::string::npos)
      << older.status();
}

TEST(WalFormatTest, CorruptionBeforeValidRecordsIsAnErrorNamingTheOffset) {
  std::string seg = segment_with_three_records();
  auto whole = *wal::scan_segment(seg, true, "s");
  const uint64_t at = whole.records[1].offset;
  seg[at + wal::kRecordHeaderBytes] ^= 1;  // payload of the middle record
  auto scan = wal::scan_segment(seg, true, "wal/0007.wal");
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(scan.status().message().find(fmt::format("wal/0007.wal: offset {}", at)),
            std::string::npos)
      << scan.status();
}

TEST(WalFormatTest, PayloadDecodersRejectGarbage) {
  EXPECT_FALSE(wal::decode_entries("").ok());
  EXPECT_FALSE(wal::decode_entries(std::string("\x01\xff\xff\xff\xff\x0f", 6)).ok());
  EXPECT_FALSE(wal::decode_hard_state("\x01\x02").ok());
  EXPECT_FALSE(wal::decode_hard_state("\x01\x02\x03\x04").ok());  // trailing byte
  EXPECT_FALSE(wal::decode_conf_state(std::string("\xff\xff\x01", 3)).ok());
  EXPECT_FALSE(wal::decode_snapshot("\x07").ok());
}

TEST(SnapshotFileTest, WriteVerifyAndReadInChunks) {
  MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/s").ok());
  std::string data(3 * kSnapshotVerifyChunkBytes + 17, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  const raft::SnapshotMeta meta{LogIndex(40), Term(3), {{NodeId(1)}, {}, {}}};
  const std::string path = "/s/" + snapshot_file_name(GroupId(5), LogIndex(40));
  ASSERT_TRUE(write_snapshot_file(fs, path, GroupId(5), meta, data).ok());
  EXPECT_FALSE(*fs.exists(path + ".tmp"));
  auto reader = SnapshotReader::open(fs, path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->meta(), meta);
  EXPECT_EQ((*reader)->group(), GroupId(5));
  std::string rebuilt;
  std::string chunk;
  for (uint64_t off = 0;; off += chunk.size()) {
    ASSERT_TRUE((*reader)->read_chunk(off, 100000, &chunk).ok());
    if (chunk.empty()) break;
    EXPECT_LE(chunk.size(), 100000u);
    rebuilt += chunk;
  }
  EXPECT_EQ(rebuilt, data);
  const std::string whole = *read_file(fs, path, 1 << 30);
  auto decoded = decode_snapshot_file(whole, path);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->data, data);
  EXPECT_EQ(parse_snapshot_file_name(snapshot_file_name(GroupId(5), LogIndex(40))),
            std::make_pair(GroupId(5), LogIndex(40)));
  EXPECT_FALSE(parse_snapshot_file_name("0005-0040.snap").has_value());
}

TEST(IdentityTest, RoundTripAndDamage) {
  const Identity id{"prod-1", NodeId(3)};
  const std::string text = encode_identity(id);
  EXPECT_EQ(*decode_identity(text, "f"), id);
  for (size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] ^= 4;
    EXPECT_FALSE(decode_identity(bad, "f").ok()) << i;
  }
  EXPECT_FALSE(validate_identity({"", NodeId(1)}).ok());
  EXPECT_FALSE(validate_identity({"a b", NodeId(1)}).ok());
  EXPECT_FALSE(validate_identity({"a", kNoNode}).ok());
}

TEST(IdentityTest, CheckOrCreate) {
  MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  ASSERT_TRUE(check_or_create_identity(fs, "/d", {"c1", NodeId(1)}).ok());
  ASSERT_TRUE(check_or_create_identity(fs, "/d", {"c1", NodeId(1)}).ok());
  Status other_node = check_or_create_identity(fs, "/d", {"c1", NodeId(2)});
  EXPECT_EQ(other_node.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other_node.message().find("belongs to cluster 'c1' node 1"), std::string::npos);
  EXPECT_EQ(check_or_create_identity(fs, "/d", {"c2", NodeId(1)}).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace bw::storage
