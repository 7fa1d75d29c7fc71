#include "raft/raft_testing.h"

#include <fmt/format.h>

#include <utility>

#include "common/assert.h"

namespace bw::raft::testing {

std::string describe_entry(const Entry& e) {
  std::string out = fmt::format("{}/{}", e.term, e.index);
  if (e.type == EntryType::kConfChange) {
    Result<ConfChange> cc = decode_conf_change(e.data);
    if (!cc.ok()) return out + ":conf(?)";
    static constexpr const char* kNames[] = {"add-voter", "add-learner", "remove"};
    return out + fmt::format(":conf({} {})", kNames[static_cast<int>(cc->type)], cc->node);
  }
  if (!e.data.empty()) out += ":" + e.data;
  return out;
}

std::string describe_entries(const std::vector<Entry>& entries) {
  std::string out = "[";
  // Long batches are summarised so that golden files stay readable.
  constexpr size_t kShownMax = 8;
  for (size_t k = 0; k < entries.size(); ++k) {
    if (k == kShownMax && entries.size() > kShownMax + 1) {
      out += fmt::format(" ... {} more ... {}", entries.size() - kShownMax - 1,
                         describe_entry(entries.back()));
      break;
    }
    if (k > 0) out += " ";
    out += describe_entry(entries[k]);
  }
  return out + "]";
}

std::string describe_message(const Message& m) {
  std::string out =
      fmt::format("{} -> {} {} term={}", m.from, m.to, message_type_name(m.type), m.term);
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      out += fmt::format(" last={}/{}", m.log_term, m.index);
      break;
    case MessageType::kAppend:
      out += fmt::format(" index={} logterm={} commit={} entries={}", m.index, m.log_term, m.commit,
                         describe_entries(m.entries));
      if (m.commit_only) out += " commit-only";
      break;
    case MessageType::kAppendResp:
      out += fmt::format(" index={}", m.index);
      if (m.reject) out += fmt::format(" reject hint={}/{}", m.hint_term, m.reject_hint);
      break;
    case MessageType::kHeartbeat:
      out += fmt::format(" commit={}", m.commit);
      break;
    case MessageType::kSnapshot:
      out += fmt::format(" snap={}/{} offset={} bytes={}{}", m.snapshot_meta.term,
                         m.snapshot_meta.index, m.snapshot_offset, m.snapshot_chunk.size(),
                         m.snapshot_last ? " last" : "");
      break;
    case MessageType::kSnapshotResp:
      out += fmt::format(" snap={}/{} offset={}", m.snapshot_meta.term, m.snapshot_meta.index,
                         m.snapshot_offset);
      if (m.snapshot_last) out += fmt::format(" done index={}", m.index);
      break;
    case MessageType::kReadIndexResp:
      out += fmt::format(" index={}", m.index);
      break;
    default:
      break;
  }
  if (m.reject && m.type != MessageType::kAppendResp) out += " reject";
  if (!m.context.empty()) {
    const bool printable = std::all_of(m.context.begin(), m.context.end(),
                                       [](char c) { return c >= 0x20 && c < 0x7f; });
    out += printable ? fmt::format(" ctx={}", m.context)
                     : fmt::format(" ctx=#{}", static_cast<uint8_t>(m.context[0]));
  }
  return out;
}

TestCluster::TestCluster(Config base) : base_(base) {}

std::unique_ptr<RawNode> TestCluster::make_node(Member& m) {
  BootState boot;
  boot.hard_state = m.hard_state;
  boot.conf = m.conf;
  boot.applied = m.applied_index;
  return std::make_unique<RawNode>(m.config, m.storage.get(), boot);
}

