// Saves and backups of a node's store (docs/operations.md, "Backup and restore").
//
//   SAVE, BGSAVE [SCHEDULE], LASTSAVE   Redis's commands: a Raft snapshot of the store now, written
//                                       by the forked snapshot writer (node_snapshot.cc). SAVE
//                                       answers once the snapshot is durable; the event loop
//                                       carries on meanwhile.
//   BACKUP START                        a linearizable barrier (a ReadIndex round, on any node),
//                                       then a backup file of the store at the applied index
//                                       (storage/backup_file.h) under DATA_DIR/backups, apart
//                                       from Raft's snapshots so compaction never removes it.
//                                       Answers [id, index, term, bytes].
//   BACKUP READ id offset count         up to kBackupChunkBytesMax bytes of it, as a bulk string.
//   BACKUP END id                       removes it.
// A backup nobody reads for kBackupIdleMs is removed, and so is every backup file at start.
//
// Threads: the event loop's only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"
#include "server/reply_to.h"
#include "storage/file_system.h"

namespace bw::server {

inline constexpr size_t kBackupChunkBytesMax = 1 << 20;  // BACKUP READ's largest answer
inline constexpr int64_t kBackupIdleMs = 60000;          // unread this long: removed
inline constexpr size_t kBackupsMax = 4;                 // backups held (or being taken) at once
inline constexpr char kBackupDirName[] = "backups";      // under the data directory

// Redis's save bookkeeping: LASTSAVE and INFO persistence.
struct SaveState {
  int64_t last_save_unix_s = 0;       // LASTSAVE: the last successful snapshot (start time before)
  bool last_ok = true;                // rdb_last_bgsave_status
  int64_t last_duration_s = -1;       // rdb_last_bgsave_time_sec
  bool requested = false;             // SAVE/BGSAVE want a snapshot as soon as no writer runs
  bool scheduled = false;             // BGSAVE SCHEDULE: request one once the running writer ends
  std::vector<ReplyTo> waiters;       // SAVE calls answered when the requested snapshot is durable
  std::vector<ReplyTo> next_waiters;  // SAVE calls for a snapshot not started yet
};

struct Backup {
  uint64_t id = 0;
  std::string path;
  raft::SnapshotMeta meta;
  uint64_t bytes = 0;
  bool ready = false;  // the file is written, durable and open
  int64_t last_used_ms = 0;
  std::unique_ptr<storage::ReadableFile> file;
  ReplyTo starter;  // BACKUP START's caller, answered once ready
};

struct BackupState {
  SaveState save;
  std::map<uint64_t, Backup> backups;  // by id; at most kBackupsMax
  std::deque<uint64_t> to_write;       // past their barrier, waiting for the snapshot writer
  uint64_t next_id = 1;
};

}  // namespace bw::server
