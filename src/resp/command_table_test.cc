#include "resp/command_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"

namespace bw::resp {
namespace {

using ::testing::ElementsAre;

// A decoded RESP2/RESP3 value, enough to check the structure of the COMMAND replies.
struct Value {
  char type = 0;
  std::string str;
  int64_t n = 0;
  std::vector<Value> elems;  // maps: key, value, key, value, ...

  const Value* get(std::string_view key) const {
    for (size_t i = 0; i + 1 < elems.size(); i += 2) {
      if (elems[i].str == key) return &elems[i + 1];
    }
    return nullptr;
  }
};

// Decodes one value at *pos; fails the test (and returns false) on malformed input.
bool decode(std::string_view in, size_t* pos, Value* v) {
  const size_t eol = in.find("\r\n", *pos);
  if (eol == std::string_view::npos || eol == *pos) {
    ADD_FAILURE() << "no line at " << *pos;
    return false;
  }
  v->type = in[*pos];
  const std::string line(in.substr(*pos + 1, eol - *pos - 1));
  *pos = eol + 2;
  switch (v->type) {
    case '+':
    case '-':
    case ',':
    case '#':
      v->str = line;
      return true;
    case '_':
      return true;
    case ':':
      v->n = std::stoll(line);
      return true;
    case '$':
    case '=': {
      v->n = std::stoll(line);
      if (v->n < 0) return true;
      v->str = std::string(in.substr(*pos, v->n));
      if (in.substr(*pos + v->n, 2) != "\r\n") {
        ADD_FAILURE() << "bad bulk at " << *pos;
        return false;
      }
      *pos += v->n + 2;
      return true;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      v->n = std::stoll(line);
      const int64_t count = v->type == '%' ? 2 * v->n : v->n;
      for (int64_t i = 0; i < count; ++i) {
        v->elems.emplace_back();
        if (!decode(in, pos, &v->elems.back())) return false;
      }
      return true;
    }
    default:
      ADD_FAILURE() << "unknown type " << v->type;
      return false;
  }
}

Value decode_all(std::string_view in) {
  Value v;
  size_t pos = 0;
  EXPECT_TRUE(decode(in, &pos, &v));
  EXPECT_EQ(pos, in.size()) << "trailing bytes";
  return v;
}

TEST(RespCommandTableTest, SortedUniqueLowercase) {
  std::span<const CommandSpec> all = all_commands();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].name, absl::AsciiStrToLower(std::string(all[i].name)));
    EXPECT_FALSE(all[i].summary.empty()) << all[i].name;
    EXPECT_FALSE(all[i].group.empty()) << all[i].name;
    EXPECT_NE(all[i].arity, 0) << all[i].name;
    if (i > 0) {
      EXPECT_LT(all[i - 1].name, all[i].name);
    }
    for (size_t j = 0; j < all[i].subcommands.size(); ++j) {
      const CommandSpec& sub = all[i].subcommands[j];
      EXPECT_TRUE(sub.name.starts_with(std::string(all[i].name) + "|")) << sub.name;
      if (j > 0) {
        EXPECT_LT(all[i].subcommands[j - 1].name, sub.name);
      }
    }
    // Exactly one of write / readonly / neither, never both.
    EXPECT_FALSE(all[i].has(kWrite) && all[i].has(kReadonly)) << all[i].name;
  }
}

TEST(RespCommandTableTest, HasEveryCommandOfTheNode) {
  for (std::string_view name : {"ping",
                                "echo",
                                "hello",
                                "auth",
                                "select",
                                "quit",
                                "reset",
                                "command",
                                "client",
                                "info",
                                "role",
                                "dbsize",
                                "flushall",
                                "flushdb",
                                "get",
                                "set",
                                "setnx",
                                "setex",
                                "psetex",
                                "getset",
                                "getdel",
                                "getex",
                                "mget",
                                "mset",
                                "msetnx",
                                "del",
                                "unlink",
                                "exists",
                                "incr",
                                "decr",
                                "incrby",
                                "decrby",
                                "incrbyfloat",
                                "append",
                                "strlen",
                                "getrange",
                                "setrange",
                                "expire",
                                "pexpire",
                                "expireat",
                                "pexpireat",
                                "ttl",
                                "pttl",
                                "persist",
                                "expiretime",
                                "pexpiretime",
                                "type",
                                "rename",
                                "renamenx",
                                "keys",
                                "scan",
                                "randomkey",
                                "wait",
                                "readonly",
                                "readwrite",
                                "config",
                                "time",
                                "watch",
                                "unwatch",
                                "multi",
                                "exec",
                                "discard",
                                "subscribe",
                                "unsubscribe",
                                "psubscribe",
                                "punsubscribe",
                                "publish",
                                "getver",
                                "cas",
                                "lease",
                                "elect",
                                "elect.leader",
                                "elect.keepalive",
                                "elect.resign",
                                "lock",
                                "unlock"}) {
    EXPECT_NE(find_command(name), nullptr) << name;
  }
}

