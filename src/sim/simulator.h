// The deterministic cluster simulator: N Raft replicas of one group, their disks (by default
// the real storage layer on a fault-injecting in-memory file system, so crashes go through the
// real WAL recovery), the network between them and a few clients, all in virtual time and
// driven by one seeded PRNG. Faults
// (message loss, delay, reordering, duplication, partitions, crashes with torn unsynced writes,
// pauses) come in storms separated by calm periods so that operations also complete; operator
// actions (membership changes, leadership transfers, snapshots with compaction) run throughout.
// Safety invariants are checked as the run goes (invariants.h) and the client history is checked
// for linearizability at the end (linearizability.h). See docs/simulator.md.
//
// Thread safety: run_simulation is reentrant; each call owns its whole world.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "sim/invariants.h"

namespace bw::sim {

// Bugs that can be planted to prove the checkers catch them.
enum class Plant : uint8_t {
  kNone,
  kCommitPreviousTermByCount,   // raft core
  kVoteWithoutLogCheck,         // raft core
  kReadIndexWithoutHeartbeat,   // raft core
  kApplyUncommitted,            // raft core
  kAckBeforePersist,            // replica driver: send before the disk sync
  kDurableBeforeFsync,          // storage: writes reported durable without fsync (disk storage)
  kReadContextWithoutEpoch,     // replica driver: read contexts repeat across restarts
  kReadsUseLocalClock,          // replica driver: reads judge expiry by the node's own clock
  kForgetWritesUnderSnapshot,   // replica driver: writes covered by a snapshot never answered
  kTicksIgnorePauses,           // replica driver: a stopped process\'s lost time is not ticked
  kVoteRightAfterRestart,       // raft core: a restarted node votes while a lease may still run
  kLeaseExtendedAfterTransfer,  // raft core: heartbeat acks renew a lease after TimeoutNow
};

// The node's disk: the real storage layer on a fault-injecting file system, or the model.
enum class DiskKind : uint8_t { kStorage, kModel };

// Accepts "commit-previous-term-by-count", ..., or the enumerator name ("kApplyUncommitted").
std::optional<Plant> parse_plant(std::string_view name);
const char* plant_name(Plant p);

struct SimOptions {
  static constexpr uint64_t kDefaultSteps = 30'000;

  uint64_t seed = 1;
  uint32_t nodes = 3;              // initial voters; one spare node may join later
  uint64_t steps = kDefaultSteps;  // simulation events to run
  bool faults = true;              // false: a healthy network and no crashes or pauses
  Plant plant = Plant::kNone;
  DiskKind disk = DiskKind::kStorage;
  // The commit-durability check judges from what each disk reported durable. Off, a driver or
  // storage that loses acknowledged writes must be caught by what the loss later breaks, after
  // real crashes and recoveries (leader completeness, election safety, linearizability, ...).
  bool commit_durability_check = true;
  std::FILE* trace_stream = nullptr;  // when set, every event is printed as it happens
  // The recent-events ring stops at this virtual time (used to replay a run and show what led
  // up to a violation found only at the end, by the linearizability check).
  uint64_t trace_freeze_us = UINT64_MAX;
};

struct SimResult {
  std::optional<Violation> violation;
  uint64_t ops = 0;  // client operations invoked
  uint64_t ops_ok = 0;
  uint64_t ops_failed = 0;
  uint64_t ops_unknown = 0;
  uint64_t steps = 0;
  uint64_t virtual_us = 0;
  uint64_t leaders = 0;  // distinct (term, leader) pairs
  uint64_t crashes = 0;
  uint64_t power_cuts = 0;  // crashes of every running node at once
  uint64_t torn_tails = 0;  // torn WAL records that recovery cut off (storage disk)
  uint64_t snapshots_installed = 0;
  uint64_t conf_changes_applied = 0;
  uint64_t trace_hash = 0;
  uint64_t violation_us = 0;  // when the violated invariant broke (virtual time)
  std::string recent_trace;   // the events leading up to it, filled when a violation is found
};

SimResult run_simulation(const SimOptions& options);

// The command line that replays `options` exactly.
std::string replay_command(const SimOptions& options);

}  // namespace bw::sim
