// A Bellwether node: sessions, routing and wiring around the replica of its Raft group
// (src/replica: the Ready loop, proposals and reads live there, the same class the simulator
// runs). The node gives the replica its seams: the wall clock, the peer transport and the
// storage (replica::StorageDisk).
//
// Threads: everything here runs on the io_context's single thread (client sessions, peer
// transport, the replica, timers); the write-ahead log has its own writer thread and posts
// completions back.
//
// Paths:
//   write  on the leader: kv::encode_write -> Replica::propose -> (Ready: persist, replicate)
//          -> commit -> apply -> reply. On a follower: forwarded to the leader over the peer
//          link and the reply relayed. No leader: queued until one is known or the request
//          times out (-TRYAGAIN no leader).
//   read   linearizable by default on every node: reads arriving in one event-loop pass share
//          one ReadIndex round, then wait until applied >= read index and run locally. READONLY
//          connections read local state at once.
#pragma once

#include <sys/types.h>

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/codec.h"
#include "kv/store.h"
#include "net/peer_transport.h"
#include "raft/raft.h"
#include "replica/replica.h"
#include "replica/storage_disk.h"
#include "resp/command_table.h"
#include "resp/writer.h"
#include "server/acl.h"
#include "server/admin_client.h"
#include "server/backup.h"
#include "server/command_stats.h"
#include "server/config.h"
#include "server/forward_table.h"
#include "server/http_server.h"
#include "server/latency_monitor.h"
#include "server/members_file.h"
#include "server/metrics.h"
#include "server/pubsub.h"
#include "server/reply_to.h"
#include "server/sentinel.h"
#include "server/session.h"
#include "server/slowlog.h"
#include "server/tracking.h"
#include "storage/posix_file_system.h"
#include "storage/storage.h"
#include "storage/sync_fault_file_system.h"

namespace bw::server {

struct LogContext;  // log_format.h

// The one Raft group a node runs: its data.
inline constexpr GroupId kDataGroup{1};

struct NodeCounters {
  uint64_t commands = 0;
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t forwarded = 0;
  uint64_t forwards_resent = 0;  // forwarded commands the transport dropped unsent, sent again
  uint64_t read_index_rounds = 0;
  uint64_t read_index_answered = 0;   // as leader: ReadIndex requests of other nodes answered
  uint64_t append_messages_sent = 0;  // raft appends to peers, and the entries they carried
  uint64_t entries_sent = 0;
  uint64_t wal_writes = 0;  // gathered WAL writes, their fdatasyncs and the entries they carried
  uint64_t wal_fsyncs = 0;
  uint64_t wal_entries_written = 0;
  uint64_t connections_total = 0;
  uint64_t expired_keys_proposed = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_installed = 0;
  uint64_t rejected_connections = 0;         // refused at maxclients
  uint64_t output_limit_disconnections = 0;  // client-output-buffer-limit (and the ceiling)
  uint64_t oom_rejections = 0;               // writes refused with -OOM as leader
  uint64_t eviction_entries_proposed = 0;    // as leader
  uint64_t snapshot_last_bytes = 0;          // the last snapshot this node wrote
  uint64_t snapshot_last_duration_ms = 0;
};

// A member as this node sees it (MEMBER LIST, INFO, status, Sentinel replies).
struct MemberView {
  NodeId id;
  std::string client_address;
  std::string peer_address;
  bool learner = false;
  bool leader = false;
  bool online = false;          // this node, or a follower the leader hears from
  bool progress_known = false;  // match below is the leader's record (leaders only)
  LogIndex match;
};

// The peer transport's TLS contexts for tls-cluster (both null when it is off), from the node's
// tls-cert-file, tls-key-file and tls-ca-cert-file; each side verifies the other's certificate.
struct PeerTlsContexts {
  std::shared_ptr<asio::ssl::context> server;
  std::shared_ptr<asio::ssl::context> client;
};
Result<PeerTlsContexts> make_peer_tls_contexts(const NodeConfig& config);

class Node final : private replica::Clock, private replica::Transport, private replica::Observer {
 public:
  Node(asio::io_context& io, NodeConfig config);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Opens and recovers the data directory, starts listening. Errors name the cause.
  Status start();
  // Graceful stop: a leader hands over leadership first (bounded by shutdown_transfer_ms, skipped
  // when `transfer` is false), then the node stops serving and `done` runs. SHUTDOWN ABORT may
  // cancel it until then (`done` never runs).
  void shutdown(std::function<void()> done, bool transfer = true);
  // What SHUTDOWN runs once the node has stopped (main: stop the event loop, exit 0). Without
  // one, SHUTDOWN only stops serving.
  void set_stop_handler(std::function<void()> stopped) { stop_handler_ = std::move(stopped); }
  // Rebuilds the client TLS context from the tls-* settings (re-reading every file): new TLS
  // connections use the new one, open ones keep theirs. On error the old context stays and the
  // error says which file or setting and why. OK without doing anything when TLS is off.
  Status reload_tls();
  // How this node reaches other members' client ports (join, dashboard probes): as
  // masteruser/masterauth, and over TLS with its own certificate when it serves TLS itself.
  ClientConnectOptions member_connect_options() const;
  // This node's own client address for such connections: its TLS port when it has one.
  std::string member_client_address() const;
  // Where the node keeps its id and Raft term for log lines (log_format.h); may be null.
  void set_log_context(std::shared_ptr<LogContext> context);

