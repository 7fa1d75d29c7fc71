// Randomized whole-cluster runs of the pure core: messages are delivered out of order,
// dropped and duplicated; nodes are partitioned, restarted, compacted and asked to transfer
// leadership and to serve reads. Safety is checked after every step; liveness once healed.
// Every failure names the seed that replays it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "raft/raft.h"
#include "raft/raft_testing.h"

namespace bw::raft {
namespace {

using testing::TestCluster;

struct Options {
  size_t nodes = 3;
  size_t steps = 3000;
  bool pre_vote = true;
  bool check_quorum = true;
  bool conf_changes = false;
  bool lease_reads = false;  // needs synchronized clocks: then every tick reaches all nodes
  uint32_t planted_bugs = 0;
  size_t read_rounds = kReadRoundsWithRequestsMax;  // rounds with requests in flight
};

class RandomRun {
 public:
  RandomRun(uint64_t seed, Options opt) : seed_(seed), opt_(opt), rng_(seed), cluster_(config()) {
    cluster_.add_voters(opt_.nodes);
    cluster_.on_apply = [this](NodeId id, const Entry& e) { check_apply(id, e); };
    cluster_.on_snapshot = [this](NodeId, const Snapshot&) { ++snapshots_; };
  }

  // Returns an empty string on success, else the first violation.
  std::string run() {
    for (size_t step = 0; step < opt_.steps && failure_.empty(); ++step) {
      random_step();
      check_leaders();
    }
    if (failure_.empty()) check_liveness();
    return failure_;
  }

  struct Stats {
    uint64_t applied = 0, terms = 0, reads = 0, snapshots = 0;
  };
  Stats stats() const { return Stats{applied_.size(), leaders_.size(), reads_served_, snapshots_}; }

 private:
  Config config() const {
    Config c;
    c.group = GroupId(1);
    c.election_ticks = 10;
    c.heartbeat_ticks = 2;
    c.pre_vote = opt_.pre_vote;
    c.check_quorum = opt_.check_quorum;
    c.random_seed = seed_;
    c.append_bytes_max = 64;
    c.append_entries_max = 4;
    c.inflight_appends_max = 3;
    c.snapshot_chunk_bytes_max = 8;
    c.planted_bugs = opt_.planted_bugs;
    c.read_rounds_with_requests_max = opt_.read_rounds;
    if (opt_.lease_reads) c.read_only = ReadOnlyOption::kLeaseBased;
    return c;
  }

  void fail(const std::string& what) {
    if (failure_.empty()) failure_ = what;
  }

  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  NodeId pick_node() {
    std::vector<NodeId> ids = cluster_.ids();
    return ids[pick(ids.size())];
  }

  void random_step() {
    const size_t roll = pick(1000);
    const size_t queued = cluster_.queued();
    if (roll < 330) {
      if (queued > 0) cluster_.deliver_index(pick(std::min<size_t>(queued, 8)));
    } else if (roll < 370) {
      if (queued > 0) cluster_.drop_index(pick(queued));
    } else if (roll < 390) {
      if (queued > 0) cluster_.duplicate_index(pick(queued));
    } else if (roll < 640) {
      cluster_.process_ready(pick_node());
    } else if (roll < 840) {
      if (opt_.lease_reads) {
        if (pick(4) == 0) {
          for (NodeId id : cluster_.ids()) cluster_.tick(id, 1);
        }
      } else {
        cluster_.tick(pick_node(), 1);
      }
    } else if (roll < 930) {
      propose();
    } else if (roll < 960) {
      read();
    } else if (roll < 965) {
      std::set<NodeId> side;
      for (NodeId id : cluster_.ids()) {
        if (pick(2) == 0) side.insert(id);
      }
      cluster_.partition(side);
    } else if (roll < 975) {
      cluster_.heal();
    } else if (roll < 982) {
      NodeId id = pick_node();
      if (!cluster_.node(id).has_ready()) {
        reads_.erase(id);
        cluster_.restart(id);
      }
    } else if (roll < 990) {
      NodeId id = pick_node();
      TestCluster::Member& m = cluster_.member(id);
      if (m.applied_index >= cluster_.storage(id).first_index()) {
        (void)cluster_.compact(id, m.applied_index);
      }
    } else if (roll < 995) {
      NodeId from = pick_node();
      (void)cluster_.node(from).transfer_leader(pick_node());
    } else if (opt_.conf_changes) {
      change_membership();
    }
    check_reads();
  }

