// Node identity: the small IDENTITY file in a data directory that records which cluster and
// node the directory belongs to, so a node never starts on another node's data (a swapped
// disk, a copied directory, a wrong --node-id). Format in docs/storage-format.md.
#pragma once

#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/status.h"
#include "storage/file_system.h"

namespace bw::storage {

inline constexpr uint32_t kIdentityFormatVersion = 1;
inline constexpr size_t kClusterIdBytesMax = 64;
inline constexpr uint64_t kIdentityFileBytesMax = 4096;
inline constexpr char kIdentityFileName[] = "IDENTITY";

struct Identity {
  std::string cluster_id;  // 1..kClusterIdBytesMax of [A-Za-z0-9._-]
  NodeId node;             // != kNoNode
  bool operator==(const Identity&) const = default;
};

Status validate_identity(const Identity& id);
std::string encode_identity(const Identity& id);
// Errors: DataLoss naming `name` for a damaged file.
Result<Identity> decode_identity(std::string_view bytes, std::string_view name);

// Reads dir/IDENTITY and compares it with `expected`; writes it (atomically) when absent.
// Errors: FailedPrecondition naming both identities when the directory belongs to another
// cluster or node; DataLoss when the file is damaged.
Status check_or_create_identity(FileSystem& fs, const std::string& dir, const Identity& expected);

}  // namespace bw::storage