  // Called by sessions.
  void execute(const std::shared_ptr<Session>& session, std::span<const std::string_view> argv);
  void end_of_input();
  void session_closed(Session* session);
  // A command's reply is ready (admin.cc): command statistics, SLOWLOG, LATENCY.
  void command_replied(Session& s, const CommandReplied& r);
  // CLIENT PAUSE: true if `argv` from `s` waits for the pause to end; the session then holds it
  // back (hold_paused) and runs it when the pause ends, in the order the sessions were held.
  bool pause_holds(const Session& s, std::span<const std::string_view> argv) const {
    return pause_.end_ms != 0 && pause_holds_command(s, argv);
  }
  void hold_paused(std::shared_ptr<Session> s);
  // Output buffer limits (overload.cc): the class whose client-output-buffer-limit applies to
  // `s`, and the report of a client cut for breaking it (log line as Redis's, counter).
  ClientClass client_class(const Session& s) const;
  void output_limit_reached(Session& s);

  // Introspection (INFO, ROLE, status).
  const NodeConfig& config() const { return config_; }
  raft::NodeStatus raft_status() const { return replica_->raft().status(); }
  const kv::Store& store() const { return replica_->store(); }
  NodeCounters counters() const;
  const CommandStats& command_stats() const { return command_stats_; }
  LogIndex snapshot_index() const { return snapshot_index_; }
  // A snapshot (not a backup) being written: INFO's rdb_bgsave_in_progress.
  bool snapshot_in_progress() const {
    return snapshot_child_.has_value() && snapshot_child_->job == ChildJob::kSnapshot;
  }
  const SaveState& save_state() const { return backup_.save; }
  size_t backups_held() const { return backup_.backups.size(); }
  LogIndex log_first_index() const;
  size_t session_count() const { return sessions_.size(); }
  std::vector<std::shared_ptr<Session>> sessions() const;
  int64_t started_ms() const { return started_ms_; }
  // maxclients as granted by the open-files limit (overload.h adjust_open_files_limit).
  uint64_t effective_maxclients() const { return effective_maxclients_; }
  // What maxmemory is judged against: the store's dataset estimate (INFO used_memory).
  uint64_t used_memory() const;
  uint64_t last_leader_contact_ms() const;
  // A copy of everything /metrics reports (node_metrics.cc). On the event-loop thread.
  MetricsSnapshot metrics_snapshot() const;
  // The operations HTTP endpoint (metrics_listen), null when off. Pages are added in
  // start_ops_http().
  OpsHttpServer* ops_http() { return ops_http_.get(); }
  // The member directory (replicated) with roles and, on the leader, progress.
  std::vector<MemberView> members() const;
  std::optional<PeerSpec> peer(NodeId id) const;
  // A learner is promoted only when at most this many entries behind the leader's log.
  static constexpr uint64_t kPromoteLagEntriesMax = 1000;
  net::PeerStats peer_stats(NodeId id) const { return transport_->stats(id); }
  uint64_t peer_handshakes_refused() const { return transport_->handshakes_refused(); }
  void reload_cluster_secrets();
  // Milliseconds since the last frame from peer `id` arrived; -1 if none has since this start.
  int64_t peer_last_heard_ms_ago(NodeId id) const {
    auto it = peer_heard_ms_.find(id);
    return it == peer_heard_ms_.end() ? -1 : monotonic_ms() - it->second;
  }

