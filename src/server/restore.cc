// `bellwether restore`: one member of a new cluster seeded from a backup file (backup_tool.h).
// Everything is checked before anything is written, and the directory is built under a temporary
// name and renamed into place, so a refusal or a crash leaves no half-restored directory.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "kv/store.h"
#include "server/backup_tool.h"
#include "server/members_file.h"
#include "server/node.h"
#include "storage/identity.h"
#include "storage/posix_file_system.h"
#include "storage/storage.h"

namespace bw::server {

namespace {

namespace fs = std::filesystem;

constexpr char kRestoreTempSuffix[] = ".restore-tmp";

struct LoadedBackup {
  std::string bytes;
  storage::DecodedBackup decoded;  // points into bytes
};

Result<std::unique_ptr<LoadedBackup>> load_backup(const std::string& path) {
  storage::PosixFileSystem pfs;
  auto out = std::make_unique<LoadedBackup>();
  Result<std::string> bytes = storage::read_whole_file(pfs, path);
  if (!bytes.ok()) {
    return Status(bytes.status().code(),
                  fmt::format("cannot read backup {}: {}", path, bytes.status().message()));
  }
  out->bytes = std::move(*bytes);
  BW_ASSIGN_OR_RETURN(out->decoded, storage::decode_backup_file(out->bytes, path));
  return out;
}

// Refuses a directory that holds anything: above all one of another cluster.
Status check_target_dir(const std::string& dir, const std::string& backup_cluster,
                        const std::string& target_cluster) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return OkStatus();
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(fmt::format("{} exists and is not a directory", dir));
  }
  if (fs::is_empty(dir, ec)) return OkStatus();
  storage::PosixFileSystem pfs;
  std::string owner;
  if (auto bytes = storage::read_file(pfs, storage::join_path(dir, storage::kIdentityFileName),
                                      storage::kIdentityFileBytesMax);
      bytes.ok()) {
    if (auto id = storage::decode_identity(*bytes, dir); id.ok()) owner = id->cluster_id;
  }
  if (owner.empty()) {
    if (auto members = read_members_file(pfs, dir); members.ok()) owner = members->cluster_id;
  }
  if (!owner.empty() && owner != target_cluster) {
    std::string msg = fmt::format("{} belongs to cluster {}; the backup is from cluster {}", dir,
                                  owner, backup_cluster);
    if (target_cluster != backup_cluster) msg += fmt::format(" (restored as {})", target_cluster);
    return absl::FailedPreconditionError(msg + "; nothing was written");
  }
  return absl::FailedPreconditionError(
      fmt::format("{} already holds data{}; restore writes only into a new or empty directory; "
                  "nothing was written",
                  dir, owner.empty() ? "" : fmt::format(" of cluster {}", owner)));
}

// The image with the new cluster's member directory in place of the old one's: the old
// addresses must not survive (the new nodes would dial the old cluster).
Result<std::string> rewrite_members(std::string_view image, const std::vector<PeerSpec>& peers,
                                    const std::string& path) {
  kv::Store store;
  if (Status st = store.restore(image); !st.ok()) {
    return absl::DataLossError(
        fmt::format("backup {}: the store image does not load: {}", path, st.message()));
  }
  std::vector<uint64_t> old;
  for (const auto& [id, m] : store.members()) old.push_back(id);
  for (uint64_t id : old) store.remove_member(id);
  for (const PeerSpec& p : peers) {
    store.set_member(p.id.value(), kv::Member{p.client_address, p.peer_address});
  }
  return store.snapshot();
}

