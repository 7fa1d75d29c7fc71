#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/checksum.h"
#include "common/codec.h"
#include "kv/store.h"
#include "kv/test_util.h"

namespace bw::kv {
namespace {

using testing::Harness;
using testing::render;

Harness populated() {
  Harness h;
  h.run({"SET", "plain", "v"});
  h.run({"SET", "ttl", "w", "EX", "100"});
  h.run({"SET", std::string("bin\0\xff", 5), std::string(300, 'x')});
  h.run({"SET", "empty", ""});
  h.run({"INCR", "n"});
  return h;
}

TEST(KvSnapshot, RoundTripKeepsEverything) {
  Harness h = populated();
  std::string image = h.store().snapshot();
  Store copy;
  ASSERT_TRUE(copy.restore(image).ok());
  EXPECT_EQ(copy.applied_index(), 5u);
  EXPECT_EQ(copy.key_count(), 5u);
  EXPECT_EQ(copy.snapshot(), image);
  auto read = [&](std::vector<std::string_view> argv) {
    return testing::render(copy.read(argv, h.now_ms(), 0));
  };
  EXPECT_EQ(read({"GETVER", "ttl"}), "[\"w\", (integer) 2]");
  EXPECT_EQ(read({"TTL", "ttl"}), "(integer) 100");
  EXPECT_EQ(read({"TTL", "plain"}), "(integer) -1");
  EXPECT_EQ(read({"STRLEN", std::string("bin\0\xff", 5)}), "(integer) 300");
  EXPECT_EQ(read({"GET", "empty"}), "\"\"");
  // The restored store carries on applying, and expiry still works from the deadline index.
  EXPECT_EQ(copy.expired_keys(h.now_ms() + 100'000, 10).size(), 1u);
  std::string next =
      std::get<std::string>(encode_write(std::vector<std::string_view>{"INCR", "n"}, h.now_ms()));
  EXPECT_EQ(testing::render(copy.apply(6, next)), "(integer) 2");
}

TEST(KvSnapshot, EmptyStoreRoundTrips) {
  Store s;
  Store copy;
  ASSERT_TRUE(copy.restore(s.snapshot()).ok());
  EXPECT_EQ(copy.key_count(), 0u);
  EXPECT_EQ(copy.applied_index(), 0u);
}

TEST(KvSnapshot, RestoreReplacesContents) {
  Harness h = populated();
  Harness other;
  other.run({"SET", "only-here", "x"});
  ASSERT_TRUE(other.store().restore(h.store().snapshot()).ok());
  EXPECT_EQ(other.r({"EXISTS", "only-here"}), "(integer) 0");
  EXPECT_EQ(other.store().key_count(), 5u);
}

TEST(KvSnapshot, TruncatedImagesFailCleanly) {
  std::string image = populated().store().snapshot();
  for (size_t n = 0; n < image.size(); ++n) {
    Store s;
    EXPECT_FALSE(s.restore(std::string_view(image).substr(0, n)).ok()) << n;
    EXPECT_EQ(s.key_count(), 0u);
    EXPECT_EQ(s.applied_index(), 0u);
  }
}

TEST(KvSnapshot, EveryBitFlipIsDetected) {
  std::string image = populated().store().snapshot();
  for (size_t bit = 0; bit < image.size() * 8; ++bit) {
    std::string bad = image;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Store s;
    EXPECT_FALSE(s.restore(bad).ok()) << bit;
    EXPECT_EQ(s.key_count(), 0u);
  }
}

TEST(KvSnapshot, FailedRestoreLeavesAnEmptyStore) {
  Harness h = populated();
  EXPECT_FALSE(h.store().restore("not a snapshot").ok());
  EXPECT_EQ(h.store().key_count(), 0u);
  EXPECT_EQ(h.store().applied_index(), 0u);
  EXPECT_EQ(h.store().clock_ms(), 0);
  EXPECT_EQ(h.store().memory_bytes_estimate(), 0u);
}

TEST(KvSnapshot, RoundTripKeepsTheClock) {
  Harness h = populated();
  h.advance_ms(1234);
  h.run({"SET", "later", "v"});
  Store copy;
  ASSERT_TRUE(copy.restore(h.store().snapshot()).ok());
  EXPECT_EQ(copy.clock_ms(), Harness::kStartMs + 1234);
  EXPECT_EQ(copy.clock_ms(), h.store().clock_ms());
  // The restored clock still holds back an entry stamped behind it.
  std::string behind = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"SET", "x", "v", "PX", "10"}, Harness::kStartMs));
  copy.apply(h.index() + 1, behind);
  EXPECT_EQ(copy.clock_ms(), Harness::kStartMs + 1234);
  EXPECT_EQ(render(copy.read(std::vector<std::string_view>{"PEXPIRETIME", "x"}, 0, 0)),
            "(integer) " + std::to_string(Harness::kStartMs + 1234 + 10));
}

TEST(KvSnapshot, RestoresVersionTwoImagesWithClockZero) {
  // A version 2 image as the previous release wrote it: no clock after the applied index.
  std::string image = "BWKVSNAP";
  ByteWriter w(&image);
  w.u8(2);
  w.u64(5);  // applied index
  w.varint(1);
  w.bytes("k");
  w.bytes("v");
  w.u64(Harness::kStartMs + 100);  // deadline
  w.varint(3);                     // version
  w.varint(0);                     // lease id
  w.varint(0);                     // leases
  w.varint(0);                     // holders
  w.u64(checksum64(image));
  Store s;
  ASSERT_TRUE(s.restore(image).ok());
  EXPECT_EQ(s.applied_index(), 5u);
  EXPECT_EQ(s.clock_ms(), 0);
  EXPECT_EQ(s.key_count(), 1u);
  // Written back as the current version, clock included.
  std::string again = s.snapshot();
  EXPECT_EQ(again[8], 6);
  // Clock, the key's type byte, empty member and ACL sections.
  EXPECT_EQ(again.size(), image.size() + 8 + 1 + 4);
  Store copy;
  ASSERT_TRUE(copy.restore(again).ok());
  EXPECT_EQ(copy.snapshot(), again);
}

TEST(KvSnapshot, RoundTripKeepsTheMemberDirectory) {
  Harness h = populated();
  Store& s = h.store();
  s.set_member(1, Member{"127.0.0.1:7001", "127.0.0.1:17001"});
  s.set_member(7, Member{"10.0.0.7:6379", "10.0.0.7:16379"});
  s.set_member(9, Member{"a", "b"});
  s.remove_member(9);  // removed ids are never reused: the largest id is kept
  Store copy;
  ASSERT_TRUE(copy.restore(s.snapshot()).ok());
  EXPECT_EQ(copy.members(), s.members());
  EXPECT_EQ(copy.members().size(), 2u);
  EXPECT_EQ(copy.member_id_max(), 9u);
  EXPECT_EQ(copy.snapshot(), s.snapshot());
}

// An image of an earlier version (3, 4 or 5: strings without a type byte) holding one key, as
// those releases wrote it, with empty sections after the keys.
std::string legacy_image(uint8_t version) {
  std::string image = "BWKVSNAP";
  ByteWriter w(&image);
  w.u8(version);
  w.u64(5);                  // applied index
  w.u64(Harness::kStartMs);  // clock
  w.varint(1);               // keys
  w.bytes("k");
  w.bytes("v");
  w.u64(0);     // deadline
  w.varint(3);  // version
  w.varint(0);  // lease id
  w.varint(0);  // leases
  w.varint(0);  // holders
  if (version >= 4) {
    w.varint(0);  // members
    w.varint(0);  // member_id_max
  }
  if (version >= 5) {
    w.varint(0);  // acl index
    w.varint(0);  // acl users
  }
  w.u64(checksum64(image));
  return image;
}

TEST(KvSnapshot, RestoresVersionThreeImagesWithoutMembers) {
  Store s;
  ASSERT_TRUE(s.restore(legacy_image(3)).ok());
  EXPECT_TRUE(s.members().empty());
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"GETVER", "k"}, 0, 0)),
            "[\"v\", (integer) 3]");
}

