#include "server/node.h"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "common/assert.h"
#include "common/codec.h"
#include "raft/message_codec.h"
#include "resp/command_table.h"
#include "resp/writer.h"
#include "server/args.h"
#include "server/log_format.h"
#include "server/overload.h"
#include "server/reply.h"

namespace bw::server {

namespace {

constexpr uint64_t kForwardArgBytesMax = 512ull << 20;
constexpr uint64_t kForwardArgsMax = 1u << 20;

bool allowed_while_subscribed(std::string_view name) {
  return name == "subscribe" || name == "psubscribe" || name == "ssubscribe" ||
         name == "unsubscribe" || name == "punsubscribe" || name == "sunsubscribe" ||
         name == "ping" || name == "quit" || name == "reset";
}

}  // namespace

Node::Node(asio::io_context& io, NodeConfig config)
    : io_(io), config_(std::move(config)), ticker_(io) {}

Node::~Node() {
  if (ops_http_) ops_http_->stop();
  stop_snapshot_child();
}

int64_t Node::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Node::monotonic_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t Node::monotonic_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status Node::start() {
  started_ms_ = now_ms();
  maxclients_requested_ = config_.maxclients;
  effective_maxclients_ = adjust_open_files_limit(config_.maxclients);
  if (Status st = pubsub_.set_notify_flags(config_.notify_keyspace_events); !st.ok()) {
    return absl::InvalidArgumentError(fmt::format("notify-keyspace-events: {}", st.message()));
  }
  BW_RETURN_IF_ERROR(resolve_membership());
  BW_RETURN_IF_ERROR(start_backups());
  storage::Options sopts{.dir = config_.data_dir,
                         .identity = {.cluster_id = config_.cluster_id, .node = config_.id},
                         .fsync = config_.fsync == FsyncPolicy::kAlways
                                      ? storage::FsyncPolicy::kAlways
                                      : storage::FsyncPolicy::kNone,
                         .preallocate_bytes = config_.wal_preallocate_bytes};
  storage::FileSystem* fs = &fs_;
  if (config_.enable_debug_command != DebugCommandAccess::kNo) {
    debug_fs_ = std::make_unique<storage::SyncFaultFileSystem>(&fs_);
    fs = debug_fs_.get();
  }
  BW_ASSIGN_OR_RETURN(storage_, storage::Storage::open(fs, sopts));

  replica::Boot boot;
  if (storage_->was_recovered(kDataGroup)) {
    const storage::RecoveredState& rec = storage_->recovered(kDataGroup);
    log_ = storage_->group(kDataGroup);
    boot.state.hard_state = rec.hard_state;
    boot.state.conf = rec.conf;
    if (rec.snapshot.index > LogIndex(0)) {
      BW_ASSIGN_OR_RETURN(raft::Snapshot snap, log_->snapshot());
      BW_RETURN_IF_ERROR(boot.store.restore(snap.data));
      boot.state.applied = snap.meta.index;
      snapshot_index_ = snap.meta.index;
    }
    spdlog::info("node {}: recovered term {}, commit {}, log [{}, {}], snapshot at {}", config_.id,
                 rec.hard_state.term, rec.hard_state.commit, rec.first_index, rec.last_index,
                 rec.snapshot.index);
  } else {
    log_ = storage_->create_group(kDataGroup);
  }
  if (boot.state.conf.voters.empty()) {  // an empty log: the membership the node starts in
    for (const MemberLine& m : seed_.members) {
      (m.learner ? boot.state.conf.learners : boot.state.conf.voters).push_back(m.id);
    }
  }
  if (boot.store.members().empty()) {  // no snapshot (or one from before the member directory)
    for (const MemberLine& m : seed_.members) {
      boot.store.set_member(m.id.value(), kv::Member{m.client_address, m.peer_address});
    }
  }

  std::random_device random;
  boot_epoch_ = (uint64_t{random()} << 32) ^ random();
  forwards_ = ForwardTable(boot_epoch_);
  replica::Options ro;
  ro.raft.id = config_.id;
  ro.raft.group = kDataGroup;
  ro.raft.election_ticks = config_.election_ticks;
  ro.raft.heartbeat_ticks = config_.heartbeat_ticks;
  ro.raft.read_only = config_.read_mode == ReadMode::kLease ? raft::ReadOnlyOption::kLeaseBased
                                                            : raft::ReadOnlyOption::kSafe;
  ro.raft.random_seed = boot_epoch_ ^ (config_.id.value() << 32);
  ro.boot_epoch = boot_epoch_;
  ro.tick_ms = config_.tick_ms;
  ro.request_timeout_ms = config_.request_timeout_ms;
  ro.expire_keys_per_tick = config_.expire_keys_per_tick;
  ro.lease_extension_ms = int64_t{2} * config_.election_ticks * config_.tick_ms;
  disk_ = std::make_unique<replica::StorageDisk>(storage_.get(), log_, [this](uint64_t seq) {
    // On the writer thread: hand the completion back to the event loop.
    asio::post(io_, [this, seq] { on_durable(seq); });
  });
  replica_ = std::make_unique<replica::Replica>(
      ro, replica::Io{.clock = this, .transport = this, .disk = disk_.get(), .observer = this},
      std::move(boot));
  BW_RETURN_IF_ERROR(start_acl());

  net::PeerTransportOptions topts{.cluster_id = config_.cluster_id, .self = config_.id};
  if (!config_.cluster_secret_file.empty()) {
    BW_ASSIGN_OR_RETURN(topts.secrets, net::load_cluster_secrets(config_.cluster_secret_file));
  }
  transport_ = std::make_unique<net::PeerTransport>(
      io_, topts,
      [this](NodeId from, net::FrameType t, std::string_view p) { on_frame(from, t, p); });
  transport_->set_undelivered_handler(
      [this](NodeId to, net::FrameType t, std::string_view p) { on_undelivered(to, t, p); });
  BW_ASSIGN_OR_RETURN(PeerTlsContexts peer_tls, make_peer_tls_contexts(config_));
  transport_->set_tls(peer_tls.server, peer_tls.client);
  BW_ASSIGN_OR_RETURN(auto peer_ep, net::parse_endpoint(config_.peer_listen));
  BW_RETURN_IF_ERROR(transport_->listen(peer_ep));
  sync_peers();

  tracking_.find_session = [this](uint64_t id) -> std::shared_ptr<Session> {
    for (const auto& [ptr, s] : sessions_) {
      if (s->id() == id) return s;
    }
    return nullptr;
  };

  BW_ASSIGN_OR_RETURN(auto client_ep, net::parse_endpoint(config_.listen));
  BW_ASSIGN_OR_RETURN(acceptor_, net::listen_on(io_, client_ep, "clients"));
  accept(acceptor_.get(), false);
  if (!config_.sentinel_listen.empty()) {
    BW_ASSIGN_OR_RETURN(auto sentinel_ep, net::parse_endpoint(config_.sentinel_listen));
    BW_ASSIGN_OR_RETURN(sentinel_acceptor_, net::listen_on(io_, sentinel_ep, "sentinel clients"));
    accept(sentinel_acceptor_.get(), true);
  }
  if (config_.tls_port != 0) {
    BW_RETURN_IF_ERROR(reload_tls());
    asio::ip::tcp::endpoint tls_ep(client_ep.address(), config_.tls_port);
    BW_ASSIGN_OR_RETURN(tls_acceptor_, net::listen_on(io_, tls_ep, "TLS clients"));
    accept(tls_acceptor_.get(), false, true);
  }
  BW_RETURN_IF_ERROR(start_ops_http());
  start_ticker();
  note_term(raft().status().term);
  log_event(spdlog::level::info, "node_started",
            {{"listen", config_.listen}, {"applied", replica_->applied()}},
            "node {} serving clients on {}, peers on {}, applied index {}", config_.id,
            config_.listen, config_.peer_listen, replica_->applied());
  return OkStatus();
}

void Node::accept(asio::ip::tcp::acceptor* acceptor, bool sentinel_port, bool tls) {
  acceptor->async_accept([=, this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopping_ && !acceptor->is_open()) return;
    if (!ec && !refuse_client(socket)) {
      auto s =
          std::make_shared<Session>(this, std::move(socket), next_session_id_++, config_.session,
                                    config_.protocol, tls ? tls_context_ : nullptr);
      s->created_ms = static_cast<uint64_t>(now_ms());
      s->readonly = config_.readonly_default;
      s->sentinel_port = sentinel_port;
      s->authenticated = acl_.default_open();
      sessions_[s.get()] = s;
      ++counters_.connections_total;
      s->start();
    }
    if (acceptor->is_open()) accept(acceptor, sentinel_port, tls);
  });
}

