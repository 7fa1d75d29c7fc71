// Membership changes on a running cluster: MEMBER LIST | ADD | JOIN | PROMOTE | REMOVE | REPLACE.
//
// Changes are Raft single-server changes (one at a time) proposed by the leader; a node that is
// not the leader forwards them to it over the peer link and relays the answer. Every change is
// checked first and refused with a one-line error naming the reason, leaving the membership as
// it was:
//   - an address already used by a member (unless JOIN ... REPLACE names that member);
//   - a node of another cluster id (JOIN carries the joining node's cluster id);
//   - a promotion of a learner that is not caught up, or of a node that is not a learner;
//   - a change after which the voters that are online could not form a quorum;
//   - removing the last voter; a change while another one is still being applied.
// A leader asked to remove itself first hands leadership to the most caught-up voter, then
// forwards the removal to the new leader.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "server/args.h"
#include "server/log_format.h"
#include "server/members_file.h"
#include "server/node.h"

namespace bw::server {

namespace {

bool parse_node_id(std::string_view s, NodeId* out) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &v) || v == 0) return false;
  *out = NodeId(v);
  return true;
}

// Membership changes are rare: their completion's state goes on the heap, so the callable the
// replica keeps inline stays small.
template <typename F>
auto boxed(F f) {
  auto held = std::make_shared<F>(std::move(f));
  return [held](const Status& st, const kv::Reply& r) { (*held)(st, r); };
}

size_t quorum(size_t voters) {
  return voters / 2 + 1;
}

}  // namespace

