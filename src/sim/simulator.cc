#include "sim/simulator.h"

#include <fmt/format.h>

#include "sim/world.h"

namespace bw::sim {
namespace {

struct PlantName {
  Plant plant;
  const char* name;
  const char* enumerator;
};

constexpr PlantName kPlants[] = {
    {Plant::kNone, "none", "kNone"},
    {Plant::kCommitPreviousTermByCount, "commit-previous-term-by-count",
     "kCommitPreviousTermByCount"},
    {Plant::kVoteWithoutLogCheck, "vote-without-log-check", "kVoteWithoutLogCheck"},
    {Plant::kReadIndexWithoutHeartbeat, "read-index-without-heartbeat",
     "kReadIndexWithoutHeartbeat"},
    {Plant::kApplyUncommitted, "apply-uncommitted", "kApplyUncommitted"},
    {Plant::kAckBeforePersist, "ack-before-persist", "kAckBeforePersist"},
    {Plant::kDurableBeforeFsync, "durable-before-fsync", "kDurableBeforeFsync"},
    {Plant::kReadContextWithoutEpoch, "read-context-without-epoch", "kReadContextWithoutEpoch"},
    {Plant::kReadsUseLocalClock, "reads-use-local-clock", "kReadsUseLocalClock"},
    {Plant::kForgetWritesUnderSnapshot, "forget-writes-under-snapshot",
     "kForgetWritesUnderSnapshot"},
    {Plant::kTicksIgnorePauses, "ticks-ignore-pauses", "kTicksIgnorePauses"},
    {Plant::kVoteRightAfterRestart, "vote-right-after-restart", "kVoteRightAfterRestart"},
    {Plant::kLeaseExtendedAfterTransfer, "lease-extended-after-transfer",
     "kLeaseExtendedAfterTransfer"},
};

}  // namespace

std::optional<Plant> parse_plant(std::string_view name) {
  for (const PlantName& p : kPlants) {
    if (name == p.name || name == p.enumerator) return p.plant;
  }
  return std::nullopt;
}

const char* plant_name(Plant plant) {
  for (const PlantName& p : kPlants) {
    if (p.plant == plant) return p.name;
  }
  return "?";
}

SimResult run_simulation(const SimOptions& options) {
  SimResult result = World(options).run();
  if (result.violation && result.violation_us < result.virtual_us) {
    // Found after the fact (by the history check): replay the seed, which is deterministic, to
    // capture the events that led up to the moment the history went wrong.
    SimOptions replay = options;
    replay.trace_stream = nullptr;
    replay.trace_freeze_us = result.violation_us;
    result.recent_trace = World(replay).run().recent_trace;
  }
  return result;
}

std::string replay_command(const SimOptions& options) {
  std::string cmd = fmt::format("bellwether-sim --seed {} --nodes {}", options.seed, options.nodes);
  if (options.steps != SimOptions::kDefaultSteps) cmd += fmt::format(" --steps {}", options.steps);
  if (!options.faults) cmd += " --no-faults";
  if (options.disk == DiskKind::kModel) cmd += " --disk model";
  if (!options.commit_durability_check) cmd += " --no-commit-durability-check";
  if (options.plant != Plant::kNone) cmd += fmt::format(" --plant {}", plant_name(options.plant));
  return cmd;
}

}  // namespace bw::sim
