// The membership a node starts from: the MEMBERS file in its data directory, and the same text
// as the answer to MEMBER JOIN (how a joining node learns its id and whom to talk to).
//
//   bellwether-members 1
//   cluster <cluster id>
//   self <this node's id>
//   member <id> voter|learner <client host:port> <peer host:port>     (one line per member)
//
// A founding node writes it from --peers at its first start, a joining node from the join
// answer. Later changes live in the replicated log (and in snapshots, kv::Store::members()); the
// file only seeds the member directory and the initial Raft configuration of an empty log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "storage/file_system.h"

namespace bw::server {

inline constexpr char kMembersFileName[] = "MEMBERS";
inline constexpr uint64_t kMembersFileBytesMax = 64 * 1024;
inline constexpr size_t kMembersMax = 256;  // members one file (or join answer) may list

struct MemberLine {
  NodeId id;
  bool learner = false;
  std::string client_address;
  std::string peer_address;
  bool operator==(const MemberLine&) const = default;
};

struct MemberList {
  std::string cluster_id;
  NodeId self;
  std::vector<MemberLine> members;  // by id
  bool operator==(const MemberList&) const = default;
};

std::string encode_member_list(const MemberList& list);
// Errors: InvalidArgument naming the first bad line (untrusted bytes: a join answer).
Result<MemberList> decode_member_list(std::string_view text);

// dir/MEMBERS, or NotFound when absent.
Result<MemberList> read_members_file(storage::FileSystem& fs, const std::string& dir);
Status write_members_file(storage::FileSystem& fs, const std::string& dir, const MemberList& list);

}  // namespace bw::server
