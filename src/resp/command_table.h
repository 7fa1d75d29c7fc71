// The command table: every command Bellwether understands, as data (Redis's model). Routing,
// arity checks, key extraction and the COMMAND family of replies read it; command behaviour lives
// elsewhere (kv, server). It is the only copy of these facts: kv maps names to its log opcodes
// and trusts the server to have checked a command's arity here first, and the server finds the
// handlers of its own commands by these names (server/commands.cc).
//
// Thread safety: everything here is immutable and may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "resp/writer.h"

namespace bw::resp {

enum CommandFlag : uint32_t {
  kWrite = 1u << 0,
  kReadonly = 1u << 1,
  kAdmin = 1u << 2,
  kFast = 1u << 3,
  kNoScript = 1u << 4,
  kLoading = 1u << 5,  // allowed while loading a snapshot
  kStale = 1u << 6,    // allowed on a node without an up-to-date state
  kPubSub = 1u << 7,
  kBlocking = 1u << 8,
  kConnection = 1u << 9,  // handled by the node/session, not by the keyspace
  kDenyOom = 1u << 10,
  kNoAuth = 1u << 11,  // allowed before AUTH
  kMayReplicate = 1u << 12,
  kNoMulti = 1u << 13,  // not allowed inside MULTI
  kSkipMonitor = 1u << 14,
  kSkipSlowlog = 1u << 15,
  kAllowBusy = 1u << 16,
  kNoMandatoryKeys = 1u << 17,
  kMovableKeys = 1u << 18,  // key positions depend on the arguments (not first/last/step)
  kExtension = 1u << 19,    // Bellwether's own command, not in Redis
};

struct CommandSpec {
  std::string_view name;  // lowercase; subcommands are "container|sub", e.g. "config|get"
  int arity;              // Redis convention: N means exactly N (with the name); -N means >= N
  uint32_t flags;         // CommandFlag bits
  // Redis key-spec convention: argv indexes of the first and last key and the step between keys;
  // last_key -1 means the last argument, -2 the one before it; 0/0/0 means no keys.
  // With kMovableKeys, first_key is instead the index of a numkeys argument that the keys
  // follow (LMPOP, SINTERCARD, ...); COMMAND INFO then shows 0/0/0 as Redis does.
  int first_key, last_key, key_step;
  std::string_view group;  // "string", "generic", "connection", "server", "pubsub", ...
  std::string_view since;  // version that introduced it ("1.0.0"; ours: Bellwether's version)
  std::string_view summary;
  // Compact synopsis of the arguments after the name, e.g. "key value [NX | XX] [GET]".
  // Grammar: UPPER = literal token, lower = argument, [..] optional, a | b one of, x... repeated.
  std::string_view arguments;
  // ACL categories as Redis lists them ("@keyspace @read @fast"); empty: derived from flags/group.
  std::string_view acl_categories;
  // Key-spec flags as Redis lists them ("RW access update"), one '|'-separated part per key spec
  // when keys have different roles (RENAME: "RW access delete|OW update"); empty: derived.
  std::string_view key_spec_flags;
  std::span<const CommandSpec> subcommands = {};
  // > 0: the keys are not first..last but follow a key count: argv[key_count_index] holds their
  // number n, and the keys are the n arguments after it (SINTERCARD numkeys key [key ...]). Redis
  // reports such a command with first/last/step 0 and kMovableKeys, and a "keynum" key spec.
  int key_count_index = 0;
  // COMMAND INFO's tips, space-separated ("nondeterministic_output"); empty: none.
  std::string_view tips;

  bool has(uint32_t flag) const { return (flags & flag) != 0; }
};

// Case-insensitive lookup; nullptr if unknown.
const CommandSpec* find_command(std::string_view name);
// Case-insensitive lookup of a subcommand ("get" in CONFIG GET); nullptr if unknown.
const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name);
// All top-level commands, sorted by name.
std::span<const CommandSpec> all_commands();
bool arity_ok(const CommandSpec& spec, size_t argc);

// argv indexes of the keys of a command per its spec (argv[0] is the command name). Stops at the
// end of argv, so a short argv gives fewer keys rather than reading past it; a key count that is
// not a non-negative integer gives none.
std::vector<size_t> command_key_indexes(const CommandSpec& spec,
                                        std::span<const std::string_view> argv);
std::vector<std::string_view> command_key_positions(const CommandSpec& spec,
                                                    std::span<const std::string_view> argv);

// The ACL categories of a command ("@read", "@fast", ...): the table's, or derived from its flags
// and group when the table lists none.
std::vector<std::string_view> acl_categories(const CommandSpec& spec);

// Replies for the COMMAND family in Redis 7's formats.
// One COMMAND INFO entry: [name, arity, flags, first, last, step, acl-categories, tips,
// key-specs, subcommands]; spec == nullptr writes nil (unknown command).
void write_command_info(Writer& w, const CommandSpec* spec);
// COMMAND DOCS: a map name -> {summary, since, group, complexity?, arguments, subcommands?}.
void write_command_docs(Writer& w, std::span<const CommandSpec* const> specs);
// COMMAND (no argument): every command's info entry. COMMAND COUNT:
// w.integer(all_commands().size()).
void write_all_command_info(Writer& w);
// COMMAND LIST: every command name.
void write_command_list(Writer& w);

}  // namespace bw::resp
