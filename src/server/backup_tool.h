// `bellwether backup` and `bellwether restore` (docs/operations.md, "Backup and restore").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "server/admin_client.h"
#include "server/config.h"
#include "storage/backup_file.h"

namespace bw::server {

struct BackupCliOptions {
  std::string endpoint = "127.0.0.1:7001";
  std::string out;
  uint32_t timeout_ms = 60000;   // per request: the barrier and writing the file, each chunk
  ClientConnectOptions connect;  // --tls --cacert --cert --key --user --pass
};
// Takes a backup through `endpoint` (BACKUP START/READ/END) into out.tmp, verifies it end to end,
// syncs it and renames it to `out`. Progress on stderr; prints the index on stdout.
int run_backup(const BackupCliOptions& options);

struct RestoreOptions {
  std::string from;             // the backup file
  std::string data_dir;         // new (or empty) data directory of one member of the new cluster
  NodeId id;                    // that member
  std::vector<PeerSpec> peers;  // every voter of the new cluster, `id` included
  std::string cluster_id;       // empty: the backup's
};
// Verifies the backup file and the target directory, then writes the directory: IDENTITY,
// MEMBERS, and the backup's image as the node's snapshot, with the member directory and Raft
// configuration of the new cluster. On error nothing is written; the message names the file or
// directory and the reason.
Result<storage::BackupInfo> restore_member(const RestoreOptions& options);
int run_restore(RestoreOptions options, const std::string& peers);
// The backup file's header, after verifying the whole file.
Result<storage::BackupInfo> inspect_backup(const std::string& path);

}  // namespace bw::server