TEST(KvSnapshot, RestoresVersionFourImagesWithoutAclUsers) {
  Store s;
  ASSERT_TRUE(s.restore(legacy_image(4)).ok());
  EXPECT_TRUE(s.acl_users().empty());
  EXPECT_EQ(s.acl_index(), 0u);
  EXPECT_EQ(s.key_count(), 1u);
}

TEST(KvSnapshot, RestoresVersionFiveImagesOfStrings) {
  Store s;
  ASSERT_TRUE(s.restore(legacy_image(5)).ok());
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"TYPE", "k"}, 0, 0)), "\"string\"");
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"GET", "k"}, 0, 0)), "\"v\"");
  // Written back as version 6: one type byte more.
  std::string again = s.snapshot();
  EXPECT_EQ(again[8], 6);
  EXPECT_EQ(again.size(), legacy_image(5).size() + 1);
}

TEST(KvAcl, UpdatesRefuseConcurrentChangesAndRoundTrip) {
  Store s;
  const std::vector<AclUserChange> all = {{.name = "default", .base = 0, .definition = "on nopass"},
                                          {.name = "alice", .base = 0, .definition = "on +get"}};
  EXPECT_EQ(render(s.apply(1, encode_acl_users(AclMode::kReplaceAll, 0, all, 5))), "\"OK\"");
  EXPECT_EQ(s.acl_index(), 1u);
  EXPECT_EQ(s.acl_users().at("alice").definition, "on +get");
  // A replacement computed before index 1 is refused, and changes nothing.
  EXPECT_EQ(render(s.apply(2, encode_acl_users(AclMode::kReplaceAll, 0, {}, 5))),
            std::string("(error) ") + std::string(kAclConflictError));
  EXPECT_EQ(s.acl_users().size(), 2u);
  // An update based on alice's last change applies; a second one based on the same is refused.
  const std::vector<AclUserChange> a1 = {{.name = "alice", .base = 1, .definition = "off"}};
  EXPECT_EQ(render(s.apply(3, encode_acl_users(AclMode::kUpdate, 1, a1, 5))), "\"OK\"");
  EXPECT_EQ(render(s.apply(4, encode_acl_users(AclMode::kUpdate, 1, a1, 5))),
            std::string("(error) ") + std::string(kAclConflictError));
  EXPECT_EQ(s.acl_users().at("alice").index, 3u);
  // Deletion answers the number deleted.
  const std::vector<AclUserChange> del = {{.name = "alice", .base = 3, .definition = ""}};
  EXPECT_EQ(render(s.apply(5, encode_acl_users(AclMode::kUpdate, 3, del, 5))), "(integer) 1");
  EXPECT_FALSE(s.acl_users().contains("alice"));
  Store copy;
  ASSERT_TRUE(copy.restore(s.snapshot()).ok());
  EXPECT_EQ(copy.acl_users(), s.acl_users());
  EXPECT_EQ(copy.acl_index(), 5u);
  EXPECT_EQ(copy.snapshot(), s.snapshot());
}

