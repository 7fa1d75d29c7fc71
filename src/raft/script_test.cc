// Golden-script scenario tests in the style of etcd-io/raft's datadriven tests. Each file in
// testdata/ is a sequence of blocks:
//
//   # comments
//   command args...
//   ----
//   expected output (no blank lines)
//   <blank line>
//
// The interpreter runs the commands against a TestCluster and compares the output.
// BW_REWRITE_GOLDEN=1 rewrites the files with the actual output instead (review the diff!).
//
// Commands:
//   add-nodes N [prevote=B] [checkquorum=B] [lease=B] [election=TICKS] [heartbeat=TICKS]
//             [chunk=BYTES] [entries=N]
//   add-joiner                 new node booting with the leader's membership, as a learner
//   campaign N | propose N DATA | read-index N CTX | transfer N M
//   conf-change N add-voter|add-learner|remove M
//   process-ready [N...] | deliver-msgs [N] | stabilize
//   partition N... (those nodes on one side) | heal
//   tick N [COUNT] | compact N INDEX | restart N
//   status N | raft-log N | applied N
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "raft/raft.h"
#include "raft/raft_testing.h"

namespace bw::raft {
namespace {

using testing::TestCluster;

struct Block {
  std::vector<std::string> comments;  // lines before the command
  std::string command;
  std::string expected;
  std::string actual;
};

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<Block> parse(const std::string& text) {
  std::vector<Block> blocks;
  std::istringstream in(text);
  std::string line;
  Block cur;
  enum { kCommand, kExpected } state = kCommand;
  while (std::getline(in, line)) {
    if (state == kCommand) {
      if (line.empty() || line[0] == '#') {
        cur.comments.push_back(line);
        continue;
      }
      cur.command = line;
      std::string sep;
      std::getline(in, sep);
      EXPECT_EQ(sep, "----") << "after command: " << line;
      state = kExpected;
      continue;
    }
    if (line.empty()) {
      blocks.push_back(std::move(cur));
      cur = Block{};
      state = kCommand;
      continue;
    }
    cur.expected += line + "\n";
  }
  if (state == kExpected) blocks.push_back(std::move(cur));
  return blocks;
}

NodeId node_arg(const std::vector<std::string>& w, size_t k) {
  EXPECT_GT(w.size(), k) << "missing node argument";
  return NodeId(std::strtoull(w.at(k).c_str(), nullptr, 10));
}

class Interpreter {
 public:
  std::string run(const std::string& command) {
    out_.clear();
    const std::vector<std::string> w = split_words(command);
    dispatch(w);
    if (out_.empty()) out_ = "ok\n";
    return out_;
  }

 private:
  void print(const std::string& line) { out_ += line + "\n"; }

  void dispatch(const std::vector<std::string>& w) {
    const std::string& cmd = w.at(0);
    if (cmd == "add-nodes") return add_nodes(w);
    if (!cluster_) return print("error: add-nodes first");
    if (cmd == "add-joiner") return print(fmt::format("added {}", cluster_->add_joiner()));
    if (cmd == "campaign") return cluster_->node(node_arg(w, 1)).campaign();
    if (cmd == "propose") return report(cluster_->node(node_arg(w, 1)).propose(w.at(2)));
    if (cmd == "read-index") return cluster_->node(node_arg(w, 1)).read_index(w.at(2));
    if (cmd == "transfer") {
      Status s = cluster_->node(node_arg(w, 1)).transfer_leader(node_arg(w, 2));
      return s.ok() ? void() : print("error: " + std::string(s.message()));
    }
    if (cmd == "conf-change") return conf_change(w);
    if (cmd == "process-ready") {
      std::vector<NodeId> ids = cluster_->ids();
      if (w.size() > 1) {
        ids.clear();
        for (size_t k = 1; k < w.size(); ++k) ids.push_back(node_arg(w, k));
      }
      for (NodeId id : ids) cluster_->process_ready(id);
      return;
    }
    if (cmd == "deliver-msgs") return deliver(w);
    if (cmd == "stabilize") return cluster_->stabilize();
    if (cmd == "partition") {
      std::set<NodeId> side;
      for (size_t k = 1; k < w.size(); ++k) side.insert(node_arg(w, k));
      return cluster_->partition(side);
    }
    if (cmd == "heal") return cluster_->heal();
    if (cmd == "tick") {
      const size_t n = w.size() > 2 ? std::strtoull(w[2].c_str(), nullptr, 10) : 1;
      return cluster_->tick(node_arg(w, 1), n);
    }
    if (cmd == "compact") {
      Status s =
          cluster_->compact(node_arg(w, 1), LogIndex(std::strtoull(w.at(2).c_str(), nullptr, 10)));
      return s.ok() ? void() : print("error: " + std::string(s.message()));
    }
    if (cmd == "restart") return cluster_->restart(node_arg(w, 1));
    if (cmd == "status") return status(node_arg(w, 1));
    if (cmd == "raft-log") return raft_log(node_arg(w, 1));
    if (cmd == "applied") {
      const TestCluster::Member& m = cluster_->member(node_arg(w, 1));
      std::string list;
      for (const std::string& v : m.applied) {
        if (!list.empty()) list += ' ';
        list += v;
      }
      return print(fmt::format("applied={} [{}]", m.applied_index, list));
    }
    print("error: unknown command " + cmd);
  }

