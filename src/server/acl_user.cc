#include "server/acl_user.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/assert.h"
#include "common/glob.h"

namespace bw::server {

namespace {

constexpr std::array<std::string_view, 21> kCategories = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};

constexpr std::string_view kSyntaxError = "Syntax error";
constexpr std::string_view kUnknownName = "Unknown command or category name in ACL";
constexpr std::string_view kNoSuchPassword =
    "The password you are trying to remove from the user does not exist";
constexpr std::string_view kBadHash =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
    "characters";
constexpr std::string_view kKeyAfterAll =
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
    "any effect. Try 'resetkeys' to start with an empty list of patterns";
constexpr std::string_view kChannelAfterAll =
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
    "have any effect. Try 'resetchannels' to start with an empty list of channels";

Status rule_error(std::string_view reason) {
  return absl::InvalidArgumentError(std::string(reason));
}

bool is_sha256_hex(std::string_view h) {
  return h.size() == 64 && std::ranges::all_of(h, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool ieq(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// The key-spec flags of the `k`-th key (0-based) of `spec`: the table's part for that key, the
// last part for the keys after it, or flags derived as COMMAND INFO derives them.
std::string_view key_flags(const resp::CommandSpec& spec, size_t k) {
  if (spec.key_spec_flags.empty()) {
    if (spec.has(resp::kWrite)) return "RW update";
    if (spec.has(resp::kReadonly)) return "RO access";
    return "RO";
  }
  std::string_view rest = spec.key_spec_flags;
  for (size_t i = 0; i < k; ++i) {
    const size_t bar = rest.find('|');
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return rest.substr(0, rest.find('|'));
}

bool has_word(std::string_view words, std::string_view word) {
  while (!words.empty()) {
    const size_t sp = words.find(' ');
    if (ieq(words.substr(0, sp), word)) return true;
    if (sp == std::string_view::npos) break;
    words.remove_prefix(sp + 1);
  }
  return false;
}

// Which arguments of a command are channels, and whether they are patterns.
struct ChannelArgs {
  size_t first = 0;  // 0: the command names no channels
  bool all_rest = false;
  bool patterns = false;
};
ChannelArgs channel_args(std::string_view name) {
  if (name == "publish" || name == "spublish") return {.first = 1};
  if (name == "subscribe" || name == "ssubscribe") return {.first = 1, .all_rest = true};
  if (name == "psubscribe") return {.first = 1, .all_rest = true, .patterns = true};
  return {};
}

}  // namespace

std::span<const std::string_view> acl_category_names() {
  return kCategories;
}

std::string acl_hash_password(std::string_view password) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  const int ok =
      EVP_Digest(password.data(), password.size(), md.data(), &len, EVP_sha256(), nullptr);
  BW_ASSERT(ok == 1 && len == 32, "SHA-256 failed");
  std::string hex;
  hex.reserve(64);
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// ---- the command index -----------------------------------------------------------------------

AclCommandIndex::AclCommandIndex() : categories_(kCategories.size()) {
  for (const resp::CommandSpec& spec : resp::all_commands()) {
    if (spec.subcommands.empty()) {
      specs_.push_back(&spec);
    } else {
      for (const resp::CommandSpec& sub : spec.subcommands) specs_.push_back(&sub);
    }
  }
  for (size_t id = 0; id < specs_.size(); ++id) {
    ids_.emplace(specs_[id], id);
    for (std::string_view c : resp::acl_categories(*specs_[id])) {
      auto it = std::ranges::find(kCategories, c.substr(c.starts_with('@') ? 1 : 0));
      if (it != kCategories.end())
        categories_[static_cast<size_t>(it - kCategories.begin())].push_back(id);
    }
  }
}

size_t AclCommandIndex::id_of(const resp::CommandSpec* spec) const {
  auto it = ids_.find(spec);
  return it == ids_.end() ? SIZE_MAX : it->second;
}

bool AclCommandIndex::category(std::string_view name, std::vector<size_t>* ids) const {
  auto it = std::ranges::find(kCategories, name);
  if (it == kCategories.end()) return false;
  const std::vector<size_t>& of = categories_[static_cast<size_t>(it - kCategories.begin())];
  ids->insert(ids->end(), of.begin(), of.end());
  return true;
}

// ---- rules -----------------------------------------------------------------------------------

AclUser::AclUser(const AclCommandIndex* index, std::string name)
    : index_(index), name_(std::move(name)), allowed_(index->size(), false) {}

void AclUser::set_all_commands(bool allowed) {
  allowed_.assign(index_->size(), allowed);
  all_commands_ = allowed;
}

Status AclUser::apply_rules(std::span<const std::string_view> rules) {
  AclUser copy = *this;
  for (std::string_view rule : rules) {
    if (Status st = copy.apply_rule(rule); !st.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("Error in ACL SETUSER modifier '{}': {}", rule, st.message()));
    }
  }
  *this = std::move(copy);
  return OkStatus();
}

Status AclUser::apply_rule(std::string_view rule) {
  if (rule.size() > kAclRuleBytesMax) return rule_error("Rule too long");
  if (ieq(rule, "on")) {
    enabled_ = true;
  } else if (ieq(rule, "off")) {
    enabled_ = false;
  } else if (ieq(rule, "nopass")) {
    nopass_ = true;
    passwords_.clear();
  } else if (ieq(rule, "resetpass")) {
    nopass_ = false;
    passwords_.clear();
  } else if (ieq(rule, "sanitize-payload")) {
    sanitize_payload_ = true;
    skip_sanitize_payload_ = false;
  } else if (ieq(rule, "skip-sanitize-payload")) {
    sanitize_payload_ = false;
    skip_sanitize_payload_ = true;
  } else if (ieq(rule, "allkeys") || rule == "~*") {
    all_keys_ = true;
    keys_.clear();
  } else if (ieq(rule, "resetkeys")) {
    all_keys_ = false;
    keys_.clear();
  } else if (ieq(rule, "allchannels") || rule == "&*") {
    all_channels_ = true;
    channels_.clear();
  } else if (ieq(rule, "resetchannels")) {
    all_channels_ = false;
    channels_.clear();
  } else if (ieq(rule, "allcommands") || ieq(rule, "+@all")) {
    set_all_commands(true);
  } else if (ieq(rule, "nocommands") || ieq(rule, "-@all")) {
    set_all_commands(false);
  } else if (ieq(rule, "clearselectors")) {
    // No selectors exist.
  } else if (ieq(rule, "reset")) {
    *this = AclUser(index_, std::move(name_));
    sanitize_payload_ = true;
  } else if (rule.starts_with('>') || rule.starts_with('#')) {
    std::string hash;
    if (rule[0] == '>') {
      hash = acl_hash_password(rule.substr(1));
    } else {
      if (!is_sha256_hex(rule.substr(1))) return rule_error(kBadHash);
      hash = std::string(rule.substr(1));
    }
    if (std::ranges::find(passwords_, hash) == passwords_.end()) {
      if (passwords_.size() >= kAclPasswordsMax) return rule_error("Too many passwords");
      passwords_.push_back(std::move(hash));
    }
    nopass_ = false;
  } else if (rule.starts_with('<') || rule.starts_with('!')) {
    std::string hash;
    if (rule[0] == '<') {
      hash = acl_hash_password(rule.substr(1));
    } else {
      if (!is_sha256_hex(rule.substr(1))) return rule_error(kBadHash);
      hash = std::string(rule.substr(1));
    }
    auto it = std::ranges::find(passwords_, hash);
    if (it == passwords_.end()) return rule_error(kNoSuchPassword);
    passwords_.erase(it);
    nopass_ = false;
  } else if (rule.starts_with('~') || rule.starts_with('%')) {
    return key_rule(rule);
  } else if (rule.starts_with('&')) {
    return channel_rule(rule);
  } else if (rule.starts_with('+') || rule.starts_with('-')) {
    return command_rule(rule.substr(1), rule[0] == '+');
  } else if (rule.starts_with('(')) {
    return rule_error("Selectors are not supported");
  } else {
    return rule_error(kSyntaxError);
  }
  return OkStatus();
}

Status AclUser::key_rule(std::string_view rule) {
  bool read = true;
  bool write = true;
  std::string_view pattern;
  if (rule[0] == '~') {
    pattern = rule.substr(1);
  } else {
    const size_t tilde = rule.find('~');
    if (tilde == std::string_view::npos || tilde == 1) return rule_error(kSyntaxError);
    read = write = false;
    for (char c : rule.substr(1, tilde - 1)) {
      if (c == 'R' || c == 'r') {
        read = true;
      } else if (c == 'W' || c == 'w') {
        write = true;
      } else {
        return rule_error(kSyntaxError);
      }
    }
    pattern = rule.substr(tilde + 1);
  }
  if (all_keys_) return rule_error(kKeyAfterAll);
  for (AclKeyPattern& p : keys_) {
    if (p.pattern == pattern) {
      read = p.read = p.read || read;
      write = p.write = p.write || write;
      break;
    }
  }
  if (pattern == "*" && read && write) {  // "%RW~*" is "~*": one canonical form, allkeys
    all_keys_ = true;
    keys_.clear();
    return OkStatus();
  }
  if (std::ranges::any_of(keys_, [&](const AclKeyPattern& p) { return p.pattern == pattern; })) {
    return OkStatus();
  }
  if (keys_.size() >= kAclPatternsMax) return rule_error("Too many key patterns");
  keys_.push_back(AclKeyPattern{std::string(pattern), read, write});
  return OkStatus();
}

Status AclUser::channel_rule(std::string_view rule) {
  if (all_channels_) return rule_error(kChannelAfterAll);
  std::string_view pattern = rule.substr(1);
  if (std::ranges::find(channels_, pattern) != channels_.end()) return OkStatus();
  if (channels_.size() >= kAclPatternsMax) return rule_error("Too many channel patterns");
  channels_.emplace_back(pattern);
  return OkStatus();
}

Status AclUser::command_rule(std::string_view name, bool allow) {
  if (name.starts_with('@')) {
    std::vector<size_t> ids;
    std::string lower = absl::AsciiStrToLower(absl::string_view(name.data() + 1, name.size() - 1));
    if (!index_->category(lower, &ids)) return rule_error(kUnknownName);
    for (size_t id : ids) allowed_[id] = allow;
    return OkStatus();
  }
  const size_t bar = name.find('|');
  const resp::CommandSpec* spec = resp::find_command(name.substr(0, bar));
  if (spec == nullptr) return rule_error(kUnknownName);
  if (bar != std::string_view::npos) {
    spec = resp::find_subcommand(*spec, name.substr(bar + 1));
    if (spec == nullptr) return rule_error(kUnknownName);
  }
  if (spec->subcommands.empty()) {
    allowed_[index_->id_of(spec)] = allow;
  } else {
    for (const resp::CommandSpec& sub : spec->subcommands) allowed_[index_->id_of(&sub)] = allow;
  }
  return OkStatus();
}

// ---- description -----------------------------------------------------------------------------

std::vector<std::string> AclUser::flags() const {
  std::vector<std::string> out = {enabled_ ? "on" : "off"};
  if (nopass_) out.emplace_back("nopass");
  if (skip_sanitize_payload_) out.emplace_back("skip-sanitize-payload");
  if (sanitize_payload_) out.emplace_back("sanitize-payload");
  return out;
}

// Redis's description: start from +@all or -@all, add (or remove) each category that most of
// the user's commands agree with, then name the single commands that still differ.
std::string AclUser::describe_commands() const {
  const bool additive = !all_commands_;
  std::string rules = additive ? "-@all" : "+@all";
  std::vector<bool> fake(index_->size(), !additive);
  for (std::string_view cat : kCategories) {
    std::vector<size_t> ids;
    index_->category(cat, &ids);
    // A category goes in when it puts right more of its commands than it puts wrong, judged
    // against the categories already taken (a command they cover counts for neither).
    size_t fixes = 0;
    size_t breaks = 0;
    for (size_t id : ids) {
      if (fake[id] == additive) continue;  // already as the category would set it
      (allowed_[id] == additive ? fixes : breaks) += 1;
    }
    if (fixes > breaks) {
      for (size_t id : ids) fake[id] = additive;
      rules += fmt::format(" {}@{}", additive ? '+' : '-', cat);
    }
  }
  for (const resp::CommandSpec& spec : resp::all_commands()) {
    if (spec.subcommands.empty()) {
      const size_t id = index_->id_of(&spec);
      if (allowed_[id] != fake[id])
        rules += fmt::format(" {}{}", allowed_[id] ? '+' : '-', spec.name);
      continue;
    }
    bool uniform = true;
    const bool first = allowed_[index_->id_of(&spec.subcommands[0])];
    for (const resp::CommandSpec& sub : spec.subcommands) {
      const size_t id = index_->id_of(&sub);
      uniform = uniform && allowed_[id] == first && fake[id] != first;
    }
    if (uniform) {
      rules += fmt::format(" {}{}", first ? '+' : '-', spec.name);
      continue;
    }
    for (const resp::CommandSpec& sub : spec.subcommands) {
      const size_t id = index_->id_of(&sub);
      if (allowed_[id] != fake[id])
        rules += fmt::format(" {}{}", allowed_[id] ? '+' : '-', sub.name);
    }
  }
  return rules;
}

std::string AclUser::describe_keys() const {
  if (all_keys_) return "~*";
  std::string out;
  for (const AclKeyPattern& p : keys_) {
    if (!out.empty()) out += ' ';
    out += p.read && p.write ? "~" : (p.read ? "%R~" : "%W~");
    out += p.pattern;
  }
  return out;
}

std::string AclUser::describe_channels() const {
  if (all_channels_) return "&*";
  std::string out;
  for (const std::string& c : channels_) {
    if (!out.empty()) out += ' ';
    out += '&';
    out += c;
  }
  return out;
}

std::string AclUser::describe() const {
  std::string out;
  for (const std::string& f : flags()) {
    if (!out.empty()) out += ' ';
    out += f;
  }
  for (const std::string& h : passwords_) out += fmt::format(" #{}", h);
  if (std::string keys = describe_keys(); !keys.empty()) out += ' ' + keys;
  if (all_channels_) {
    out += " &*";
  } else {
    out += " resetchannels";
    if (!channels_.empty()) out += ' ' + describe_channels();
  }
  out += ' ' + describe_commands();
  return out;
}

// ---- checks ----------------------------------------------------------------------------------

bool AclUser::password_ok(std::string_view password) const {
  if (!enabled_) return false;
  if (nopass_) return true;
  const std::string hash = acl_hash_password(password);
  bool match = false;
  for (const std::string& h : passwords_) {
    match = match || CRYPTO_memcmp(h.data(), hash.data(), hash.size()) == 0;
  }
  return match;
}

bool AclUser::command_allowed(const resp::CommandSpec& spec,
                              std::span<const std::string_view> argv) const {
  if (spec.subcommands.empty()) {
    const size_t id = index_->id_of(&spec);
    return id != SIZE_MAX && allowed_[id];
  }
  // An unknown subcommand gets the command's own error; it reaches nothing.
  const resp::CommandSpec* sub = argv.size() > 1 ? resp::find_subcommand(spec, argv[1]) : nullptr;
  if (sub == nullptr) return true;
  return allowed_[index_->id_of(sub)];
}

bool AclUser::key_allowed(std::string_view key, bool read, bool write) const {
  if (all_keys_) return true;
  for (const AclKeyPattern& p : keys_) {
    if ((read && !p.read) || (write && !p.write)) continue;
    if (glob_match(p.pattern, key)) return true;
  }
  return false;
}

bool AclUser::channel_allowed(std::string_view channel, bool is_pattern) const {
  if (all_channels_) return true;
  for (const std::string& p : channels_) {
    // A PSUBSCRIBE pattern must be one the user holds, literally (Redis's rule).
    if (is_pattern ? p == channel : glob_match(p, channel)) return true;
  }
  return false;
}

AclVerdict AclUser::check(const resp::CommandSpec& spec,
                          std::span<const std::string_view> argv) const {
  if (!command_allowed(spec, argv)) {
    const resp::CommandSpec* sub = spec.subcommands.empty() || argv.size() < 2
                                       ? nullptr
                                       : resp::find_subcommand(spec, argv[1]);
    return {AclDenial::kCommand, std::string(sub != nullptr ? sub->name : spec.name)};
  }
  const resp::CommandSpec* keyed = &spec;
  if (!spec.subcommands.empty() && argv.size() > 1) {
    if (const resp::CommandSpec* sub = resp::find_subcommand(spec, argv[1])) keyed = sub;
  }
  if (!all_keys_ && (keyed->first_key > 0 || keyed->key_count_index > 0)) {
    const std::vector<size_t> indexes = resp::command_key_indexes(*keyed, argv);
    for (size_t k = 0; k < indexes.size(); ++k) {
      const std::string_view flags = key_flags(*keyed, k);
      const bool read = has_word(flags, "access");
      const bool write =
          has_word(flags, "insert") || has_word(flags, "delete") || has_word(flags, "update");
      if (!key_allowed(argv[indexes[k]], read, write)) {
        return {AclDenial::kKey, std::string(argv[indexes[k]])};
      }
    }
  }
  const ChannelArgs ch = channel_args(spec.name);
  if (!all_channels_ && ch.first != 0) {
    const size_t end = ch.all_rest ? argv.size() : std::min(argv.size(), ch.first + 1);
    for (size_t i = ch.first; i < end; ++i) {
      if (!channel_allowed(argv[i], ch.patterns))
        return {AclDenial::kChannel, std::string(argv[i])};
    }
  }
  return {};
}

}  // namespace bw::server