std::vector<std::shared_ptr<Session>> Node::sessions() const {
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (const auto& [ptr, s] : sessions_) out.push_back(s);
  return out;
}

void Node::session_closed(Session* session) {
  // Its subscriptions go with it: publishers must neither reach nor count a closed connection.
  pubsub_.drop(session);
  sessions_.erase(session);
}

uint64_t Node::last_leader_contact_ms() const {
  return static_cast<uint64_t>(last_leader_contact_ms_);
}

// ---- commands --------------------------------------------------------------------------------

void Node::execute(const std::shared_ptr<Session>& session,
                   std::span<const std::string_view> argv) {
  BW_ASSERT(!argv.empty());
  ++counters_.commands;
  const bool sentinel_refused = session->sentinel_port && !sentinel_port_command(argv[0]);
  const resp::CommandSpec* spec = sentinel_refused ? nullptr : resp::find_command(argv[0]);
  uint64_t seq = session->reserve_command(spec);  // its reply is counted (command_replied)
  session->commands++;
  session->last_command_ms = static_cast<uint64_t>(now_ms());
  ReplyTo to{.session = session, .seq = seq, .protocol = session->protocol};
  if (spec == nullptr) {
    session->multi_dirty = session->in_multi && !sentinel_refused;
    reply_error(to, unknown_command_message(argv));
    return;
  }
  session->last_command = std::string(spec->name);
  const kv::CommandKind kind = kv::command_kind(argv);  // one lookup serves arity and routing
  if (!arity_ok(*spec, argv, kind.write_name)) {
    session->multi_dirty = session->in_multi;
    session->mark_rejected(seq);
    reply_error(to, fmt::format("ERR wrong number of arguments for '{}' command", spec->name));
    return;
  }
  if (stopping_ && !spec->has(resp::kConnection)) {
    session->mark_rejected(seq);
    reply_error(to, "TRYAGAIN node is shutting down");
    return;
  }
  if (!acl_admits(session, to, *spec, argv)) {  // checked here, so also at MULTI queue time
    session->multi_dirty = session->in_multi;
    session->mark_rejected(seq);
    return;
  }
  if (is_acl_write(argv)) {
    if (session->in_multi) {
      session->multi_dirty = true;
      session->mark_rejected(seq);
      reply_error(to, "ERR ACL changes are not allowed inside MULTI");
      return;
    }
    auto prepared = prepare_acl_write(argv);
    if (auto* err = std::get_if<std::string>(&prepared)) {
      reply_error(to, *err);
      return;
    }
    route_write(std::move(to), views(std::get<std::vector<std::string>>(prepared)));
    return;
  }
  if (session->monitor && (kind.read || kind.write_name)) {  // Redis: a monitor is a replica
    session->multi_dirty = session->in_multi;
    session->mark_rejected(seq);
    reply_error(to, "ERR Replica can't interact with the keyspace");
    return;
  }
  if (!monitors_.empty() && !spec->has(resp::kAdmin) && !spec->has(resp::kSkipMonitor)) {
    feed_monitors(*session, argv);
  }
  if (session->in_multi && spec->name != "exec" && spec->name != "discard" &&
      spec->name != "multi" && spec->name != "watch" && spec->name != "unwatch" &&
      spec->name != "quit" && spec->name != "reset") {
    session->mark_queued(seq);  // counted when EXEC runs it, or as rejected if it fails to queue
  }
  if (execute_transaction_command(session, to, *spec, argv)) return;
  if (session->protocol == 2 && pubsub_.subscriptions(session.get()) > 0 &&
      !allowed_while_subscribed(spec->name)) {
    session->mark_rejected(seq);
    reply_error(to, fmt::format("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
                                "PING / QUIT / RESET are allowed in this context",
                                spec->name));
    return;
  }
  const bool is_read = kind.read;  // before is_write: LEASE TTL is a read
  const bool is_write = !is_read && kind.write_name;
  if (auto block_ms = kv::block_timeout_ms(argv)) {
    route_election(std::move(to), argv, *block_ms);
  } else if (auto pop = is_write ? kv::blocking_pop(argv) : std::nullopt) {
    route_blocking_pop(std::move(to), argv, *pop);
  } else if (is_write) {
    route_write(std::move(to), argv);
  } else if (is_read) {
    route_read(std::move(to), argv);
  } else if (spec->name == "wait") {
    execute_wait(session, seq, argv);
  } else {
    execute_node_command(session, seq, argv);
  }
}

