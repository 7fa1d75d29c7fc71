#include "server/config_params.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace bw::server {
namespace {

std::optional<std::string> set(NodeConfig* c, std::vector<std::string_view> args) {
  return config_set(c, args);
}

TEST(ConfigParams, NamesAreUniqueLowerCaseAndFileKeysUnique) {
  std::set<std::string_view> names, keys;
  for (const ConfigParam& p : config_params()) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    for (char ch : p.name) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << p.name;
    if (p.file_value != FileValue::kNone) {
      EXPECT_FALSE(p.file_key.empty()) << p.name;
      EXPECT_TRUE(keys.insert(p.file_key).second) << p.file_key;
    }
    if (p.mutable_at_run_time) {
      EXPECT_NE(p.parse, nullptr) << p.name;
    }
    EXPECT_FALSE(p.meaning.empty()) << p.name;
    EXPECT_FALSE(p.run_time.empty()) << p.name;
  }
}

TEST(ConfigParams, DefaultsParseBack) {
  // Every value CONFIG GET shows can be set again (what CONFIG REWRITE relies on).
  for (const ConfigParam& p : config_params()) {
    if (p.parse == nullptr) continue;
    NodeConfig c;
    const std::string before = p.get(c);
    EXPECT_TRUE(p.parse(&c, before).ok()) << p.name << " = " << before;
    EXPECT_EQ(p.get(c), before) << p.name;
  }
}

TEST(ConfigGet, GlobPatternsAreCaseInsensitiveAndEachParameterComesOnce) {
  NodeConfig c;
  c.slowlog_max_len = 7;
  std::vector<std::string_view> patterns = {"SLOWLOG*", "slowlog-max-len"};
  auto hits = config_get(c, patterns);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].first, "slowlog-log-slower-than");
  EXPECT_EQ(hits[1], (std::pair<std::string, std::string>{"slowlog-max-len", "7"}));
  std::vector<std::string_view> none = {"no-such-*"};
  EXPECT_TRUE(config_get(c, none).empty());
  std::vector<std::string_view> all = {"*"};
  EXPECT_EQ(config_get(c, all).size(), config_params().size());
}

TEST(ConfigSet, TlsParametersCheckTheirValuesAndTlsPortIsFixed) {
  NodeConfig c;
  EXPECT_EQ(set(&c, {"tls-auth-clients", "optional", "tls-protocols", "TLSv1.3"}), std::nullopt);
  EXPECT_EQ(c.tls.verify_peer, net::TlsVerify::kOptional);
  EXPECT_EQ(c.tls.protocols, "TLSv1.3");
  EXPECT_EQ(set(&c, {"tls-auth-clients", "maybe"}),
            "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - "
            "argument(s) must be one of the following: no, yes, optional");
  auto bad_protocol = set(&c, {"tls-protocols", "SSLv3"});
  ASSERT_TRUE(bad_protocol.has_value());
  EXPECT_NE(bad_protocol->find("SSLv3"), std::string::npos) << *bad_protocol;
  EXPECT_EQ(c.tls.protocols, "TLSv1.3");
  EXPECT_EQ(set(&c, {"tls-port", "7444"}),
            "ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set "
            "immutable config");
  EXPECT_TRUE(set_config_value(&c, "tls-port", "7444").ok());
  EXPECT_EQ(c.tls_port, 7444);
  EXPECT_FALSE(set_config_value(&c, "tls-port", "70000").ok());
  EXPECT_EQ(set(&c, {"masteruser", "ops", "masterauth", "secret"}), std::nullopt);
  EXPECT_EQ(c.masteruser, "ops");
  EXPECT_EQ(c.masterauth, "secret");
}

TEST(ConfigSet, ChangesSeveralParametersAtOnce) {
  NodeConfig c;
  EXPECT_EQ(set(&c, {"slowlog-max-len", "10", "PROTO-MAX-BULK-LEN", "2mb", "loglevel", "warning",
                     "readonly-default", "yes", "notify-keyspace-events", "KEA"}),
            std::nullopt);
  EXPECT_EQ(c.slowlog_max_len, 10u);
  EXPECT_EQ(c.protocol.bulk_bytes_max, 2u << 20);
  EXPECT_EQ(c.log_level, "warning");
  EXPECT_TRUE(c.readonly_default);
  EXPECT_FALSE(c.notify_keyspace_events.empty());
}