Status write_member_dir(const std::string& dir, const RestoreOptions& o,
                        const std::string& cluster_id, const storage::BackupInfo& info,
                        std::string image) {
  storage::PosixFileSystem pfs;
  BW_RETURN_IF_ERROR(pfs.create_dir(dir));
  MemberList members{.cluster_id = cluster_id, .self = o.id};
  raft::ConfState conf;
  for (const PeerSpec& p : o.peers) {
    members.members.push_back(
        MemberLine{.id = p.id, .client_address = p.client_address, .peer_address = p.peer_address});
    conf.voters.push_back(p.id);
  }
  std::sort(members.members.begin(), members.members.end(),
            [](const MemberLine& a, const MemberLine& b) { return a.id < b.id; });
  std::sort(conf.voters.begin(), conf.voters.end());
  BW_RETURN_IF_ERROR(write_members_file(pfs, dir, members));
  storage::Options sopts{.dir = dir, .identity = {.cluster_id = cluster_id, .node = o.id}};
  BW_ASSIGN_OR_RETURN(std::unique_ptr<storage::Storage> st, storage::Storage::open(&pfs, sopts));
  st->create_group(kDataGroup);
  // As a follower installing a leader's snapshot: the log starts after the image's index, which
  // is committed (it was applied on the source).
  const raft::SnapshotMeta meta{.index = info.meta.index, .term = info.meta.term, .conf = conf};
  storage::WriteBatch batch{
      .group = kDataGroup,
      .hard_state = raft::HardState{.term = info.meta.term, .commit = info.meta.index},
      .snapshot = raft::Snapshot{.meta = meta, .data = std::move(image)}};
  return st->write_sync(std::move(batch));
}

}  // namespace

Result<storage::BackupInfo> inspect_backup(const std::string& path) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<LoadedBackup> b, load_backup(path));
  return b->decoded.info;
}

Result<storage::BackupInfo> restore_member(const RestoreOptions& o) {
  if (o.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  if (o.peers.empty()) return absl::InvalidArgumentError("--peers is required");
  if (std::none_of(o.peers.begin(), o.peers.end(),
                   [&](const PeerSpec& p) { return p.id == o.id; })) {
    return absl::InvalidArgumentError(fmt::format("--id {} is not one of --peers", o.id.value()));
  }
  BW_ASSIGN_OR_RETURN(std::unique_ptr<LoadedBackup> b, load_backup(o.from));
  const storage::BackupInfo& info = b->decoded.info;
  const std::string cluster_id = o.cluster_id.empty() ? info.cluster_id : o.cluster_id;
  BW_RETURN_IF_ERROR(storage::validate_identity({.cluster_id = cluster_id, .node = o.id}));
  const std::string dir = fs::path(o.data_dir).lexically_normal().string();
  BW_RETURN_IF_ERROR(check_target_dir(dir, info.cluster_id, cluster_id));
  BW_ASSIGN_OR_RETURN(std::string image, rewrite_members(b->decoded.data, o.peers, o.from));

  const std::string tmp = dir + kRestoreTempSuffix;
  std::error_code ec;
  fs::remove_all(tmp, ec);  // left by an interrupted restore
  if (fs::path parent = fs::path(dir).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
  }
  Status st = write_member_dir(tmp, o, cluster_id, info, std::move(image));
  if (st.ok()) {
    if (fs::exists(dir, ec)) fs::remove(dir, ec);  // empty (checked above)
    fs::rename(tmp, dir, ec);
    if (ec) st = absl::InternalError(fmt::format("rename {} to {}: {}", tmp, dir, ec.message()));
  }
  if (st.ok()) {
    storage::PosixFileSystem pfs;
    st = pfs.sync_dir(storage::parent_dir(dir));
  }
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  return info;
}

int run_restore(RestoreOptions o, const std::string& peers) {
  auto parsed = parse_peers(peers);
  if (!parsed.ok()) {
    std::fprintf(stderr, "restore: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  o.peers = *parsed;
  spdlog::set_level(spdlog::level::warn);  // storage's progress lines are noise here
  Result<storage::BackupInfo> info = restore_member(o);
  if (!info.ok()) {
    std::fprintf(stderr, "restore: refused: %s\n", std::string(info.status().message()).c_str());
    return 1;
  }
  std::printf(
      "restored %s into %s: node %llu of cluster %s, starting at index %llu (term %llu); the "
      "backup was taken on node %llu of cluster %s\n",
      o.from.c_str(), o.data_dir.c_str(), static_cast<unsigned long long>(o.id.value()),
      (o.cluster_id.empty() ? info->cluster_id : o.cluster_id).c_str(),
      static_cast<unsigned long long>(info->meta.index.value()),
      static_cast<unsigned long long>(info->meta.term.value()),
      static_cast<unsigned long long>(info->source_node.value()), info->cluster_id.c_str());
  return 0;
}

}  // namespace bw::server
