#include "storage/snapshot_file.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "common/assert.h"
#include "common/checksum.h"
#include "common/codec.h"
#include "storage/wal_format.h"

namespace bw::storage {
namespace {

struct ParsedHeader {
  GroupId group;
  LogIndex index;
  Term term;
  uint32_t conf_bytes = 0;
  uint64_t data_bytes = 0;
  uint64_t body_checksum = 0;
};

std::string encode_header(GroupId group, const raft::SnapshotMeta& meta, uint32_t conf_bytes,
                          uint64_t data_bytes, uint64_t body_checksum) {
  std::string out;
  ByteWriter w(&out);
  w.raw(std::string_view(kSnapshotMagic, sizeof(kSnapshotMagic)));
  w.u32(kSnapshotFormatVersion);
  w.u32(conf_bytes);
  w.u64(group.value());
  w.u64(meta.index.value());
  w.u64(meta.term.value());
  w.u64(data_bytes);
  w.u64(body_checksum);
  w.u64(checksum64(out));
  BW_ASSERT(out.size() == kSnapshotHeaderBytes);
  return out;
}

// Checks the header against the file's size. Errors: DataLoss naming the file and offset.
Result<ParsedHeader> parse_header(std::string_view h, uint64_t file_bytes, std::string_view name) {
  auto corrupt = [&](size_t at, std::string_view why) {
    return absl::DataLossError(fmt::format("snapshot {}: offset {}: {}", name, at, why));
  };
  if (h.size() < kSnapshotHeaderBytes) return corrupt(0, "short header");
  ByteReader r(h.substr(0, kSnapshotHeaderBytes));
  BW_ASSIGN_OR_RETURN(std::string_view magic, r.raw(sizeof(kSnapshotMagic)));
  const uint32_t version = *r.u32();
  ParsedHeader p;
  p.conf_bytes = *r.u32();
  p.group = GroupId(*r.u64());
  p.index = LogIndex(*r.u64());
  p.term = Term(*r.u64());
  p.data_bytes = *r.u64();
  p.body_checksum = *r.u64();
  const uint64_t header_checksum = *r.u64();
  if (header_checksum != checksum64(h.substr(0, kSnapshotHeaderBytes - 8))) {
    return corrupt(56, "header checksum mismatch");
  }
  if (std::memcmp(magic.data(), kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return corrupt(0, "not a snapshot file (bad magic)");
  }
  if (version != kSnapshotFormatVersion) {
    return corrupt(8, fmt::format("unsupported snapshot format version {}", version));
  }
  if (p.conf_bytes > kSnapshotConfBytesMax || p.data_bytes > kSnapshotDataBytesMax) {
    return corrupt(12, "sizes out of range");
  }
  const uint64_t expect = kSnapshotHeaderBytes + p.conf_bytes + p.data_bytes;
  if (file_bytes != expect) {
    return corrupt(std::min(file_bytes, expect),
                   fmt::format("file has {} bytes, header says {}", file_bytes, expect));
  }
  return p;
}

}  // namespace

std::string snapshot_file_name(GroupId group, LogIndex index) {
  return fmt::format("{:016x}-{:016x}.snap", group.value(), index.value());
}

std::optional<std::pair<GroupId, LogIndex>> parse_snapshot_file_name(std::string_view name) {
  constexpr size_t kLen = 16 + 1 + 16 + 5;
  if (name.size() != kLen || name[16] != '-' || name.substr(33) != ".snap") return std::nullopt;
  uint64_t g = 0;
  uint64_t i = 0;
  auto parse = [](std::string_view s, uint64_t* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v, 16);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (!parse(name.substr(0, 16), &g) || !parse(name.substr(17, 16), &i)) return std::nullopt;
  return std::make_pair(GroupId(g), LogIndex(i));
}

Status write_snapshot_file(FileSystem& fs, const std::string& path, GroupId group,
                           const raft::SnapshotMeta& meta, std::string_view data) {
  std::string conf;
  wal::encode_conf(&conf, meta.conf);
  Checksummer body;
  body.update(conf);
  body.update(data);
  const std::string header =
      encode_header(group, meta, static_cast<uint32_t>(conf.size()), data.size(), body.digest());
  const std::string tmp = path + ".tmp";
  BW_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.create(tmp));
  BW_RETURN_IF_ERROR(file->append(header));
  BW_RETURN_IF_ERROR(file->append(conf));
  BW_RETURN_IF_ERROR(file->append(data));
  BW_RETURN_IF_ERROR(file->sync());
  BW_RETURN_IF_ERROR(file->close());
  BW_RETURN_IF_ERROR(fs.rename(tmp, path));
  return fs.sync_dir(parent_dir(path));
}

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::open(FileSystem& fs,
                                                             const std::string& path) {
  auto reader = std::unique_ptr<SnapshotReader>(new SnapshotReader());
  BW_ASSIGN_OR_RETURN(reader->file_, fs.open_read(path));
  ReadableFile& f = *reader->file_;
  std::string buf;
  BW_RETURN_IF_ERROR(f.read_at(0, kSnapshotHeaderBytes, &buf));
  BW_ASSIGN_OR_RETURN(ParsedHeader h, parse_header(buf, f.size(), path));
  std::string conf_bytes;
  BW_RETURN_IF_ERROR(f.read_at(kSnapshotHeaderBytes, h.conf_bytes, &conf_bytes));
  Checksummer body;
  body.update(conf_bytes);
  const uint64_t data_at = kSnapshotHeaderBytes + h.conf_bytes;
  for (uint64_t off = 0; off < h.data_bytes; off += kSnapshotVerifyChunkBytes) {
    BW_RETURN_IF_ERROR(f.read_at(data_at + off, kSnapshotVerifyChunkBytes, &buf));
    body.update(buf);
  }
  if (body.digest() != h.body_checksum) {
    return absl::DataLossError(
        fmt::format("snapshot {}: offset {}: body checksum mismatch", path, kSnapshotHeaderBytes));
  }
  Result<raft::ConfState> conf = wal::decode_conf(conf_bytes);
  if (!conf.ok()) {
    return absl::DataLossError(fmt::format("snapshot {}: offset {}: {}", path, kSnapshotHeaderBytes,
                                           std::string(conf.status().message())));
  }
  reader->group_ = h.group;
  reader->meta_ = raft::SnapshotMeta{h.index, h.term, std::move(*conf)};
  reader->data_at_ = data_at;
  reader->data_bytes_ = h.data_bytes;
  return reader;
}

Status SnapshotReader::read_chunk(uint64_t offset, size_t bytes_max, std::string* out) {
  if (offset >= data_bytes_) {
    out->clear();
    return OkStatus();
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes_max, data_bytes_ - offset));
  BW_RETURN_IF_ERROR(file_->read_at(data_at_ + offset, n, out));
  if (out->size() != n) return absl::DataLossError("snapshot file shrank while open");
  return OkStatus();
}

