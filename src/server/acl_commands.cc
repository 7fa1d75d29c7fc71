// AUTH, HELLO, ACL and the checks every command passes before it runs (protected mode, NOAUTH,
// ACL permissions), in Redis 7's words. The replicated side (ACL SETUSER, DELUSER, LOAD) is in
// acl_replicated.cc.
#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "resp/command_table.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/node.h"
#include "server/node_call.h"
#include "server/reply.h"
#include "storage/file_system.h"

namespace bw::server {

namespace {

constexpr std::string_view kRedisCompatVersion = "7.0.0";
constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kProtectedModeDenied =
    "DENIED Redis is running in protected mode because protected mode is enabled and no password "
    "is set for the default user. In this mode connections are only accepted from the loopback "
    "interface. If you want to connect from external computers to Redis you may adopt one of the "
    "following solutions: 1) Just disable protected mode sending the command 'CONFIG SET "
    "protected-mode no' from the loopback interface by connecting to Redis from the same host "
    "the server is running, however MAKE SURE Redis is not publicly accessible from internet if "
    "you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just "
    "disable the protected mode by editing the Redis configuration file, and setting the "
    "protected mode option to 'no', and then restarting the server. 3) If you started the server "
    "manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one of the above "
    "things in order for the server to start accepting connections from the outside.";

std::string denial_message(const AclVerdict& v, std::string_view command) {
  switch (v.denial) {
    case AclDenial::kCommand:
      return fmt::format("this user has no permissions to run the '{}' command", command);
    case AclDenial::kKey:
      return "this user has no permissions to access one of the keys used as arguments";
    case AclDenial::kChannel:
      return "this user has no permissions to access one of the channels used as arguments";
    case AclDenial::kNone:
      break;
  }
  return "";
}

std::string_view denial_reason(AclDenial d) {
  switch (d) {
    case AclDenial::kCommand:
      return "command";
    case AclDenial::kKey:
      return "key";
    case AclDenial::kChannel:
      return "channel";
    case AclDenial::kNone:
      break;
  }
  return "";
}

void write_acl_help(resp::Writer& w) {
  static constexpr std::string_view kLines[] = {
      "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CAT [<category>]",
      "    List all commands that belong to <category>, or all command categories",
      "    when no category is specified.",
      "DELUSER <username> [<username> ...]",
      "    Delete a list of users (replicated).",
      "DRYRUN <username> <command> [<arg> ...]",
      "    Returns whether the user can execute the given command without executing the command.",
      "GETUSER <username>",
      "    Get the user's details.",
      "GENPASS [<bits>]",
      "    Generate a secure 256-bit user password. The optional `bits` argument can",
      "    be used to specify a different size.",
      "LIST",
      "    Show users details in config file format.",
      "LOAD",
      "    Reload users from this node's ACL file (replicated).",
      "LOG [<count> | RESET]",
      "    Show the ACL log entries.",
      "SAVE",
      "    Save the current config to this node's ACL file.",
      "SETUSER <username> <attribute> [<attribute> ...]",
      "    Create or modify a user with the specified attributes (replicated).",
      "USERS",
      "    List all the registered usernames.",
      "WHOAMI",
      "    Return the current connection username.",
      "HELP",
      "    Print this help.",
  };
  w.array(std::size(kLines));
  for (std::string_view l : kLines) w.simple(l);
}

}  // namespace

// ---- checks ----------------------------------------------------------------------------------

bool Node::protected_mode_refuses(const Session& s) const {
  return config_.protected_mode && listening_non_loopback_ && !s.local &&
         acl_.default_without_password();
}

void Node::log_acl_denial(Session& s, std::string reason, std::string object,
                          std::string username) {
  acl_.log_denial(AclLogEntry{.reason = std::move(reason),
                              .context = s.in_multi ? "multi" : "toplevel",
                              .object = std::move(object),
                              .username = std::move(username),
                              .client_info = client_info_line(s)},
                  now_ms());
}

bool Node::acl_admits(const std::shared_ptr<Session>& s, const ReplyTo& to,
                      const resp::CommandSpec& spec, std::span<const std::string_view> argv) {
  if (protected_mode_refuses(*s)) {
    reply_error(to, kProtectedModeDenied);
    s->close_after_flush();
    return false;
  }
  if (!s->authenticated) {
    if (spec.has(resp::kNoAuth)) return true;
    reply_error(to, "NOAUTH Authentication required.");
    return false;
  }
  if (spec.has(resp::kNoAuth)) return true;  // AUTH and HELLO: every user may authenticate
  const AclUser* user = acl_.find(s->user);
  AclVerdict verdict;
  if (user == nullptr) {
    verdict = {AclDenial::kCommand, std::string(spec.name)};
  } else {
    verdict = user->check(spec, argv);
  }
  if (verdict.allowed()) return true;
  std::string command(spec.name);
  if (verdict.denial == AclDenial::kCommand) command = verdict.object;
  reply_error(to, fmt::format("NOPERM {}", denial_message(verdict, command)));
  log_acl_denial(*s, std::string(denial_reason(verdict.denial)), verdict.object, s->user);
  return false;
}

// ---- AUTH, HELLO -----------------------------------------------------------------------------

void Node::auth_command(NodeCall& c) {
  if (c.argv.size() > 3) {
    c.w.error("ERR syntax error");
    return;
  }
  if (c.argv.size() == 2 && acl_.default_without_password()) {
    c.w.error(
        "ERR AUTH <password> called without any password configured for the default user. Are "
        "you sure your configuration is correct?");
    return;
  }
  const std::string_view username = c.argv.size() == 3 ? c.argv[1] : "default";
  const std::string_view password = c.argv.back();
  const AclUser* user = acl_.find(username);
  if (user == nullptr || !user->password_ok(password)) {
    log_acl_denial(*c.s, "auth", "AUTH", std::string(username));
    c.w.error(kWrongPass);
    return;
  }
  c.s->user = std::string(username);
  c.s->authenticated = true;
  c.w.simple("OK");
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void Node::hello_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  int64_t proto = c.s->protocol;
  size_t i = 1;
  if (argv.size() >= 2) {
    if (!parse_int64(argv[1], &proto)) {
      c.w.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (proto < 2 || proto > 3) {
      c.w.error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  std::string new_name = c.s->name;
  std::optional<std::pair<std::string_view, std::string_view>> auth;
  for (; i < argv.size(); ++i) {
    if (iequals(argv[i], "auth") && i + 2 < argv.size()) {
      auth.emplace(argv[i + 1], argv[i + 2]);
      i += 2;
    } else if (iequals(argv[i], "setname") && i + 1 < argv.size()) {
      if (!valid_client_name(argv[i + 1])) {
        c.w.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
      new_name = std::string(argv[++i]);
    } else {
      c.w.error(fmt::format("ERR Syntax error in HELLO option '{}'", argv[i]));
      return;
    }
  }
  if (auth.has_value()) {
    const AclUser* user = acl_.find(auth->first);
    if (user == nullptr || !user->password_ok(auth->second)) {
      log_acl_denial(*c.s, "auth", "AUTH", std::string(auth->first));
      c.w.error(kWrongPass);
      return;
    }
    c.s->user = std::string(auth->first);
    c.s->authenticated = true;
  }
  if (!c.s->authenticated) {
    c.w.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
        "RESP protocol version at the same time");
    return;
  }
  c.s->protocol = static_cast<int>(proto);
  c.s->name = new_name;
  resp::Writer& w = c.w;
  w.set_protocol(c.s->protocol);
  const bool sentinel = c.s->sentinel_port;  // Sentinel's HELLO has no role
  w.map(sentinel ? 6 : 7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisCompatVersion);
  w.bulk("proto");
  w.integer(c.s->protocol);
  w.bulk("id");
  w.integer(static_cast<int64_t>(c.s->id()));
  w.bulk("mode");
  w.bulk(sentinel ? "sentinel" : "standalone");
  if (!sentinel) {
    w.bulk("role");
    w.bulk(raft().is_leader() ? "master" : "replica");
  }
  w.bulk("modules");
  w.array(0);
}

// ---- ACL (the local subcommands) -------------------------------------------------------------

void Node::acl_command(NodeCall& c) {
  std::span<const std::string_view> argv = c.argv;
  resp::Writer& w = c.w;
  const std::string sub = absl::AsciiStrToLower(absl::string_view(argv[1].data(), argv[1].size()));
  if (sub == "whoami" && argv.size() == 2) {
    w.bulk(c.s->user);
  } else if (sub == "users" && argv.size() == 2) {
    w.array(acl_.users().size());
    for (const auto& [name, u] : acl_.users()) w.bulk(name);
  } else if (sub == "list" && argv.size() == 2) {
    w.array(acl_.users().size());
    for (const auto& [name, u] : acl_.users())
      w.bulk(fmt::format("user {} {}", name, u.describe()));
  } else if (sub == "getuser" && argv.size() == 3) {
    const AclUser* u = acl_.find(argv[2]);
    if (u == nullptr) {
      w.null();
      return;
    }
    w.map(6);
    w.bulk("flags");
    const std::vector<std::string> flags = u->flags();
    w.array(flags.size());
    for (const std::string& f : flags) w.bulk(f);
    w.bulk("passwords");
    w.array(u->password_hashes().size());
    for (const std::string& h : u->password_hashes()) w.bulk(h);
    w.bulk("commands");
    w.bulk(u->describe_commands());
    w.bulk("keys");
    w.bulk(u->describe_keys());
    w.bulk("channels");
    w.bulk(u->describe_channels());
    w.bulk("selectors");
    w.array(0);
  } else if (sub == "cat" && argv.size() <= 3) {
    if (argv.size() == 2) {
      w.array(acl_category_names().size());
      for (std::string_view cat : acl_category_names()) w.bulk(cat);
      return;
    }
    std::vector<size_t> ids;
    const std::string cat =
        absl::AsciiStrToLower(absl::string_view(argv[2].data(), argv[2].size()));
    if (!acl_.index().category(cat, &ids)) {
      w.error(fmt::format("ERR Unknown category '{}'", argv[2]));
      return;
    }
    w.array(ids.size());
    for (size_t id : ids) w.bulk(acl_.index().spec(id).name);
  } else if (sub == "dryrun" && argv.size() >= 4) {
    const AclUser* u = acl_.find(argv[2]);
    const resp::CommandSpec* spec = resp::find_command(argv[3]);
    if (u == nullptr) {
      w.error(fmt::format("ERR User '{}' not found", argv[2]));
    } else if (spec == nullptr) {
      w.error(fmt::format("ERR Command '{}' not found", argv[3]));
    } else if (!resp::arity_ok(*spec, argv.size() - 3)) {
      w.error(fmt::format("ERR wrong number of arguments for '{}' command", spec->name));
    } else {
      AclVerdict v = u->check(*spec, argv.subspan(3));
      if (v.allowed()) {
        w.simple("OK");
      } else if (v.denial == AclDenial::kCommand) {
        w.bulk(fmt::format("This user has no permissions to run the '{}' command", v.object));
      } else {
        w.bulk(fmt::format("This user has no permissions to access the '{}' {}", v.object,
                           denial_reason(v.denial)));
      }
    }
  } else if (sub == "genpass" && argv.size() <= 3) {
    int64_t bits = kAclGenpassBitsDefault;
    if (argv.size() == 3 &&
        (!parse_int64(argv[2], &bits) || bits <= 0 || bits > kAclGenpassBitsMax)) {
      w.error(
          fmt::format("ERR ACL GENPASS argument must be the number of bits for the output "
                      "password, a positive number up to {}",
                      kAclGenpassBitsMax));
      return;
    }
    const size_t chars = static_cast<size_t>((bits + 3) / 4);
    std::vector<unsigned char> random((chars + 1) / 2);
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      w.error("ERR random source failed");
      return;
    }
    std::string hex;
    for (unsigned char b : random) hex += fmt::format("{:02x}", b);
    hex.resize(chars);
    w.bulk(hex);
  } else if (sub == "log" && argv.size() <= 3) {
    int64_t count = 10;
    if (argv.size() == 3 && iequals(argv[2], "reset")) {
      acl_.reset_log();
      w.simple("OK");
      return;
    }
    if (argv.size() == 3 && (!parse_int64(argv[2], &count) || count < 0)) {
      w.error("ERR value is out of range, must be positive");
      return;
    }
    const auto& log = acl_.log();
    const size_t n = std::min(log.size(), static_cast<size_t>(count));
    w.array(n);
    const int64_t now = now_ms();
    for (size_t i = 0; i < n; ++i) {
      const AclLogEntry& e = log[i];
      w.map(7);
      w.bulk("count");
      w.integer(static_cast<int64_t>(e.count));
      w.bulk("reason");
      w.bulk(e.reason);
      w.bulk("context");
      w.bulk(e.context);
      w.bulk("object");
      w.bulk(e.object);
      w.bulk("username");
      w.bulk(e.username);
      w.bulk("age-seconds");
      w.double_value(static_cast<double>(now - e.created_ms) / 1000.0);
      w.bulk("client-info");
      w.bulk(e.client_info);
    }
  } else if (sub == "save" && argv.size() == 2) {
    if (config_.aclfile.empty()) {
      w.error(
          "ERR This Redis instance is not configured to use an ACL file. You may want to "
          "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming "
          "you have a Redis configuration file set) in order to store users in the Redis "
          "configuration.");
      return;
    }
    Status st = storage::write_file_atomic(fs_, config_.aclfile, format_acl_file(acl_.users()));
    if (!st.ok()) {
      spdlog::warn("node {}: ACL SAVE to {} failed: {}", config_.id, config_.aclfile, st.message());
      w.error(
          "ERR There was an error trying to save the ACLs. Please check the server logs for "
          "more information");
      return;
    }
    w.simple("OK");
  } else if (sub == "help" && argv.size() == 2) {
    write_acl_help(w);
  } else {
    w.error(unknown_subcommand_message("acl", argv[1]));
  }
}

}  // namespace bw::server