void Node::end_of_input() {
  schedule_flush();
}

void Node::route_write(ReplyTo to, std::span<const std::string_view> argv) {
  ++counters_.writes;
  if (raft().is_leader()) {
    propose_write(std::move(to), argv);
  } else if (raft().leader() != kNoNode) {  // not leader_: it may still name this node (node.h)
    forward_command(std::move(to), argv);
  } else {
    waiting_for_leader_.push_back(Waiting{.to = std::move(to),
                                          .argv = copy_args(argv),
                                          .deadline_ms = now_ms() + config_.request_timeout_ms});
  }
}

void Node::propose_write(ReplyTo to, std::span<const std::string_view> argv) {
  if (is_acl_write(argv)) {
    propose_acl(std::move(to), argv);
    return;
  }
  if (refuse_oom(to, argv)) return;
  auto encoded = kv::encode_write(argv, now_ms());
  if (auto* err = std::get_if<kv::Reply>(&encoded)) {
    reply_value(to, *err);
    return;
  }
  propose_pending(std::move(to), std::move(std::get<std::string>(encoded)));
}

// Proposes an encoded entry whose reply goes to `to` once it applies.
void Node::propose_pending(ReplyTo to, std::string payload) {
  const auto tag = reinterpret_cast<uintptr_t>(to.session.get());
  Session* session = to.session.get();
  auto done = [this, to](const Status& st, const kv::Reply& r) {
    if (st.ok()) {
      reply_value(to, r);
    } else {
      reply_error(to, std::string(st.message()));
    }
  };
  static_assert(replica::Replica::WriteDone::kStoredInline<decltype(done)>, "one per write");
  Result<LogIndex> index = replica_->propose(std::move(payload), std::move(done), tag);
  if (!index.ok()) {
    reply_error(to, fmt::format("TRYAGAIN {}", index.status().message()));
    return;
  }
  if (session != nullptr) session->last_write_index = index->value();
  schedule_flush();
}