 private:
  struct Transaction {
    std::vector<std::vector<std::string>> commands;
    std::vector<std::pair<std::string, uint64_t>> watched;
  };
  struct Waiting {  // a write waiting for a leader to be known
    ReplyTo to;
    std::vector<std::string> argv;  // a command, or empty with `transaction`
    Transaction transaction;
    int64_t deadline_ms;
  };
  struct BlockedElection {  // ELECT/LOCK ... BLOCK: waits until the name is free
    ReplyTo to;
    std::vector<std::string> argv;
    int64_t deadline_ms;  // 0 = no limit
  };
  struct BlockedPop {  // BLPOP ...: waits until a watched key holds a list (blocking_pops.cc)
    ReplyTo to;
    std::vector<std::string> argv;
    std::vector<std::string> keys;
    int64_t deadline_ms;  // 0 = no limit
    bool null_array;      // the reply out of time: a nil array, else a nil bulk
  };

  // Overload protection (overload.cc).
  bool over_maxmemory() const;
  bool maybe_evict();
  // Leader side: replies -OOM and returns true if `argv` (or a command of `tx`) may grow memory
  // while the dataset is over maxmemory and eviction cannot help.
  bool refuse_oom(const ReplyTo& to, std::span<const std::string_view> argv);
  bool refuse_oom_transaction(const ReplyTo& to, const Transaction& tx);
  // At maxclients: answers Redis's error on `socket`, closes it and returns true.
  bool refuse_client(asio::ip::tcp::socket& socket);
  void close_idle_clients();

  // Routing.
  void route_write(ReplyTo to, std::span<const std::string_view> argv);
  void propose_write(ReplyTo to, std::span<const std::string_view> argv);
  // A command (a write, or MEMBER ...) sent to the leader as kForward; its reply relayed to `to`.
  void forward_command(ReplyTo to, std::span<const std::string_view> argv);
  void forward_to_leader(net::FrameType type, ReplyTo to,
                         const std::function<void(ByteWriter&)>& body);
  void route_read(ReplyTo to, std::span<const std::string_view> argv);
  void route_transaction(ReplyTo to, Transaction tx);
  void propose_transaction(ReplyTo to, const Transaction& tx);
  void forward_transaction(ReplyTo to, const Transaction& tx);
  void on_forward_transaction(NodeId from, std::string_view payload);
  // The transaction of a kForwardTransaction payload, after its id and protocol.
  static std::optional<Transaction> decode_forwarded_transaction(ByteReader& r);
  void route_election(ReplyTo to, std::span<const std::string_view> argv, int64_t block_ms);
  void wake_elections(const std::string& name);
  // Blocking list pops (blocking_pops.cc).
  void route_blocking_pop(ReplyTo to, std::span<const std::string_view> argv,
                          const kv::BlockingPop& pop);
  void attempt_pop(BlockedPop b);
  void on_pop_attempt(uint64_t attempt, std::string bytes);
  void block_pop(BlockedPop b);
  bool any_list_ready(const BlockedPop& b) const;
  void wake_pops(const std::string& key);
  void expire_blocked_pops(int64_t now);
  void propose_pending(ReplyTo to, std::string payload);
  // MULTI, EXEC, DISCARD, WATCH, UNWATCH; and queueing inside MULTI. True if handled.
  bool execute_transaction_command(const std::shared_ptr<Session>& s, const ReplyTo& to,
                                   const resp::CommandSpec& spec,
                                   std::span<const std::string_view> argv);
  void apply_effects(const kv::ApplyEffects& effects, const Session* writer);

