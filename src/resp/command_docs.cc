// COMMAND INFO / COMMAND DOCS replies in Redis 7's formats, derived from the command table.
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "resp/command_table.h"

namespace bw::resp {
namespace {

// absl::StrSplit would need absl::string_view, which this abseil build does not alias to
// std::string_view.
std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = s.find(separator);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

struct FlagName {
  uint32_t flag;
  std::string_view name;
};

// In Redis's reply order.
constexpr FlagName kFlagNames[] = {
    {kWrite, "write"},
    {kReadonly, "readonly"},
    {kDenyOom, "denyoom"},
    {kAdmin, "admin"},
    {kPubSub, "pubsub"},
    {kNoScript, "noscript"},
    {kBlocking, "blocking"},
    {kLoading, "loading"},
    {kStale, "stale"},
    {kSkipMonitor, "skip_monitor"},
    {kSkipSlowlog, "skip_slowlog"},
    {kFast, "fast"},
    {kNoAuth, "no_auth"},
    {kMayReplicate, "may_replicate"},
    {kNoMandatoryKeys, "no_mandatory_keys"},
    {kNoMulti, "no_multi"},
    {kMovableKeys, "movablekeys"},
    {kAllowBusy, "allow_busy"},
};

std::vector<std::string_view> flag_names(const CommandSpec& spec) {
  std::vector<std::string_view> names;
  for (const FlagName& f : kFlagNames) {
    if (spec.has(f.flag)) names.push_back(f.name);
  }
  return names;
}

void write_status_set(Writer& w, const std::vector<std::string_view>& items) {
  w.set(items.size());
  for (std::string_view s : items) w.simple(s);
}

// A key spec found from argv[index]: its flags and begin_search, then the find_keys map of
// `find_type` with its three (name, value) parameters.
void write_key_spec_of(Writer& w, const std::vector<std::string_view>& flags, int index,
                       std::string_view find_type,
                       std::initializer_list<std::pair<std::string_view, int>> params) {
  w.map(3);
  w.bulk("flags");
  write_status_set(w, flags);
  w.bulk("begin_search");
  w.map(2);
  w.bulk("type");
  w.bulk("index");
  w.bulk("spec");
  w.map(1);
  w.bulk("index");
  w.integer(index);
  w.bulk("find_keys");
  w.map(2);
  w.bulk("type");
  w.bulk(find_type);
  w.bulk("spec");
  w.map(params.size());
  for (const auto& [name, value] : params) {
    w.bulk(name);
    w.integer(value);
  }
}

void write_key_spec(Writer& w, const std::vector<std::string_view>& flags, int index, int last_key,
                    int key_step) {
  write_key_spec_of(w, flags, index, "range",
                    {{"lastkey", last_key}, {"keystep", key_step}, {"limit", 0}});
}

// A "keynum" key spec: the key count at `index`, the keys right after it.
void write_keynum_spec(Writer& w, const std::vector<std::string_view>& flags, int index) {
  write_key_spec_of(w, flags, index, "keynum", {{"keynumidx", 0}, {"firstkey", 1}, {"keystep", 1}});
}

void write_key_specs(Writer& w, const CommandSpec& spec) {
  if (spec.key_count_index > 0) {
    w.set(1);
    write_keynum_spec(w, split(spec.key_spec_flags, ' '), spec.key_count_index);
    return;
  }
  if (spec.first_key <= 0) {
    w.set(0);
    return;
  }
  if (spec.key_spec_flags.empty()) {
    std::vector<std::string_view> flags = {"RO"};
    if (spec.has(kWrite)) flags = {"RW", "update"};
    if (spec.has(kReadonly)) flags = {"RO", "access"};
    w.set(1);
    write_key_spec(w, flags, spec.first_key,
                   spec.last_key < 0 ? spec.last_key : spec.last_key - spec.first_key,
                   spec.key_step);
    return;
  }
  // One key spec per '|'-separated part: part i covers the single key at first_key + i * step
  // (RENAME's source and destination), except that when last_key counts from the end the last
  // part covers the rest of the range (SINTERSTORE's sources after its destination); a single
  // part covers the whole first..last range.
  const std::vector<std::string_view> parts = split(spec.key_spec_flags, '|');
  w.set(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::vector<std::string_view> flags = split(parts[i], ' ');
    if (parts.size() == 1) {
      write_key_spec(w, flags, spec.first_key,
                     spec.last_key < 0 ? spec.last_key : spec.last_key - spec.first_key,
                     spec.key_step);
    } else if (i + 1 == parts.size() && spec.last_key < 0) {
      write_key_spec(w, flags, spec.first_key + static_cast<int>(i) * spec.key_step, spec.last_key,
                     spec.key_step);
    } else {
      write_key_spec(w, flags, spec.first_key + static_cast<int>(i) * spec.key_step, 0, 1);
    }
  }
}

// One argument of a synopsis, in COMMAND DOCS's shape.
struct Arg {
  std::string name;
  std::string_view type;
  std::string token;
  bool optional = false;
  bool multiple = false;
  bool multiple_token = false;
  std::vector<Arg> children;
};

bool is_token_word(std::string_view w) {
  bool upper = false;
  for (char c : w) {
    if (absl::ascii_islower(c)) return false;
    if (absl::ascii_isupper(c)) upper = true;
  }
  return upper;
}

std::string_view argument_type(std::string_view name) {
  if (name == "key" || name == "newkey") return "key";
  if (name == "pattern") return "pattern";
  if (name.starts_with("unix-time")) return "unix-time";
  static constexpr std::string_view kIntegers[] = {
      "seconds",  "milliseconds", "increment",  "decrement",        "start",   "end",
      "offset",   "count",        "cursor",     "numreplicas",      "timeout", "index",
      "protover", "ttl-ms",       "timeout-ms", "expected-version", "version", "token",
      "lease-id", "client-id"};
  for (std::string_view i : kIntegers) {
    if (name == i) return "integer";
  }
  return "string";
}

// Parses the table's synopsis grammar: UPPER tokens (bound to a following lowercase argument),
// lowercase arguments, [optional], <required group>, a | b alternatives, "x [x ...]" repetition.
class SynopsisParser {
 public:
  explicit SynopsisParser(std::string_view text) { tokenize(text); }