TEST(RespCommandTableTest, LookupIsCaseInsensitive) {
  const CommandSpec* get = find_command("gEt");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->name, "get");
  EXPECT_EQ(find_command("nosuchcommand"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
  EXPECT_EQ(find_command(std::string(1000, 'g')), nullptr);
  EXPECT_EQ(find_command("ELECT.Leader")->name, "elect.leader");
}

TEST(RespCommandTableTest, RedisMetadata) {
  const CommandSpec* set = find_command("set");
  EXPECT_EQ(set->arity, -3);
  EXPECT_TRUE(set->has(kWrite));
  EXPECT_TRUE(set->has(kDenyOom));
  EXPECT_FALSE(set->has(kFast));
  EXPECT_EQ(set->group, "string");
  const CommandSpec* mset = find_command("mset");
  EXPECT_EQ(mset->first_key, 1);
  EXPECT_EQ(mset->last_key, -1);
  EXPECT_EQ(mset->key_step, 2);
  EXPECT_TRUE(find_command("get")->has(kReadonly));
  EXPECT_TRUE(find_command("ping")->has(kConnection));
  EXPECT_TRUE(find_command("hello")->has(kNoAuth));
  EXPECT_TRUE(find_command("subscribe")->has(kPubSub));
  EXPECT_FALSE(find_command("get")->has(kConnection));
  EXPECT_TRUE(find_command("cas")->has(kExtension));
  EXPECT_FALSE(find_command("get")->has(kExtension));
}

TEST(RespCommandTableTest, Arity) {
  const CommandSpec& get = *find_command("get");
  EXPECT_FALSE(arity_ok(get, 1));
  EXPECT_TRUE(arity_ok(get, 2));
  EXPECT_FALSE(arity_ok(get, 3));
  const CommandSpec& set = *find_command("set");
  EXPECT_FALSE(arity_ok(set, 2));
  EXPECT_TRUE(arity_ok(set, 3));
  EXPECT_TRUE(arity_ok(set, 9));
}

TEST(RespCommandTableTest, Subcommands) {
  const CommandSpec& config = *find_command("config");
  const CommandSpec* get = find_subcommand(config, "GeT");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->name, "config|get");
  EXPECT_EQ(get->arity, -3);
  EXPECT_TRUE(get->has(kAdmin));
  EXPECT_NE(find_subcommand(config, "rewrite"), nullptr);
  EXPECT_EQ(find_subcommand(config, "no-such-subcommand"), nullptr);
  EXPECT_EQ(find_subcommand(*find_command("get"), "x"), nullptr);
  EXPECT_NE(find_subcommand(*find_command("lease"), "grant"), nullptr);
  EXPECT_NE(find_subcommand(*find_command("client"), "tracking"), nullptr);
  EXPECT_NE(find_subcommand(*find_command("command"), "docs"), nullptr);
}

std::vector<std::string_view> keys(std::string_view name, std::vector<std::string_view> argv) {
  return command_key_positions(*find_command(name), argv);
}