void Node::forward_command(ReplyTo to, std::span<const std::string_view> argv) {
  forward_to_leader(net::FrameType::kForward, std::move(to), [&](ByteWriter& w) {
    w.varint(argv.size());
    for (auto a : argv) w.bytes(a);
  });
}

// Sends a command to the leader as `type` (id, protocol, then `body`) and remembers where its
// reply goes.
void Node::forward_to_leader(net::FrameType type, ReplyTo to,
                             const std::function<void(ByteWriter&)>& body) {
  ++counters_.forwarded;
  // Raft's current leader, never this node: the transport has no link to itself and would drop
  // the frame without a word, leaving the command to time out.
  const NodeId leader = raft().leader();
  BW_ASSERT(leader != kNoNode && leader != config_.id, "forwarding to {}", leader);
  const int protocol = to.protocol;
  const uint64_t id =
      forwards_.add(std::move(to), leader, type, now_ms() + config_.request_timeout_ms);
  std::string payload;
  ByteWriter w(&payload);
  w.u64(id);
  w.u8(static_cast<uint8_t>(protocol));
  body(w);
  transport_->send(leader, type, payload);
}

void Node::route_read(ReplyTo to, std::span<const std::string_view> argv) {
  ++counters_.reads;
  if (to.session && to.session->readonly) {
    serve_read_now(to, argv);
    return;
  }
  auto done = [this, to, args = copy_args(argv)](const Status& st) {
    if (st.ok()) {
      serve_read_now(to, views(args));
    } else {
      reply_error(to, std::string(st.message()));
    }
  };
  static_assert(replica::Replica::ReadDone::kStoredInline<decltype(done)>, "one per read");
  replica_->read(std::move(done));
  schedule_flush();
}

