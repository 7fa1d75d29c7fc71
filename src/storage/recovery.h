// Recovery of the WAL on start: scan every segment oldest first, replay the records of each
// group, and check that what results is whole. The rules (docs/storage-format.md, "Recovery"):
//   - segments must be numbered without gaps;
//   - only the newest segment may end in a torn record (an invalid point after which no valid
//     record follows); it is cut off with a warning when `repair` is set;
//   - any other checksum failure, bad header or undecodable payload is DataLoss naming the
//     file and byte offset;
//   - every group's entries must be contiguous from its compaction point on, or a segment went
//     missing: DataLoss.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/file_system.h"
#include "storage/wal.h"

namespace bw::storage {

inline constexpr uint64_t kSegmentReadBytesMax = uint64_t{4} << 30;

struct RecoveredGroup {
  GroupDurableState state;
  std::vector<raft::Entry> entries;  // state.compact_index + 1 onwards, contiguous
};

struct WalRecovery {
  std::map<GroupId, RecoveredGroup> groups;
  Wal::SegmentEntries segments;       // the segments kept, with their entry ranges
  std::vector<std::string> warnings;  // torn tails found (and cut off when repairing)
};

// Errors: DataLoss as above; I/O errors from `fs`.
Result<WalRecovery> recover_wal(FileSystem& fs, const std::string& wal_dir, bool repair);

}  // namespace bw::storage