  std::vector<Arg> parse() {
    size_t i = 0;
    std::vector<Arg> top;
    Arg group = parse_group(&i, "");
    if (group.type == "block" && !group.optional && !group.multiple) {
      return std::move(group.children);
    }
    if (!group.name.empty() || !group.children.empty()) top.push_back(std::move(group));
    return top;
  }

 private:
  void tokenize(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == ' ') {
        ++i;
      } else if (c == '[' || c == ']' || c == '<' || c == '>' || c == '|') {
        tokens_.push_back(text.substr(i, 1));
        ++i;
      } else {
        size_t j = i;
        while (j < text.size() &&
               std::string_view(" []<>|").find(text[j]) == std::string_view::npos)
          ++j;
        tokens_.push_back(text.substr(i, j - i));
        i = j;
      }
    }
  }

  std::string_view at(size_t i) const { return i < tokens_.size() ? tokens_[i] : ""; }

  static Arg combine(std::vector<Arg> items, std::string_view type) {
    if (items.size() == 1 && type == "block") return std::move(items[0]);
    Arg a;
    a.type = type;
    std::vector<std::string> names;
    for (const Arg& c : items) names.push_back(c.name);
    a.name = absl::StrJoin(names, "-");
    a.children = std::move(items);
    return a;
  }

  // Marks the last `count` items of *items as one repeated argument.
  static void mark_repeated(std::vector<Arg>* items, size_t count) {
    if (count == 0 || count > items->size()) return;
    std::vector<Arg> repeated(std::make_move_iterator(items->end() - count),
                              std::make_move_iterator(items->end()));
    items->resize(items->size() - count);
    Arg a = combine(std::move(repeated), "block");
    a.multiple = true;
    a.multiple_token = !a.token.empty();
    items->push_back(std::move(a));
  }

  Arg parse_group(size_t* i, std::string_view closer) {
    std::vector<std::vector<Arg>> alternatives(1);
    while (*i < tokens_.size() && at(*i) != closer) {
      const std::string_view tok = at(*i);
      if (tok == "|") {
        alternatives.emplace_back();
        ++*i;
      } else if (tok == "[" || tok == "<") {
        ++*i;
        const size_t start = *i;
        Arg inner = parse_group(i, tok == "[" ? "]" : ">");
        const bool repeat = *i > start && at(*i - 1) == "...";
        ++*i;  // the closer
        if (repeat) {
          mark_repeated(&alternatives.back(), inner.type == "block" ? inner.children.size() : 1);
          continue;
        }
        inner.optional = tok == "[";
        alternatives.back().push_back(std::move(inner));
      } else if (tok == "...") {
        ++*i;
      } else if (tok == "]" || tok == ">") {
        ++*i;  // unbalanced closer: ignore
      } else {
        alternatives.back().push_back(parse_word(i));
      }
    }
    std::vector<Arg> alts;
    for (auto& items : alternatives) {
      if (!items.empty()) alts.push_back(combine(std::move(items), "block"));
    }
    if (alts.size() > 1) return combine(std::move(alts), "oneof");
    if (alts.size() == 1) return std::move(alts[0]);
    return Arg{};
  }

  Arg parse_word(size_t* i) {
    const std::string_view word = at(*i);
    ++*i;
    Arg a;
    if (is_token_word(word)) {
      a.token = std::string(word);
      const std::string_view next = at(*i);
      if (!next.empty() && next != "..." &&
          std::string_view("[]<>|").find(next[0]) == std::string_view::npos &&
          !is_token_word(next)) {
        a.name = std::string(next);
        a.type = argument_type(next);
        ++*i;
      } else {
        a.name = std::string(word);
        absl::AsciiStrToLower(&a.name);
        a.type = "pure-token";
      }
    } else {
      a.name = std::string(word);
      a.type = argument_type(word);
    }
    return a;
  }