void Node::serve_read_now(const ReplyTo& to, std::span<const std::string_view> argv) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  reply_value(to, replica_->evaluate_read(argv, rng()));
  if (config_.maxmemory_bytes != 0 && !(to.session && to.session->no_touch)) {
    // LRU/LFU access tracking, local to this node (only the leader's choice of keys matters).
    if (const resp::CommandSpec* spec = resp::find_command(argv[0])) {
      for (std::string_view key : resp::command_key_positions(*spec, argv)) {
        replica_->touch(key, rng());
      }
    }
  }
  if (to.session && tracking_.enabled(to.session.get())) {
    if (const resp::CommandSpec* spec = resp::find_command(argv[0])) {
      tracking_.on_read(to.session.get(), resp::command_key_positions(*spec, argv));
    }
  }
}

// ---- replies ---------------------------------------------------------------------------------

void Node::reply(const ReplyTo& to, std::string bytes) {
  if (to.pop_attempt != 0) {
    on_pop_attempt(to.pop_attempt, std::move(bytes));
    return;
  }
  if (to.session) {
    to.session->fulfil(to.seq, std::move(bytes));
    return;
  }
  if (to.peer != kNoNode) {
    std::string payload;
    ByteWriter w(&payload);
    w.u64(to.forward_id);
    w.bytes(bytes);
    transport_->send(to.peer, net::FrameType::kForwardReply, payload);
  }
}

void Node::reply_value(const ReplyTo& to, const kv::Reply& r) {
  std::string bytes;
  resp::Writer w(&bytes, to.protocol);
  write_reply(w, r);
  reply(to, std::move(bytes));
}

void Node::reply_error(const ReplyTo& to, std::string_view message) {
  std::string bytes;
  resp::Writer(&bytes, to.protocol).error(message);
  reply(to, std::move(bytes));
}

// ---- the Ready loop --------------------------------------------------------------------------

void Node::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Runs after the handlers already queued in this pass: everything they submit is batched into
  // one ReadIndex round and one Ready.
  asio::post(io_, [this] {
    flush_scheduled_ = false;
    replica_->flush();
    // A read round that ended in this flush leaves the reads queued behind it; their clients
    // wait and send nothing meanwhile, so the next pass issues them instead of the next input.
    if (replica_->has_reads_to_issue()) schedule_flush();
  });
}

void Node::on_durable(uint64_t seq) {
  replica_->on_durable(seq);
  if (replica_->has_reads_to_issue()) schedule_flush();
  maybe_snapshot();
}

