#include "storage/backup_file.h"

#include <fmt/format.h>

#include <cstring>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"
#include "storage/wal_format.h"

namespace bw::storage {
namespace {

std::string encode_header(const BackupInfo& info, uint32_t conf_bytes, uint64_t data_bytes) {
  BW_ASSERT(info.cluster_id.size() <= kBackupClusterIdBytesMax);
  std::string out;
  ByteWriter w(&out);
  w.raw(std::string_view(kBackupMagic, sizeof(kBackupMagic)));
  w.u32(kBackupFormatVersion);
  w.u32(static_cast<uint32_t>(info.cluster_id.size()));
  w.u64(info.source_node.value());
  w.u64(info.meta.index.value());
  w.u64(info.meta.term.value());
  w.u64(static_cast<uint64_t>(info.created_unix_ms));
  w.u32(conf_bytes);
  w.u32(0);
  w.u64(data_bytes);
  BW_ASSERT(out.size() == kBackupHeaderBytes);
  return out;
}

std::string trailer(uint64_t checksum) {
  std::string out;
  ByteWriter(&out).u64(checksum);
  return out;
}

}  // namespace

std::string encode_backup_file(const BackupInfo& info, std::string_view data) {
  std::string conf;
  wal::encode_conf(&conf, info.meta.conf);
  std::string out = encode_header(info, static_cast<uint32_t>(conf.size()), data.size());
  out += info.cluster_id;
  out += conf;
  out += data;
  out += trailer(checksum64(out));
  return out;
}

Status write_backup_file(FileSystem& fs, const std::string& path, const BackupInfo& info,
                         std::string_view data) {
  std::string prefix;
  wal::encode_conf(&prefix, info.meta.conf);
  prefix = encode_header(info, static_cast<uint32_t>(prefix.size()), data.size()) +
           info.cluster_id + prefix;
  Checksummer sum;
  sum.update(prefix);
  sum.update(data);
  const std::string tmp = path + ".tmp";
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.create(tmp));
  BW_RETURN_IF_ERROR(file->append(prefix));
  BW_RETURN_IF_ERROR(file->append(data));
  BW_RETURN_IF_ERROR(file->append(trailer(sum.digest())));
  BW_RETURN_IF_ERROR(file->sync());
  BW_RETURN_IF_ERROR(file->close());
  BW_RETURN_IF_ERROR(fs.rename(tmp, path));
  return fs.sync_dir(parent_dir(path));
}

Result<DecodedBackup> decode_backup_file(std::string_view bytes, std::string_view name) {
  auto corrupt = [&](uint64_t at, std::string_view why) {
    return absl::DataLossError(fmt::format("backup {}: offset {}: {}", name, at, why));
  };
  if (bytes.size() < kBackupHeaderBytes + kBackupTrailerBytes) {
    return corrupt(bytes.size(),
                   fmt::format("truncated: {} bytes, a backup has at least {}", bytes.size(),
                               kBackupHeaderBytes + kBackupTrailerBytes));
  }
  ByteReader r(bytes.substr(0, kBackupHeaderBytes));
  const std::string_view magic = *r.raw(sizeof(kBackupMagic));
  const uint32_t version = *r.u32();
  const uint32_t cluster_id_bytes = *r.u32();
  const uint64_t source_node = *r.u64();
  const uint64_t index = *r.u64();
  const uint64_t term = *r.u64();
  const uint64_t created_unix_ms = *r.u64();
  const uint32_t conf_bytes = *r.u32();
  const uint32_t reserved = *r.u32();
  const uint64_t data_bytes = *r.u64();
  if (std::memcmp(magic.data(), kBackupMagic, sizeof(kBackupMagic)) != 0) {
    return corrupt(0, "not a Bellwether backup file (bad magic)");
  }
  if (version != kBackupFormatVersion) {
    return absl::UnimplementedError(
        fmt::format("backup {}: unknown format version {} (this build reads version {})", name,
                    version, kBackupFormatVersion));
  }
  if (cluster_id_bytes == 0 || cluster_id_bytes > kBackupClusterIdBytesMax ||
      conf_bytes > kBackupConfBytesMax || data_bytes > kBackupFileBytesMax || reserved != 0) {
    return corrupt(12, "header fields out of range");
  }
  const uint64_t expect =
      kBackupHeaderBytes + cluster_id_bytes + conf_bytes + data_bytes + kBackupTrailerBytes;
  if (bytes.size() < expect) {
    return corrupt(bytes.size(),
                   fmt::format("truncated: {} bytes, the header says {}", bytes.size(), expect));
  }
  if (bytes.size() > expect) {
    return corrupt(expect, fmt::format("{} bytes after the end", bytes.size() - expect));
  }
  const uint64_t body_end = expect - kBackupTrailerBytes;
  ByteReader tr(bytes.substr(body_end));
  if (*tr.u64() != checksum64(bytes.substr(0, body_end))) {
    return corrupt(body_end, "checksum mismatch (the file is damaged)");
  }
  std::string_view rest = bytes.substr(kBackupHeaderBytes);
  DecodedBackup out;
  out.info.cluster_id = std::string(rest.substr(0, cluster_id_bytes));
  rest.remove_prefix(cluster_id_bytes);
  Result<raft::ConfState> conf = wal::decode_conf(rest.substr(0, conf_bytes));
  if (!conf.ok()) {
    return corrupt(kBackupHeaderBytes + cluster_id_bytes, std::string(conf.status().message()));
  }
  rest.remove_prefix(conf_bytes);
  out.info.source_node = NodeId(source_node);
  out.info.created_unix_ms = static_cast<int64_t>(created_unix_ms);
  out.info.meta = raft::SnapshotMeta{LogIndex(index), Term(term), std::move(*conf)};
  out.data = rest.substr(0, data_bytes);
  return out;
}

Result<std::string> read_whole_file(FileSystem& fs, const std::string& path) {
  BW_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> f, fs.open_read(path));
  if (f->size() > kBackupFileBytesMax) {
    return absl::ResourceExhaustedError(fmt::format(
        "{}: {} bytes, more than the {} a backup may have", path, f->size(), kBackupFileBytesMax));
  }
  std::string out;
  BW_RETURN_IF_ERROR(f->read_at(0, static_cast<size_t>(f->size()), &out));
  if (out.size() != f->size()) return absl::DataLossError(fmt::format("{}: short read", path));
  return out;
}

}  // namespace bw::storage
