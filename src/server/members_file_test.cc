#include "server/members_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/memory_file_system.h"

namespace bw::server {
namespace {

MemberList sample() {
  return MemberList{.cluster_id = "prod-1",
                    .self = NodeId(4),
                    .members = {{NodeId(1), false, "127.0.0.1:7001", "127.0.0.1:17001"},
                                {NodeId(2), false, "10.0.0.2:6379", "10.0.0.2:16379"},
                                {NodeId(4), true, "[::1]:7004", "[::1]:17004"}}};
}

std::string error_of(std::string_view text) {
  Result<MemberList> r = decode_member_list(text);
  return r.ok() ? "ok" : std::string(r.status().message());
}

TEST(MembersFile, RoundTrips) {
  const std::string text = encode_member_list(sample());
  EXPECT_EQ(text.substr(0, 41), "bellwether-members 1\ncluster prod-1\nself ");
  Result<MemberList> back = decode_member_list(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sample());
}

TEST(MembersFile, RefusesWhatIsNotAMemberList) {
  const std::string good = encode_member_list(sample());
  EXPECT_EQ(error_of(""), "member list line 1: too short");
  EXPECT_EQ(error_of("x\ncluster a\nself 1\n"), "member list line 1: not a bellwether member list");
  EXPECT_EQ(error_of("bellwether-members 1\ncluster bad id\nself 1\n").substr(0, 20),
            "member list line 2: ");
  EXPECT_EQ(error_of("bellwether-members 1\ncluster a\nself 0\n"),
            "member list line 3: expected 'self <node id>'");
  std::string line = "bellwether-members 1\ncluster a\nself 1\n";
  EXPECT_EQ(error_of(line + "member 1 boss 127.0.0.1:1 127.0.0.1:2\n"),
            "member list line 4: expected 'member <id> voter|learner <client address> <peer "
            "address>'");
  EXPECT_EQ(error_of(line + "member 1 voter nowhere 127.0.0.1:2\n"),
            "member list line 4: 'nowhere' is not host:port");
  EXPECT_EQ(error_of(line + "member 2 voter 127.0.0.1:1 127.0.0.1:2\n"),
            "member list line 3: this node is not among the members");
  EXPECT_EQ(error_of(line + "member 1 learner 127.0.0.1:1 127.0.0.1:2\n"),
            "member list line 4: no voter");
  EXPECT_EQ(error_of(line + "member 2 voter 127.0.0.1:1 127.0.0.1:2\n"
                            "member 1 voter 127.0.0.1:3 127.0.0.1:4\n"),
            "member list line 5: members must be listed once each, by increasing id");
  std::string many = line;
  for (int i = 1; i <= static_cast<int>(kMembersMax) + 1; ++i) {
    many += fmt::format("member {}", i) + " voter 127.0.0.1:1 127.0.0.1:2\n";
  }
  EXPECT_NE(error_of(many), "ok");
  EXPECT_EQ(error_of(good), "ok");
}

TEST(MembersFile, WritesAndReadsTheFile) {
  storage::MemoryFileSystem fs;
  ASSERT_TRUE(fs.create_dir("/d").ok());
  EXPECT_TRUE(absl::IsNotFound(read_members_file(fs, "/d").status()));
  ASSERT_TRUE(write_members_file(fs, "/d", sample()).ok());
  Result<MemberList> back = read_members_file(fs, "/d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sample());
}

}  // namespace
}  // namespace bw::server
