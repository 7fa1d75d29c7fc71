// The users a node enforces, compiled from the replicated ACL state (kv::Store::acl_users) or,
// until the replicated state defines any user, from this node's bootstrap (requirepass or the
// aclfile); the aclfile format; and ACL LOG.
//
// The rule: the replicated state wins once an ACL change has applied (Store::acl_index() > 0).
// Before that every node enforces its own bootstrap users, which `bellwether cluster up` makes
// identical on every node. The first replicated change (ACL SETUSER, DELUSER, LOAD, CONFIG SET
// requirepass) carries the leader's whole user set, so from then on every node holds the same
// users at the same log position.
//
// Thread safety: none; owned by the node's event loop.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/acl_user.h"

namespace bw::server {

// ACL LOG keeps at most this many entries (Redis's acllog-max-len default).
inline constexpr size_t kAclLogEntriesMax = 128;
// ACL changes a leader holds while one is in flight; beyond it they answer TRYAGAIN.
inline constexpr size_t kAclWaitingMax = 1024;
// Denials of the same kind within this window count into one ACL LOG entry (Redis's rule).
inline constexpr int64_t kAclLogGroupMs = 60000;
// Bounds of an aclfile: its size and its number of users.
inline constexpr uint64_t kAclFileBytesMax = 16 << 20;
inline constexpr size_t kAclFileUsersMax = 10000;
// ACL GENPASS: default and largest number of bits.
inline constexpr int64_t kAclGenpassBitsDefault = 256;
inline constexpr int64_t kAclGenpassBitsMax = 4096;

// One user line of an aclfile ("user <name> <rule>..."), or of the canonical list.
struct AclUserLine {
  std::string name;
  std::vector<std::string> rules;
};

// Parses an aclfile's text: one "user <name> rules..." per line; blank lines and lines starting
// with '#' are skipped. Each user's rules must apply (Redis refuses the whole file otherwise).
// The error names the line: "<line>: <reason>".
Result<std::vector<AclUserLine>> parse_acl_file(std::string_view text,
                                                const AclCommandIndex& index);
// The canonical text of `users`: "user <name> <describe()>\n" per user, by name.
std::string format_acl_file(const std::map<std::string, AclUser, std::less<>>& users);

struct AclLogEntry {
  uint64_t count = 1;
  std::string reason;   // "command", "key", "channel", "auth"
  std::string context;  // "toplevel", "multi"
  std::string object;
  std::string username;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string client_info;
};

class AclRegistry {
 public:
  AclRegistry();

  const AclCommandIndex& index() const { return index_; }

  // The bootstrap users: the default user (nopass, or requirepass's password) plus the users
  // of an aclfile's text when given. Errors are the aclfile's.
  Status set_bootstrap(std::string_view requirepass, std::optional<std::string_view> aclfile_text);
  // Recompiles from the replicated users when `acl_index` differs from the last call (0: use the
  // bootstrap). Returns true if the users changed. Definitions that do not compile (a bug) are
  // skipped and logged by the caller through the returned names.
  bool sync(uint64_t acl_index, const std::map<std::string, std::string, std::less<>>& definitions,
            std::vector<std::string>* broken);
  // Whether a replicated ACL state is in force (else the bootstrap users).
  bool replicated() const { return replicated_index_ != 0; }
  uint64_t synced_index() const { return replicated_index_; }

  const AclUser* find(std::string_view name) const;
  const std::map<std::string, AclUser, std::less<>>& users() const { return users_; }
  // The default user exists, is on, and needs no password: new connections start authenticated
  // as it (Redis's rule).
  bool default_open() const;
  // The default user has no password (protected mode's test).
  bool default_without_password() const;

  // ACL LOG.
  void log_denial(const AclLogEntry& entry, int64_t now_ms);
  const std::deque<AclLogEntry>& log() const { return log_; }
  void reset_log() { log_.clear(); }

 private:
  AclCommandIndex index_;
  std::map<std::string, AclUser, std::less<>> bootstrap_;
  std::map<std::string, AclUser, std::less<>> users_;
  uint64_t replicated_index_ = 0;
  bool synced_once_ = false;
  std::deque<AclLogEntry> log_;  // newest first
};

// Splits a canonical definition (or any rule string) into rules at spaces.
std::vector<std::string_view> split_acl_rules(std::string_view text);

}  // namespace bw::server
