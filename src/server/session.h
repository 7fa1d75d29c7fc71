// One client connection: reads RESP commands, hands them to the node, and writes replies back in
// command order even when later commands finish first (a pipelined GET after a SET waiting for
// its commit). Everything runs on the node's event-loop thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/tls.h"
#include "resp/command_table.h"
#include "resp/parser.h"
#include "server/output_limits.h"

namespace bw::server {

class Node;

// A command's reply, as the node's statistics see it (Node::command_replied).
struct CommandReplied {
  uint64_t seq = 0;
  const resp::CommandSpec* spec = nullptr;  // nullptr: an unknown command
  bool rejected = false;  // refused before it ran (arity, wrong state): Redis's rejected_calls
  bool queued = false;    // queued inside MULTI: counted when it fails to queue only
  uint64_t usec = 0;      // receipt to reply
  std::string_view reply;
};

// CLIENT REPLY.
enum class ReplyMode : uint8_t { kOn, kOff, kSkip };

struct SessionLimits {
  // client-output-bytes-max: a ceiling on replies not yet written for every client, whatever
  // its class's client-output-buffer-limit says (whose normal class has no limit by default);
  // beyond it the client is cut.
  size_t output_bytes_max = 256u << 20;
  // Commands awaiting replies before the session stops reading its socket. This is what holds
  // a pipelining client (redis-cli --pipe, -P) back to the speed of the cluster instead of
  // letting it pile work on the node; the kernel's socket buffers then push back on the client.
  size_t pending_replies_max = 4096;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `tls`: the context of the TLS port the client connected to (the session keeps it: a reload
  // replaces the node's context for new connections only); null for a plain connection.
  Session(Node* node, asio::ip::tcp::socket socket, uint64_t id, SessionLimits limits,
          resp::ParserLimits protocol_limits, std::shared_ptr<asio::ssl::context> tls = nullptr);

  // Starts reading commands; over TLS, after the handshake, which must finish within
  // net::kTlsHandshakeTimeout or the connection is closed.
  void start();
  // Closes the connection after the replies already queued are written.
  void close_after_flush();
  void close();
  bool closed() const { return closed_; }

  // Reserves the next reply position; replies are written in reservation order.
  uint64_t reserve();
  // The same for the command being executed (`spec` nullptr if unknown): its reply is counted
  // in the node's command statistics, with its latency from receipt (process_input) to fulfil.
  uint64_t reserve_command(const resp::CommandSpec* spec);
  void mark_rejected(uint64_t seq);
  void mark_queued(uint64_t seq);
  // The command line of a command whose reply is reserved at `seq`, as SLOWLOG keeps it
  // (slowlog_trim_argv); empty if not kept. Valid while the reply is pending.
  std::vector<std::string> slowlog_argv(uint64_t seq) const;
  // CLIENT REPLY ON|OFF|SKIP given by the command at `seq`.
  void set_reply_mode(ReplyMode mode, uint64_t seq);
  // CLIENT PAUSE ended: runs the command held back, then the input that followed it.
  void resume_paused();
  // Fills a reserved position with encoded RESP bytes.
  void fulfil(uint64_t seq, std::string bytes);
  // Appends an out-of-band message (pub/sub push) after everything already fulfilled.
  void push(std::string bytes);

  uint64_t id() const { return id_; }
  int protocol = 2;
  bool readonly = false;  // READONLY: serve reads from local state without a ReadIndex round
  std::string name;
  std::string lib_name;
  std::string lib_version;
  std::string peer_address;
  bool local = false;          // connected from a loopback address (enable-debug-command local)
  bool sentinel_port = false;  // connected to sentinel-listen: Sentinel's commands only
  // The ACL user the connection runs as; false until AUTH when the default user needs a
  // password (Node::acl_*).
  std::string user = "default";
  bool authenticated = false;
  uint64_t created_ms = 0;
  uint64_t last_command_ms = 0;
  uint64_t commands = 0;
  std::string last_command;
  uint64_t last_write_index = 0;  // for WAIT

  // MULTI/EXEC state.
  bool in_multi = false;
  bool multi_dirty = false;  // a command failed to queue: EXEC answers EXECABORT
  std::vector<std::vector<std::string>> queued;
  std::vector<std::pair<std::string, uint64_t>> watched;  // key, version when WATCHed

  bool monitor = false;   // MONITOR: receives every command the node receives
  bool no_evict = false;  // CLIENT NO-EVICT (kept for CLIENT LIST; nothing is evicted)
  bool no_touch = false;  // CLIENT NO-TOUCH
  ReplyMode reply_mode = ReplyMode::kOn;
  std::string local_address;  // laddr
  bool tls() const { return tls_ != nullptr; }
  // The subject of the certificate a TLS client presented; empty if none (or plain).
  std::string tls_peer_subject;
  bool paused() const { return paused_; }

  size_t output_bytes() const { return out_.size() + writing_bytes_; }
  // CONFIG SET client-output-bytes-max: checked at the next reply.
  void set_output_bytes_max(size_t bytes) { limits_.output_bytes_max = bytes; }
  // CONFIG SET proto-max-bulk-len: for the commands this connection reads from now on.
  void set_bulk_bytes_max(uint64_t bytes) { parser_.set_bulk_bytes_max(bytes); }
  // True once the client broke an output limit; it is closed at the end of this event-loop pass
  // and gets no more output.
  bool output_limit_broken() const { return output_cut_; }
  size_t unwritten_bytes() const { return out_.size(); }
  size_t pending_replies() const { return slots_.size(); }
  size_t query_buffer_bytes() const { return parser_.buffered_bytes(); }
  size_t query_buffer_capacity() const { return parser_.capacity_bytes(); }
  bool writing() const { return writing_now_; }
  int fd() { return static_cast<int>(socket_.native_handle()); }

 private:
  struct Slot {
    uint64_t seq;
    bool ready = false;
    bool command = false;  // a command's reply (reserve_command): counted when fulfilled
    bool rejected = false;
    bool queued = false;
    bool silent = false;  // CLIENT REPLY OFF / SKIP: never written
    // The command line kept for SLOWLOG (packed, slowlog_pack_argv): argv_bytes bytes from this
    // absolute offset of argv_arena_, modulo 2^32 (the arena never holds 4 GiB); none if 0 bytes.
    uint32_t argv_begin = 0;
    uint32_t argv_bytes = 0;
    const resp::CommandSpec* spec = nullptr;
    std::chrono::steady_clock::time_point received;
    std::string bytes;
  };

  void read();
  void on_read(const asio::error_code& ec, size_t n);
  void on_written(const asio::error_code& ec);
  void process_input();
  // Executes one command (receipt time taken here) and keeps its command line if it is still
  // waiting for its reply.
  void run(std::span<const std::string_view> argv);
  Slot* find_slot(uint64_t seq);
  const Slot* find_slot(uint64_t seq) const;
  void release_argv(const Slot& slot);
  void drain_ready_slots();
  void resume_input();
  void schedule_write();
  void write();
  // Checks the output limits after output was added; schedules the close if one is broken.
  // Returns true if the client is being cut.
  bool check_output_limits();

  Node* node_;
  asio::ip::tcp::socket socket_;
  // TLS: the stream over socket_ and the context it was made with; null on a plain connection,
  // whose reads and writes go to socket_ directly.
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::unique_ptr<asio::steady_timer> handshake_timer_;
  bool handshake_done_ = false;
  uint64_t id_;
  SessionLimits limits_;
  resp::Parser parser_;
  std::vector<std::string_view> argv_;
  std::deque<Slot> slots_;  // Invariant: seqs are consecutive, front is the oldest unwritten
  uint64_t next_seq_ = 0;
  std::string out_;
  std::string writing_;
  size_t writing_bytes_ = 0;
  bool reading_ = false;
  bool resume_scheduled_ = false;
  bool write_scheduled_ = false;
  bool writing_now_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool output_cut_ = false;              // check_output_limits()
  OutputLimitState output_limit_state_;  // the soft limit's clock

  // The command being executed (run): its slot, and its receipt time.
  bool executing_ = false;
  uint64_t executing_seq_ = 0;
  std::span<const std::string_view> running_argv_;
  std::chrono::steady_clock::time_point receipt_;
  // Command lines of pending commands, for SLOWLOG. A command answered while it executes is
  // logged from its argv_ views directly; only one still pending when execute() returns (a
  // write waiting for its quorum, a read for its ReadIndex round) has its trimmed line copied
  // here, because its reply may come after the parser reused its buffer. Slots are answered
  // out of order but drained in order, so the arena is a FIFO: appended at the back, released
  // from the front as slots drain, and cleared (keeping its capacity, no allocation in steady
  // state) whenever it is all released. Bounded by pending_replies_max slots of at most
  // kSlowlogArgsMax arguments of kSlowlogArgBytesMax bytes (plus their suffixes).
  std::string argv_arena_;
  uint32_t argv_arena_base_ = 0;      // absolute offset (mod 2^32) of argv_arena_[0]
  uint32_t argv_arena_released_ = 0;  // absolute offset (mod 2^32) below which all is released
  static constexpr size_t kArgvArenaCompactBytes = 64 << 10;
  bool skip_next_reply_ = false;  // CLIENT REPLY SKIP: the next command's reply is dropped

  // CLIENT PAUSE: the command held back, and no input processed until resume_paused().
  bool paused_ = false;
  std::vector<std::string> paused_argv_;
};

}  // namespace bw::server