std::vector<MemberView> Node::members() const {
  std::vector<MemberView> out;
  const raft::NodeStatus st = raft().status();
  const raft::ConfState& conf = replica_->conf();
  for (const auto& [id, m] : store().members()) {
    MemberView v{
        .id = NodeId(id), .client_address = m.client_address, .peer_address = m.peer_address};
    v.learner = std::binary_search(conf.learners.begin(), conf.learners.end(), v.id);
    v.leader = st.leader == v.id;
    for (const auto& p : st.progress) {
      if (p.id != v.id) continue;
      v.match = p.match;
      // Heard from within an election timeout: a killed or paused node counts as offline
      // after that long (Raft's recent_active would take up to two timeouts).
      const int64_t ago = peer_last_heard_ms_ago(p.id);
      v.online = p.id == config_.id ||
                 (ago >= 0 && ago < int64_t{config_.election_ticks} * config_.tick_ms);
      v.progress_known = true;
    }
    if (v.id == config_.id) v.online = true;
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<PeerSpec> Node::peer(NodeId id) const {
  auto it = store().members().find(id.value());
  if (it == store().members().end()) return std::nullopt;
  return PeerSpec{.id = id,
                  .client_address = it->second.client_address,
                  .peer_address = it->second.peer_address};
}

// Points the peer transport at the member directory: new members get a link, removed ones lose
// theirs. Called at start and whenever the directory may have changed.
void Node::sync_peers() {
  std::map<NodeId, std::string> want;
  for (const auto& [id, m] : store().members()) {
    if (NodeId(id) != config_.id) want.emplace(NodeId(id), m.peer_address);
  }
  if (!store().members().count(config_.id.value()) && !removed_logged_) {
    removed_logged_ = true;
    spdlog::warn("node {}: this node was removed from the cluster; it no longer takes part",
                 config_.id);
  }
  const int64_t now = now_ms();
  for (auto& [id, link] : linked_peers_) {
    // A removed member keeps its link a little longer: the answer to its own removal (it may
    // have asked for it) and forwarded replies still reach it.
    if (!want.count(id) && link.removed_ms == 0) {
      log_event(spdlog::level::info, "member_left", {{"member", id}},
                "node {}: node {} left the membership", config_.id, id);
      link.removed_ms = now;
    }
  }
  for (const auto& [id, address] : want) {
    auto it = linked_peers_.find(id);
    if (it != linked_peers_.end() && it->second.address == address) {
      it->second.removed_ms = 0;
      continue;
    }
    Result<asio::ip::tcp::endpoint> ep = net::parse_endpoint(address);
    if (!ep.ok()) {
      spdlog::error("node {}: member {} has a bad peer address '{}'", config_.id, id, address);
      continue;
    }
    transport_->set_peer(id, *ep);
    linked_peers_[id] = PeerLink{.address = address};
  }
}

// Drops the links of members removed more than kRemovedPeerLingerMs ago.
void Node::drop_removed_peers() {
  const int64_t now = now_ms();
  for (auto it = linked_peers_.begin(); it != linked_peers_.end();) {
    if (it->second.removed_ms != 0 && now - it->second.removed_ms >= kRemovedPeerLingerMs) {
      transport_->remove_peer(it->first);
      it = linked_peers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Node::write_members(resp::Writer& w) const {
  const std::vector<MemberView> all = members();
  w.array(all.size());
  for (const MemberView& m : all) {
    w.map(7);
    w.bulk("id");
    w.integer(static_cast<int64_t>(m.id.value()));
    w.bulk("role");
    w.bulk(m.learner ? "learner" : "voter");
    w.bulk("address");
    w.bulk(m.client_address);
    w.bulk("peer-address");
    w.bulk(m.peer_address);
    w.bulk("leader");
    w.integer(m.leader ? 1 : 0);
    w.bulk("online");
    w.integer(m.online ? 1 : 0);
    w.bulk("match");
    w.integer(m.progress_known ? static_cast<int64_t>(m.match.value()) : -1);
  }
}

// MEMBER ADD client-address [peer-address]
// MEMBER JOIN cluster-id client-address peer-address [REPLACE old-id]
// MEMBER PROMOTE id | REMOVE id | REPLACE old-id new-id
void Node::execute_member(ReplyTo to, std::span<const std::string_view> argv) {
  auto refuse = [&](std::string_view message) { reply_error(to, message); };
  const std::string sub = absl::AsciiStrToLower(absl::string_view(argv[1].data(), argv[1].size()));
  if (sub == "list") return refuse("ERR wrong number of arguments for 'member|list' command");
  if (!store().members().count(config_.id.value())) {
    return refuse("ERR this node was removed from the cluster; ask a member");
  }
  if (sub != "add" && sub != "join" && sub != "promote" && sub != "remove" && sub != "replace") {
    return refuse(
        fmt::format("ERR unknown subcommand '{}'. Try MEMBER LIST, ADD, JOIN, PROMOTE, "
                    "REMOVE or REPLACE.",
                    argv[1]));
  }
  const bool arity_ok = (sub == "add" && (argv.size() == 3 || argv.size() == 4)) ||
                        (sub == "join" && (argv.size() == 5 || argv.size() == 7)) ||
                        ((sub == "promote" || sub == "remove") && argv.size() == 3) ||
                        (sub == "replace" && argv.size() == 4);
  if (!arity_ok) {
    return refuse(fmt::format("ERR wrong number of arguments for 'member|{}' command", sub));
  }
  if (!raft().is_leader()) {
    const NodeId leader = raft().leader();
    if (leader == kNoNode || leader == config_.id || to.peer != kNoNode) {
      return refuse("TRYAGAIN no leader known now; retry");
    }
    forward_command(std::move(to), argv);
    return;
  }
  if (sub == "add") {
    std::string peer_address;
    if (argv.size() == 4) {
      peer_address = std::string(argv[3]);
    } else {
      Result<std::string> shifted = shift_port(argv[2], 10000);
      if (!shifted.ok()) return refuse(fmt::format("ERR '{}' is not host:port", argv[2]));
      peer_address = *shifted;
    }
    return add_member(std::move(to), std::string(argv[2]), peer_address, kNoNode, false);
  }
  if (sub == "join") {
    if (argv[2] != config_.cluster_id) {
      return refuse(fmt::format("ERR node belongs to cluster '{}', this is cluster '{}'", argv[2],
                                config_.cluster_id));
    }
    NodeId replaces;
    if (argv.size() == 7 && (!iequals(argv[5], "replace") || !parse_node_id(argv[6], &replaces))) {
      return refuse("ERR syntax error: MEMBER JOIN cluster-id address peer-address [REPLACE id]");
    }
    return add_member(std::move(to), std::string(argv[3]), std::string(argv[4]), replaces, true);
  }
  NodeId id;
  if (!parse_node_id(argv[2], &id)) {
    return refuse(fmt::format("ERR '{}' is not a node id", argv[2]));
  }
  if (sub == "promote") return promote_member(std::move(to), id, nullptr);
  if (sub == "remove") return remove_member(std::move(to), id);
  NodeId replacement;
  if (!parse_node_id(argv[3], &replacement)) {
    return refuse(fmt::format("ERR '{}' is not a node id", argv[3]));
  }
  if (replacement == id) return refuse("ERR a node cannot replace itself");
  if (!store().members().count(id.value())) {
    return refuse(fmt::format("ERR node {} is not a member", id));
  }
  // Promote the replacement first, then remove the old node: the voters never drop below the
  // count the cluster had.
  promote_member(std::move(to), replacement, [this, id](ReplyTo after) {
    if (!raft().is_leader()) return reply_error(after, "TRYAGAIN leader changed; retry");
    remove_member(std::move(after), id);
  });
}

// Checks the refusals every change shares; an error text or empty. (Raft itself refuses a change
// while the previous one is not applied: that comes back as TRYAGAIN from propose_conf_change.)
std::string Node::change_refusal() const {
  if (!replica_->conf().voters_outgoing.empty()) return "ERR a joint configuration is in force";
  return {};
}

size_t Node::online_voters(NodeId except) const {
  size_t n = 0;
  for (const MemberView& m : members()) {
    if (!m.learner && m.online && m.id != except) ++n;
  }
  return n;
}

void Node::add_member(ReplyTo to, std::string client_address, std::string peer_address,
                      NodeId replaces, bool join) {
  for (const std::string& a : {client_address, peer_address}) {
    if (!net::parse_endpoint(a).ok()) {
      return reply_error(to, fmt::format("ERR '{}' is not host:port (numeric IP)", a));
    }
    if (a.size() > kv::kMemberAddressBytesMax) {
      return reply_error(
          to, fmt::format("ERR address longer than {} bytes", kv::kMemberAddressBytesMax));
    }
  }
  if (client_address == peer_address) {
    return reply_error(to, "ERR the client and peer addresses must differ");
  }
  if (replaces != kNoNode && !store().members().count(replaces.value())) {
    return reply_error(to, fmt::format("ERR node {} is not a member", replaces));
  }
  const raft::ConfState& conf = replica_->conf();
  for (const auto& [id, m] : store().members()) {
    if (NodeId(id) == replaces) continue;
    const bool same = m.client_address == client_address && m.peer_address == peer_address;
    // A join asked again (its answer was lost) finds itself already added as a learner: no
    // other member has these addresses. (The member being replaced has them too; it is not
    // the answer.)
    if (join && same &&
        std::binary_search(conf.learners.begin(), conf.learners.end(), NodeId(id))) {
      return reply(to, join_answer(NodeId(id)));
    }
    for (const std::string* a : {&client_address, &peer_address}) {
      if (*a == m.client_address || *a == m.peer_address) {
        return reply_error(to, fmt::format("ERR address {} is already used by node {}", *a, id));
      }
    }
  }
  if (std::string why = change_refusal(); !why.empty()) return reply_error(to, why);
  uint64_t top = store().member_id_max();
  for (NodeId v : conf.voters) top = std::max(top, v.value());
  for (NodeId v : conf.learners) top = std::max(top, v.value());
  const NodeId id(top + 1);
  raft::ConfChange cc{raft::ConfChangeType::kAddLearner, id,
                      kv::encode_member(kv::Member{client_address, peer_address})};
  Result<LogIndex> index = replica_->propose_conf_change(
      cc, boxed([this, to, id, join](const Status& st, const kv::Reply&) {
        if (!st.ok()) return reply_error(to, std::string(st.message()));
        log_event(spdlog::level::info, "member_added", {{"member", id}},
                  "node {}: node {} added as a learner", config_.id, id);
        if (join) return reply(to, join_answer(id));
        std::string out;
        resp::Writer(&out, to.protocol).integer(static_cast<int64_t>(id.value()));
        reply(to, std::move(out));
      }));
  if (!index.ok()) return reply_error(to, fmt::format("TRYAGAIN {}", index.status().message()));
  spdlog::info("node {}: adding node {} ({} / {}) as a learner at index {}", config_.id, id,
               client_address, peer_address, *index);
  schedule_flush();
}

// The MEMBER JOIN answer: the member list with `self` = the joined node.
std::string Node::join_answer(NodeId self) const {
  MemberList list{.cluster_id = config_.cluster_id, .self = self};
  for (const MemberView& m : members()) {
    list.members.push_back(MemberLine{.id = m.id,
                                      .learner = m.learner,
                                      .client_address = m.client_address,
                                      .peer_address = m.peer_address});
  }
  std::string out;
  resp::Writer(&out, 2).bulk(encode_member_list(list));
  return out;
}

void Node::promote_member(ReplyTo to, NodeId id, std::function<void(ReplyTo)> then) {
  const std::vector<MemberView> all = members();
  auto it = std::find_if(all.begin(), all.end(), [&](const MemberView& m) { return m.id == id; });
  if (it == all.end()) return reply_error(to, fmt::format("ERR node {} is not a member", id));
  if (!it->learner) {
    if (then) return then(std::move(to));  // REPLACE asked again after the promotion applied
    return reply_error(to, fmt::format("ERR node {} is already a voter", id));
  }
  const LogIndex last = raft().status().last_index;
  if (!it->online) {
    return reply_error(to, fmt::format("TRYAGAIN node {} is not connected; promote it once it "
                                       "is online and caught up",
                                       id));
  }
  if (last.value() > it->match.value() + kPromoteLagEntriesMax) {
    return reply_error(to,
                       fmt::format("TRYAGAIN node {} is {} entries behind (catching up); "
                                   "promote it once it is within {}",
                                   id, last.value() - it->match.value(), kPromoteLagEntriesMax));
  }
  if (std::string why = change_refusal(); !why.empty()) return reply_error(to, why);
  const size_t voters = replica_->conf().voters.size() + 1;
  if (online_voters(kNoNode) + 1 < quorum(voters)) {
    return reply_error(to, fmt::format("ERR promoting node {} would leave {} of {} voters online, "
                                       "fewer than a quorum of {}",
                                       id, online_voters(kNoNode) + 1, voters, quorum(voters)));
  }
  raft::ConfChange cc{raft::ConfChangeType::kAddVoter, id, {}};
  Result<LogIndex> index = replica_->propose_conf_change(
      cc, boxed([this, to, id, then = std::move(then)](const Status& st, const kv::Reply&) {
        if (!st.ok()) return reply_error(to, std::string(st.message()));
        log_event(spdlog::level::info, "member_promoted", {{"member", id}},
                  "node {}: node {} promoted to voter", config_.id, id);
        // After the Ready that applied it: Raft takes the next change once it saw this applied.
        if (then) return asio::post(io_, [to, then] { then(to); });
        reply(to, "+OK\r\n");
      }));
  if (!index.ok()) return reply_error(to, fmt::format("TRYAGAIN {}", index.status().message()));
  schedule_flush();
}

void Node::remove_member(ReplyTo to, NodeId id) {
  const std::vector<MemberView> all = members();
  auto it = std::find_if(all.begin(), all.end(), [&](const MemberView& m) { return m.id == id; });
  if (it == all.end()) return reply_error(to, fmt::format("ERR node {} is not a member", id));
  if (std::string why = change_refusal(); !why.empty()) return reply_error(to, why);
  if (!it->learner) {
    const size_t voters = replica_->conf().voters.size() - 1;
    if (voters == 0) return reply_error(to, fmt::format("ERR node {} is the last voter", id));
    if (online_voters(id) < quorum(voters)) {
      return reply_error(to, fmt::format("ERR removing node {} would leave {} of {} voters "
                                         "online, fewer than a quorum of {}",
                                         id, online_voters(id), voters, quorum(voters)));
    }
  }
  if (id == config_.id) {
    // Hand leadership over first; the new leader removes this node.
    const NodeId target = most_caught_up_follower();
    if (target == kNoNode) {
      return reply_error(to,
                         "ERR no online voter to hand leadership to before removing the "
                         "leader");
    }
    if (Status st = replica_->transfer_leader(target); !st.ok()) {
      return reply_error(to, fmt::format("TRYAGAIN {}", st.message()));
    }
    spdlog::info("node {}: handing leadership to node {} before leaving", config_.id, target);
    leaving_.push_back(
        Leaving{.to = std::move(to), .deadline_ms = now_ms() + config_.request_timeout_ms});
    schedule_flush();
    return;
  }
  raft::ConfChange cc{raft::ConfChangeType::kRemoveNode, id, {}};
  Result<LogIndex> index = replica_->propose_conf_change(
      cc, boxed([this, to, id](const Status& st, const kv::Reply&) {
        if (!st.ok()) return reply_error(to, std::string(st.message()));
        log_event(spdlog::level::info, "member_removed", {{"member", id}},
                  "node {}: node {} removed", config_.id, id);
        reply(to, "+OK\r\n");
      }));
  if (!index.ok()) return reply_error(to, fmt::format("TRYAGAIN {}", index.status().message()));
  schedule_flush();
}

// Called every tick: a leader that handed over leadership to leave sends its own removal to the
// new leader once there is one.
void Node::poll_leaving() {
  for (auto it = leaving_.begin(); it != leaving_.end();) {
    const NodeId leader = raft().leader();
    if (leader != kNoNode && leader != config_.id) {
      const std::string id = std::to_string(config_.id.value());
      const std::string_view argv[] = {"MEMBER", "REMOVE", id};
      forward_command(std::move(it->to), argv);
      it = leaving_.erase(it);
    } else if (now_ms() >= it->deadline_ms) {
      reply_error(it->to, "TRYAGAIN leadership was not handed over in time; retry");
      it = leaving_.erase(it);
    } else {
      ++it;
    }
  }
}

// The leader logs the progress of followers that are far behind (a new learner catching up, a
// node back from a long outage) every kCatchUpLogMs, and once when each has caught up.
void Node::log_catch_up() {
  if (!raft().is_leader()) {
    catching_up_.clear();
    return;
  }
  const raft::NodeStatus st = raft().status();
  const int64_t now = now_ms();
  for (const auto& p : st.progress) {
    if (p.id == config_.id) continue;
    const uint64_t behind = st.last_index.value() - std::min(p.match, st.last_index).value();
    const bool far = p.snapshot_bytes_total != 0 || behind > kPromoteLagEntriesMax;
    auto it = catching_up_.find(p.id);
    if (!far) {
      if (it != catching_up_.end()) {
        spdlog::info("node {}: node {} caught up (match {}, {} entries behind)", config_.id, p.id,
                     p.match, behind);
        catching_up_.erase(it);
      }
      continue;
    }
    if (it != catching_up_.end() && now - it->second < kCatchUpLogMs) continue;
    catching_up_[p.id] = now;
    if (p.snapshot_bytes_total != 0) {
      spdlog::info("node {}: node {} catching up: snapshot {}/{} bytes sent ({}%)", config_.id,
                   p.id, p.snapshot_bytes_sent, p.snapshot_bytes_total,
                   p.snapshot_bytes_sent * 100 / p.snapshot_bytes_total);
    } else {
      spdlog::info("node {}: node {} catching up: {} entries behind (match {})", config_.id, p.id,
                   behind, p.match);
    }
  }
}

// A node started with --join ... --replace OLD asks for MEMBER REPLACE OLD <itself> once it has
// caught up, and again every kReplaceRetryMs until OLD has left the membership.
void Node::poll_replacing() {
  const NodeId old = config_.join_replaces;
  if (old == kNoNode || !store().members().count(old.value())) return;
  const raft::NodeStatus st = raft().status();
  if (st.leader == kNoNode || st.applied < st.commit) return;
  if (now_ms() - replace_sent_ms_ < kReplaceRetryMs) return;
  replace_sent_ms_ = now_ms();
  const std::string a = std::to_string(old.value()), b = std::to_string(config_.id.value());
  const std::string_view argv[] = {"MEMBER", "REPLACE", a, b};
  spdlog::info("node {}: asking to replace node {}", config_.id, old);
  if (st.leader == config_.id) {
    execute_member(ReplyTo{}, argv);
  } else {
    forward_command(ReplyTo{}, argv);
  }
}

}  // namespace bw::server