void TestCluster::add_voters(size_t n) {
  std::vector<NodeId> ids;
  for (size_t k = 0; k < n; ++k) ids.push_back(NodeId(next_id_ + k));
  for (NodeId id : ids) {
    auto m = std::make_unique<Member>();
    m->storage = std::make_unique<MemoryStorage>();
    m->config = base_;
    m->config.id = id;
    m->conf.voters = ids;
    m->node = make_node(*m);
    members_[id] = std::move(m);
  }
  next_id_ += n;
}

NodeId TestCluster::add_joiner() {
  const NodeId id(next_id_++);
  auto m = std::make_unique<Member>();
  m->storage = std::make_unique<MemoryStorage>();
  m->config = base_;
  m->config.id = id;
  // Joins with the current membership plus itself as a learner (see BootState).
  for (const auto& [other, member] : members_) {
    if (member->node->is_leader()) m->conf = member->conf;
  }
  m->conf.learners.push_back(id);
  m->node = make_node(*m);
  members_[id] = std::move(m);
  return id;
}

void TestCluster::restart(NodeId id) {
  Member& m = member(id);
  m.node = make_node(m);
  m.read_states.clear();
}

std::vector<NodeId> TestCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) out.push_back(id);
  return out;
}

bool TestCluster::connected(NodeId a, NodeId b) const {
  if (side_.empty()) return true;
  return side_.count(a) == side_.count(b);
}

void TestCluster::partition(const std::set<NodeId>& side) {
  side_ = side;
}

void TestCluster::apply(NodeId id, Member& m, const Entry& e) {
  if (on_apply) on_apply(id, e);
  if (e.type == EntryType::kConfChange) {
    Result<ConfChange> cc = decode_conf_change(e.data);
    BW_ASSERT(cc.ok(), "bad conf change at {}", e.index);
    m.conf = m.node->apply_conf_change(*cc);
  } else if (!e.data.empty()) {
    m.applied.push_back(e.data);
  }
  m.applied_index = e.index;
}

bool TestCluster::process_ready(NodeId id) {
  Member& m = member(id);
  if (!m.node->has_ready()) return false;
  Ready rd = m.node->ready();
  std::vector<std::string> parts;
  if (rd.soft_state) {
    parts.push_back(
        fmt::format("{} (leader {})", role_name(rd.soft_state->role), rd.soft_state->leader));
  }
  if (rd.hard_state) {
    parts.push_back(fmt::format("term={} vote={} commit={}", rd.hard_state->term,
                                rd.hard_state->vote, rd.hard_state->commit));
  }
  // 1. Persist.
  if (rd.snapshot) {
    Status s = m.storage->apply_snapshot(*rd.snapshot);
    BW_ASSERT(s.ok(), "{}", s.ToString());
    m.applied.clear();
    if (!rd.snapshot->data.empty()) {
      size_t start = 0;
      const std::string& d = rd.snapshot->data;
      while (start <= d.size()) {
        size_t comma = d.find(',', start);
        if (comma == std::string::npos) comma = d.size();
        m.applied.push_back(d.substr(start, comma - start));
        start = comma + 1;
      }
    }
    m.applied_index = rd.snapshot->meta.index;
    m.conf = rd.snapshot->meta.conf;
    if (on_snapshot) on_snapshot(id, *rd.snapshot);
    parts.push_back(
        fmt::format("install snapshot {}/{}", rd.snapshot->meta.term, rd.snapshot->meta.index));
  }
  if (!rd.entries.empty()) {
    Status s = m.storage->append(rd.entries);
    BW_ASSERT(s.ok(), "{}", s.ToString());
    parts.push_back("persist " + describe_entries(rd.entries));
  }
  if (rd.hard_state) m.hard_state = *rd.hard_state;
  // 3. Apply (before the messages join the queue; the order between sending and applying
  // does not matter for correctness).
  if (!rd.committed_entries.empty()) {
    parts.push_back("apply " + describe_entries(rd.committed_entries));
    for (const Entry& e : rd.committed_entries) apply(id, m, e);
  }
  for (const ReadState& r : rd.read_states) {
    parts.push_back(fmt::format("read {}@{}", r.context, r.index));
    m.read_states.push_back(r);
  }
  if (log) {
    std::string line = fmt::format("{}:", id);
    for (size_t k = 0; k < parts.size(); ++k) {
      line += k == 0 ? " " : "; ";
      line += parts[k];
    }
    if (!parts.empty() || !rd.messages.empty()) emit(line);
    for (const Message& msg : rd.messages) emit("  " + describe_message(msg));
  }
  // 2. Send.
  for (Message& msg : rd.messages) queue_.push_back(std::move(msg));
  m.node->advance(rd);
  return true;
}