Result<std::string> SnapshotReader::read_all(uint64_t bytes_max) {
  if (data_bytes_ > bytes_max) {
    return absl::ResourceExhaustedError(
        fmt::format("snapshot image of {} bytes exceeds {}", data_bytes_, bytes_max));
  }
  std::string out;
  BW_RETURN_IF_ERROR(read_chunk(0, static_cast<size_t>(data_bytes_), &out));
  return out;
}

Result<DecodedSnapshot> decode_snapshot_file(std::string_view bytes, std::string_view name) {
  BW_ASSIGN_OR_RETURN(ParsedHeader h, parse_header(bytes, bytes.size(), name));
  const std::string_view body = bytes.substr(kSnapshotHeaderBytes);
  if (checksum64(body) != h.body_checksum) {
    return absl::DataLossError(
        fmt::format("snapshot {}: offset {}: body checksum mismatch", name, kSnapshotHeaderBytes));
  }
  Result<raft::ConfState> conf = wal::decode_conf(body.substr(0, h.conf_bytes));
  if (!conf.ok()) {
    return absl::DataLossError(fmt::format("snapshot {}: offset {}: {}", name, kSnapshotHeaderBytes,
                                           std::string(conf.status().message())));
  }
  return DecodedSnapshot{h.group, raft::SnapshotMeta{h.index, h.term, std::move(*conf)},
                         body.substr(h.conf_bytes)};
}

}  // namespace bw::storage
