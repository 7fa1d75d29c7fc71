#include "sim/linearizability.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bw::sim {
namespace {

Operation make(uint32_t client, OpKind kind, uint64_t t0, uint64_t t1, Outcome outcome) {
  Operation op;
  op.client = client;
  op.kind = kind;
  op.key = "k";
  op.invoke_us = t0;
  op.complete_us = t1;
  op.outcome = outcome;
  return op;
}

Operation put(uint32_t client, std::string v, uint64_t t0, uint64_t t1,
              Outcome outcome = Outcome::kOk) {
  Operation op = make(client, OpKind::kPut, t0, t1, outcome);
  op.value = std::move(v);
  return op;
}

Operation get(uint32_t client, std::string read, uint64_t t0, uint64_t t1) {
  Operation op = make(client, OpKind::kGet, t0, t1, Outcome::kOk);
  op.read_value = std::move(read);
  return op;
}

Operation cas(uint32_t client, std::string expected, std::string v, bool succeeded, uint64_t t0,
              uint64_t t1, Outcome outcome = Outcome::kOk) {
  Operation op = make(client, OpKind::kCas, t0, t1, outcome);
  op.expected = std::move(expected);
  op.value = std::move(v);
  op.cas_succeeded = succeeded;
  return op;
}

TEST(Linearizability, EmptyHistoryPasses) {
  EXPECT_TRUE(check_linearizable({}).linearizable);
}

TEST(Linearizability, SequentialHistoryPasses) {
  std::vector<Operation> h = {get(1, "", 0, 1),
                              put(1, "a", 2, 3),
                              get(2, "a", 4, 5),
                              cas(2, "a", "b", true, 6, 7),
                              cas(1, "a", "c", false, 8, 9),
                              get(1, "b", 10, 11)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

TEST(Linearizability, ConcurrentOpsMayTakeEitherOrder) {
  // put(a) and put(b) overlap; reads after both may see either, but consistently.
  std::vector<Operation> h = {put(1, "a", 0, 10), put(2, "b", 1, 9), get(3, "a", 11, 12),
                              get(3, "a", 13, 14)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
  // A read concurrent with a write may see the old or the new value.
  std::vector<Operation> h2 = {put(1, "a", 0, 1), put(2, "b", 2, 10), get(3, "a", 3, 4),
                               get(3, "b", 5, 6), get(4, "b", 11, 12)};
  EXPECT_TRUE(check_linearizable(h2).linearizable);
}

TEST(Linearizability, StaleReadFails) {
  std::vector<Operation> h = {put(1, "a", 0, 1), put(1, "b", 2, 3), get(2, "a", 4, 5)};
  const LinearizabilityResult r = check_linearizable(h);
  EXPECT_FALSE(r.linearizable);
  EXPECT_EQ(r.key, "k");
  EXPECT_NE(r.explanation.find("get(k)"), std::string::npos) << r.explanation;
}

TEST(Linearizability, ReadsGoingBackInTimeFail) {
  // Both reads are concurrent with the write, but once b was seen, a cannot come back.
  std::vector<Operation> h = {put(1, "a", 0, 1), put(2, "b", 2, 20), get(3, "b", 3, 4),
                              get(3, "a", 5, 6)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
}

TEST(Linearizability, LostWriteFails) {
  // An acknowledged write that a later read does not see (and nothing overwrote it).
  std::vector<Operation> h = {put(1, "a", 0, 1), put(2, "b", 2, 3), get(1, "a", 10, 11)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
  std::vector<Operation> h2 = {put(2, "b", 2, 3), get(1, "", 10, 11)};
  EXPECT_FALSE(check_linearizable(h2).linearizable);
}

TEST(Linearizability, ReadOfNeverWrittenValueFails) {
  std::vector<Operation> h = {put(1, "a", 0, 1), get(2, "zzz", 2, 3)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
}

TEST(Linearizability, CasResultsAreChecked) {
  // cas claims success but the value was not the expected one.
  std::vector<Operation> h = {put(1, "a", 0, 1), cas(2, "x", "y", true, 2, 3)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
  // cas claims mismatch but the value was the expected one.
  std::vector<Operation> h2 = {put(1, "a", 0, 1), cas(2, "a", "y", false, 2, 3)};
  EXPECT_FALSE(check_linearizable(h2).linearizable);
}

TEST(Linearizability, UnknownWriteMayTakeEffect) {
  std::vector<Operation> h = {put(1, "a", 0, 1), put(2, "b", 2, 0, Outcome::kUnknown),
                              get(3, "b", 50, 51)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

TEST(Linearizability, UnknownWriteMayNeverTakeEffect) {
  std::vector<Operation> h = {put(1, "a", 0, 1), put(2, "b", 2, 0, Outcome::kUnknown),
                              get(3, "a", 50, 51), get(3, "a", 60, 61)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

TEST(Linearizability, UnknownWriteCannotTakeEffectBeforeItsInvocation) {
  std::vector<Operation> h = {put(1, "a", 0, 1), get(3, "b", 2, 3),
                              put(2, "b", 10, 0, Outcome::kUnknown)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
}

TEST(Linearizability, UnknownWriteTakesEffectAtMostOnce) {
  // Once overwritten by c, the unknown b cannot reappear after c was read.
  std::vector<Operation> h = {put(2, "b", 0, 0, Outcome::kUnknown), get(1, "b", 5, 6),
                              put(1, "c", 7, 8), get(1, "c", 9, 10), get(1, "b", 11, 12)};
  EXPECT_FALSE(check_linearizable(h).linearizable);
}

TEST(Linearizability, UnknownCasIsConsistentWithFailedCas) {
  // The unknown cas a->b may have happened, which explains why the later cas a->c failed.
  std::vector<Operation> h = {put(1, "a", 0, 1), cas(2, "a", "b", false, 2, 0, Outcome::kUnknown),
                              cas(3, "a", "c", false, 10, 11)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
  // An unknown plain put likewise: the later cas saw "not a".
  std::vector<Operation> h2 = {put(1, "a", 0, 1), put(2, "b", 2, 0, Outcome::kUnknown),
                               cas(3, "a", "c", false, 10, 11)};
  EXPECT_TRUE(check_linearizable(h2).linearizable);
}

TEST(Linearizability, FailedOpsAreIgnored) {
  std::vector<Operation> h = {put(1, "a", 0, 1), put(2, "b", 2, 3, Outcome::kFail),
                              get(3, "a", 4, 5)};
  EXPECT_TRUE(check_linearizable(h).linearizable);
}

TEST(Linearizability, KeysAreIndependent) {
  Operation p = put(1, "a", 0, 1);
  Operation g = get(2, "", 2, 3);
  g.key = "other";
  EXPECT_TRUE(check_linearizable({p, g}).linearizable);
  Operation g2 = get(2, "a", 2, 3);
  g2.key = "other";
  const LinearizabilityResult r = check_linearizable({p, g2});
  EXPECT_FALSE(r.linearizable);
  EXPECT_EQ(r.key, "other");
}

TEST(Linearizability, ManyConcurrentClientsStayTractable) {
  // 8 clients x 50 rounds of overlapping writes and reads of the value just written.
  std::vector<Operation> h;
  uint64_t t = 0;
  for (int round = 0; round < 50; ++round) {
    for (uint32_t c = 0; c < 8; ++c) {
      h.push_back(put(c, "v" + std::to_string(round) + "_" + std::to_string(c), t + c, t + 20));
    }
    h.push_back(get(9, "v" + std::to_string(round) + "_7", t + 21, t + 22));
    t += 30;
  }
  const LinearizabilityResult r = check_linearizable(h);
  EXPECT_TRUE(r.linearizable);
  EXPECT_FALSE(r.inconclusive);
}

TEST(Linearizability, BudgetExhaustionIsReportedAsInconclusive) {
  std::vector<Operation> h;
  for (uint32_t c = 0; c < 12; ++c) h.push_back(put(c, "v" + std::to_string(c), 0, 100));
  h.push_back(get(20, "nope", 101, 102));
  const LinearizabilityResult r = check_linearizable(h, 100);
  EXPECT_TRUE(r.inconclusive);
}

}  // namespace
}  // namespace bw::sim
