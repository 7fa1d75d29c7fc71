#include "resp/writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace bw::resp {
namespace {

// Runs `write` against a fresh Writer in the given protocol and returns the bytes.
template <typename F>
std::string encode(int protocol, F write) {
  std::string out;
  Writer w(&out, protocol);
  write(w);
  return out;
}

template <typename F>
void expect_both(F write, std::string_view resp2, std::string_view resp3) {
  EXPECT_EQ(encode(2, write), resp2);
  EXPECT_EQ(encode(3, write), resp3);
}

TEST(RespWriterTest, Scalars) {
  expect_both([](Writer& w) { w.simple("OK"); }, "+OK\r\n", "+OK\r\n");
  expect_both([](Writer& w) { w.error("ERR syntax error"); }, "-ERR syntax error\r\n",
              "-ERR syntax error\r\n");
  expect_both([](Writer& w) { w.integer(-42); }, ":-42\r\n", ":-42\r\n");
  expect_both([](Writer& w) { w.integer(std::numeric_limits<int64_t>::min()); },
              ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
  expect_both([](Writer& w) { w.bulk("hello"); }, "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  expect_both([](Writer& w) { w.bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  expect_both([](Writer& w) { w.bulk(std::string_view("a\0\r\n", 4)); },
              std::string_view("$4\r\na\0\r\n\r\n", 10), std::string_view("$4\r\na\0\r\n\r\n", 10));
  expect_both([](Writer& w) { w.null(); }, "$-1\r\n", "_\r\n");
  expect_both([](Writer& w) { w.null_array(); }, "*-1\r\n", "_\r\n");
  expect_both([](Writer& w) { w.boolean(true); }, ":1\r\n", "#t\r\n");
  expect_both([](Writer& w) { w.boolean(false); }, ":0\r\n", "#f\r\n");
  expect_both([](Writer& w) { w.verbatim("txt", "some text"); }, "$9\r\nsome text\r\n",
              "=13\r\ntxt:some text\r\n");
  expect_both([](Writer& w) { w.raw("+RAW\r\n"); }, "+RAW\r\n", "+RAW\r\n");
}

TEST(RespWriterTest, LineRepliesCannotBreakFraming) {
  expect_both([](Writer& w) { w.error("ERR bad\r\nthing\n"); }, "-ERR bad  thing \r\n",
              "-ERR bad  thing \r\n");
  expect_both([](Writer& w) { w.simple("a\rb"); }, "+a b\r\n", "+a b\r\n");
}

TEST(RespWriterTest, Aggregates) {
  expect_both([](Writer& w) { w.array(0); }, "*0\r\n", "*0\r\n");
  expect_both([](Writer& w) { w.array(2); }, "*2\r\n", "*2\r\n");
  expect_both([](Writer& w) { w.map(2); }, "*4\r\n", "%2\r\n");
  expect_both([](Writer& w) { w.set(3); }, "*3\r\n", "~3\r\n");
  expect_both([](Writer& w) { w.push(3); }, "*3\r\n", ">3\r\n");
  expect_both(
      [](Writer& w) {
        w.map(1);
        w.bulk("k");
        w.array(2);
        w.integer(1);
        w.null();
      },
      "*2\r\n$1\r\nk\r\n*2\r\n:1\r\n$-1\r\n", "%1\r\n$1\r\nk\r\n*2\r\n:1\r\n_\r\n");
}

TEST(RespWriterTest, Doubles) {
  expect_both([](Writer& w) { w.double_value(1.5); }, "$3\r\n1.5\r\n", ",1.5\r\n");
  expect_both([](Writer& w) { w.double_value(3); }, "$1\r\n3\r\n", ",3\r\n");
  expect_both([](Writer& w) { w.double_value(0.1); }, "$19\r\n0.10000000000000001\r\n",
              ",0.10000000000000001\r\n");
  expect_both([](Writer& w) { w.double_value(INFINITY); }, "$3\r\ninf\r\n", ",inf\r\n");
  expect_both([](Writer& w) { w.double_value(-INFINITY); }, "$4\r\n-inf\r\n", ",-inf\r\n");
  expect_both([](Writer& w) { w.double_value(NAN); }, "$3\r\nnan\r\n", ",nan\r\n");
  EXPECT_EQ(format_double(1e20), "1e+20");
  EXPECT_EQ(format_double(-0.0), "-0");
  EXPECT_EQ(format_double(10.5), "10.5");
}

TEST(RespWriterTest, ProtocolSwitch) {
  std::string out;
  Writer w(&out);
  EXPECT_EQ(w.protocol(), 2);
  w.null();
  w.set_protocol(3);
  EXPECT_EQ(w.protocol(), 3);
  w.null();
  EXPECT_EQ(out, "$-1\r\n_\r\n");
}

TEST(RespWriterTest, AppendsToExistingOutput) {
  std::string out = "+FIRST\r\n";
  Writer w(&out);
  w.integer(7);
  EXPECT_EQ(out, "+FIRST\r\n:7\r\n");
}

}  // namespace
}  // namespace bw::resp
