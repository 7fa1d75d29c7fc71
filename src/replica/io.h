// The seams a Replica runs through. The server passes real implementations (wall clock, the
// peer transport, storage::Storage with its writer thread); the simulator passes virtual time,
// its simulated network and a simulated disk (the real storage on a fault-injecting in-memory
// file system, or a model of it).
//
// Thread safety: every call comes from the thread driving the replica.
#pragma once

#include <cstdint>

#include "kv/store.h"
#include "raft/log_storage.h"
#include "raft/raft.h"
#include "storage/storage.h"

namespace bw::replica {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch on this node: stamped into entries (the time of every
  // expiry decision) and used for request deadlines. May differ between nodes (skew).
  virtual int64_t now_ms() const = 0;
  // Milliseconds on a clock that never jumps and keeps running while the process is stopped
  // (steady_clock): raft's ticks follow it, so a lease or an election timer counts the time a
  // paused process did not run.
  virtual int64_t monotonic_ms() const = 0;
  // The same clock in microseconds, for latency measurements only (nothing decides on it).
  virtual int64_t monotonic_us() const { return monotonic_ms() * 1000; }
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Best effort: the message may be lost, delayed, duplicated or reordered.
  virtual void send(raft::Message m) = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;
  // The group's log as the running node sees it (durable or not).
  virtual raft::LogStorage* log() = 0;
  // Applies `batch` to the live log at once and queues it for durability (batch.group is set).
  // With `sync`, the host later calls Replica::on_durable(s) with some s >= seq once this write
  // and every earlier one are durable; writes become durable in submission order. Without
  // `sync` (only the commit index or the membership moved) nothing waits for it: a later synced
  // write covers it. A failure to queue or to write is fatal to the node (the host asserts).
  virtual void write(storage::WriteBatch batch, uint64_t seq, bool sync) = 0;
};

// What the host hears from the replica. Every hook has a do-nothing default.
class Observer {
 public:
  virtual ~Observer() = default;
  // Leader or role changed (the Ready's soft state).
  virtual void on_role_change(const raft::SoftState& /*ss*/, Term /*term*/) {}
  // After an entry applied (every entry, also no-ops and conf changes). For kv entries
  // `effects` lists what the apply did and `reply` is what the proposer will get (the host may
  // replace it, e.g. PUBLISH's receiver count is per node); `tag` is the proposer's tag from
  // propose(), 0 if this node did not propose it.
  virtual void on_applied(const raft::Entry& /*e*/, const kv::ApplyEffects* /*effects*/,
                          uint64_t /*tag*/, kv::Reply* /*reply*/) {}
  // A snapshot received from the leader is durable and loaded into the store.
  virtual void on_snapshot_installed(const raft::SnapshotMeta& /*meta*/) {}
  // This node's commit index moved (it is in the Ready's hard state; `log` holds it).
  virtual void on_commit(Term /*term*/, LogIndex /*commit*/, raft::LogStorage& /*log*/) {}
  // After a leader's Ready wrote its entries to the live log.
  virtual void on_leader_ready(Term /*term*/, raft::LogStorage& /*log*/) {}
};

struct Io {
  Clock* clock = nullptr;
  Transport* transport = nullptr;
  Disk* disk = nullptr;
  Observer* observer = nullptr;  // may be null
};

}  // namespace bw::replica