TEST(RespCommandTableTest, KeyPositions) {
  EXPECT_THAT(keys("get", {"GET", "k"}), ElementsAre("k"));
  EXPECT_THAT(keys("set", {"SET", "k", "v", "EX", "10"}), ElementsAre("k"));
  EXPECT_THAT(keys("mset", {"MSET", "a", "1", "b", "2"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys("del", {"DEL", "a", "b", "c"}), ElementsAre("a", "b", "c"));
  EXPECT_THAT(keys("rename", {"RENAME", "a", "b"}), ElementsAre("a", "b"));
  EXPECT_THAT(keys("watch", {"WATCH", "x", "y"}), ElementsAre("x", "y"));
  EXPECT_THAT(keys("cas", {"CAS", "k", "7", "v"}), ElementsAre("k"));
  EXPECT_TRUE(keys("ping", {"PING"}).empty());
  EXPECT_TRUE(keys("publish", {"PUBLISH", "ch", "m"}).empty());
  // A short argv gives fewer keys, never an out-of-range read.
  EXPECT_TRUE(keys("get", {"GET"}).empty());
  EXPECT_THAT(keys("rename", {"RENAME", "a"}), ElementsAre("a"));
  EXPECT_THAT(command_key_indexes(*find_command("mset"),
                                  std::vector<std::string_view>{"MSET", "a", "1", "b", "2"}),
              ElementsAre(1, 3));
}

TEST(RespCommandTableTest, CommandInfoMatchesRedisByteForByte) {
  // redis-server 7.0.15, HELLO 3, COMMAND INFO get.
  const std::string_view redis =
      "*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@"
      "string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_"
      "search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\n"
      "find_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$"
      "7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
  std::string out;
  Writer w(&out, 3);
  write_command_info(w, find_command("get"));
  EXPECT_EQ(out, redis);
}

TEST(RespCommandTableTest, OperatorCommandsMatchRedisByteForByte) {
  // redis-server 7.0.15, HELLO 3, COMMAND INFO debug / COMMAND INFO failover (one entry each).
  const std::string_view debug =
      "*10\r\n$5\r\ndebug\r\n:-2\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:"
      "0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n";
  const std::string_view failover =
      "*10\r\n$8\r\nfailover\r\n:-1\r\n~3\r\n+admin\r\n+noscript\r\n+stale\r\n:0\r\n:0\r\n:"
      "0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n";
  for (auto [name, redis] : {std::pair{"debug", debug}, std::pair{"failover", failover}}) {
    std::string out;
    Writer w(&out, 3);
    write_command_info(w, find_command(name));
    EXPECT_EQ(out, redis) << name;
  }
}

TEST(RespCommandTableTest, RenameHasOneKeySpecPerKey) {
  std::string out;
  Writer w(&out, 3);
  write_command_info(w, find_command("rename"));
  const Value v = decode_all(out);
  const Value& specs = v.elems[8];
  ASSERT_EQ(specs.elems.size(), 2u);
  EXPECT_EQ(specs.elems[1].get("begin_search")->get("spec")->get("index")->n, 2);
  EXPECT_EQ(specs.elems[1].get("flags")->elems[0].str, "OW");
  EXPECT_EQ(v.elems[6].elems.size(), 3u);  // @keyspace @write @slow
}

TEST(RespCommandTableTest, SetCommandsMatchRedisByteForByte) {
  // redis-server 7.0.15, HELLO 3, COMMAND INFO sinterstore / COMMAND INFO smove (one entry each):
  // a destination, then sources up to the last argument; a source, then a destination.
  const std::string_view sinterstore =
      "*10\r\n$11\r\nsinterstore\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:1\r\n~3\r\n+@"
      "write\r\n+@set\r\n+@slow\r\n~0\r\n~2\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RW\r\n+update\r\n$"
      "12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$"
      "5\r\nindex\r\n:"
      "1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$"
      "7\r\nlastkey\r\n:"
      "0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+"
      "access\r\n$"
      "12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$"
      "5\r\nindex\r\n:"
      "2\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$"
      "7\r\nlastkey\r\n:-"
      "1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
  const std::string_view smove =
      "*10\r\n$5\r\nsmove\r\n:4\r\n~2\r\n+write\r\n+fast\r\n:1\r\n:2\r\n:1\r\n~3\r\n+@write\r\n+@"
      "set\r\n+@fast\r\n~0\r\n~2\r\n%3\r\n$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+delete\r\n$"
      "12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$"
      "5\r\nindex\r\n:"
      "1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$"
      "7\r\nlastkey\r\n:"
      "0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RW\r\n+"
      "insert\r\n$"
      "12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$"
      "5\r\nindex\r\n:"
      "2\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$"
      "7\r\nlastkey\r\n:"
      "0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
  // COMMAND INFO smembers: a tip.
  const std::string_view smembers =
      "*10\r\n$8\r\nsmembers\r\n:2\r\n~1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@"
      "set\r\n+@slow\r\n~1\r\n$29\r\nnondeterministic_output_order\r\n~1\r\n%3\r\n$5\r\nflags\r\n~"
      "2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$"
      "4\r\nspec\r\n%"
      "1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$"
      "4\r\nspec\r\n%"
      "3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
  for (auto [name, redis] : {std::pair{"sinterstore", sinterstore}, std::pair{"smove", smove},
                             std::pair{"smembers", smembers}}) {
    std::string out;
    Writer w(&out, 3);
    write_command_info(w, find_command(name));
    EXPECT_EQ(out, redis) << name;
  }
  EXPECT_THAT(keys("sinterstore", {"SINTERSTORE", "d", "a", "b"}), ElementsAre("d", "a", "b"));
}

TEST(RespCommandTableTest, KeyCountCommandsMatchRedis) {
  // redis-server 7.0.15, HELLO 3, COMMAND INFO sintercard: no key range, movablekeys, and a
  // keynum key spec.
  const std::string_view redis =
      "*10\r\n$10\r\nsintercard\r\n:-3\r\n~2\r\n+readonly\r\n+movablekeys\r\n:0\r\n:0\r\n:"
      "0\r\n~3\r\n+@read\r\n+@set\r\n+@slow\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+"
      "access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$"
      "5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n%"
      "3\r\n$9\r\nkeynumidx\r\n:0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n~0\r\n";
  std::string out;
  Writer w(&out, 3);
  write_command_info(w, find_command("sintercard"));
  EXPECT_EQ(out, redis);
  // The keys follow the count (Redis's COMMAND GETKEYS answers the same); LIMIT's argument is
  // not a key.
  EXPECT_THAT(keys("sintercard", {"SINTERCARD", "2", "a", "b", "LIMIT", "1"}),
              ElementsAre("a", "b"));
  EXPECT_THAT(keys("sintercard", {"SINTERCARD", "1", "a"}), ElementsAre("a"));
  // A count past the end stops at the end; one that is not a count gives no keys.
  EXPECT_THAT(keys("sintercard", {"SINTERCARD", "5", "a"}), ElementsAre("a"));
  EXPECT_TRUE(keys("sintercard", {"SINTERCARD", "x", "a"}).empty());
  EXPECT_TRUE(keys("sintercard", {"SINTERCARD", "-1", "a"}).empty());
  EXPECT_TRUE(keys("sintercard", {"SINTERCARD"}).empty());
}

TEST(RespCommandTableTest, CommandInfoUnknownIsNil) {
  std::string out;
  Writer w2(&out, 2);
  write_command_info(w2, nullptr);
  Writer w3(&out, 3);
  write_command_info(w3, nullptr);
  EXPECT_EQ(out, "$-1\r\n_\r\n");
}

TEST(RespCommandTableTest, CommandInfoWithSubcommands) {
  std::string out;
  Writer w(&out, 2);
  write_command_info(w, find_command("config"));
  const Value v = decode_all(out);
  ASSERT_EQ(v.elems.size(), 10u);
  EXPECT_EQ(v.elems[0].str, "config");
  EXPECT_EQ(v.elems[1].n, -2);
  ASSERT_EQ(v.elems[9].elems.size(), 4u);  // GET RESETSTAT REWRITE SET
  EXPECT_EQ(v.elems[9].elems[0].elems[0].str, "config|get");
}

TEST(RespCommandTableTest, EveryReplyIsWellFormed) {
  for (int protocol : {2, 3}) {
    std::string out;
    Writer w(&out, protocol);
    write_all_command_info(w);
    Value info = decode_all(out);
    EXPECT_EQ(info.elems.size(), all_commands().size());
    out.clear();
    std::vector<const CommandSpec*> specs;
    for (const CommandSpec& spec : all_commands()) specs.push_back(&spec);
    specs.push_back(nullptr);  // unknown names are left out
    write_command_docs(w, specs);
    Value docs = decode_all(out);
    EXPECT_EQ(docs.elems.size(), 2 * all_commands().size());
    out.clear();
    write_command_list(w);
    Value list = decode_all(out);
    ASSERT_EQ(list.elems.size(), all_commands().size());
    EXPECT_EQ(list.elems[0].str, all_commands()[0].name);
  }
}

Value docs_of(std::string_view name) {
  std::string out;
  Writer w(&out, 3);
  const CommandSpec* spec = find_command(name);
  write_command_docs(w, std::span<const CommandSpec* const>(&spec, 1));
  Value v = decode_all(out);
  EXPECT_EQ(v.type, '%');
  EXPECT_EQ(v.elems.size(), 2u);
  return v.elems.size() == 2 ? v.elems[1] : Value{};
}

std::vector<std::string> flags_of(const Value& arg) {
  std::vector<std::string> flags;
  if (const Value* f = arg.get("flags")) {
    for (const Value& e : f->elems) flags.push_back(e.str);
  }
  return flags;
}

TEST(RespCommandTableTest, DocsOfSetAreStructured) {
  const Value doc = docs_of("set");
  EXPECT_EQ(doc.get("group")->str, "string");
  EXPECT_EQ(doc.get("since")->str, "1.0.0");
  const Value& args = *doc.get("arguments");
  ASSERT_GE(args.elems.size(), 5u);
  EXPECT_EQ(args.elems[0].get("name")->str, "key");
  EXPECT_EQ(args.elems[0].get("type")->str, "key");
  EXPECT_EQ(args.elems[0].get("key_spec_index")->n, 0);
  EXPECT_EQ(args.elems[1].get("type")->str, "string");
  const Value& condition = args.elems[2];
  EXPECT_EQ(condition.get("type")->str, "oneof");
  EXPECT_THAT(flags_of(condition), ElementsAre("optional"));
  EXPECT_EQ(condition.get("arguments")->elems[1].get("token")->str, "XX");
  EXPECT_EQ(condition.get("arguments")->elems[1].get("type")->str, "pure-token");
  const Value& expiration = args.elems[4];
  const Value& ex = expiration.get("arguments")->elems[0];
  EXPECT_EQ(ex.get("name")->str, "seconds");
  EXPECT_EQ(ex.get("token")->str, "EX");
  EXPECT_EQ(ex.get("type")->str, "integer");
}

TEST(RespCommandTableTest, DocsRepetition) {
  const Value mset = *docs_of("mset").get("arguments");
  ASSERT_EQ(mset.elems.size(), 1u);
  EXPECT_EQ(mset.elems[0].get("type")->str, "block");
  EXPECT_THAT(flags_of(mset.elems[0]), ElementsAre("multiple"));
  EXPECT_EQ(mset.elems[0].get("arguments")->elems.size(), 2u);

  const Value del = *docs_of("del").get("arguments");
  ASSERT_EQ(del.elems.size(), 1u);
  EXPECT_EQ(del.elems[0].get("name")->str, "key");
  EXPECT_THAT(flags_of(del.elems[0]), ElementsAre("multiple"));

  const Value client = docs_of("client");
  const Value* tracking = client.get("subcommands")->get("client|tracking");
  ASSERT_NE(tracking, nullptr);
  const Value& targs = *tracking->get("arguments");
  EXPECT_EQ(targs.elems[0].get("type")->str, "oneof");
  EXPECT_TRUE(flags_of(targs.elems[0]).empty());
  const Value& prefix = targs.elems[2];
  EXPECT_EQ(prefix.get("token")->str, "PREFIX");
  EXPECT_THAT(flags_of(prefix), ElementsAre("optional", "multiple", "multiple_token"));
}

TEST(RespCommandTableTest, DocsWithoutArguments) {
  const Value doc = docs_of("multi");
  EXPECT_EQ(doc.get("arguments"), nullptr);
  EXPECT_EQ(doc.get("summary")->str, find_command("multi")->summary);
}

}  // namespace
}  // namespace bw::resp
