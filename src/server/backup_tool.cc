// `bellwether backup`: a backup of a live cluster over the client port (backup.h's commands).
#include "server/backup_tool.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "server/admin_client.h"
#include "server/backup.h"
#include "storage/posix_file_system.h"

namespace bw::server {

namespace {

bool parse_u64(const std::string& s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

struct Started {
  std::string id;
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t bytes = 0;
};

Result<Started> start_backup(const BackupCliOptions& o) {
  BW_ASSIGN_OR_RETURN(std::vector<std::string> r,
                      admin_command_array(o.endpoint, {"BACKUP", "START"},
                                          std::chrono::milliseconds(o.timeout_ms), o.connect));
  Started s;
  if (r.size() != 4 || !parse_u64(r[1], &s.index) || !parse_u64(r[2], &s.term) ||
      !parse_u64(r[3], &s.bytes) || s.bytes > storage::kBackupFileBytesMax) {
    return absl::DataLossError("BACKUP START: unexpected answer (not [id, index, term, bytes])");
  }
  s.id = r[0];
  return s;
}

// Copies the backup into `tmp` and checks it end to end.
Status fetch(const BackupCliOptions& o, const Started& s, storage::FileSystem& fs,
             const std::string& tmp) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<storage::WritableFile> file, fs.create(tmp));
  uint64_t offset = 0;
  while (offset < s.bytes) {  // bounded: every round advances by a non-empty chunk
    BW_ASSIGN_OR_RETURN(std::string chunk,
                        admin_command(o.endpoint,
                                      {"BACKUP", "READ", s.id, std::to_string(offset),
                                       std::to_string(kBackupChunkBytesMax)},
                                      std::chrono::milliseconds(o.timeout_ms), o.connect));
    if (chunk.empty()) {
      return absl::DataLossError(fmt::format("BACKUP READ: empty chunk at offset {}", offset));
    }
    BW_RETURN_IF_ERROR(file->append(chunk));
    offset += chunk.size();
    std::fprintf(stderr, "\rbackup: %llu / %llu bytes", static_cast<unsigned long long>(offset),
                 static_cast<unsigned long long>(s.bytes));
  }
  std::fprintf(stderr, "\n");
  BW_RETURN_IF_ERROR(file->sync());
  BW_RETURN_IF_ERROR(file->close());
  BW_ASSIGN_OR_RETURN(std::string bytes, storage::read_whole_file(fs, tmp));
  BW_ASSIGN_OR_RETURN(storage::DecodedBackup d, storage::decode_backup_file(bytes, tmp));
  if (d.info.meta.index.value() != s.index || d.info.meta.term.value() != s.term) {
    return absl::DataLossError(fmt::format("{}: holds index {} term {}, the node announced {} {}",
                                           tmp, d.info.meta.index, d.info.meta.term, s.index,
                                           s.term));
  }
  return OkStatus();
}

}  // namespace

int run_backup(const BackupCliOptions& o) {
  if (o.out.empty()) {
    std::fprintf(stderr, "backup: --out FILE is required\n");
    return 2;
  }
  Result<Started> s = start_backup(o);
  if (!s.ok()) {
    std::fprintf(stderr, "backup: %s: %s\n", o.endpoint.c_str(),
                 std::string(s.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "backup: %s took backup %s at index %llu (term %llu), %llu bytes\n",
               o.endpoint.c_str(), s->id.c_str(), static_cast<unsigned long long>(s->index),
               static_cast<unsigned long long>(s->term), static_cast<unsigned long long>(s->bytes));
  storage::PosixFileSystem fs;
  const std::string tmp = o.out + ".tmp";
  Status st = fetch(o, *s, fs, tmp);
  // The node keeps the file until this (or kBackupIdleMs without reads).
  (void)admin_command(o.endpoint, {"BACKUP", "END", s->id}, std::chrono::milliseconds(o.timeout_ms),
                      o.connect);
  if (st.ok()) st = fs.rename(tmp, o.out);
  if (st.ok()) st = fs.sync_dir(storage::parent_dir(o.out));
  if (!st.ok()) {
    (void)fs.remove(tmp);
    std::fprintf(stderr, "backup: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::printf("backup of %s at index %llu (term %llu), %llu bytes, verified: %s\n",
              o.endpoint.c_str(), static_cast<unsigned long long>(s->index),
              static_cast<unsigned long long>(s->term), static_cast<unsigned long long>(s->bytes),
              o.out.c_str());
  std::printf("index %llu\n", static_cast<unsigned long long>(s->index));
  return 0;
}

}  // namespace bw::server
