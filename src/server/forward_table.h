// The commands a follower forwarded to the leader and still has to answer, by forward id. A
// reply from the leader (kForwardReply) names the id; ids start at the node's boot epoch (random
// per start), so a late reply addressed to a previous incarnation of this node never matches a
// request of this one (it would answer OK for a write that never committed).
//
// Thread safety: none; the node's event loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "net/frame.h"
#include "server/reply_to.h"

namespace bw::server {

class ForwardTable {
 public:
  struct Entry {
    ReplyTo to;
    int64_t deadline_ms = 0;
    NodeId leader;  // where it went
    net::FrameType type = net::FrameType::kForward;
    std::string unsent;  // the frame's payload while the transport has dropped it unsent
  };

  explicit ForwardTable(uint64_t boot_epoch) : next_id_(boot_epoch) {}

  // Registers a command about to be sent to `leader`; returns its id.
  uint64_t add(ReplyTo to, NodeId leader, net::FrameType type, int64_t deadline_ms);
  // The entry a reply naming `id` answers, removed; nullopt if none (answered, timed out, or
  // addressed to a previous incarnation).
  std::optional<Entry> take(uint64_t id);
  Entry* find(uint64_t id);
  // Forwards sent to `leader` get until `deadline_ms` at most (it stopped leading).
  void shorten(NodeId leader, int64_t deadline_ms);
  // Removes and returns the entries whose deadline is <= now_ms.
  std::vector<Entry> expire(int64_t now_ms);
  // For resending entries the transport dropped unsent.
  std::map<uint64_t, Entry>& entries() { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  uint64_t next_id_;
  std::map<uint64_t, Entry> entries_;
};

}  // namespace bw::server
