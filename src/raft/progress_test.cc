#include "raft/progress.h"

#include <gtest/gtest.h>

namespace bw::raft {
namespace {

LogIndex I(uint64_t v) {
  return LogIndex(v);
}

TEST(Inflights, BoundedByCountAndBytes) {
  Inflights in(3, 100);
  in.add(I(1), 10);
  in.add(I(2), 10);
  EXPECT_FALSE(in.full());
  in.add(I(3), 10);
  EXPECT_TRUE(in.full());  // count
  in.free_le(I(2));
  EXPECT_EQ(in.count(), 1u);
  EXPECT_EQ(in.bytes(), 10u);
  in.add(I(10), 95);
  EXPECT_TRUE(in.full());  // bytes
  in.free_first_one();
  EXPECT_FALSE(in.full());
  in.reset();
  EXPECT_EQ(in.count(), 0u);
  EXPECT_EQ(in.bytes(), 0u);
}

TEST(Progress, MaybeUpdateTable) {
  struct Case {
    uint64_t match, next, update;
    bool want_updated;
    uint64_t want_match, want_next;
  };
  const Case cases[] = {
      {3, 5, 2, false, 3, 5},  // stale
      {3, 5, 3, false, 3, 5},  // same
      {3, 5, 4, true, 4, 5},   // advances match, next unchanged
      {3, 5, 7, true, 7, 8},   // advances both
  };
  for (const Case& c : cases) {
    Progress pr(I(c.next), 10, 0);
    pr.match = I(c.match);
    EXPECT_EQ(pr.maybe_update(I(c.update)), c.want_updated);
    EXPECT_EQ(pr.match, I(c.want_match));
    EXPECT_EQ(pr.next, I(c.want_next));
  }
}

TEST(Progress, MaybeDecreaseToTable) {
  struct Case {
    ProgressState state;
    uint64_t match, next, rejected, hint;
    bool want;
    uint64_t want_next;
  };
  const Case cases[] = {
      // Replicate: stale if rejected <= match, else back to match + 1.
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},
      {ProgressState::kReplicate, 5, 10, 9, 9, true, 6},
      // Probe: only the answer to next - 1 counts.
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},
      {ProgressState::kProbe, 0, 10, 9, 3, true, 4},   // hint jumps back
      {ProgressState::kProbe, 0, 10, 9, 20, true, 9},  // hint beyond rejected is ignored
      {ProgressState::kProbe, 6, 10, 9, 2, true, 7},   // never below match + 1
  };
  for (const Case& c : cases) {
    Progress pr(I(c.next), 10, 0);
    pr.match = I(c.match);
    pr.state = c.state;
    EXPECT_EQ(pr.maybe_decrease_to(I(c.rejected), I(c.hint)), c.want);
    EXPECT_EQ(pr.next, I(c.want_next));
  }
}

TEST(Progress, ProbePausesAfterOneAppend) {
  Progress pr(I(5), 10, 0);
  EXPECT_FALSE(pr.paused());
  pr.sent_entries(I(7), 3, 30);
  EXPECT_TRUE(pr.paused());
  EXPECT_EQ(pr.next, I(5));  // probe does not move next optimistically
  EXPECT_TRUE(pr.maybe_update(I(7)));
  EXPECT_FALSE(pr.paused());
}

TEST(Progress, ReplicatePipelinesUpToTheWindow) {
  Progress pr(I(1), 2, 0);
  pr.become_replicate();
  pr.sent_entries(I(3), 3, 3);
  EXPECT_EQ(pr.next, I(4));
  EXPECT_FALSE(pr.paused());
  pr.sent_entries(I(5), 2, 2);
  EXPECT_TRUE(pr.paused());
  pr.sent_entries(I(5), 0, 0);  // an empty append (commit update) takes no slot
  pr.maybe_update(I(3));
  pr.inflights.free_le(I(3));
  EXPECT_FALSE(pr.paused());
}

TEST(Progress, SnapshotThenProbeResumesAfterTheSnapshot) {
  Progress pr(I(3), 10, 0);
  pr.match = I(2);
  pr.become_snapshot(I(50));
  EXPECT_TRUE(pr.paused());
  pr.become_probe();
  EXPECT_EQ(pr.next, I(51));
  EXPECT_FALSE(pr.paused());
}

}  // namespace
}  // namespace bw::raft
