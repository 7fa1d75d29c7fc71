// Node::NodeCall: one node command being answered (Node::execute_node_command looks its handler
// up by name). Handlers live in commands.cc and in the files of their feature (client_commands.cc,
// admin.cc, backup.cc, config_commands.cc, shutdown.cc).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "resp/writer.h"
#include "server/node.h"
#include "server/session.h"

namespace bw::server {

// The handler writes the reply through `w`; it leaves when the handler returns, unless the handler
// sent it already (QUIT) or took the reply slot over to answer later (DEBUG, FAILOVER, SAVE,
// BACKUP START, SHUTDOWN).
struct Node::NodeCall {
  const std::shared_ptr<Session>& s;
  uint64_t seq;
  std::span<const std::string_view> argv;
  std::string_view name;  // argv[0] in lower case, as THE command table spells it
  std::string out;
  resp::Writer w{&out, s->protocol};
  bool answered = false;

  void send() {
    s->fulfil(seq, std::move(out));
    answered = true;
  }
};

}  // namespace bw::server