void Node::send(raft::Message m) {
  if (m.type == raft::MessageType::kReadIndexResp) ++counters_.read_index_answered;
  transport_->send(m.to, net::FrameType::kRaft, raft::encode_message(m));
}

void Node::on_applied(const raft::Entry& e, const kv::ApplyEffects* effects, uint64_t tag,
                      kv::Reply* reply) {
  if (e.type == raft::EntryType::kConfChange) sync_peers();
  if (replica_ != nullptr && store().acl_index() != acl_.synced_index()) sync_acl();
  if (effects == nullptr) return;
  apply_effects(*effects, reinterpret_cast<const Session*>(tag));
  if (!effects->published.empty()) *reply = kv::Reply::integer_value(last_publish_receivers_);
}

void Node::on_role_change(const raft::SoftState& ss, Term term) {
  note_term(term);
  NodeId old = leader_;
  leader_ = ss.leader;
  if (old != leader_) {
    log_event(spdlog::level::info, "leader_changed",
              {{"leader", leader_}, {"role", raft::role_name(ss.role)}},
              "node {}: leader is now {} (role {})", config_.id, leader_, raft::role_name(ss.role));
    if (auto replaced = sentinel_.on_leader_change(leader_, now_ms())) {
      std::string message =
          switch_master_message(sentinel_.view(*this, now_ms()), *replaced, leader_);
      if (!message.empty()) pubsub_.publish(kSwitchMasterChannel, message);
    }
  }
  if (old != leader_ && old != kNoNode && old != config_.id) {
    // Commands still queued for a former leader that cannot be reached go to the new one.
    transport_->drop_queued_if_down(old);
  }
  resend_unsent_forwards();
  if (old != leader_ && old != kNoNode && old != config_.id) {
    // The node these went to no longer leads. If it is alive (a hand-over) it still answers
    // them; if it died the answer never comes, so wait one election timeout, not the whole
    // request timeout, before saying the outcome is unknown.
    int64_t grace_deadline_ms = now_ms() + int64_t{2} * config_.election_ticks * config_.tick_ms;
    forwards_.shorten(old, grace_deadline_ms);
  }
  if (leader_ == kNoNode) return;
  // Writes that waited for a leader go now.
  std::deque<Waiting> waiting;
  waiting.swap(waiting_for_leader_);
  for (auto& w : waiting) {
    if (w.argv.empty()) {
      route_transaction(std::move(w.to), std::move(w.transaction));
      continue;
    }
    auto v = views(w.argv);
    if (raft().is_leader()) {
      propose_write(std::move(w.to), v);
    } else {
      forward_command(std::move(w.to), v);
    }
  }
}

LogIndex Node::log_first_index() const {
  return log_->first_index();
}

// ---- peers -----------------------------------------------------------------------------------

void Node::on_frame(NodeId from, net::FrameType type, std::string_view payload) {
  if (peer(from).has_value()) peer_heard_ms_[from] = monotonic_ms();
  switch (type) {
    case net::FrameType::kRaft: {
      auto m = raft::decode_message(payload, raft::MessageLimits{});
      if (!m.ok()) {
        spdlog::warn("node {}: undecodable raft message from {}: {}", config_.id, from, m.status());
        return;
      }
      // A node that took over a removed member's addresses (JOIN ... REPLACE) may still get
      // messages meant for that member until every node has applied the change.
      if (m->to != config_.id || m->from != from) return;
      if (m->from == leader_) last_leader_contact_ms_ = now_ms();
      Status st = replica_->step(*m);
      if (!st.ok()) spdlog::debug("node {}: step: {}", config_.id, st);
      schedule_flush();
      return;
    }
    case net::FrameType::kForward:
      on_forward(from, payload);
      return;
    case net::FrameType::kForwardTransaction:
      on_forward_transaction(from, payload);
      return;
    case net::FrameType::kForwardReply:
      on_forward_reply(payload);
      return;
    case net::FrameType::kHello:
    case net::FrameType::kHelloAck:
    case net::FrameType::kAuth:
      return;
  }
}

