#include "server/members_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "net/peer_transport.h"
#include "storage/identity.h"

namespace bw::server {

namespace {

constexpr std::string_view kHeader = "bellwether-members 1";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

bool parse_id(std::string_view s, NodeId* out) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v == 0) return false;
  *out = NodeId(v);
  return true;
}

}  // namespace

std::string encode_member_list(const MemberList& list) {
  std::string out = fmt::format("{}\ncluster {}\nself {}\n", kHeader, list.cluster_id, list.self);
  for (const MemberLine& m : list.members) {
    out += fmt::format("member {} {} {} {}\n", m.id, m.learner ? "learner" : "voter",
                       m.client_address, m.peer_address);
  }
  return out;
}

Result<MemberList> decode_member_list(std::string_view text) {
  auto bad = [](size_t line, std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("member list line {}: {}", line + 1, why));
  };
  std::vector<std::string_view> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 3) return bad(lines.size(), "too short");
  if (lines.size() > 3 + kMembersMax) return bad(3 + kMembersMax, "too many members");
  if (lines[0] != kHeader) return bad(0, "not a bellwether member list");
  MemberList list;
  if (!lines[1].starts_with("cluster ")) return bad(1, "expected 'cluster <id>'");
  list.cluster_id = std::string(lines[1].substr(8));
  if (Status s = storage::validate_identity({list.cluster_id, NodeId(1)}); !s.ok()) {
    return bad(1, std::string(s.message()));
  }
  if (!lines[2].starts_with("self ") || !parse_id(lines[2].substr(5), &list.self)) {
    return bad(2, "expected 'self <node id>'");
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    std::vector<std::string_view> f = split(lines[i], ' ');
    MemberLine m;
    if (f.size() != 5 || f[0] != "member" || !parse_id(f[1], &m.id) ||
        (f[2] != "voter" && f[2] != "learner")) {
      return bad(i, "expected 'member <id> voter|learner <client address> <peer address>'");
    }
    m.learner = f[2] == "learner";
    for (auto [field, out] : {std::pair{f[3], &m.client_address}, {f[4], &m.peer_address}}) {
      if (!net::parse_endpoint(field).ok()) {
        return bad(i, fmt::format("'{}' is not host:port", field));
      }
      out->assign(field);
    }
    if (!list.members.empty() && list.members.back().id >= m.id) {
      return bad(i, "members must be listed once each, by increasing id");
    }
    list.members.push_back(std::move(m));
  }
  auto self = std::find_if(list.members.begin(), list.members.end(),
                           [&](const MemberLine& m) { return m.id == list.self; });
  if (self == list.members.end()) return bad(2, "this node is not among the members");
  if (std::none_of(list.members.begin(), list.members.end(),
                   [](const MemberLine& m) { return !m.learner; })) {
    return bad(3, "no voter");
  }
  return list;
}

Result<MemberList> read_members_file(storage::FileSystem& fs, const std::string& dir) {
  const std::string path = storage::join_path(dir, kMembersFileName);
  BW_ASSIGN_OR_RETURN(std::string text, storage::read_file(fs, path, kMembersFileBytesMax));
  Result<MemberList> list = decode_member_list(text);
  if (!list.ok()) return absl::DataLossError(fmt::format("{}: {}", path, list.status().message()));
  return list;
}

Status write_members_file(storage::FileSystem& fs, const std::string& dir, const MemberList& list) {
  return storage::write_file_atomic(fs, storage::join_path(dir, kMembersFileName),
                                    encode_member_list(list));
}

}  // namespace bw::server
