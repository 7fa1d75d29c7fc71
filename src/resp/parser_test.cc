#include "resp/parser.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bw::resp {
namespace {

using ::testing::ElementsAre;
using Command = std::vector<std::string>;

struct Parsed {
  std::vector<Command> commands;
  Parser::State last = Parser::State::kNeedMore;
  std::string error;
};

// Drains every complete command currently buffered.
void drain(Parser& parser, Parsed* out) {
  std::vector<std::string_view> argv;
  while (true) {
    out->last = parser.next(&argv);
    if (out->last != Parser::State::kCommand) break;
    out->commands.emplace_back(argv.begin(), argv.end());
  }
  out->error = parser.error();
}

Parsed parse_chunks(const std::vector<std::string_view>& chunks, ParserLimits limits = {}) {
  Parser parser(limits);
  Parsed out;
  for (std::string_view chunk : chunks) {
    parser.feed(chunk);
    drain(parser, &out);
  }
  return out;
}

Parsed parse(std::string_view input, ParserLimits limits = {}) {
  return parse_chunks({input}, limits);
}

std::string multibulk(const Command& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST(RespParserTest, MultibulkCommand) {
  Parsed p = parse("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n");
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_THAT(p.commands[0], ElementsAre("SET", "a", "hello"));
  EXPECT_EQ(p.last, Parser::State::kNeedMore);
  EXPECT_EQ(p.error, "");
}

TEST(RespParserTest, BulkIsBinarySafe) {
  const std::string value("a\r\nb\0c$*", 8);
  Parsed p = parse(multibulk({"SET", "k", value}) + multibulk({"GET", ""}));
  ASSERT_EQ(p.commands.size(), 2u);
  EXPECT_EQ(p.commands[0][2], value);
  EXPECT_THAT(p.commands[1], ElementsAre("GET", ""));
}

TEST(RespParserTest, InlineCommands) {
  Parsed p = parse("PING\r\nSET a b\nGET   a  \r\n");
  EXPECT_THAT(p.commands,
              ElementsAre(Command{"PING"}, Command{"SET", "a", "b"}, Command{"GET", "a"}));
}

TEST(RespParserTest, InlineQuoting) {
  Parsed p = parse(R"(SET "a\x41b\n" 'it\'s' "tab\there" "" plain\x41)"
                   "\r\n");
  ASSERT_EQ(p.commands.size(), 1u) << p.error;
  EXPECT_THAT(p.commands[0], ElementsAre("SET", "aAb\n", "it's", "tab\there", "", "plain\\x41"));
  // Single quotes keep backslashes except before a quote; \x needs two hex digits.
  p = parse(R"(ECHO 'a\nb' "\x4" "\q")"
            "\n");
  ASSERT_EQ(p.commands.size(), 1u) << p.error;
  EXPECT_THAT(p.commands[0], ElementsAre("ECHO", "a\\nb", "x4", "q"));
}

TEST(RespParserTest, InlineUnbalancedQuotes) {
  for (std::string_view bad : {"SET \"a b\r\n", "SET 'a\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n"}) {
    Parsed p = parse(bad);
    EXPECT_EQ(p.last, Parser::State::kError) << bad;
    EXPECT_EQ(p.error, "Protocol error: unbalanced quotes in request") << bad;
  }
}

TEST(RespParserTest, InlineNulEndsTheLine) {
  Parsed p = parse(std::string_view("GET a\0 b\r\nPING\r\n", 16));
  EXPECT_THAT(p.commands, ElementsAre(Command{"GET", "a"}, Command{"PING"}));
}

TEST(RespParserTest, EmptyCommandsAreSkipped) {
  Parsed p = parse("\r\n\n   \r\n*0\r\n*-1\r\n*-7\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_THAT(p.commands, ElementsAre(Command{"PING"}, Command{"PING"}));
  EXPECT_EQ(p.last, Parser::State::kNeedMore);
}

TEST(RespParserTest, PipelineInOneBuffer) {
  std::string input;
  constexpr int kCommands = 1000;
  for (int i = 0; i < kCommands; ++i) {
    input += i % 2 == 0 ? multibulk({"SET", fmt::format("key{}", i), std::string(100, 'v')})
                        : fmt::format("GET key{}", i) + "\r\n";
  }
  Parser parser;
  parser.feed(input);
  Parsed p;
  drain(parser, &p);
  ASSERT_EQ(p.commands.size(), static_cast<size_t>(kCommands));
  EXPECT_THAT(p.commands[999], ElementsAre("GET", "key999"));
  EXPECT_EQ(parser.buffered_bytes(), 0u);
  // Each byte is searched at most once, and nothing is moved.
  EXPECT_LE(parser.bytes_scanned(), input.size());
  EXPECT_EQ(parser.bytes_moved(), 0u);
}

std::string mixed_pipeline() {
  return multibulk({"SET", "a", "x\r\ny"}) + "PING\r\n\r\n" + "*0\r\n" +
         R"(SET "q\x20" 'z')"
         "\n" +
         multibulk({"MSET", "k1", "", "k2", std::string(300, 'w')}) + "*-1\r\n" +
         multibulk({"GET", "a"});
}

TEST(RespParserTest, EveryPrefixSplitGivesTheSameCommands) {
  const std::string input = mixed_pipeline();
  const Parsed whole = parse(input);
  ASSERT_EQ(whole.commands.size(), 5u) << whole.error;
  for (size_t split = 0; split <= input.size(); ++split) {
    const std::string_view in(input);
    Parsed p = parse_chunks({in.substr(0, split), in.substr(split)});
    EXPECT_EQ(p.commands, whole.commands) << "split at " << split;
    EXPECT_EQ(p.last, Parser::State::kNeedMore);
  }
}

TEST(RespParserTest, ByteAtATimeIsLinear) {
  const std::string input = mixed_pipeline() + "ECHO " + std::string(60000, 'e') + "\r\n" +
                            multibulk({"SET", "big", std::string(200000, 'b')});
  Parser parser;
  Parsed p;
  for (char c : input) {
    std::span<char> space = parser.prepare(1);
    space[0] = c;
    parser.commit(1);
    drain(parser, &p);
  }
  ASSERT_EQ(p.commands.size(), 7u) << p.error;
  EXPECT_EQ(p.commands[5][1].size(), 60000u);
  EXPECT_EQ(p.commands[6][2].size(), 200000u);
  // No rescans: every byte searched at most once; moves stay within a small multiple of the input.
  EXPECT_LE(parser.bytes_scanned(), input.size());
  EXPECT_LE(parser.bytes_moved(), 2 * input.size());
}

TEST(RespParserTest, ViewsStayValidUntilNextCall) {
  Parser parser;
  parser.feed(multibulk({"SET", "a", "1"}) + "GET \"b\"\r\n");
  std::vector<std::string_view> argv;
  ASSERT_EQ(parser.next(&argv), Parser::State::kCommand);
  EXPECT_THAT(argv, ElementsAre("SET", "a", "1"));
  ASSERT_EQ(parser.next(&argv), Parser::State::kCommand);
  EXPECT_THAT(argv, ElementsAre("GET", "b"));
  ASSERT_EQ(parser.next(&argv), Parser::State::kNeedMore);
  EXPECT_TRUE(argv.empty());
}

struct ErrorCase {
  std::string input;
  std::string error;
};

TEST(RespParserTest, ProtocolErrors) {
  const std::vector<ErrorCase> cases = {
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$03\r\nabc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$+3\r\nabc\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$1073741824\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$99999999999999999999999\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$3\rXabc\r\n", "Protocol error: invalid bulk length"},
      {"*100001\r\n", "Protocol error: invalid multibulk length"},
      {"*abc\r\n", "Protocol error: invalid multibulk length"},
      {"*\r\n", "Protocol error: invalid multibulk length"},
      {"*1 \r\n", "Protocol error: invalid multibulk length"},
      {"*2\r\nx", "Protocol error: expected '$', got 'x'"},
      {"*2\r\n$1\r\na\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
      {"*1\r\n$3\r\nfooXY", "Protocol error: expected CRLF after bulk data"},
      {"*1\r\n$3\r\nfoo\n\r", "Protocol error: expected CRLF after bulk data"},
      {"*1\r\n$" + std::string(70000, '1'), "Protocol error: too big bulk count string"},
      {"*" + std::string(70000, '1'), "Protocol error: too big mbulk count string"},
      {"SET a " + std::string(70000, 'v'), "Protocol error: too big inline request"},
      {"SET a " + std::string(70000, 'v') + "\r\n", "Protocol error: too big inline request"},
  };
  for (const ErrorCase& c : cases) {
    Parsed p = parse(c.input);
    EXPECT_EQ(p.last, Parser::State::kError) << c.input.substr(0, 40);
    EXPECT_EQ(p.error, c.error) << c.input.substr(0, 40);
  }
}

TEST(RespParserTest, ErrorsAreSticky) {
  Parser parser;
  parser.feed("PING\r\n*1\r\n$x\r\n");
  std::vector<std::string_view> argv;
  EXPECT_EQ(parser.next(&argv), Parser::State::kCommand);
  EXPECT_EQ(parser.next(&argv), Parser::State::kError);
  parser.feed("PING\r\n");
  EXPECT_EQ(parser.next(&argv), Parser::State::kError);
  EXPECT_TRUE(argv.empty());
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(parser.error(), "Protocol error: invalid bulk length");
}

TEST(RespParserTest, BulkLimitIsInclusive) {
  ParserLimits limits;
  limits.bulk_bytes_max = 10;
  Parsed ok = parse(multibulk({"SET", "k", std::string(10, 'x')}), limits);
  EXPECT_EQ(ok.commands.size(), 1u);
  Parsed bad = parse(multibulk({"SET", "k", std::string(11, 'x')}), limits);
  EXPECT_EQ(bad.error, "Protocol error: invalid bulk length");
  EXPECT_EQ(parse("SET k " + std::string(11, 'x') + "\r\n", limits).error,
            "Protocol error: invalid bulk length");
}

TEST(RespParserTest, ArgsLimitIsInclusive) {
  ParserLimits limits;
  limits.args_max = 4;
  EXPECT_EQ(parse(multibulk({"a", "b", "c", "d"}), limits).commands.size(), 1u);
  EXPECT_EQ(parse(multibulk({"a", "b", "c", "d", "e"}), limits).error,
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(parse("a b c d e\r\n", limits).error,
            "Protocol error: too many arguments in inline request");
}

TEST(RespParserTest, DefaultLimitRejectsHundredThousandArguments) {
  EXPECT_EQ(parse("*100000\r\n").error, "Protocol error: invalid multibulk length");
  Parsed ok = parse("*65536\r\n");
  EXPECT_EQ(ok.last, Parser::State::kNeedMore);
}

TEST(RespParserTest, InlineLimitIsInclusive) {
  ParserLimits limits;
  limits.inline_bytes_max = 8;
  EXPECT_EQ(parse("GET abcd\r\n", limits).commands.size(), 1u);  // 8 bytes before "\r\n"
  EXPECT_EQ(parse("GET abcde\n", limits).error, "Protocol error: too big inline request");
  // Without its newline yet, a line is judged once it cannot fit even with a final '\r'.
  EXPECT_EQ(parse("GET abcd\r", limits).last, Parser::State::kNeedMore);
  EXPECT_EQ(parse("GET abcde", limits).last, Parser::State::kNeedMore);
  EXPECT_EQ(parse("GET abcdef", limits).error, "Protocol error: too big inline request");
}

TEST(RespParserTest, BufferLimit) {
  ParserLimits limits;
  limits.buffer_bytes_max = 1000;
  EXPECT_EQ(parse(multibulk({"SET", "k", std::string(2000, 'x')}), limits).error,
            "Protocol error: query buffer limit exceeded");
  EXPECT_EQ(parse(multibulk({"SET", "k", std::string(900, 'x')}), limits).commands.size(), 1u);
}

TEST(RespParserTest, LargeBulkIsReadInPlace) {
  constexpr size_t kValueBytes = 100 << 20;
  constexpr size_t kReadBytes = 64 << 10;
  Parser parser;
  const std::string header =
      "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(kValueBytes) + "\r\n";
  parser.feed(header);
  std::vector<std::string_view> argv;
  ASSERT_EQ(parser.next(&argv), Parser::State::kNeedMore);
  const size_t capacity = parser.capacity_bytes();
  EXPECT_GE(capacity, kValueBytes);
  size_t sent = 0;
  const size_t total = kValueBytes + 2;
  while (sent < total) {
    std::span<char> space = parser.prepare(kReadBytes);
    const size_t n = std::min({space.size(), kReadBytes, total - sent});
    for (size_t i = 0; i < n; ++i) {
      const size_t at = sent + i;
      space[i] =
          at < kValueBytes ? static_cast<char>('a' + at % 26) : (at == kValueBytes ? '\r' : '\n');
    }
    parser.commit(n);
    sent += n;
    ASSERT_EQ(parser.next(&argv),
              sent < total ? Parser::State::kNeedMore : Parser::State::kCommand);
  }
  ASSERT_EQ(argv.size(), 3u);
  ASSERT_EQ(argv[2].size(), kValueBytes);
  EXPECT_EQ(argv[2][0], 'a');
  EXPECT_EQ(argv[2][kValueBytes - 1], static_cast<char>('a' + (kValueBytes - 1) % 26));
  // Reserved once, then filled in place: no copy of the value, no regrowth.
  EXPECT_EQ(parser.capacity_bytes(), capacity);
  EXPECT_LE(parser.bytes_moved(), header.size());
  // Once consumed, the big buffer is given back.
  parser.prepare(kReadBytes);
  EXPECT_LT(parser.capacity_bytes(), 1u << 20);
}

TEST(RespParserTest, ManyArgumentCommandGrowsGeometrically) {
  Command args(20000, std::string(1000, 'x'));
  args[0] = "MSET";
  const std::string input = multibulk(args);
  Parser parser;
  Parsed p;
  for (size_t at = 0; at < input.size(); at += 4096) {
    parser.feed(std::string_view(input).substr(at, 4096));
    drain(parser, &p);
  }
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_EQ(p.commands[0].size(), args.size());
  EXPECT_LE(parser.bytes_moved(), 4 * input.size());
}

TEST(RespParserTest, PrepareGivesAtLeastWhatIsAsked) {
  Parser parser;
  EXPECT_GE(parser.prepare(1).size(), 1u);
  EXPECT_GE(parser.prepare(100000).size(), 100000u);
  parser.commit(5);
  EXPECT_EQ(parser.buffered_bytes(), 5u);
}

}  // namespace
}  // namespace bw::resp
