// One client connection: reads RESP commands, hands them to the node, and writes replies back in
// command order even when later commands finish first (a pipelined GET after a SET waiting for
// its commit). Everything runs on the node's event-loop thread.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "resp/parser.h"

namespace bw::server {

class Node;

struct SessionLimits {
  size_t output_bytes_max = 256u << 20;  // replies not yet written; beyond it the client is cut
  // Commands awaiting replies before the session stops reading its socket. This is what holds
  // a pipelining client (redis-cli --pipe, -P) back to the speed of the cluster instead of
  // letting it pile work on the node; the kernel's socket buffers then push back on the client.
  size_t pending_replies_max = 4096;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Node* node, asio::ip::tcp::socket socket, uint64_t id, SessionLimits limits,
          resp::ParserLimits protocol_limits);

  void start();
  // Closes the connection after the replies already queued are written.
  void close_after_flush();
  void close();
  bool closed() const { return closed_; }

  // Reserves the next reply position; replies are written in reservation order.
  uint64_t reserve();
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

  size_t output_bytes() const { return out_.size() + writing_bytes_; }
  // CONFIG SET client-output-bytes-max: checked at the next reply.
  void set_output_bytes_max(size_t bytes) { limits_.output_bytes_max = bytes; }
  // CONFIG SET proto-max-bulk-len: for the commands this connection reads from now on.
  void set_bulk_bytes_max(uint64_t bytes) { parser_.set_bulk_bytes_max(bytes); }

 private:
  struct Slot {
    uint64_t seq;
    bool ready = false;
    std::string bytes;
  };

  void read();
  void process_input();
  void drain_ready_slots();
  void resume_input();
  void schedule_write();
  void write();

  Node* node_;
  asio::ip::tcp::socket socket_;
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
};

}  // namespace bw::server
