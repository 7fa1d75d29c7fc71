// The replica driver on an in-memory log, a hand-driven clock and a captured outbox.
#include "replica/replica.h"

#include <gtest/gtest.h>

#include <optional>

#include "common/codec.h"
#include "raft/memory_storage.h"

namespace bw::replica {
namespace {

constexpr GroupId kGroup{1};

// Clock, transport and disk for one replica: writes land in a MemoryStorage at once and become
// durable when the test says so.
class Harness final : public Clock, public Transport, public Disk {
 public:
  int64_t now_ms() const override { return now_ms_; }
  int64_t monotonic_ms() const override { return now_ms_; }
  void send(raft::Message m) override { outbox.push_back(std::move(m)); }
  raft::LogStorage* log() override { return &log_; }
  void write(storage::WriteBatch batch, uint64_t seq, bool sync) override {
    if (batch.snapshot) {
      ASSERT_TRUE(log_.apply_snapshot(*batch.snapshot).ok());
    }
    if (!batch.entries.empty()) {
      ASSERT_TRUE(log_.append(batch.entries).ok());
    }
    if (sync) last_seq = seq;
  }

  std::unique_ptr<Replica> start(NodeId id, std::vector<NodeId> voters, uint64_t epoch,
                                 uint32_t bugs = 0) {
    Options o;
    o.raft.id = id;
    o.raft.group = kGroup;
    o.boot_epoch = epoch;
    o.planted_bugs = bugs;
    Boot boot;
    boot.state.conf.voters = std::move(voters);
    return std::make_unique<Replica>(o, Io{.clock = this, .transport = this, .disk = this},
                                     std::move(boot));
  }

  std::vector<raft::Message> outbox;
  uint64_t last_seq = 0;
  int64_t now_ms_ = 1'767'225'600'000;

