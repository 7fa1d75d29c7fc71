// Backup files (docs/storage-format.md, "Backup file"): a node's state-machine image at a known
// log index plus what a restore needs (the source cluster and node, index, term, creation time),
// written atomically and covered end to end by one checksum. Taken over the client port
// (BACKUP START/READ/END, `bellwether backup`) and turned into a new cluster's data directories
// by `bellwether restore`. The bytes of a backup file are untrusted: decode_backup_file checks
// every field before anything uses it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/status.h"
#include "raft/types.h"
#include "storage/file_system.h"

namespace bw::storage {

inline constexpr uint32_t kBackupFormatVersion = 1;
inline constexpr char kBackupMagic[8] = {'B', 'W', 'B', 'A', 'C', 'K', 'U', 'P'};

// Fixed header; the cluster id (cluster_id_bytes), the encoded ConfState (conf_bytes) and the
// state-machine image (data_bytes) follow, then an 8-byte XXH3-64 of every byte before it.
struct BackupHeaderLayout {
  char magic[8];
  uint32_t version;
  uint32_t cluster_id_bytes;
  uint64_t source_node;
  uint64_t index;
  uint64_t term;
  uint64_t created_unix_ms;
  uint32_t conf_bytes;
  uint32_t reserved;  // zero
  uint64_t data_bytes;
};
inline constexpr size_t kBackupHeaderBytes = 64;
inline constexpr size_t kBackupTrailerBytes = 8;
static_assert(sizeof(BackupHeaderLayout) == kBackupHeaderBytes);

inline constexpr uint32_t kBackupClusterIdBytesMax = 64;  // as kClusterIdBytesMax (identity.h)
inline constexpr uint32_t kBackupConfBytesMax = 1 << 20;
// The largest backup file read into memory (by restore and by the tool's verification): as large
// as the snapshot image a node loads (storage::Options::snapshot_bytes_max).
inline constexpr uint64_t kBackupFileBytesMax = uint64_t{1} << 30;
inline constexpr char kBackupFileSuffix[] = ".bwbackup";

struct BackupInfo {
  std::string cluster_id;
  NodeId source_node;
  int64_t created_unix_ms = 0;
  raft::SnapshotMeta meta;  // index, term and Raft configuration of the image
  bool operator==(const BackupInfo&) const = default;
};

// The whole file in memory (tests, small tools).
std::string encode_backup_file(const BackupInfo& info, std::string_view data);
// Writes the file atomically and durably (temp file, sync, rename, sync the directory).
Status write_backup_file(FileSystem& fs, const std::string& path, const BackupInfo& info,
                         std::string_view data);

struct DecodedBackup {
  BackupInfo info;
  std::string_view data;  // points into the decoded bytes
};
// Checks magic, version, sizes and the checksum, and decodes the configuration. Errors:
// DataLoss "backup NAME: offset N: why" for damaged or truncated bytes; Unimplemented for a
// format version this build does not know.
Result<DecodedBackup> decode_backup_file(std::string_view bytes, std::string_view name);

// Reads a whole file of at most kBackupFileBytesMax bytes. Errors: NotFound, ResourceExhausted.
Result<std::string> read_whole_file(FileSystem& fs, const std::string& path);

}  // namespace bw::storage
