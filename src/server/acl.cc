#include "server/acl.h"

#include <fmt/format.h>

namespace bw::server {

std::vector<std::string_view> split_acl_rules(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<std::vector<AclUserLine>> parse_acl_file(std::string_view text,
                                                const AclCommandIndex& index) {
  if (text.size() > kAclFileBytesMax) return absl::InvalidArgumentError("the aclfile is too large");
  std::vector<AclUserLine> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::vector<std::string_view> words = split_acl_rules(line);
    if (words.empty() || words[0].starts_with('#')) continue;
    if (words[0] != "user" || words.size() < 2) {
      return absl::InvalidArgumentError(
          fmt::format("line {}: should start with user keyword", line_no));
    }
    if (words[1].size() > kAclUserNameBytesMax || words[1].empty()) {
      return absl::InvalidArgumentError(fmt::format("line {}: bad user name", line_no));
    }
    for (const AclUserLine& u : out) {
      if (u.name == words[1]) {
        return absl::InvalidArgumentError(
            fmt::format("line {}: duplicate user '{}' found", line_no, words[1]));
      }
    }
    if (out.size() >= kAclFileUsersMax) {
      return absl::InvalidArgumentError(fmt::format("line {}: too many users", line_no));
    }
    AclUser user(&index, std::string(words[1]));
    std::span<const std::string_view> rules(words.begin() + 2, words.end());
    if (Status st = user.apply_rules(rules); !st.ok()) {
      return absl::InvalidArgumentError(fmt::format("line {}: {}", line_no, st.message()));
    }
    AclUserLine parsed{.name = std::string(words[1]), .rules = {}};
    for (std::string_view r : rules) parsed.rules.emplace_back(r);
    out.push_back(std::move(parsed));
  }
  return out;
}

std::string format_acl_file(const std::map<std::string, AclUser, std::less<>>& users) {
  std::string out;
  for (const auto& [name, user] : users) out += fmt::format("user {} {}\n", name, user.describe());
  return out;
}

AclRegistry::AclRegistry() {
  (void)set_bootstrap("", std::nullopt);
  users_ = bootstrap_;
}

Status AclRegistry::set_bootstrap(std::string_view requirepass,
                                  std::optional<std::string_view> aclfile_text) {
  std::map<std::string, AclUser, std::less<>> users;
  AclUser def(&index_, "default");
  std::vector<std::string> rules = {"on", "~*", "&*", "+@all"};
  rules.push_back(requirepass.empty() ? "nopass" : fmt::format(">{}", requirepass));
  std::vector<std::string_view> views(rules.begin(), rules.end());
  BW_RETURN_IF_ERROR(def.apply_rules(views));
  users.insert_or_assign("default", std::move(def));
  if (aclfile_text.has_value()) {
    BW_ASSIGN_OR_RETURN(std::vector<AclUserLine> lines, parse_acl_file(*aclfile_text, index_));
    for (const AclUserLine& line : lines) {
      AclUser u(&index_, line.name);
      std::vector<std::string_view> r(line.rules.begin(), line.rules.end());
      BW_RETURN_IF_ERROR(u.apply_rules(r));
      users.insert_or_assign(line.name, std::move(u));
    }
  }
  bootstrap_ = std::move(users);
  if (!replicated()) users_ = bootstrap_;
  return OkStatus();
}

bool AclRegistry::sync(uint64_t acl_index,
                       const std::map<std::string, std::string, std::less<>>& definitions,
                       std::vector<std::string>* broken) {
  if (synced_once_ && acl_index == replicated_index_) return false;
  synced_once_ = true;
  replicated_index_ = acl_index;
  if (acl_index == 0) {
    users_ = bootstrap_;
    return true;
  }
  users_.clear();
  for (const auto& [name, definition] : definitions) {
    AclUser u(&index_, name);
    if (!u.apply_rules(split_acl_rules(definition)).ok()) {
      broken->push_back(name);
      continue;
    }
    users_.insert_or_assign(name, std::move(u));
  }
  return true;
}

const AclUser* AclRegistry::find(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

bool AclRegistry::default_open() const {
  const AclUser* d = find("default");
  return d != nullptr && d->enabled() && d->nopass();
}

bool AclRegistry::default_without_password() const {
  const AclUser* d = find("default");
  return d != nullptr && d->nopass();
}

void AclRegistry::log_denial(const AclLogEntry& entry, int64_t now_ms) {
  for (AclLogEntry& e : log_) {
    if (e.reason == entry.reason && e.context == entry.context && e.object == entry.object &&
        e.username == entry.username && now_ms - e.updated_ms < kAclLogGroupMs) {
      ++e.count;
      e.updated_ms = now_ms;
      e.client_info = entry.client_info;
      return;
    }
  }
  AclLogEntry e = entry;
  e.created_ms = e.updated_ms = now_ms;
  log_.push_front(std::move(e));
  while (log_.size() > kAclLogEntriesMax) log_.pop_back();
}

}  // namespace bw::server