 private:
  raft::MemoryStorage log_;
};

std::vector<std::string_view> argv(std::initializer_list<std::string_view> a) {
  return a;
}

TEST(ReplicaTest, AWriteIsAnsweredOnlyOnceDurableAndThenReadable) {
  Harness h;
  auto r = h.start(NodeId(1), {NodeId(1)}, 7);
  r->campaign();
  r->flush();
  r->on_durable(h.last_seq);
  ASSERT_TRUE(r->is_leader());

  std::optional<kv::Reply> answer;
  auto payload = kv::encode_write(argv({"SET", "k", "v"}), h.now_ms());
  ASSERT_TRUE(std::holds_alternative<std::string>(payload));
  auto index =
      r->propose(std::get<std::string>(payload), [&](const Status& st, const kv::Reply& rep) {
        ASSERT_TRUE(st.ok()) << st;
        answer = rep;
      });
  ASSERT_TRUE(index.ok());
  r->flush();
  EXPECT_FALSE(answer.has_value()) << "answered before its entry was durable";
  EXPECT_EQ(r->oldest_pending_write(), index->value());
  r->on_durable(h.last_seq);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(*answer, kv::Reply::ok());
  EXPECT_EQ(r->oldest_pending_write(), 0u);

  bool read_ready = false;
  r->read([&](const Status& st) { read_ready = st.ok(); });
  r->flush();
  ASSERT_TRUE(read_ready);
  EXPECT_EQ(r->evaluate_read(argv({"GET", "k"}), 0), kv::Reply::bulk("v"));
}

TEST(ReplicaTest, OwnProposalsAreTimedFromProposeToApply) {
  Harness h;
  auto r = h.start(NodeId(1), {NodeId(1)}, 7);
  r->campaign();
  r->flush();
  r->on_durable(h.last_seq);
  ASSERT_TRUE(r->is_leader());
  const uint64_t applied_before = r->counters().entries_applied;
  EXPECT_EQ(r->commit_latency().count, 0u) << "the leader's own no-op is no proposal";

  auto payload = kv::encode_write(argv({"SET", "k", "v"}), h.now_ms());
  ASSERT_TRUE(
      r->propose(std::get<std::string>(payload), [](const Status&, const kv::Reply&) {}).ok());
  r->flush();
  h.now_ms_ += 3;  // the disk takes 3 ms
  r->on_durable(h.last_seq);
  EXPECT_EQ(r->counters().proposals, 1u);
  EXPECT_EQ(r->counters().entries_applied, applied_before + 1);
  ASSERT_EQ(r->commit_latency().count, 1u);
  EXPECT_EQ(r->commit_latency().sum_us, 3000u);
  EXPECT_EQ(r->commit_latency().counts[latency_bucket(3000)], 1u);
}

// A follower that knows leader 2 at term 1 and has asked it for one read index; returns the
// context it sent.
std::string ask_read_index(Harness& h, Replica& r, bool* released) {
  raft::Message hb{.type = raft::MessageType::kHeartbeat,
                   .group = kGroup,
                   .from = NodeId(2),
                   .to = r.id(),
                   .term = Term(1)};
  EXPECT_TRUE(r.step(hb).ok());
  r.flush();
  r.on_durable(h.last_seq);  // the new term is durable: messages may leave
  h.outbox.clear();
  r.read([released](const Status& st) { *released = st.ok(); });
  r.flush();
  for (const raft::Message& m : h.outbox) {
    if (m.type == raft::MessageType::kReadIndex) return m.context;
  }
  ADD_FAILURE() << "no ReadIndex request sent";
  return {};
}

// A read index answer addressed to a previous incarnation of this node must not release a read
// of this one (its index may predate writes acknowledged since).
void expect_old_answer_ignored(uint32_t bugs, bool expect_released) {
  Harness first;
  auto before = first.start(NodeId(1), {NodeId(1), NodeId(2), NodeId(3)}, 1111, bugs);
  bool unused = false;
  const std::string old_ctx = ask_read_index(first, *before, &unused);
  before.reset();  // the process restarts

  Harness second;
  auto after = second.start(NodeId(1), {NodeId(1), NodeId(2), NodeId(3)}, 2222, bugs);
  bool released = false;
  const std::string new_ctx = ask_read_index(second, *after, &released);
  EXPECT_EQ(old_ctx == new_ctx, expect_released);
  // The late answer to the old request arrives now.
  raft::Message late{.type = raft::MessageType::kReadIndexResp,
                     .group = kGroup,
                     .from = NodeId(2),
                     .to = NodeId(1),
                     .term = Term(1),
                     .index = LogIndex(0),
                     .context = old_ctx};
  EXPECT_TRUE(after->step(late).ok());
  after->flush();
  EXPECT_EQ(released, expect_released);
}

TEST(ReplicaTest, ReadIndexAnswerToAPreviousIncarnationIsIgnored) {
  expect_old_answer_ignored(0, /*expect_released=*/false);
}

TEST(ReplicaTest, PlantedContextWithoutEpochServesTheLateAnswer) {
  expect_old_answer_ignored(static_cast<uint32_t>(DriverBug::kReadContextWithoutEpoch),
                            /*expect_released=*/true);
}

// Reads that arrive while a round is out wait for it; once its answer is handled they are the
// host's to issue (the next flush), not left until some later input.
TEST(ReplicaTest, ReadsQueuedBehindARoundAreReadyToIssueWhenItEnds) {
  Harness h;
  auto r = h.start(NodeId(1), {NodeId(1), NodeId(2), NodeId(3)}, 5);
  bool first = false;
  const std::string ctx = ask_read_index(h, *r, &first);
  bool second = false;
  r->read([&second](const Status& st) { second = st.ok(); });
  h.outbox.clear();
  r->flush();
  EXPECT_TRUE(h.outbox.empty()) << "a second round while the first is out";
  EXPECT_FALSE(r->has_reads_to_issue());
  raft::Message answer{.type = raft::MessageType::kReadIndexResp,
                       .group = kGroup,
                       .from = NodeId(2),
                       .to = NodeId(1),
                       .term = Term(1),
                       .index = LogIndex(0),
                       .context = ctx};
  ASSERT_TRUE(r->step(answer).ok());
  r->flush();
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_TRUE(r->has_reads_to_issue());
  r->flush();
  EXPECT_FALSE(r->has_reads_to_issue());
  ASSERT_EQ(h.outbox.size(), 1u);
  EXPECT_EQ(h.outbox[0].type, raft::MessageType::kReadIndex);
}

TEST(ReplicaTest, AWriteOverwrittenByAnotherLeaderIsAnsweredNotApplied) {
  Harness h;
  auto r = h.start(NodeId(1), {NodeId(1), NodeId(2), NodeId(3)}, 9);
  r->campaign();
  r->flush();
  r->on_durable(h.last_seq);
  // Votes from 2 make it leader of term 1... (pre-vote first when enabled).
  for (raft::MessageType t : {raft::MessageType::kPreVoteResp, raft::MessageType::kVoteResp}) {
    raft::Message m{.type = t, .group = kGroup, .from = NodeId(2), .to = NodeId(1)};
    m.term = r->raft().term();
    if (t == raft::MessageType::kPreVoteResp) m.term = m.term + 1;
    (void)r->step(m);
    r->flush();
    r->on_durable(h.last_seq);
  }
  ASSERT_TRUE(r->is_leader());
  Status answer;
  bool answered = false;
  auto payload = kv::encode_write(argv({"SET", "k", "mine"}), h.now_ms());
  auto index = r->propose(std::get<std::string>(payload), [&](const Status& st, const kv::Reply&) {
    answered = true;
    answer = st;
  });
  ASSERT_TRUE(index.ok());
  r->flush();
  r->on_durable(h.last_seq);
  ASSERT_FALSE(answered);
  // Leader 2 of a later term overwrites the index with its own entry and commits it.
  auto theirs = kv::encode_write(argv({"SET", "k", "theirs"}), h.now_ms());
  const Term later = r->raft().term() + 1;
  raft::Message app{.type = raft::MessageType::kAppend,
                    .group = kGroup,
                    .from = NodeId(2),
                    .to = NodeId(1),
                    .term = later,
                    .log_term = Term(0),
                    .index = LogIndex(0),
                    .commit = *index};
  for (uint64_t i = 1; i <= index->value(); ++i) {
    app.entries.push_back(
        raft::Entry{.term = later,
                    .index = LogIndex(i),
                    .data = i == index->value() ? std::get<std::string>(theirs) : std::string()});
  }
  (void)r->step(app);
  r->flush();
  r->on_durable(h.last_seq);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(absl::IsAborted(answer)) << answer;
  EXPECT_EQ(r->evaluate_read(argv({"GET", "k"}), 0), kv::Reply::bulk("theirs"));
}

}  // namespace
}  // namespace bw::replica
