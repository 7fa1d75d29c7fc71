// The node's durable Raft log and snapshots for its group, behind the calls the Ready loop makes.
// REQUIRES: used from the node's event-loop thread; `done` callbacks run on that thread.
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "raft/log_storage.h"
#include "raft/types.h"
#include "server/config.h"

namespace bw::server {

struct RecoveredState {
  raft::HardState hard_state;
  raft::ConfState conf;
  std::optional<raft::Snapshot> snapshot;  // newest snapshot, if any
};

class DurableLog {
 public:
  virtual ~DurableLog() = default;

  // Opens the data directory (creating it) and checks it belongs to this cluster and node.
  static Result<std::unique_ptr<DurableLog>> open(asio::io_context& io, const NodeConfig& config);

  virtual Result<RecoveredState> recover() = 0;
  virtual raft::LogStorage* storage() = 0;
  // Makes hard state and entries durable; entries are readable through storage() at once.
  virtual void write(const std::optional<raft::HardState>& hs,
                     const std::vector<raft::Entry>& entries, bool sync,
                     std::function<void(Status)> done) = 0;
  // A snapshot received from the leader replaces the log.
  virtual Status install_snapshot(const raft::Snapshot& snap) = 0;
  // A snapshot of the local state machine at `index`; entries up to `compact_to` are dropped.
  virtual Status save_snapshot(LogIndex index, const raft::ConfState& conf, std::string data,
                               LogIndex compact_to) = 0;
};

}  // namespace bw::server