  void serve_read_now(const ReplyTo& to, std::span<const std::string_view> argv);
  void execute_node_command(const std::shared_ptr<Session>& s, uint64_t seq,
                            std::span<const std::string_view> argv);
  // Accepts clients on `acceptor`: the client port, or the sentinel port (Sentinel's commands
  // only, sentinel.h).
  // `tls`: the TLS port, whose sessions get the node's current TLS context.
  void accept(asio::ip::tcp::acceptor* acceptor, bool sentinel_port, bool tls = false);
  void client_tracking(const std::shared_ptr<Session>& s, std::span<const std::string_view> args,
                       resp::Writer& w);
  void poll_waits();
  int64_t replicas_holding(uint64_t index) const;
  void poll_shutdown();
  bool abort_shutdown();  // SHUTDOWN ABORT: false if no shutdown is in progress
  void apply_config();    // after CONFIG SET: values held outside config_ follow it
  Status rewrite_config_file();
  void note_term(Term term);  // the log context's term
  void execute_wait(const std::shared_ptr<Session>& s, uint64_t seq,
                    std::span<const std::string_view> argv);

  // Operator commands (operator.cc).
  void execute_debug(const std::shared_ptr<Session>& s, uint64_t seq,
                     std::span<const std::string_view> argv);
  void execute_failover(const std::shared_ptr<Session>& s, uint64_t seq,
                        std::span<const std::string_view> argv);
  void poll_failover();
  void finish_failover(std::string_view error);
  NodeId most_caught_up_follower() const;
  bool follower_online(const raft::FollowerProgress& p) const;

  // ---- Node command handlers (commands.cc) ----------------------------------------------------
  // execute_node_command looks the command's name up in a table of these; each answers one
  // command or one family through a NodeCall (defined in commands.cc).
  struct NodeCall;
  void subscribe_command(NodeCall& c);  // (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE
  void pubsub_command(NodeCall& c);     // PUBSUB introspection
  void ping_command(NodeCall& c);
  void echo_command(NodeCall& c);
  void quit_command(NodeCall& c);
  void reset_command(NodeCall& c);
  void select_command(NodeCall& c);
  void auth_command(NodeCall& c);
  void hello_command(NodeCall& c);
  void readonly_command(NodeCall& c);  // READONLY, READWRITE
  void time_command(NodeCall& c);
  void info_command(NodeCall& c);
  void role_command(NodeCall& c);
  void debug_command(NodeCall& c);
  void failover_command(NodeCall& c);
  void member_command(NodeCall& c);
  void command_command(NodeCall& c);
  void client_command(NodeCall& c);
  void config_command(NodeCall& c);    // config_commands.cc
  void shutdown_command(NodeCall& c);  // shutdown.cc
  void sentinel_command(NodeCall& c);
  void save_command(NodeCall& c);  // SAVE, BGSAVE (backup.cc)
  void lastsave_command(NodeCall& c);
  void backup_command(NodeCall& c);
  void slowlog_command(NodeCall& c);  // admin.cc
  void latency_command(NodeCall& c);
  void monitor_command(NodeCall& c);
  void acl_command(NodeCall& c);  // acl_commands.cc
  // ---- end of node command handlers ------------------------------------------------------------