  void propose() {
    for (NodeId id : cluster_.ids()) {
      if (cluster_.node(id).is_leader()) {
        (void)cluster_.node(id).propose(fmt::format("v{}", ++proposals_));
        return;
      }
    }
  }

  void change_membership() {
    for (NodeId id : cluster_.ids()) {
      if (!cluster_.node(id).is_leader()) continue;
      const NodeId target = pick_node();
      ConfChange cc{static_cast<ConfChangeType>(pick(3)), target};
      (void)cluster_.node(id).propose_conf_change(cc);
      return;
    }
  }

  // A read requested now must return an index at or beyond everything committed now.
  void read() {
    const NodeId id = pick_node();
    LogIndex committed;
    for (const auto& [index, entry] : applied_) committed = std::max(committed, index);
    for (NodeId other : cluster_.ids()) {
      committed = std::max(committed, cluster_.node(other).status().commit);
    }
    const std::string ctx = fmt::format("r{}", ++reads_requested_);
    reads_[id][ctx] = committed;
    cluster_.node(id).read_index(ctx);
  }

  void check_reads() {
    for (NodeId id : cluster_.ids()) {
      TestCluster::Member& m = cluster_.member(id);
      for (const ReadState& rs : m.read_states) {
        auto it = reads_[id].find(rs.context);
        if (it == reads_[id].end()) continue;
        if (rs.index < it->second) {
          fail(fmt::format("node {} read {} at index {} but {} was committed when it was asked", id,
                           rs.context, rs.index, it->second));
        }
        reads_[id].erase(it);
        ++reads_served_;
      }
      m.read_states.clear();
    }
  }

  void check_apply(NodeId id, const Entry& e) {
    if (e.data == "final") final_applied_.insert(id);
    auto [it, fresh] = applied_.emplace(e.index, e);
    if (!fresh && !(it->second == e)) {
      fail(fmt::format("node {} applied {} at index {} where {} was applied before", id,
                       testing::describe_entry(e), e.index, testing::describe_entry(it->second)));
    }
  }

  void check_leaders() {
    for (NodeId id : cluster_.ids()) {
      if (!cluster_.node(id).is_leader()) continue;
      const Term term = cluster_.node(id).term();
      auto [it, fresh] = leaders_.emplace(term, id);
      if (!fresh && it->second != id) {
        fail(fmt::format("two leaders in term {}: {} and {}", term, it->second, id));
      }
    }
  }

  // Once healed, some leader must get a new entry applied by every member within a bound.
  void check_liveness() {
    cluster_.heal();
    Term proposed_in;
    for (int round = 0; round < 300; ++round) {
      for (NodeId id : cluster_.ids()) cluster_.tick(id, 1);
      cluster_.stabilize();
      check_leaders();
      // Without check-quorum a deposed leader may still believe it leads: use the newest.
      NodeId leader;
      for (NodeId id : cluster_.ids()) {
        if (cluster_.node(id).is_leader() &&
            (leader == kNoNode || cluster_.node(id).term() > cluster_.node(leader).term())) {
          leader = id;
        }
      }
      if (leader == kNoNode) continue;
      const NodeStatus ls = cluster_.node(leader).status();
      if (ls.term != proposed_in && cluster_.node(leader).propose("final").ok()) {
        proposed_in = ls.term;
      }
      bool all = true;
      for (NodeId id : ls.conf.voters) all &= final_applied_.count(id) > 0;
      for (NodeId id : ls.conf.learners) all &= final_applied_.count(id) > 0;
      if (all && !final_applied_.empty()) return;
    }
    std::string detail;
    for (NodeId id : cluster_.ids()) {
      const NodeStatus s = cluster_.node(id).status();
      detail +=
          fmt::format("\n  node {}: {} term={} leader={} commit={} applied={} last={} first={}", id,
                      role_name(s.role), s.term, s.leader, s.commit, s.applied, s.last_index,
                      cluster_.storage(id).first_index());
      for (const FollowerProgress& p : s.progress) {
        detail += fmt::format(" [{} match={} next={} {}]", p.id, p.match, p.next, p.state);
      }
    }
    fail("no entry committed and applied everywhere after healing:" + detail);
  }