void TestCluster::deliver(Message msg) {
  auto it = members_.find(msg.to);
  if (it == members_.end()) return;
  if (!connected(msg.from, msg.to)) {
    ++dropped_;
    return;
  }
  Status s = it->second->node->step(msg);
  if (!s.ok())
    emit(fmt::format("  {} rejected {}: {}", msg.to, describe_message(msg), s.message()));
}

size_t TestCluster::deliver_all() {
  const size_t n = queue_.size();
  dropped_ = 0;
  for (size_t k = 0; k < n; ++k) {
    Message msg = std::move(queue_.front());
    queue_.pop_front();
    if (verbose_deliver && connected(msg.from, msg.to)) emit("  deliver " + describe_message(msg));
    deliver(std::move(msg));
  }
  if (dropped_ > 0 && log) emit(fmt::format("  ({} messages lost to the partition)", dropped_));
  return n;
}

void TestCluster::deliver_index(size_t k) {
  Message msg = std::move(queue_.at(k));
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(k));
  deliver(std::move(msg));
}

void TestCluster::drop_index(size_t k) {
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(k));
}

void TestCluster::duplicate_index(size_t k) {
  queue_.push_back(queue_.at(k));
}

size_t TestCluster::deliver_to(NodeId to) {
  std::deque<Message> keep;
  size_t delivered = 0;
  while (!queue_.empty()) {
    Message msg = std::move(queue_.front());
    queue_.pop_front();
    if (msg.to != to) {
      keep.push_back(std::move(msg));
      continue;
    }
    if (verbose_deliver && connected(msg.from, msg.to)) emit("  deliver " + describe_message(msg));
    deliver(std::move(msg));
    ++delivered;
  }
  queue_ = std::move(keep);
  return delivered;
}

void TestCluster::stabilize(size_t rounds_max) {
  for (size_t round = 0; round < rounds_max; ++round) {
    bool moved = false;
    for (auto& [id, m] : members_) moved |= process_ready(id);
    const bool verbose = verbose_deliver;
    verbose_deliver = false;  // the senders' readies already listed the messages
    moved |= deliver_all() > 0;
    verbose_deliver = verbose;
    if (!moved && queue_.empty()) return;
  }
  BW_UNREACHABLE("cluster did not stabilize in {} rounds", rounds_max);
}

void TestCluster::tick(NodeId id, size_t n) {
  for (size_t k = 0; k < n; ++k) node(id).tick();
}

Status TestCluster::compact(NodeId id, LogIndex index) {
  Member& m = member(id);
  if (index > m.applied_index) {
    return absl::FailedPreconditionError(
        fmt::format("compact {}: applied only {}", index, m.applied_index));
  }
  // The state machine image at `index` is what was applied up to it; our tests compact at the
  // applied index, so the whole applied list is the image.
  if (index != m.applied_index) {
    return absl::InvalidArgumentError("test cluster compacts at the applied index only");
  }
  std::string data;
  for (size_t k = 0; k < m.applied.size(); ++k) {
    if (k > 0) data += ",";
    data += m.applied[k];
  }
  BW_RETURN_IF_ERROR(m.storage->create_snapshot(index, m.conf, std::move(data)).status());
  return m.storage->compact(index);
}

}  // namespace bw::raft::testing