  // Authentication and ACLs (acl_commands.cc, acl_replicated.cc).
  Status start_acl();  // start(): the bootstrap users, then the replicated ones
  // After an entry or a snapshot applied: recompiles the users if the replicated ACL state
  // changed, and disconnects clients whose user was deleted or disabled.
  void sync_acl();
  // The checks of execute() before a command runs: protected mode, NOAUTH, ACL permissions.
  // False if the command was refused (answered).
  bool acl_admits(const std::shared_ptr<Session>& s, const ReplyTo& to,
                  const resp::CommandSpec& spec, std::span<const std::string_view> argv);
  void log_acl_denial(Session& s, std::string reason, std::string object, std::string username);
  // ACL SETUSER / DELUSER / LOAD and CONFIG SET requirepass: routed as writes.
  static bool is_acl_write(std::span<const std::string_view> argv);
  // Receiving node: hashes passwords, reads the aclfile (LOAD), turns CONFIG SET requirepass
  // into ACL SETUSER; the form forwarded to the leader. Error text instead when refused.
  std::variant<std::vector<std::string>, std::string> prepare_acl_write(
      std::span<const std::string_view> argv);
  // Leader: computes the new definitions from the applied state and proposes them. One ACL
  // change is in flight at a time: the next waits (acl_waiting_) until it applied, so changes
  // pipelined by clients build on each other instead of conflicting.
  void propose_acl(ReplyTo to, std::span<const std::string_view> argv);
  void propose_waiting_acl();
  bool protected_mode_refuses(const Session& s) const;
  std::string read_acl_file(Status* st) const;

  // Replies.
  void reply(const ReplyTo& to, std::string bytes);
  void reply_value(const ReplyTo& to, const kv::Reply& r);
  void reply_error(const ReplyTo& to, std::string_view message);

  // The replica and its seams.
  raft::RawNode& raft() { return replica_->raft(); }
  const raft::RawNode& raft() const { return replica_->raft(); }
  void schedule_flush();
  void on_durable(uint64_t seq);
  int64_t now_ms() const override;  // replica::Clock
  int64_t monotonic_ms() const override;
  int64_t monotonic_us() const override;
  void send(raft::Message m) override;                                 // replica::Transport
  void on_role_change(const raft::SoftState& ss, Term term) override;  // replica::Observer
  void on_applied(const raft::Entry& e, const kv::ApplyEffects* effects, uint64_t tag,
                  kv::Reply* reply) override;
  void on_snapshot_installed(const raft::SnapshotMeta& meta) override;
  void maybe_snapshot();
  void poll_snapshot_child();
  void stop_snapshot_child();
  struct SnapshotChild;
  // Forks the writer process: it runs `write` on its copy-on-write image of the store as of now,
  // and poll_snapshot_child() reaps it. False (logged) when fork failed.
  bool fork_snapshot_child(const SnapshotChild& child, const std::function<Status()>& write);
  void start_raft_snapshot(bool requested);
  void finish_raft_snapshot(const SnapshotChild& child, bool written, int64_t ms);

  // Saves and backups (backup.cc).
  void finish_save(bool ok, int64_t ms);
  bool start_backup_child();  // true if a backup's writer started
  void finish_backup(const SnapshotChild& child, bool written);
  void expire_backups();
  // start(): LASTSAVE starts at the start time (as Redis's); backups of a previous run go.
  Status start_backups();
  std::string backup_dir() const;

  // Membership (membership.cc).
  Status resolve_membership();  // start(): this node's id and the member list it starts from
  Result<MemberList> join_cluster();
  void sync_peers();
  void drop_removed_peers();
  void write_members(resp::Writer& w) const;  // MEMBER LIST
  void execute_member(ReplyTo to, std::span<const std::string_view> argv);
  std::string change_refusal() const;
  size_t online_voters(NodeId except) const;
  void add_member(ReplyTo to, std::string client_address, std::string peer_address, NodeId replaces,
                  bool join);
  std::string join_answer(NodeId self) const;
  void promote_member(ReplyTo to, NodeId id, std::function<void(ReplyTo)> then);
  void remove_member(ReplyTo to, NodeId id);
  void poll_leaving();
  void poll_replacing();
  void log_catch_up();

  // Peers.
  void on_frame(NodeId from, net::FrameType type, std::string_view payload);
  void on_forward(NodeId from, std::string_view payload);
  void on_undelivered(NodeId to, net::FrameType type, std::string_view payload);
  void resend_unsent_forwards();
  void on_forward_reply(std::string_view payload);

