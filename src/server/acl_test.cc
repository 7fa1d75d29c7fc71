#include "server/acl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resp/command_table.h"

namespace bw::server {
namespace {

class AclTest : public ::testing::Test {
 protected:
  AclUser make(std::string_view rules) {
    AclUser u(&index_, "alice");
    Status st = u.apply_rules(split_acl_rules(rules));
    EXPECT_TRUE(st.ok()) << st.message();
    return u;
  }
  AclVerdict check(const AclUser& u, std::vector<std::string_view> argv) {
    const resp::CommandSpec* spec = resp::find_command(argv[0]);
    EXPECT_NE(spec, nullptr);
    return u.check(*spec, argv);
  }
  AclCommandIndex index_;
};

TEST_F(AclTest, CanonicalFormsAsRedis) {
  // Each expected string is what Redis 7.0 lists for the same rules.
  EXPECT_EQ(AclUser(&index_, "a").describe(), "off resetchannels -@all");
  EXPECT_EQ(make("on nopass ~* &* +@all").describe(), "on nopass ~* &* +@all");
  EXPECT_EQ(
      make("on >p1 ~k* %R~r* &ch* +get +@string -set +client|list -@dangerous +set").describe(),
      "on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~k* %R~r* "
      "resetchannels &ch* -@all +@string");
  EXPECT_EQ(make("+@all -get").describe(), "off resetchannels +@all -get");
  EXPECT_EQ(make("-@all +@read -get +get").describe(), "off resetchannels -@all +@read");
  // Categories are chosen by majority over the command table, as Redis chooses them over its
  // own table: where the two tables hold different commands the choice may differ, never the
  // permissions.
  AclUser mixed = make("reset -@all +@read +@write -@read");
  EXPECT_TRUE(make(mixed.describe()).describe() == mixed.describe());
  EXPECT_EQ(make("reset +@all -@string +@string").describe(),
            "off sanitize-payload resetchannels +@all");
  EXPECT_EQ(make("-@all +client|list +config|get").describe(),
            "off resetchannels -@all +client|list +config|get");
}

TEST_F(AclTest, CanonicalFormRoundTrips) {
  for (std::string_view rules :
       {"on >a >b ~x* %W~w* &c allcommands -@admin +config|get", "off nopass allkeys",
        "reset on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 +@read",
        "skip-sanitize-payload allchannels -@all +acl|whoami +client"}) {
    AclUser u = make(rules);
    AclUser again = make(u.describe());
    EXPECT_EQ(again.describe(), u.describe()) << rules;
  }
}

TEST_F(AclTest, FullStarPatternIsAllKeys) {
  // Found by fuzz_acl_rules: "%RW~*" described as "~*" must read back as the same user.
  EXPECT_EQ(make("%RW~*").describe(), make("allkeys").describe());
  AclUser u(&index_, "u");
  EXPECT_FALSE(u.apply_rules(split_acl_rules("%RW~* %R~r*")).ok());  // as "~* %R~r*"
  EXPECT_EQ(make("%R~* %W~*").describe_keys(), "~*");
  EXPECT_EQ(make("%R~*").describe_keys(), "%R~*");
}

TEST_F(AclTest, RuleErrorsAsRedis) {
  AclUser u(&index_, "q");
  auto error = [&](std::vector<std::string_view> rules) {
    Status st = u.apply_rules(rules);
    return std::string(st.message());
  };
  EXPECT_EQ(error({"+foo"}),
            "Error in ACL SETUSER modifier '+foo': Unknown command or category name in ACL");
  EXPECT_EQ(error({"+@nocat"}),
            "Error in ACL SETUSER modifier '+@nocat': Unknown command or category name in ACL");
  EXPECT_EQ(error({"bogus"}), "Error in ACL SETUSER modifier 'bogus': Syntax error");
  EXPECT_EQ(error({"<nope"}),
            "Error in ACL SETUSER modifier '<nope': The password you are trying to remove from "
            "the user does not exist");
  EXPECT_EQ(error({"~a", "allkeys", "~b"}).substr(0, 60),
            "Error in ACL SETUSER modifier '~b': Adding a pattern after t");
  EXPECT_EQ(error({"#abc"}).substr(0, 60),
            "Error in ACL SETUSER modifier '#abc': The password hash must");
  // A failed SETUSER changes nothing.
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
}

TEST_F(AclTest, Passwords) {
  AclUser u = make("on >secret >other");
  EXPECT_TRUE(u.password_ok("secret"));
  EXPECT_TRUE(u.password_ok("other"));
  EXPECT_FALSE(u.password_ok("nope"));
  ASSERT_TRUE(u.apply_rules(split_acl_rules("<other")).ok());
  EXPECT_FALSE(u.password_ok("other"));
  ASSERT_TRUE(u.apply_rules(split_acl_rules("off")).ok());
  EXPECT_FALSE(u.password_ok("secret"));  // disabled
  EXPECT_EQ(acl_hash_password("p1"),
            "f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a");
  EXPECT_TRUE(make("on nopass").password_ok("anything"));
  EXPECT_FALSE(make("on").password_ok(""));
}

TEST_F(AclTest, ChecksByCommandCategoryKeyAndChannel) {
  AclUser u = make("on ~k* %R~r* &ch* +get +set +publish +subscribe +psubscribe +@admin -config");
  EXPECT_TRUE(check(u, {"set", "k1", "v"}).allowed());
  EXPECT_EQ(check(u, {"set", "x", "v"}).denial, AclDenial::kKey);
  EXPECT_EQ(check(u, {"set", "x", "v"}).object, "x");
  EXPECT_TRUE(check(u, {"get", "r1"}).allowed());
  EXPECT_EQ(check(u, {"set", "r1", "v"}).denial, AclDenial::kKey);  // read-only pattern
  AclVerdict del = check(u, {"del", "k1"});
  EXPECT_EQ(del.denial, AclDenial::kCommand);
  EXPECT_EQ(del.object, "del");
  EXPECT_EQ(check(u, {"config", "get", "x"}).denial, AclDenial::kCommand);
  EXPECT_EQ(check(u, {"config", "get", "x"}).object, "config|get");
  EXPECT_TRUE(check(u, {"publish", "ch1", "m"}).allowed());
  EXPECT_EQ(check(u, {"publish", "zz", "m"}).denial, AclDenial::kChannel);
  EXPECT_EQ(check(u, {"subscribe", "ch1", "zz"}).object, "zz");
  EXPECT_TRUE(check(u, {"psubscribe", "ch*"}).allowed());
  EXPECT_EQ(check(u, {"psubscribe", "c*"}).denial, AclDenial::kChannel);  // literal match only
  AclUser all = make("on allkeys allchannels +@all");
  EXPECT_TRUE(check(all, {"del", "anything"}).allowed());
  EXPECT_TRUE(check(all, {"psubscribe", "x*"}).allowed());
}

TEST_F(AclTest, KeysOfSetCommandsByRole) {
  AclUser u = make("on ~k* %R~r* +@set");
  // SINTERCARD's keys follow its key count; LIMIT's argument is not a key.
  EXPECT_TRUE(check(u, {"sintercard", "2", "k1", "r1", "LIMIT", "5"}).allowed());
  EXPECT_EQ(check(u, {"sintercard", "2", "k1", "x"}).object, "x");
  // A *STORE writes its destination and reads its sources; SMOVE writes both.
  EXPECT_TRUE(check(u, {"sinterstore", "k1", "r1", "k2"}).allowed());
  EXPECT_EQ(check(u, {"sinterstore", "r1", "k1"}).denial, AclDenial::kKey);
  EXPECT_EQ(check(u, {"smove", "k1", "r1", "m"}).object, "r1");
  EXPECT_TRUE(check(u, {"smove", "k1", "k2", "m"}).allowed());
}

TEST_F(AclTest, CategoriesComeFromTheCommandTable) {
  std::vector<size_t> ids;
  ASSERT_TRUE(index_.category("string", &ids));
  bool has_get = false;
  for (size_t id : ids) has_get = has_get || index_.spec(id).name == "get";
  EXPECT_TRUE(has_get);
  EXPECT_FALSE(index_.category("nocat", &ids));
  EXPECT_EQ(acl_category_names().size(), 21u);
}

TEST_F(AclTest, AclFile) {
  auto lines = parse_acl_file(
      "# comment\n\nuser default on nopass ~* &* +@all\nuser alice on >pw ~a* +get\n", index_);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[1].name, "alice");
  auto bad = parse_acl_file("user a on\nuser b +nosuch\n", index_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string_view::npos);
  EXPECT_FALSE(parse_acl_file("user a on\nuser a off\n", index_).ok());
  EXPECT_FALSE(parse_acl_file("nouser x\n", index_).ok());
}

TEST_F(AclTest, RegistryBootstrapAndReplicatedState) {
  AclRegistry reg;
  EXPECT_TRUE(reg.default_open());
  ASSERT_TRUE(reg.set_bootstrap("pw", std::nullopt).ok());
  EXPECT_FALSE(reg.default_open());
  EXPECT_TRUE(reg.find("default")->password_ok("pw"));
  std::vector<std::string> broken;
  std::map<std::string, std::string, std::less<>> defs = {
      {"default", "on nopass ~* &* +@all"},
      {"bob", "on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 +get"}};
  EXPECT_TRUE(reg.sync(7, defs, &broken));
  EXPECT_TRUE(reg.replicated());
  EXPECT_TRUE(reg.default_open());
  EXPECT_TRUE(reg.find("bob")->password_ok("password"));
  EXPECT_FALSE(reg.sync(7, defs, &broken));  // unchanged index: nothing to do
  EXPECT_TRUE(broken.empty());
}

TEST_F(AclTest, LogGroupsAndBounds) {
  AclRegistry reg;
  AclLogEntry e{.reason = "command", .context = "toplevel", .object = "get", .username = "u"};
  reg.log_denial(e, 1000);
  reg.log_denial(e, 2000);
  ASSERT_EQ(reg.log().size(), 1u);
  EXPECT_EQ(reg.log()[0].count, 2u);
  reg.log_denial(e, 2000 + kAclLogGroupMs);
  EXPECT_EQ(reg.log().size(), 2u);
  for (size_t i = 0; i < kAclLogEntriesMax + 10; ++i) {
    e.object = std::to_string(i);
    reg.log_denial(e, 100000);
  }
  EXPECT_EQ(reg.log().size(), kAclLogEntriesMax);
}

}  // namespace
}  // namespace bw::server
