#include "raft/message_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace bw::raft {
namespace {

bool same(const Message& a, const Message& b) {
  return a.type == b.type && a.group == b.group && a.from == b.from && a.to == b.to &&
         a.term == b.term && a.log_term == b.log_term && a.index == b.index &&
         a.entries == b.entries && a.commit == b.commit && a.reject == b.reject &&
         a.reject_hint == b.reject_hint && a.hint_term == b.hint_term &&
         a.snapshot_meta == b.snapshot_meta && a.snapshot_offset == b.snapshot_offset &&
         a.snapshot_chunk == b.snapshot_chunk && a.snapshot_last == b.snapshot_last &&
         a.commit_only == b.commit_only && a.context == b.context;
}

Message full_message() {
  Message m;
  m.type = MessageType::kSnapshot;
  m.group = GroupId(3);
  m.from = NodeId(1);
  m.to = NodeId(200);
  m.term = Term(7);
  m.log_term = Term(6);
  m.index = LogIndex(1u << 20);
  m.commit = LogIndex(99);
  m.reject = true;
  m.reject_hint = LogIndex(5);
  m.hint_term = Term(2);
  m.entries = {Entry{Term(6), LogIndex(1), EntryType::kNormal, "set x 1"},
               Entry{Term(7), LogIndex(2), EntryType::kConfChange, std::string("\x01\x00\x04", 3)},
               Entry{Term(7), LogIndex(3), EntryType::kNormal, ""}};
  m.snapshot_meta.index = LogIndex(40);
  m.snapshot_meta.term = Term(5);
  m.snapshot_meta.conf = ConfState{{NodeId(1), NodeId(2)}, {NodeId(9)}, {NodeId(3)}};
  m.snapshot_offset = 1234567;
  m.snapshot_chunk = std::string(3000, 'z');
  m.snapshot_last = true;
  m.commit_only = true;
  m.context = std::string("\x00\xff", 2);
  return m;
}

TEST(MessageCodec, RoundTripsEveryField) {
  const Message m = full_message();
  Result<Message> back = decode_message(encode_message(m), MessageLimits{});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(same(m, *back));
}

TEST(MessageCodec, RoundTripsDefaultsOfEveryType) {
  for (uint8_t t = 0; t <= static_cast<uint8_t>(MessageType::kTimeoutNow); ++t) {
    Message m;
    m.type = static_cast<MessageType>(t);
    Result<Message> back = decode_message(encode_message(m), MessageLimits{});
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(same(m, *back));
  }
}

TEST(MessageCodec, EveryTruncationIsAnError) {
  const std::string bytes = encode_message(full_message());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_message(std::string_view(bytes).substr(0, n), MessageLimits{}).ok())
        << "prefix of " << n << " bytes decoded";
  }
}

TEST(MessageCodec, TrailingBytesAndBadVersionAreErrors) {
  std::string bytes = encode_message(full_message());
  EXPECT_FALSE(decode_message(bytes + "x", MessageLimits{}).ok());
  bytes[0] = 2;
  EXPECT_FALSE(decode_message(bytes, MessageLimits{}).ok());
}

TEST(MessageCodec, LimitsAreEnforced) {
  const std::string bytes = encode_message(full_message());
  MessageLimits few_entries;
  few_entries.entries_max = 2;
  EXPECT_FALSE(decode_message(bytes, few_entries).ok());
  MessageLimits small_chunk;
  small_chunk.snapshot_chunk_bytes_max = 100;
  EXPECT_FALSE(decode_message(bytes, small_chunk).ok());
  MessageLimits small_message;
  small_message.message_bytes_max = bytes.size() - 1;
  EXPECT_FALSE(decode_message(bytes, small_message).ok());
  MessageLimits small_entry;
  small_entry.entry_bytes_max = 3;
  EXPECT_FALSE(decode_message(bytes, small_entry).ok());
  MessageLimits few_members;
  few_members.members_max = 1;
  EXPECT_FALSE(decode_message(bytes, few_members).ok());
}

TEST(MessageCodec, HugeCountsDoNotAllocate) {
  // version, type, 7 zero varints, flags, 2 zero varints, then an entry count of 2^60.
  std::string bytes = {1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  bytes += "\x80\x80\x80\x80\x80\x80\x80\x80\x10";
  MessageLimits unbounded;
  unbounded.entries_max = UINT32_MAX;
  EXPECT_FALSE(decode_message(bytes, unbounded).ok());
}

TEST(MessageCodec, GarbageNeverCrashes) {
  std::mt19937_64 rng(42);
  const std::string valid = encode_message(full_message());
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    (void)decode_message(bytes, MessageLimits{});
    std::string noise(rng() % 64, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    (void)decode_message(noise, MessageLimits{});
  }
}

}  // namespace
}  // namespace bw::raft