  // The operations HTTP endpoint (node_metrics.cc): /metrics, /healthz.
  Status start_ops_http();
  // Admin (admin.cc, client_commands.cc).
  struct ClientPause {
    int64_t end_ms = 0;  // monotonic_ms() when it ends; 0: no pause
    bool all = true;     // ALL, or WRITE (writes and may-replicate commands only)
  };
  bool pause_holds_command(const Session& s, std::span<const std::string_view> argv) const;
  void pause_clients(int64_t timeout_ms, bool all);
  void end_pause();
  void feed_monitors(const Session& s, std::span<const std::string_view> argv);
  CommandStat& stat_for(const resp::CommandSpec& spec);
  void reset_command_stats();                      // CONFIG RESETSTAT
  std::string client_info_line(Session& s) const;  // CLIENT LIST / INFO
  void client_kill(NodeCall& c);
  void client_list(NodeCall& c);
  void client_pause(NodeCall& c);
  void client_reply(NodeCall& c);

  // Timers.
  void start_ticker();
  void on_tick();
  void expire_timeouts();

  asio::io_context& io_;
  NodeConfig config_;
  storage::PosixFileSystem fs_;
  // Between fs_ and the storage only when DEBUG is enabled (FSYNC-DELAY, FSYNC-FAIL).
  std::unique_ptr<storage::SyncFaultFileSystem> debug_fs_;
  std::unique_ptr<storage::Storage> storage_;
  storage::GroupLog* log_ = nullptr;
  std::unique_ptr<replica::StorageDisk> disk_;
  std::unique_ptr<replica::Replica> replica_;
  PubSub pubsub_;
  Tracking tracking_;
  std::unique_ptr<net::PeerTransport> transport_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<asio::ip::tcp::acceptor> sentinel_acceptor_;  // only with sentinel_listen
  std::unique_ptr<asio::ip::tcp::acceptor> tls_acceptor_;       // only with tls_port
  std::shared_ptr<asio::ssl::context> tls_context_;             // for new TLS connections
  SentinelTracker sentinel_;
  asio::steady_timer ticker_;
  std::map<Session*, std::shared_ptr<Session>> sessions_;

  std::deque<Waiting> waiting_for_leader_;
  std::multimap<std::string, BlockedElection> blocked_elections_;  // by name
  std::map<uint64_t, BlockedPop> blocked_pops_;                    // by id, oldest first
  std::multimap<std::string, uint64_t> blocked_pop_keys_;          // key -> blocked_pops_ id
  std::map<uint64_t, BlockedPop> pop_attempts_;                    // by ReplyTo::pop_attempt
  uint64_t next_blocked_pop_ = 1;
  int64_t last_publish_receivers_ = 0;
  ForwardTable forwards_{0};  // re-created with the boot epoch by start()
  struct WaitCall {
    std::shared_ptr<Session> session;
    uint64_t seq;
    uint64_t index;
    int64_t replicas;
    int64_t deadline_ms;  // 0 = no timeout
  };
  std::vector<WaitCall> waits_;
  struct PendingFailover {  // a FAILOVER waiting for the transfer's outcome
    std::shared_ptr<Session> session;
    uint64_t seq = 0;
    NodeId target;
    bool explicit_target = false;  // TO host port: only that node taking over counts
    int64_t deadline_ms = 0;
  };
  std::optional<PendingFailover> failover_;
  struct Leaving {  // MEMBER REMOVE of this leader: waits for leadership to move
    ReplyTo to;
    int64_t deadline_ms = 0;
  };
  std::vector<Leaving> leaving_;
  MemberList seed_;  // resolve_membership()
  struct PeerLink {
    std::string address;
    int64_t removed_ms = 0;  // when it left the membership; 0 = a member
  };
  std::map<NodeId, PeerLink> linked_peers_;  // peers given to the transport
  static constexpr int64_t kRemovedPeerLingerMs = 10000;
  bool removed_logged_ = false;
  static constexpr int64_t kReplaceRetryMs = 2000;
  int64_t replace_sent_ms_ = 0;
  static constexpr int64_t kCatchUpLogMs = 2000;
  std::map<NodeId, int64_t> catching_up_;  // follower -> when its progress was last logged

