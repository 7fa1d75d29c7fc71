#include "storage/identity.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

#include "common/checksum.h"

namespace bw::storage {
namespace {

bool parse_u64(std::string_view s, uint64_t* v, int base) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v, base);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Status validate_identity(const Identity& id) {
  if (id.cluster_id.empty() || id.cluster_id.size() > kClusterIdBytesMax) {
    return absl::InvalidArgumentError(
        fmt::format("cluster id must have 1 to {} characters", kClusterIdBytesMax));
  }
  for (char c : id.cluster_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return absl::InvalidArgumentError("cluster id may hold only [A-Za-z0-9._-]");
  }
  if (id.node == kNoNode) return absl::InvalidArgumentError("node id 0 is reserved");
  return OkStatus();
}

std::string encode_identity(const Identity& id) {
  std::string body = fmt::format("bellwether-identity {}\ncluster {}\nnode {}\n",
                                 kIdentityFormatVersion, id.cluster_id, id.node.value());
  return body + fmt::format("checksum {:016x}\n", checksum64(body));
}

Result<Identity> decode_identity(std::string_view bytes, std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(fmt::format("identity file {}: {}", name, why));
  };
  const size_t cut = bytes.rfind("checksum ");
  if (cut == std::string_view::npos) return bad("no checksum line");
  uint64_t sum = 0;
  std::string_view sum_text = bytes.substr(cut + 9);
  if (!sum_text.empty() && sum_text.back() == '\n') sum_text.remove_suffix(1);
  if (!parse_u64(sum_text, &sum, 16) || sum != checksum64(bytes.substr(0, cut))) {
    return bad("checksum mismatch");
  }
  std::vector<std::string_view> lines;
  std::string_view rest = bytes.substr(0, cut);
  for (size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1)) {
    lines.push_back(rest.substr(0, nl));
  }
  lines.push_back(rest);
  if (lines.size() != 4 || !lines[3].empty()) return bad("expected three lines");
  if (lines[0] != fmt::format("bellwether-identity {}", kIdentityFormatVersion)) {
    return bad(fmt::format("unsupported header '{}'", lines[0]));
  }
  Identity id;
  uint64_t node = 0;
  if (!lines[1].starts_with("cluster ") || !lines[2].starts_with("node ") ||
      !parse_u64(lines[2].substr(5), &node, 10)) {
    return bad("malformed cluster or node line");
  }
  id.cluster_id = std::string(lines[1].substr(8));
  id.node = NodeId(node);
  if (Status s = validate_identity(id); !s.ok()) return bad(std::string(s.message()));
  return id;
}

Status check_or_create_identity(FileSystem& fs, const std::string& dir, const Identity& expected) {
  BW_RETURN_IF_ERROR(validate_identity(expected));
  const std::string path = join_path(dir, kIdentityFileName);
  BW_ASSIGN_OR_RETURN(bool present, fs.exists(path));
  if (!present) return write_file_atomic(fs, path, encode_identity(expected));
  BW_ASSIGN_OR_RETURN(std::string bytes, read_file(fs, path, kIdentityFileBytesMax));
  BW_ASSIGN_OR_RETURN(Identity found, decode_identity(bytes, path));
  if (found != expected) {
    return absl::FailedPreconditionError(
        fmt::format("data directory {} belongs to cluster '{}' node {}, not cluster '{}' node {}",
                    dir, found.cluster_id, found.node, expected.cluster_id, expected.node));
  }
  return OkStatus();
}

}  // namespace bw::storage