  uint64_t seed_;
  Options opt_;
  std::mt19937_64 rng_;
  TestCluster cluster_;
  std::string failure_;
  uint64_t proposals_ = 0;
  uint64_t reads_requested_ = 0;
  uint64_t reads_served_ = 0;
  uint64_t snapshots_ = 0;
  std::map<LogIndex, Entry> applied_;
  std::set<NodeId> final_applied_;
  std::map<Term, NodeId> leaders_;
  std::map<NodeId, std::map<std::string, LogIndex>> reads_;
};

// BW_RAFT_SEED_FACTOR=k runs k times as many seeds (longer sweeps by hand).
uint64_t seed_factor() {
  const char* env = std::getenv("BW_RAFT_SEED_FACTOR");
  return env != nullptr ? std::max<uint64_t>(1, std::strtoull(env, nullptr, 10)) : 1;
}

void run_seeds(uint64_t first, uint64_t count, Options opt) {
  count *= seed_factor();
  RandomRun::Stats total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    RandomRun run(seed, opt);
    std::string failure = run.run();
    ASSERT_TRUE(failure.empty()) << "seed " << seed << ": " << failure;
    RandomRun::Stats s = run.stats();
    total.applied += s.applied;
    total.terms += s.terms;
    total.reads += s.reads;
    total.snapshots += s.snapshots;
  }
  // The runs must exercise what they claim to.
  fmt::print("{} seeds: {} entries applied, {} terms with a leader, {} reads, {} snapshots\n",
             count, total.applied, total.terms, total.reads, total.snapshots);
  EXPECT_GT(total.applied, count * 10);
  EXPECT_GT(total.terms, count);
  EXPECT_GT(total.reads, count);
  EXPECT_GT(total.snapshots, 0u);
}

TEST(RaftRandom, ThreeNodesPreVoteCheckQuorum) {
  run_seeds(1, 150, Options{});
}

TEST(RaftRandom, FiveNodesWithoutPreVote) {
  Options opt;
  opt.nodes = 5;
  opt.pre_vote = false;
  opt.check_quorum = false;
  run_seeds(1000, 80, opt);
}

TEST(RaftRandom, MembershipChanges) {
  Options opt;
  opt.nodes = 5;
  opt.conf_changes = true;
  run_seeds(2000, 100, opt);
}

TEST(RaftRandom, LeaseReadsWithSynchronizedTicks) {
  Options opt;
  opt.lease_reads = true;
  run_seeds(3000, 150, opt);
}

TEST(RaftRandom, SeveralReadRoundsInFlight) {
  Options opt;
  opt.nodes = 5;
  opt.read_rounds = 4;
  run_seeds(4000, 100, opt);
}

// The checks above must be able to fail: planted bugs are caught within a few seeds.
uint64_t first_failing_seed(Options opt, uint64_t seeds_max) {
  for (uint64_t seed = 1; seed <= seeds_max; ++seed) {
    if (!RandomRun(seed, opt).run().empty()) return seed;
  }
  return 0;
}

TEST(RaftRandom, CatchesReadIndexWithoutHeartbeat) {
  Options opt;
  opt.planted_bugs = static_cast<uint32_t>(PlantedBug::kReadIndexWithoutHeartbeat);
  // Without check-quorum a deposed leader keeps serving from its stale commit index.
  opt.check_quorum = false;
  EXPECT_NE(first_failing_seed(opt, 200), 0u);
  opt.read_rounds = 4;
  EXPECT_NE(first_failing_seed(opt, 200), 0u) << "with several rounds in flight";
}

TEST(RaftRandom, CatchesApplyUncommitted) {
  Options opt;
  opt.planted_bugs = static_cast<uint32_t>(PlantedBug::kApplyUncommitted);
  EXPECT_NE(first_failing_seed(opt, 200), 0u);
}

TEST(RaftRandom, CatchesVoteWithoutLogCheck) {
  Options opt;
  opt.nodes = 5;
  opt.planted_bugs = static_cast<uint32_t>(PlantedBug::kVoteWithoutLogCheck);
  EXPECT_NE(first_failing_seed(opt, 300), 0u);
}
// kCommitPreviousTermByCount needs the precise Figure 8 schedule: see raft_test.cc.
}  // namespace
}  // namespace bw::raft