  void add_nodes(const std::vector<std::string>& w) {
    Config cfg;
    cfg.group = GroupId(1);
    cfg.election_ticks = 10;
    cfg.heartbeat_ticks = 1;
    for (size_t k = 2; k < w.size(); ++k) {
      const size_t eq = w[k].find('=');
      const std::string key = w[k].substr(0, eq);
      const std::string value = w[k].substr(eq + 1);
      if (key == "prevote") cfg.pre_vote = value == "true";
      if (key == "checkquorum") cfg.check_quorum = value == "true";
      if (key == "lease" && value == "true") cfg.read_only = ReadOnlyOption::kLeaseBased;
      if (key == "election") cfg.election_ticks = static_cast<uint32_t>(std::stoul(value));
      if (key == "heartbeat") cfg.heartbeat_ticks = static_cast<uint32_t>(std::stoul(value));
      if (key == "chunk") cfg.snapshot_chunk_bytes_max = std::strtoull(value.c_str(), nullptr, 10);
      if (key == "entries")
        cfg.append_entries_max = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    }
    cluster_ = std::make_unique<TestCluster>(cfg);
    cluster_->log = [this](const std::string& line) { print(line); };
    cluster_->add_voters(std::strtoull(w.at(1).c_str(), nullptr, 10));
    std::string ids;
    for (NodeId id : cluster_->ids()) ids += fmt::format(" {}", id);
    print("added" + ids);
  }

  void report(const Result<LogIndex>& r) {
    if (r.ok()) return print(fmt::format("index {}", *r));
    print("error: " + std::string(r.status().message()));
  }

  void conf_change(const std::vector<std::string>& w) {
    ConfChange cc;
    const std::string& kind = w.at(2);
    if (kind == "add-voter")
      cc.type = ConfChangeType::kAddVoter;
    else if (kind == "add-learner")
      cc.type = ConfChangeType::kAddLearner;
    else if (kind == "remove")
      cc.type = ConfChangeType::kRemoveNode;
    else
      return print("error: unknown conf change " + kind);
    cc.node = node_arg(w, 3);
    report(cluster_->node(node_arg(w, 1)).propose_conf_change(cc));
  }

  void deliver(const std::vector<std::string>& w) {
    cluster_->verbose_deliver = true;
    if (w.size() > 1) {
      cluster_->deliver_to(node_arg(w, 1));
    } else {
      cluster_->deliver_all();
    }
  }

  static std::string ids(const std::vector<NodeId>& v) {
    std::string out;
    for (NodeId id : v) fmt::format_to(std::back_inserter(out), "{}{}", out.empty() ? "" : " ", id);
    return fmt::format("[{}]", out);
  }

  void status(NodeId id) {
    const NodeStatus s = cluster_->node(id).status();
    print(fmt::format(
        "{}: {} term={} vote={} leader={} commit={} applied={} last={} voters={} "
        "learners={}{}",
        id, role_name(s.role), s.term, s.vote, s.leader, s.commit, s.applied, s.last_index,
        ids(s.conf.voters), ids(s.conf.learners),
        s.transferee != kNoNode ? fmt::format(" transferee={}", s.transferee) : std::string()));
    for (const FollowerProgress& p : s.progress) {
      print(fmt::format("  {}: match={} next={} {}{}", p.id, p.match, p.next, p.state,
                        p.learner ? " learner" : ""));
    }
  }

  void raft_log(NodeId id) {
    MemoryStorage& st = cluster_->storage(id);
    std::vector<Entry> entries;
    if (st.last_index() >= st.first_index()) {
      entries = *st.entries(st.first_index(), st.last_index() + 1, UINT64_MAX);
    }
    const Snapshot snap = *st.snapshot();
    std::string head = fmt::format("{}: log", id);
    if (!snap.empty()) head += fmt::format(" (snapshot {}/{})", snap.meta.term, snap.meta.index);
    print(head + " " + testing::describe_entries(entries));
  }

  std::unique_ptr<TestCluster> cluster_;
  std::string out_;
};

void run_script(const std::string& name) {
  const std::string path = std::string(BW_RAFT_TESTDATA) + "/" + name;
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  std::vector<Block> blocks = parse(text.str());
  ASSERT_FALSE(blocks.empty()) << path;
  Interpreter interp;
  for (Block& b : blocks) b.actual = interp.run(b.command);
  if (std::getenv("BW_REWRITE_GOLDEN") != nullptr) {
    std::ofstream out(path, std::ios::trunc);
    for (size_t k = 0; k < blocks.size(); ++k) {
      for (const std::string& c : blocks[k].comments) out << c << "\n";
      out << blocks[k].command << "\n----\n" << blocks[k].actual;
      if (k + 1 < blocks.size()) out << "\n";
    }
    return;
  }
  for (const Block& b : blocks) {
    EXPECT_EQ(b.expected, b.actual) << path << ": command `" << b.command << "`";
  }
}

TEST(RaftScript, Campaign) {
  run_script("campaign.txt");
}
TEST(RaftScript, PartitionedLeader) {
  run_script("partitioned_leader.txt");
}
TEST(RaftScript, LogConflicts) {
  run_script("log_conflicts.txt");
}
TEST(RaftScript, Transfer) {
  run_script("transfer.txt");
}
TEST(RaftScript, LearnerPromotion) {
  run_script("learner_promotion.txt");
}
TEST(RaftScript, SnapshotInstall) {
  run_script("snapshot_install.txt");
}
TEST(RaftScript, ReadIndex) {
  run_script("read_index.txt");
}
TEST(RaftScript, LeaseRestart) {
  run_script("lease_restart.txt");
}
TEST(RaftScript, LeaseTransfer) {
  run_script("lease_transfer.txt");
}

}  // namespace
}  // namespace bw::raft