  // The forked process writing a snapshot (maybe_snapshot), reaped by poll_snapshot_child.
  enum class ChildJob : uint8_t { kSnapshot, kBackup };
  struct SnapshotChild {
    pid_t pid = 0;
    ChildJob job = ChildJob::kSnapshot;
    bool requested = false;  // a SAVE/BGSAVE asked for this snapshot
    uint64_t backup_id = 0;  // kBackup
    raft::SnapshotMeta meta;
    size_t keys = 0;
    std::chrono::steady_clock::time_point started;
  };
  std::optional<SnapshotChild> snapshot_child_;
  static constexpr int64_t kSnapshotRetryMs = 10000;  // after a failed snapshot
  int64_t snapshot_retry_ms_ = 0;
  LogIndex snapshot_index_;
  BackupState backup_;
  // The leader as of the last Ready handled (on_leader_change): the state leader changes are
  // detected against. Between a step that changes Raft's leader and that Ready, handlers already
  // queued in the same pass (client reads, the ticker) still run, so whoever routes a command
  // now asks Raft (raft().leader()): a deposed leader would otherwise see itself here.
  NodeId leader_;
  bool flush_scheduled_ = false;
  bool stopping_ = false;
  uint64_t next_session_id_ = 1;
  // Random per start: read contexts carry it and forward ids start from it, so a late answer
  // addressed to this node's previous incarnation never matches a request of this one.
  uint64_t boot_epoch_ = 0;
  uint64_t ticks_ = 0;
  int64_t started_ms_ = 0;
  uint64_t effective_maxclients_ = 0;  // set by start() and CONFIG SET maxclients
  uint64_t maxclients_requested_ = 0;  // the maxclients effective_maxclients_ was granted for
  uint64_t eviction_index_ = 0;        // the last eviction entry proposed here
  uint64_t eviction_rounds_ = 0;       // choices made here (seeds their draws)
  int64_t idle_checked_ms_ = 0;
  int64_t last_leader_contact_ms_ = 0;
  // monotonic_ms() of the last frame from each configured peer: how long a down peer has been
  // silent, as INFO and `bellwether status` show. Bounded by the peer list.
  std::map<NodeId, int64_t> peer_heard_ms_;
  NodeCounters counters_;
  CommandStats command_stats_;
  std::unique_ptr<OpsHttpServer> ops_http_;  // only with metrics_listen
  // command_stats_'s entry of each command of resp::all_commands() (by its index) that has been
  // answered, so a reply costs an index, not a name lookup. Sized to the command table.
  std::vector<CommandStat*> stat_by_command_;
  const resp::CommandSpec* commands_base_ = nullptr;  // resp::all_commands().data()
  SlowLog slowlog_;
  LatencyMonitor latency_;
  std::vector<std::weak_ptr<Session>> monitors_;  // MONITOR clients; closed ones dropped lazily
  ClientPause pause_;
  std::unique_ptr<asio::steady_timer> pause_timer_;
  std::deque<std::weak_ptr<Session>> paused_sessions_;  // in the order they were held
  std::function<void()> shutdown_done_;
  int64_t shutdown_deadline_ms_ = 0;
  std::function<void()> stop_handler_;
  // SHUTDOWN callers: their connection closes when the node stops; an error if aborted.
  struct ShutdownCaller {
    std::shared_ptr<Session> session;
    uint64_t seq = 0;
  };
  std::vector<ShutdownCaller> shutdown_callers_;
  std::shared_ptr<LogContext> log_context_;
  AclRegistry acl_;
  struct AclWaiting {
    ReplyTo to;
    std::vector<std::string> argv;
  };
  bool acl_in_flight_ = false;
  std::deque<AclWaiting> acl_waiting_;   // at most kAclWaitingMax
  bool listening_non_loopback_ = false;  // protected mode applies
};

}  // namespace bw::server
