// The ACL rule engine: Redis 7's user rules (ACL SETUSER's language), a compiled user, its
// canonical description (ACL LIST / the aclfile / the replicated definition), and the permission
// check of a command line against THE command table (categories, key positions and key-spec
// flags, channels).
//
// Selectors ("(...)") are not supported: SETUSER answers a syntax error for them.
//
// Thread safety: values; everything here is pure apart from password hashing (OpenSSL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "resp/command_table.h"

namespace bw::server {

// Bounds of one user (each rule, pattern and password is a command argument, itself bounded by
// the RESP limits; these bound how many a user keeps).
inline constexpr size_t kAclPasswordsMax = 64;
inline constexpr size_t kAclPatternsMax = 1024;  // key patterns, and channel patterns, each
inline constexpr size_t kAclUserNameBytesMax = 1024;
inline constexpr size_t kAclRuleBytesMax = 4096;  // one rule (a pattern, a password)

// Every command and subcommand of THE command table, numbered: the bit a user's command
// permission keeps for each. Containers (CONFIG, CLIENT, ACL, ...) have no bit of their own:
// their subcommands do. Immutable after construction.
class AclCommandIndex {
 public:
  AclCommandIndex();
  size_t size() const { return specs_.size(); }
  const resp::CommandSpec& spec(size_t id) const { return *specs_[id]; }
  // The id of `spec` (a command without subcommands, or a subcommand); SIZE_MAX if none. O(1):
  // every command a user runs is checked with it.
  size_t id_of(const resp::CommandSpec* spec) const;
  // The command ids of category `name` (without '@'); false if no such category.
  bool category(std::string_view name, std::vector<size_t>* ids) const;

 private:
  std::vector<const resp::CommandSpec*> specs_;
  absl::flat_hash_map<const resp::CommandSpec*, size_t> ids_;
  std::vector<std::vector<size_t>> categories_;  // by position in acl_category_names()
};

// Redis 7's ACL categories, in ACL CAT order.
std::span<const std::string_view> acl_category_names();

// The hex SHA-256 of `password` (Redis stores and shows passwords so).
std::string acl_hash_password(std::string_view password);

struct AclKeyPattern {
  std::string pattern;
  bool read = true;
  bool write = true;
};

// What was refused (ACL LOG's reason) and what the check looked at.
enum class AclDenial : uint8_t { kNone, kCommand, kKey, kChannel };
struct AclVerdict {
  AclDenial denial = AclDenial::kNone;
  std::string object;  // the command name ("set", "client|list"), key or channel refused
  bool allowed() const { return denial == AclDenial::kNone; }
};

class AclUser {
 public:
  // A new user as ACL SETUSER creates it: off, no passwords, no commands, keys or channels.
  AclUser(const AclCommandIndex* index, std::string name);

  // Applies one rule; on error the user may be partly changed, so apply to a copy (apply_rules).
  // The error is Redis's reason text ("Syntax error", "Unknown command or category name in
  // ACL", ...).
  Status apply_rule(std::string_view rule);
  // Applies `rules` in order to a copy and keeps it only if all apply. The error is Redis's
  // whole message: "Error in ACL SETUSER modifier '<rule>': <reason>".
  Status apply_rules(std::span<const std::string_view> rules);

  const std::string& name() const { return name_; }
  bool enabled() const { return enabled_; }
  bool nopass() const { return nopass_; }
  const std::vector<std::string>& password_hashes() const { return passwords_; }
  // True if `password` opens this user (enabled, and nopass or a matching hash).
  bool password_ok(std::string_view password) const;

  // The canonical rule string (no "user <name>" prefix), the form ACL LIST shows, the aclfile
  // keeps and the log replicates: "on #<hash> ~k* resetchannels &c* -@all +get".
  std::string describe() const;
  // ACL GETUSER's parts.
  std::vector<std::string> flags() const;
  std::string describe_commands() const;
  std::string describe_keys() const;
  std::string describe_channels() const;

  // The check of a whole command line (argv[0] the name) whose spec `spec` (top level) is known
  // and whose arity has been checked.
  AclVerdict check(const resp::CommandSpec& spec, std::span<const std::string_view> argv) const;
  // Only the command permission, and only the channels (PUBLISH/SUBSCRIBE rechecks).
  bool command_allowed(const resp::CommandSpec& spec, std::span<const std::string_view> argv) const;
  bool channel_allowed(std::string_view channel, bool is_pattern) const;

 private:
  void set_all_commands(bool allowed);
  Status command_rule(std::string_view rule, bool allow);
  Status key_rule(std::string_view rule);
  Status channel_rule(std::string_view rule);
  bool key_allowed(std::string_view key, bool read, bool write) const;

  const AclCommandIndex* index_;
  std::string name_;
  bool enabled_ = false;
  bool nopass_ = false;
  // "sanitize-payload" / "skip-sanitize-payload" (kept and shown as Redis does; no RESTORE here).
  bool sanitize_payload_ = false;
  bool skip_sanitize_payload_ = false;
  std::vector<std::string> passwords_;  // hex SHA-256, in the order added
  std::vector<bool> allowed_;           // by AclCommandIndex id
  bool all_commands_ = false;           // +@all: also commands added later (Redis's future bit)
  bool all_keys_ = false;
  std::vector<AclKeyPattern> keys_;
  bool all_channels_ = false;
  std::vector<std::string> channels_;
};

}  // namespace bw::server
