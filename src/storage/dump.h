// Operator tools behind `bellwether wal-dump DIR` and `bellwether snapshot-inspect FILE`:
// print a data directory (identity, every WAL record, snapshot files, then what recovery would
// make of it) or one snapshot file. Read-only: nothing is repaired or removed.
#pragma once

#include <ostream>
#include <string>

#include "common/status.h"
#include "storage/file_system.h"

namespace bw::storage {

// Prints everything it can, carrying on past damage. Returns the first problem found
// (DataLoss naming file and offset), OK when the directory is sound.
Status dump_data_dir(FileSystem& fs, const std::string& dir, std::ostream& out);
Status dump_data_dir(const std::string& dir, std::ostream& out);  // on the real file system

Status inspect_snapshot(FileSystem& fs, const std::string& path, std::ostream& out);
Status inspect_snapshot(const std::string& path, std::ostream& out);

}  // namespace bw::storage
