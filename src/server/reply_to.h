// Where a reply goes: a local client's reserved slot, or back to the follower that forwarded
// the command.
#pragma once

#include <cstdint>
#include <memory>

#include "common/ids.h"

namespace bw::server {

class Session;

struct ReplyTo {
  std::shared_ptr<Session> session;
  uint64_t seq = 0;
  NodeId peer;
  uint64_t forward_id = 0;
  int protocol = 2;
  // Nonzero: the reply is a blocking pop's attempt (Node::on_pop_attempt), which decides whether
  // the client gets it or waits on.
  uint64_t pop_attempt = 0;
};

}  // namespace bw::server