namespace {

// The command of a kForward payload, after its id and protocol.
bool decode_forwarded_argv(ByteReader& r, std::vector<std::string_view>* argv) {
  auto argc = r.varint();
  if (!argc.ok() || *argc == 0 || *argc > kForwardArgsMax) return false;
  argv->reserve(*argc);
  for (uint64_t i = 0; i < *argc; ++i) {
    auto a = r.bytes(kForwardArgBytesMax);
    if (!a.ok()) return false;
    argv->push_back(*a);
  }
  return true;
}

// MEMBER ADD/JOIN/PROMOTE/REMOVE/REPLACE travel as forwarded commands too (membership.cc).
bool is_member_command(std::span<const std::string_view> argv) {
  return argv.size() >= 2 &&
         absl::EqualsIgnoreCase(absl::string_view(argv[0].data(), argv[0].size()), "member");
}

// A forwarded command passed the sending node's checks, but the peer port carries untrusted
// bytes: kv reads argv positions that the command table's arity guarantees, so check it here too.
bool forwarded_command_ok(std::span<const std::string_view> argv) {
  return !argv.empty() && kv::is_write_command(argv[0]) && arity_ok(argv);
}

}  // namespace

void Node::on_forward(NodeId from, std::string_view payload) {
  ByteReader r(payload);
  auto id = r.u64();
  auto proto = r.u8();
  std::vector<std::string_view> argv;
  if (!id.ok() || !proto.ok() || !decode_forwarded_argv(r, &argv)) {
    spdlog::warn("node {}: malformed forwarded command from {}", config_.id, from);
    return;
  }
  ReplyTo to{.peer = from, .forward_id = *id, .protocol = *proto == 3 ? 3 : 2};
  if (is_member_command(argv)) {
    execute_member(std::move(to), argv);  // checks its own arity
    return;
  }
  if (is_acl_write(argv) && !raft().is_leader()) {
    reply_error(to, "TRYAGAIN leader changed; retry");
    return;
  }
  if (is_acl_write(argv)) {
    propose_acl(std::move(to), argv);  // checks its own arguments
    return;
  }
  if (!forwarded_command_ok(argv)) {
    reply_error(to, "ERR forwarded command is not a well-formed write");
    return;
  }
  if (!raft().is_leader()) {
    reply_error(to, "TRYAGAIN leader changed; retry");
    return;
  }
  propose_write(std::move(to), argv);
}

// The transport dropped a frame before any of it left this node. A command forwarded in it never
// reached the leader, so it is sent again (resend_unsent_forwards) rather than left to time out
// as "may or may not have been applied": after the leader dies, a follower's writes go to the
// next leader as soon as there is one.
void Node::on_undelivered(NodeId to, net::FrameType type, std::string_view payload) {
  if (type != net::FrameType::kForward && type != net::FrameType::kForwardTransaction) return;
  ByteReader r(payload);
  auto id = r.u64();
  if (!id.ok()) return;
  ForwardTable::Entry* f = forwards_.find(*id);
  if (f == nullptr || f->leader != to) return;
  f->unsent.assign(payload);
}