  std::vector<std::string_view> tokens_;
};

void write_arg(Writer& w, const Arg& a) {
  std::vector<std::string_view> flags;
  if (a.optional) flags.push_back("optional");
  if (a.multiple) flags.push_back("multiple");
  if (a.multiple_token) flags.push_back("multiple_token");
  const bool key = a.type == "key";
  w.map(2 + (key ? 1 : 0) + (a.token.empty() ? 0 : 1) + (flags.empty() ? 0 : 1) +
        (a.children.empty() ? 0 : 1));
  w.bulk("name");
  w.bulk(a.name);
  w.bulk("type");
  w.bulk(a.type);
  if (key) {
    w.bulk("key_spec_index");
    w.integer(0);
  }
  if (!a.token.empty()) {
    w.bulk("token");
    w.bulk(a.token);
  }
  if (!flags.empty()) {
    w.bulk("flags");
    w.array(flags.size());
    for (std::string_view f : flags) w.simple(f);
  }
  if (!a.children.empty()) {
    w.bulk("arguments");
    w.array(a.children.size());
    for (const Arg& c : a.children) write_arg(w, c);
  }
}

void write_one_doc(Writer& w, const CommandSpec& spec) {
  const std::vector<Arg> args = SynopsisParser(spec.arguments).parse();
  w.map(3 + (args.empty() ? 0 : 1) + (spec.subcommands.empty() ? 0 : 1));
  w.bulk("summary");
  w.bulk(spec.summary);
  w.bulk("since");
  w.bulk(spec.since);
  w.bulk("group");
  w.bulk(spec.group);
  if (!args.empty()) {
    w.bulk("arguments");
    w.array(args.size());
    for (const Arg& a : args) write_arg(w, a);
  }
  if (!spec.subcommands.empty()) {
    w.bulk("subcommands");
    w.map(spec.subcommands.size());
    for (const CommandSpec& sub : spec.subcommands) {
      w.bulk(sub.name);
      write_one_doc(w, sub);
    }
  }
}

}  // namespace

// ACL categories follow from flags and group (Redis lists them per command; this derivation
// matches it for the commands we serve closely enough for clients, which only display them).
std::vector<std::string_view> acl_categories(const CommandSpec& spec) {
  if (!spec.acl_categories.empty()) return split(spec.acl_categories, ' ');
  std::vector<std::string_view> cats;
  const std::string_view group = spec.group;
  if (group == "generic") cats.push_back("@keyspace");
  if (spec.has(kReadonly)) cats.push_back("@read");
  if (spec.has(kWrite)) cats.push_back("@write");
  if (group == "string") cats.push_back("@string");
  if (group == "pubsub") cats.push_back("@pubsub");
  if (spec.has(kAdmin)) cats.push_back("@admin");
  cats.push_back(spec.has(kFast) ? "@fast" : "@slow");
  if (spec.has(kBlocking)) cats.push_back("@blocking");
  if (spec.has(kAdmin)) cats.push_back("@dangerous");
  if (group == "connection") cats.push_back("@connection");
  if (group == "transactions") cats.push_back("@transaction");
  return cats;
}

void write_command_info(Writer& w, const CommandSpec* spec) {
  if (spec == nullptr) {
    w.null();
    return;
  }
  w.array(10);
  w.bulk(spec->name);
  w.integer(spec->arity);
  write_status_set(w, flag_names(*spec));
  w.integer(spec->first_key);
  w.integer(spec->last_key);
  w.integer(spec->key_step);
  write_status_set(w, acl_categories(*spec));
  const std::vector<std::string_view> tips =
      spec->tips.empty() ? std::vector<std::string_view>{} : split(spec->tips, ' ');
  w.set(tips.size());
  for (std::string_view tip : tips) w.bulk(tip);
  write_key_specs(w, *spec);
  if (spec->subcommands.empty()) {
    w.set(0);
  } else {
    w.array(spec->subcommands.size());
    for (const CommandSpec& sub : spec->subcommands) write_command_info(w, &sub);
  }
}

void write_command_docs(Writer& w, std::span<const CommandSpec* const> specs) {
  size_t known = 0;
  for (const CommandSpec* spec : specs) known += spec != nullptr ? 1 : 0;
  w.map(known);
  for (const CommandSpec* spec : specs) {
    if (spec == nullptr) continue;
    w.bulk(spec->name);
    write_one_doc(w, *spec);
  }
}

void write_all_command_info(Writer& w) {
  const std::span<const CommandSpec> all = all_commands();
  w.array(all.size());
  for (const CommandSpec& spec : all) write_command_info(w, &spec);
}

void write_command_list(Writer& w) {
  const std::span<const CommandSpec> all = all_commands();
  w.array(all.size());
  for (const CommandSpec& spec : all) w.bulk(spec.name);
}

}  // namespace bw::resp