TEST(ConfigSet, AllOrNothingWithRedisErrors) {
  NodeConfig c;
  EXPECT_EQ(set(&c, {"slowlog-max-len", "10", "proto-max-bulk-len", "12"}),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument "
            "must be between 1048576 and 1073741824 inclusive");
  EXPECT_EQ(c.slowlog_max_len, NodeConfig{}.slowlog_max_len);
  EXPECT_EQ(set(&c, {"slowlog-max-len", "x"}),
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument "
            "couldn't be parsed into an integer");
  EXPECT_EQ(set(&c, {"slowlog-max-len", "1", "tick-ms", "10"}),
            "ERR CONFIG SET failed (possibly related to argument 'tick-ms') - can't set immutable "
            "config");
  EXPECT_EQ(c.slowlog_max_len, NodeConfig{}.slowlog_max_len);
  EXPECT_EQ(set(&c, {"tick-ms", "10", "nope", "1"}),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'");
  EXPECT_EQ(set(&c, {"slowlog-max-len", "1", "SLOWLOG-MAX-LEN", "2"}),
            "ERR CONFIG SET failed (possibly related to argument 'SLOWLOG-MAX-LEN') - duplicate "
            "parameter");
  EXPECT_EQ(set(&c, {"slowlog-max-len", "1", "loglevel"}), "ERR syntax error");
  EXPECT_EQ(set(&c, {"readonly-default", "maybe"}),
            "ERR CONFIG SET failed (possibly related to argument 'readonly-default') - argument "
            "must be 'yes' or 'no'");
  EXPECT_EQ(c.slowlog_max_len, NodeConfig{}.slowlog_max_len);
}

TEST(ConfigSet, SetConfigValueTakesImmutableValuesAtStart) {
  NodeConfig c;
  EXPECT_TRUE(set_config_value(&c, "appendfsync", "none").ok());
  EXPECT_EQ(c.fsync, FsyncPolicy::kNone);
  EXPECT_TRUE(set_config_value(&c, "log-format", "json").ok());
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  Status bad = set_config_value(&c, "read-mode", "fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("read-mode"), absl::string_view::npos);
}

TEST(ParseMemoryValue, UnitsAsRedis) {
  EXPECT_EQ(parse_memory_value("100"), 100u);
  EXPECT_EQ(parse_memory_value("1k"), 1000u);
  EXPECT_EQ(parse_memory_value("1KB"), 1024u);
  EXPECT_EQ(parse_memory_value("2mb"), 2u << 20);
  EXPECT_EQ(parse_memory_value("1gb"), 1u << 30);
  EXPECT_EQ(parse_memory_value("1g"), 1000000000u);
  EXPECT_EQ(parse_memory_value(""), std::nullopt);
  EXPECT_EQ(parse_memory_value("-1"), std::nullopt);
  EXPECT_EQ(parse_memory_value("1tb"), std::nullopt);
  EXPECT_EQ(parse_memory_value("99999999999999999999gb"), std::nullopt);
}

TEST(ParseLogLevel, SpdlogAndRedisNames) {
  EXPECT_EQ(parse_log_level("warning"), parse_log_level("warn"));
  EXPECT_EQ(parse_log_level("notice"), parse_log_level("info"));
  EXPECT_EQ(parse_log_level("nothing"), parse_log_level("off"));
  EXPECT_EQ(parse_log_level("loud"), std::nullopt);
}

TEST(RewriteConfig, ReplacesValuesInPlaceKeepsTheRestAndAppendsChangedValues) {
  NodeConfig c;
  c.id = NodeId(3);
  c.data_dir = "/var/lib/bw";
  c.slowlog_max_len = 99;
  c.readonly_default = true;
  c.notify_keyspace_events = "";
  const std::string file =
      "# my node\n"
      "id = 3\n"
      "data-dir=\"/old\"\n"
      "\n"
      "; an INI comment\n"
      "notify-keyspace-events = \"KEA\"\n"
      "unrelated = 1\n";
  const std::string out = rewrite_config_text(file, c);
  EXPECT_EQ(out,
            "# my node\n"
            "id = 3\n"
            "data-dir = \"/var/lib/bw\"\n"
            "\n"
            "; an INI comment\n"
            "notify-keyspace-events = \"\"\n"
            "unrelated = 1\n"
            "# Generated by CONFIG REWRITE\n"
            "readonly-default = true\n"
            "slowlog-max-len = 99\n");
  // Rewriting again changes nothing.
  EXPECT_EQ(rewrite_config_text(out, c), out);
}

TEST(RewriteConfig, EmptyFileGetsEveryValueThatIsNotTheDefault) {
  NodeConfig c;
  c.id = NodeId(1);
  const std::string out = rewrite_config_text("", c);
  EXPECT_EQ(out, "# Generated by CONFIG REWRITE\nid = 1\n");
}

TEST(ConfigDocs, OperationsGuideListsTheTable) {
  std::ifstream in(std::string(BW_SOURCE_DIR) + "/docs/operations.md");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(config_params_markdown()), std::string::npos)
      << "docs/operations.md must hold this table (Configuration section):\n"
      << config_params_markdown();
}

}  // namespace
}  // namespace bw::server