TEST(KvSnapshot, MemberRecordsRoundTripAndRejectGarbage) {
  Member m{"127.0.0.1:7004", "127.0.0.1:17004"};
  Result<Member> back = decode_member(encode_member(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(decode_member("").ok());
  EXPECT_FALSE(decode_member(encode_member(m) + "x").ok());
  EXPECT_FALSE(decode_member(encode_member(Member{std::string(300, 'a'), "b"})).ok());
}

TEST(KvSnapshot, NegativeClockIsCorrupt) {
  std::string image = populated().store().snapshot();
  image.resize(image.size() - 8);
  image[8 + 1 + 8 + 7] = static_cast<char>(0x80);  // top byte of clock_ms
  ByteWriter(&image).u64(checksum64(image));
  Store s;
  EXPECT_EQ(s.restore(image).message(), "kv snapshot: negative clock");
  EXPECT_EQ(s.key_count(), 0u);
  EXPECT_EQ(s.clock_ms(), 0);
}

TEST(KvSnapshot, MemoryEstimateTracksContents) {
  Harness h;
  for (int i = 0; i < 1000; ++i) h.run({"SET", fmt::format("key:{}", i), std::string(256, 'v')});
  size_t per_key = h.store().memory_bytes_estimate() / 1000;
  EXPECT_GT(per_key, 256u + 24);
  EXPECT_LT(per_key, 512u);
  h.run({"FLUSHALL"});
  EXPECT_EQ(h.store().memory_bytes_estimate(), 0u);
}

// ---- leases, election holders and key attachments ----

Harness populated_coord() {
  Harness h;
  h.run({"LEASE", "GRANT", "1000"});  // 1
  h.run({"LEASE", "GRANT", "5000"});  // 2
  h.run({"SET", "a", "v", "LEASE", "1"});
  h.run({"SET", "b", "v", "LEASE", "2", "PX", "300"});
  h.run({"SET", "plain", "v"});
  h.run({"ELECT", "w", "alice", "2000"});  // 6
  h.run({"LOCK", "l", "bob", "700"});      // 7
  return h;
}

TEST(KvCoordSnapshot, RoundTripKeepsLeasesHoldersAndAttachments) {
  Harness h = populated_coord();
  std::string image = h.store().snapshot();
  Harness copy;
  ASSERT_TRUE(copy.store().restore(image).ok());
  EXPECT_EQ(copy.store().snapshot(), image);
  EXPECT_EQ(copy.store().lease_count(), 2u);
  EXPECT_EQ(copy.store().election_count(), 2u);
  auto read = [&](std::vector<std::string_view> argv) {
    return render(copy.store().read(argv, h.now_ms(), 0));
  };
  EXPECT_EQ(read({"LEASE", "TTL", "2"}), "(integer) 5000");
  EXPECT_EQ(read({"ELECT.LEADER", "w"}), "[\"alice\", (integer) 6, (integer) 2000]");
  EXPECT_EQ(read({"ELECT.LEADER", "l"}), "[\"bob\", (integer) 7, (integer) 700]");
  // Attachments survived: revoking lease 1 on the copy deletes "a".
  std::string revoke = std::get<std::string>(
      encode_write(std::vector<std::string_view>{"LEASE", "REVOKE", "1"}, h.now_ms()));
  EXPECT_EQ(render(copy.store().apply(8, revoke)), "(integer) 1");
  EXPECT_EQ(read({"EXISTS", "a", "b", "plain"}), "(integer) 2");
  // Expiry indexes were rebuilt.
  EXPECT_EQ(copy.store().expired_elections(h.now_ms() + 700, 10).size(), 1u);
  EXPECT_EQ(copy.store().expired_leases(h.now_ms() + 5000, 10).size(), 1u);
}

TEST(KvCoordSnapshot, RestoresVersionOneImages) {
  // A version 1 image as the previous release wrote it: keys without lease ids, no sections.
  std::string image = "BWKVSNAP";
  ByteWriter w(&image);
  w.u8(1);
  w.u64(9);
  w.varint(1);
  w.bytes("k");
  w.bytes("v");
  w.u64(0);
  w.varint(4);
  w.u64(checksum64(image));
  Store s;
  ASSERT_TRUE(s.restore(image).ok());
  EXPECT_EQ(s.applied_index(), 9u);
  EXPECT_EQ(render(s.read(std::vector<std::string_view>{"GETVER", "k"}, 0, 0)),
            "[\"v\", (integer) 4]");
  EXPECT_EQ(s.lease_count(), 0u);
  EXPECT_EQ(s.clock_ms(), 0);
  // An unknown version is refused.
  std::string v7 = image.substr(0, image.size() - 8);
  v7[8] = 7;
  ByteWriter(&v7).u64(checksum64(v7));
  EXPECT_EQ(s.restore(v7).message(), "kv snapshot: unknown version 7");
  EXPECT_EQ(s.key_count(), 0u);
}

TEST(KvCoordSnapshot, DamageIsDetected) {
  std::string image = populated_coord().store().snapshot();
  for (size_t n = 0; n < image.size(); ++n) {
    Store s;
    EXPECT_FALSE(s.restore(std::string_view(image).substr(0, n)).ok()) << n;
    EXPECT_EQ(s.lease_count(), 0u);
  }
  for (size_t bit = 0; bit < image.size() * 8; bit += 3) {
    std::string bad = image;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    Store s;
    EXPECT_FALSE(s.restore(bad).ok()) << bit;
    EXPECT_EQ(s.election_count(), 0u);
  }
}

}  // namespace
}  // namespace bw::kv
