// Snapshot files (docs/storage-format.md, "Snapshot file"): one per group and snapshot, written
// atomically (temp file, sync, rename, sync the directory), verified end to end on open, then
// read in bounded chunks for sending to a follower.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/status.h"
#include "raft/types.h"
#include "storage/file_system.h"

namespace bw::storage {

inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr char kSnapshotMagic[8] = {'B', 'W', 'S', 'N', 'A', 'P', 'S', 'H'};

// Fixed header; the encoded ConfState (conf_bytes) and the state-machine image (data_bytes)
// follow. body_checksum covers conf + data; header_checksum covers bytes 0..55.
struct SnapshotHeaderLayout {
  char magic[8];
  uint32_t version;
  uint32_t conf_bytes;
  uint64_t group;
  uint64_t index;
  uint64_t term;
  uint64_t data_bytes;
  uint64_t body_checksum;
  uint64_t header_checksum;
};
inline constexpr size_t kSnapshotHeaderBytes = 64;
static_assert(sizeof(SnapshotHeaderLayout) == kSnapshotHeaderBytes);

inline constexpr uint32_t kSnapshotConfBytesMax = 1 << 20;
inline constexpr uint64_t kSnapshotDataBytesMax = uint64_t{64} << 30;
inline constexpr size_t kSnapshotVerifyChunkBytes = 1 << 20;  // read size while verifying

// File name for the snapshot of `group` at `index`: "<group:016x>-<index:016x>.snap".
std::string snapshot_file_name(GroupId group, LogIndex index);
// Parses a name made by snapshot_file_name; nullopt for anything else.
std::optional<std::pair<GroupId, LogIndex>> parse_snapshot_file_name(std::string_view name);

// Writes the file atomically and durably.
Status write_snapshot_file(FileSystem& fs, const std::string& path, GroupId group,
                           const raft::SnapshotMeta& meta, std::string_view data);

// An open, verified snapshot file. Not thread-safe.
class SnapshotReader {
 public:
  // Reads the header, then every byte, checking both checksums and the sizes.
  // Errors: NotFound; DataLoss naming the file and offset.
  static Result<std::unique_ptr<SnapshotReader>> open(FileSystem& fs, const std::string& path);

  GroupId group() const { return group_; }
  const raft::SnapshotMeta& meta() const { return meta_; }
  uint64_t data_bytes() const { return data_bytes_; }

  // Up to `bytes_max` bytes of the image from `offset`; empty at the end. A chunk is
  // re-checked against nothing: the file was verified on open and is immutable once renamed.
  Status read_chunk(uint64_t offset, size_t bytes_max, std::string* out);
  // The whole image. Errors: ResourceExhausted when larger than bytes_max.
  Result<std::string> read_all(uint64_t bytes_max);

 private:
  SnapshotReader() = default;
  std::unique_ptr<ReadableFile> file_;
  GroupId group_;
  raft::SnapshotMeta meta_;
  uint64_t data_at_ = 0;
  uint64_t data_bytes_ = 0;
};

// Decodes a whole snapshot file held in memory (for the fuzzer and small tools).
struct DecodedSnapshot {
  GroupId group;
  raft::SnapshotMeta meta;
  std::string_view data;
};
Result<DecodedSnapshot> decode_snapshot_file(std::string_view bytes, std::string_view name);

}  // namespace bw::storage
