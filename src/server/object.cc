#include "server/object.h"

#include <fmt/format.h>

#include <charconv>

#include "server/args.h"
#include "server/reply.h"

namespace bw::server {

namespace {

kv::Reply read(const kv::Store& store, std::initializer_list<std::string_view> argv) {
  const std::vector<std::string_view> v(argv);
  return store.read(v, 0, 0);
}

// Redis's string2ll over the whole string, at most 20 bytes: what it stores as an int.
bool canonical_integer(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") return true;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size() || s[i] == '0') return false;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

// The encoding Redis 7.0 gives the value after building it with the same writes; nullopt if
// the key is absent. A Redis value that once outgrew its compact encoding keeps the large one
// after shrinking: this answer depends on the contents only.
std::optional<std::string_view> encoding(const kv::Store& store, std::string_view key) {
  const kv::Reply type = read(store, {"TYPE", key});
  if (type.str == "string") {
    const std::string value = read(store, {"GET", key}).str;
    if (canonical_integer(value)) return "int";
    return value.size() <= kEmbstrBytesMax ? "embstr" : "raw";
  }
  if (type.str == "hash") {
    if (read(store, {"HLEN", key}).integer > kListpackHashEntriesMax) return "hashtable";
    for (const kv::Reply& r : read(store, {"HGETALL", key}).elements) {
      if (r.str.size() > kListpackHashValueBytesMax) return "hashtable";
    }
    return "listpack";
  }
  if (type.str == "list") return "quicklist";
  if (type.str == "set") {
    if (read(store, {"SCARD", key}).integer > kIntsetEntriesMax) return "hashtable";
    for (const kv::Reply& r : read(store, {"SMEMBERS", key}).elements) {
      if (!canonical_integer(r.str)) return "hashtable";
    }
    return "intset";
  }
  return std::nullopt;
}

}  // namespace

void write_object_reply(const kv::Store& store, std::span<const std::string_view> argv,
                        resp::Writer& w) {
  const std::string_view sub = argv[1];
  const bool keyed = iequals(sub, "encoding") || iequals(sub, "refcount");
  if (keyed && argv.size() != 3) {
    w.error(fmt::format("ERR wrong number of arguments for 'object|{}' command",
                        iequals(sub, "encoding") ? "encoding" : "refcount"));
  } else if (keyed) {
    std::optional<std::string_view> enc = encoding(store, argv[2]);
    if (!enc) {
      w.null();
    } else if (iequals(sub, "encoding")) {
      w.bulk(*enc);
    } else {
      // Redis shares the integers 0-9999 (OBJ_SHARED_INTEGERS) with OBJ_SHARED_REFCOUNT.
      int64_t n = -1;
      const std::string value = *enc == "int" ? read(store, {"GET", argv[2]}).str : "";
      std::from_chars(value.data(), value.data() + value.size(), n);
      w.integer(*enc == "int" && n >= 0 && n < 10000 ? 2147483647 : 1);
    }
  } else if (iequals(sub, "help") && argv.size() == 2) {
    write_help(w, "OBJECT",
               {"ENCODING <key>",
                "    Return the kind of internal representation used in order to store the value",
                "    associated with a <key>.", "REFCOUNT <key>",
                "    Return the number of references of the value associated with the specified",
                "    <key>."});
  } else {
    w.error(unknown_subcommand_message("object", sub));
  }
}

}  // namespace bw::server
