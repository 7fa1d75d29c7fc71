// Node::NodeCall: one node command being answered (commands.cc, client_commands.cc, admin.cc).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "resp/writer.h"
#include "server/node.h"
#include "server/session.h"

namespace bw::server {

// One node command being answered. The handler writes the reply through `w`; it leaves when the
// handler returns, unless the handler sent it already (QUIT) or took the reply slot over to answer
// later (DEBUG, FAILOVER).
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
