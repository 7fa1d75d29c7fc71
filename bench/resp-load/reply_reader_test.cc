#include "reply_reader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bw::bench {
namespace {

struct Seen {
  ReplyKind kind;
  std::string text;
  bool operator==(const Seen&) const = default;
};

// Feeds `input` in pieces of `step` bytes; returns the replies and the final state.
std::vector<Seen> read_all(const std::string& input, size_t step, ReplyReader::State* last) {
  ReplyReader r;
  std::vector<Seen> out;
  *last = ReplyReader::State::kNeedMore;
  for (size_t at = 0; at < input.size(); at += step) {
    r.feed(std::string_view(input).substr(at, step));
    Reply reply;
    while ((*last = r.next(&reply)) == ReplyReader::State::kReply) {
      out.push_back({reply.kind, std::string(reply.text)});
    }
    if (*last == ReplyReader::State::kError) break;
  }
  return out;
}

TEST(ReplyReader, SplitsRepliesHoweverTheBytesArrive) {
  const std::string input =
      "+OK\r\n$5\r\nhello\r\n$-1\r\n-ERR wrong\r\n:42\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n"
      "*0\r\n*-1\r\n_\r\n%1\r\n+k\r\n+v\r\n$0\r\n\r\n!3\r\nbad\r\n";
  const std::vector<Seen> want = {
      {ReplyKind::kStatus, "OK"},       {ReplyKind::kBulk, "hello"}, {ReplyKind::kNull, ""},
      {ReplyKind::kError, "ERR wrong"}, {ReplyKind::kInteger, "42"}, {ReplyKind::kAggregate, ""},
      {ReplyKind::kAggregate, ""},      {ReplyKind::kNull, ""},      {ReplyKind::kNull, ""},
      {ReplyKind::kAggregate, ""},      {ReplyKind::kBulk, ""},      {ReplyKind::kError, "bad"}};
  for (size_t step = 1; step <= input.size(); step++) {
    ReplyReader::State last;
    EXPECT_EQ(read_all(input, step, &last), want) << "step " << step;
    EXPECT_EQ(last, ReplyReader::State::kNeedMore);
  }
}

TEST(ReplyReader, BadBytesAreAnErrorForGood) {
  for (const std::string input :
       {"?x\r\n", "$abc\r\n", "$-2\r\n", "$3\r\nabcXY", "*-5\r\n", "_x\r\n", "$99999999999\r\n"}) {
    ReplyReader::State last;
    read_all(input, input.size(), &last);
    EXPECT_EQ(last, ReplyReader::State::kError) << input;
  }
  ReplyReader r;
  r.feed("?\r\n+OK\r\n");
  Reply reply;
  EXPECT_EQ(r.next(&reply), ReplyReader::State::kError);
  EXPECT_FALSE(r.error().empty());
  EXPECT_EQ(r.next(&reply), ReplyReader::State::kError);
}

TEST(ReplyReader, LimitsHold) {
  ReplyReader::State last;
  read_all("+" + std::string(kReplyLineBytesMax + 1, 'x'), 4096, &last);
  EXPECT_EQ(last, ReplyReader::State::kError);
  std::string deep;
  for (size_t i = 0; i <= kReplyDepthMax; i++) deep += "*1\r\n";
  read_all(deep, deep.size(), &last);
  EXPECT_EQ(last, ReplyReader::State::kError);
  read_all(fmt::format("*{}\r\n", kReplyAggregateElementsMax + 1), 64, &last);
  EXPECT_EQ(last, ReplyReader::State::kError);
}

TEST(ReplyReader, BufferDoesNotGrowWithTheStream) {
  ReplyReader r;
  Reply reply;
  for (int i = 0; i < 100'000; i++) {
    r.feed("$3\r\nabc\r\n+OK\r\n");
    ASSERT_EQ(r.next(&reply), ReplyReader::State::kReply);
    ASSERT_EQ(r.next(&reply), ReplyReader::State::kReply);
    ASSERT_EQ(r.next(&reply), ReplyReader::State::kNeedMore);
  }
  EXPECT_EQ(r.buffered_bytes(), 0u);
}

}  // namespace
}  // namespace bw::bench
