// The replicated ACL state: the bootstrap users at start, ACL SETUSER / DELUSER / LOAD and
// CONFIG SET requirepass as log entries (kv::encode_acl_users), and recompiling the users as
// entries and snapshots apply. The rule (acl.h): the replicated state wins once it holds an ACL
// change; the first change carries the leader's whole user set.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "server/args.h"
#include "server/node.h"
#include "storage/file_system.h"

namespace bw::server {

namespace {

bool loopback_host(std::string_view host) {
  return host.starts_with("127.") || host == "::1" || host == "[::1]" || host == "localhost";
}

std::string lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

}  // namespace

std::string Node::read_acl_file(Status* st) const {
  storage::PosixFileSystem fs;
  Result<std::string> text = storage::read_file(fs, config_.aclfile, kAclFileBytesMax);
  if (!text.ok()) {
    *st = text.status();
    return "";
  }
  *st = OkStatus();
  return *std::move(text);
}

Status Node::start_acl() {
  std::optional<std::string> text;
  if (!config_.aclfile.empty()) {
    Status st;
    text = read_acl_file(&st);
    if (!st.ok()) return absl::InvalidArgumentError(fmt::format("aclfile: {}", st.message()));
  }
  if (Status st = acl_.set_bootstrap(config_.requirepass, text); !st.ok()) {
    return absl::InvalidArgumentError(fmt::format("aclfile {}: {}", config_.aclfile, st.message()));
  }
  const size_t colon = config_.listen.rfind(':');
  listening_non_loopback_ = !loopback_host(config_.listen.substr(0, colon));
  sync_acl();
  return OkStatus();
}

void Node::sync_acl() {
  const kv::Store& st = store();
  if (st.acl_index() == acl_.synced_index() && st.acl_index() != 0) return;
  std::map<std::string, std::string, std::less<>> definitions;
  for (const auto& [name, rec] : st.acl_users()) definitions.emplace(name, rec.definition);
  std::vector<std::string> broken;
  if (!acl_.sync(st.acl_index(), definitions, &broken)) return;
  for (const std::string& name : broken) {
    spdlog::error("node {}: replicated ACL user '{}' does not compile; it is not served",
                  config_.id, name);
  }
  // Redis disconnects the clients of a deleted (or disabled) user.
  for (const auto& s : sessions()) {
    if (!s->authenticated) continue;
    const AclUser* u = acl_.find(s->user);
    if (u == nullptr || !u->enabled()) s->close();
  }
}

bool Node::is_acl_write(std::span<const std::string_view> argv) {
  if (argv.size() >= 2 && iequals(argv[0], "acl")) {
    return iequals(argv[1], "setuser") || iequals(argv[1], "deluser") || iequals(argv[1], "load");
  }
  return argv.size() == 4 && iequals(argv[0], "config") && iequals(argv[1], "set") &&
         iequals(argv[2], "requirepass");
}

std::variant<std::vector<std::string>, std::string> Node::prepare_acl_write(
    std::span<const std::string_view> argv) {
  std::vector<std::string> out;
  if (iequals(argv[0], "config")) {
    // CONFIG SET requirepass p is ACL SETUSER default resetpass >p (nopass when empty).
    config_.requirepass = std::string(argv[3]);
    out = {
        "acl", "setuser", "default", "resetpass",
        argv[3].empty() ? std::string("nopass") : fmt::format("#{}", acl_hash_password(argv[3]))};
    return out;
  }
  const std::string sub = lower(argv[1]);
  out = {"acl", sub};
  if (sub == "load") {
    if (config_.aclfile.empty()) {
      return std::string(
          "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
          "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
          "Redis configuration file set) in order to store users in the Redis configuration.");
    }
    Status st;
    std::string text = read_acl_file(&st);
    if (!st.ok()) return fmt::format("ERR Error loading ACLs: {}", st.message());
    Result<std::vector<AclUserLine>> lines = parse_acl_file(text, acl_.index());
    if (!lines.ok()) return fmt::format("ERR {}:{}", config_.aclfile, lines.status().message());
    // Forwarded as the canonical text: passwords already hashed.
    std::string canonical;
    for (const AclUserLine& line : *lines) {
      AclUser u(&acl_.index(), line.name);
      std::vector<std::string_view> rules(line.rules.begin(), line.rules.end());
      (void)u.apply_rules(rules);  // parse_acl_file applied them already
      canonical += fmt::format("user {} {}\n", line.name, u.describe());
    }
    out.push_back(std::move(canonical));
    return out;
  }
  if (sub == "setuser") {
    // Rule errors name the rule as the client wrote it, before passwords become hashes (the
    // leader checks again against its own state).
    const AclUser* known = acl_.find(argv[2]);
    AclUser u = known != nullptr ? *known : AclUser(&acl_.index(), std::string(argv[2]));
    if (Status st = u.apply_rules(argv.subspan(3)); !st.ok()) {
      return fmt::format("ERR {}", st.message());
    }
  }
  for (size_t i = 2; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (sub == "setuser" && i > 2 && (a.starts_with('>') || a.starts_with('<'))) {
      // The plaintext never leaves this node: the leader and the log see its hash.
      out.push_back(fmt::format("{}{}", a[0] == '>' ? '#' : '!', acl_hash_password(a.substr(1))));
    } else {
      out.emplace_back(a);
    }
  }
  return out;
}

void Node::propose_acl(ReplyTo to, std::span<const std::string_view> argv) {
  if (acl_in_flight_) {
    if (acl_waiting_.size() >= kAclWaitingMax) {
      reply_error(to, "TRYAGAIN too many ACL changes waiting; retry the command");
      return;
    }
    acl_waiting_.push_back(AclWaiting{.to = std::move(to),
                                      .argv = std::vector<std::string>(argv.begin(), argv.end())});
    return;
  }
  const kv::Store& st = store();
  const bool replicated = st.acl_index() != 0;
  std::map<std::string, AclUser, std::less<>> users = acl_.users();
  auto base_of = [&](std::string_view name) -> uint64_t {
    auto it = st.acl_users().find(name);
    return it == st.acl_users().end() ? 0 : it->second.index;
  };
  std::vector<kv::AclUserChange> changes;
  const std::string sub = argv.size() >= 2 ? lower(argv[1]) : "";
  int64_t deleted = -1;  // DELUSER: the reply
  bool replace_all = !replicated;
  if (sub == "setuser" && argv.size() >= 3) {
    const std::string name(argv[2]);
    if (name.empty() || name.size() > kAclUserNameBytesMax ||
        name.find_first_of(" \t\r\n") != std::string::npos) {
      reply_error(to, "ERR Usernames can't contain spaces or null characters");
      return;
    }
    auto it = users.find(name);
    AclUser u = it != users.end() ? it->second : AclUser(&acl_.index(), name);
    if (Status s = u.apply_rules(argv.subspan(3)); !s.ok()) {
      reply_error(to, fmt::format("ERR {}", s.message()));
      return;
    }
    changes.push_back({.name = name, .base = base_of(name), .definition = u.describe()});
    users.insert_or_assign(name, std::move(u));
  } else if (sub == "deluser" && argv.size() >= 3) {
    deleted = 0;
    for (std::string_view name : argv.subspan(2)) {
      if (name == "default") {
        reply_error(to, "ERR The 'default' user cannot be removed");
        return;
      }
      if (users.erase(std::string(name)) == 0) continue;
      ++deleted;
      changes.push_back({.name = std::string(name), .base = base_of(name), .definition = ""});
    }
    if (deleted == 0) {
      reply_value(to, kv::Reply::integer_value(0));
      return;
    }
  } else if (sub == "load" && argv.size() == 3) {
    Result<std::vector<AclUserLine>> lines = parse_acl_file(argv[2], acl_.index());
    if (!lines.ok()) {
      reply_error(to, fmt::format("ERR {}", lines.status().message()));
      return;
    }
    users.clear();
    for (const AclUserLine& line : *lines) {
      AclUser u(&acl_.index(), line.name);
      std::vector<std::string_view> rules(line.rules.begin(), line.rules.end());
      (void)u.apply_rules(rules);
      users.insert_or_assign(line.name, std::move(u));
    }
    if (!users.contains("default")) {  // Redis: a file without it keeps a fresh default user
      AclUser d(&acl_.index(), "default");
      const std::string_view rules[] = {"on", "nopass", "~*", "&*", "+@all"};
      (void)d.apply_rules(rules);
      users.insert_or_assign("default", std::move(d));
    }
    replace_all = true;
  } else {
    reply_error(to, "ERR forwarded command is not a well-formed ACL change");
    return;
  }
  kv::AclMode mode = kv::AclMode::kUpdate;
  if (replace_all) {
    // The whole user set: the bootstrap users become replicated with this change.
    mode = kv::AclMode::kReplaceAll;
    changes.clear();
    for (const auto& [name, u] : users)
      changes.push_back({.name = name, .base = 0, .definition = u.describe()});
  }
  std::string payload = kv::encode_acl_users(mode, st.acl_index(), changes, now_ms());
  Session* session = to.session.get();
  auto done = [this, to, deleted](const Status& s, const kv::Reply& r) {
    if (!s.ok()) {
      reply_error(to, std::string(s.message()));
    } else if (deleted >= 0 && r.kind == kv::Reply::Kind::kSimple) {
      reply_value(to, kv::Reply::integer_value(deleted));
    } else {
      reply_value(to, r);
    }
    // The next waiting change is computed once this one's effect is in the compiled users.
    acl_in_flight_ = false;
    asio::post(io_, [this] { propose_waiting_acl(); });
  };
  Result<LogIndex> index =
      replica_->propose(std::move(payload), std::move(done), reinterpret_cast<uintptr_t>(session));
  if (!index.ok()) {
    reply_error(to, fmt::format("TRYAGAIN {}", index.status().message()));
    return;
  }
  acl_in_flight_ = true;
  if (session != nullptr) session->last_write_index = index->value();
  schedule_flush();
}

void Node::propose_waiting_acl() {
  while (!acl_in_flight_ && !acl_waiting_.empty()) {
    AclWaiting next = std::move(acl_waiting_.front());
    acl_waiting_.pop_front();
    if (next.to.session != nullptr && next.to.session->closed()) continue;
    std::vector<std::string_view> argv(next.argv.begin(), next.argv.end());
    route_write(std::move(next.to), argv);  // forwarded if this node no longer leads
  }
}

}  // namespace bw::server