// Called on every tick and leader change, never from the transport's handler (a resend may be
// dropped again at once).
void Node::resend_unsent_forwards() {
  const NodeId leader = raft().leader();  // not leader_ (node.h)
  if (leader == kNoNode) return;
  auto& entries = forwards_.entries();
  for (auto it = entries.begin(); it != entries.end();) {
    ForwardTable::Entry& f = it->second;
    if (f.unsent.empty()) {
      ++it;
      continue;
    }
    std::string payload = std::move(f.unsent);
    f.unsent.clear();
    if (!raft().is_leader()) {
      ++counters_.forwards_resent;
      f.leader = leader;
      transport_->send(leader, f.type, payload);  // may mark it unsent again
      ++it;
      continue;
    }
    // This node leads now: it runs the command as the leader would have.
    ReplyTo to = std::move(f.to);
    net::FrameType type = f.type;
    it = entries.erase(it);
    ByteReader r(payload);
    (void)r.u64();
    (void)r.u8();
    if (type == net::FrameType::kForward) {
      std::vector<std::string_view> argv;
      BW_ASSERT(decode_forwarded_argv(r, &argv), "own forwarded command does not decode");
      if (is_member_command(argv)) {
        execute_member(std::move(to), argv);
      } else {
        propose_write(std::move(to), argv);
      }
    } else {
      auto tx = decode_forwarded_transaction(r);
      BW_ASSERT(tx.has_value(), "own forwarded transaction does not decode");
      propose_transaction(std::move(to), *tx);
    }
  }
}

void Node::on_forward_reply(std::string_view payload) {
  ByteReader r(payload);
  auto id = r.u64();
  auto bytes = r.bytes(kForwardArgBytesMax);
  if (!id.ok() || !bytes.ok()) return;
  std::optional<ForwardTable::Entry> f = forwards_.take(*id);
  if (!f) return;  // timed out already, or addressed to a previous incarnation
  reply(f->to, std::string(*bytes));
}

// ---- timers ----------------------------------------------------------------------------------

void Node::start_ticker() {
  ticker_.expires_after(std::chrono::milliseconds(config_.tick_ms));
  ticker_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    on_tick();
    start_ticker();
  });
}

void Node::on_tick() {
  ++ticks_;
  replica_->tick();
  if (raft().is_leader()) last_leader_contact_ms_ = now_ms();
  expire_timeouts();
  resend_unsent_forwards();
  if (!waits_.empty()) poll_waits();
  if (failover_) poll_failover();
  if (shutdown_done_) poll_shutdown();
  if (!leaving_.empty()) poll_leaving();
  drop_removed_peers();
  poll_replacing();
  log_catch_up();
  poll_snapshot_child();
  if (raft().is_leader()) maybe_evict();  // also after CONFIG SET maxmemory lowered it
  if (const int64_t now = monotonic_ms(); now - idle_checked_ms_ >= kIdleCheckIntervalMs) {
    idle_checked_ms_ = now;
    close_idle_clients();
  }
  schedule_flush();
}

void Node::expire_timeouts() {
  int64_t now = now_ms();
  const char* no_leader = "TRYAGAIN no leader";
  for (auto it = blocked_elections_.begin(); it != blocked_elections_.end();) {
    if (it->second.deadline_ms != 0 && it->second.deadline_ms <= now) {
      // Out of time: campaign once anyway; the reply names the current holder.
      BlockedElection b = std::move(it->second);
      it = blocked_elections_.erase(it);
      auto v = views(b.argv);
      route_write(std::move(b.to), v);
    } else {
      ++it;
    }
  }
  expire_blocked_pops(now);
  while (!waiting_for_leader_.empty() && waiting_for_leader_.front().deadline_ms <= now) {
    reply_error(waiting_for_leader_.front().to, no_leader);
    waiting_for_leader_.pop_front();
  }
  for (const ForwardTable::Entry& f : forwards_.expire(now)) {
    reply_error(
        f.to,
        "TIMEOUT the leader did not answer in time; the write may or may not have been applied");
  }
}

NodeCounters Node::counters() const {
  NodeCounters c = counters_;
  const replica::Counters& r = replica_->counters();
  c.read_index_rounds = r.read_index_rounds;
  c.expired_keys_proposed = r.expired_keys_proposed;
  c.append_messages_sent = r.append_messages_sent;
  c.entries_sent = r.entries_sent;
  c.wal_writes = storage_->wal_writes();
  c.wal_fsyncs = storage_->fsync_latency().copy().count;
  c.wal_entries_written = storage_->wal_entries_written();
  return c;
}

}  // namespace bw::server
