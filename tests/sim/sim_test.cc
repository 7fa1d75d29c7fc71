// Simulation sweeps: the cluster stays safe under every fault over many seeds, each planted bug
// is caught within a bounded number of seeds, and a seed replays exactly. Nodes run on the real
// storage layer (a Storage on a FaultFileSystem) unless a test asks for the disk model.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

#include "sim/simulator.h"

namespace bw::sim {
namespace {

#if defined(__SANITIZE_ADDRESS__)
// Under ASan+UBSan a seed costs ~6x: the sanitizer pass looks for memory errors over fewer
// seeds; the normal build runs 300 here and 2000 in sim_sweep_2000.
constexpr uint64_t kCleanSeeds = 100;
#else
constexpr uint64_t kCleanSeeds = 300;
#endif
constexpr uint64_t kPlantSeedsMax = 500;
constexpr uint64_t kModelSeeds = 100;

SimOptions options_for(uint64_t seed, Plant plant = Plant::kNone) {
  spdlog::set_level(spdlog::level::off);  // every simulated crash recovers a data directory
  SimOptions o;
  o.seed = seed;
  o.nodes = seed % 2 == 1 ? 3 : 5;
  o.plant = plant;
  return o;
}

std::string failure_report(const SimOptions& o, const SimResult& r) {
  return r.violation->invariant + ": " + r.violation->details + "\nreplay: " + replay_command(o) +
         "\n" + r.recent_trace;
}

TEST(Simulation, SweepWithAllFaultsFindsNoViolation) {
  uint64_t ops_ok = 0;
  uint64_t leaders = 0;
  uint64_t crashes = 0;
  uint64_t snapshots = 0;
  uint64_t conf_changes = 0;
  uint64_t power_cuts = 0;
  uint64_t torn_tails = 0;
  for (uint64_t seed = 1; seed <= kCleanSeeds; ++seed) {
    const SimOptions o = options_for(seed);
    const SimResult r = run_simulation(o);
    ASSERT_FALSE(r.violation.has_value()) << failure_report(o, r);
    ops_ok += r.ops_ok;
    leaders += r.leaders;
    crashes += r.crashes;
    snapshots += r.snapshots_installed;
    conf_changes += r.conf_changes_applied;
    power_cuts += r.power_cuts;
    torn_tails += r.torn_tails;
  }
  // The sweep must actually exercise the system, or "no violation" means nothing.
  EXPECT_GT(ops_ok, kCleanSeeds * 100);
  EXPECT_GT(leaders, kCleanSeeds * 5);
  EXPECT_GT(crashes, kCleanSeeds * 5);
  EXPECT_GT(snapshots, kCleanSeeds / 2);
  EXPECT_GT(conf_changes, kCleanSeeds * 5);
  // Whole-cluster power cuts happened, and recovery cut torn records off WAL tails (then the
  // run went on without breaking any invariant).
  EXPECT_GT(power_cuts, kCleanSeeds / 10);
  EXPECT_GT(torn_tails, kCleanSeeds);
}

TEST(Simulation, ModelDiskSweepFindsNoViolation) {
  uint64_t crashes = 0;
  for (uint64_t seed = 1; seed <= kModelSeeds; ++seed) {
    SimOptions o = options_for(seed);
    o.disk = DiskKind::kModel;
    const SimResult r = run_simulation(o);
    ASSERT_FALSE(r.violation.has_value()) << failure_report(o, r);
    EXPECT_EQ(r.torn_tails, 0u);
    crashes += r.crashes;
  }
  EXPECT_GT(crashes, kModelSeeds * 5);
}

TEST(Simulation, HealthyClusterCompletesMostOperations) {
  SimOptions o = options_for(11);
  o.faults = false;
  const SimResult r = run_simulation(o);
  ASSERT_FALSE(r.violation.has_value()) << failure_report(o, r);
  EXPECT_GT(r.ops_ok, r.ops * 8 / 10);
  EXPECT_EQ(r.crashes, 0u);
}

TEST(Simulation, SameSeedReplaysIdentically) {
  for (uint64_t seed : {7u, 8u}) {
    const SimResult a = run_simulation(options_for(seed));
    const SimResult b = run_simulation(options_for(seed));
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.steps, b.steps);
    EXPECT_EQ(a.ops, b.ops);
    EXPECT_EQ(a.ops_ok, b.ops_ok);
    EXPECT_EQ(a.virtual_us, b.virtual_us);
  }
  EXPECT_NE(run_simulation(options_for(7)).trace_hash, run_simulation(options_for(9)).trace_hash);
}

TEST(Simulation, FullTraceIsIdenticalAcrossRuns) {
  auto capture = [](uint64_t seed) {
    std::FILE* f = std::tmpfile();
    SimOptions o = options_for(seed);
    o.steps = 5'000;
    o.trace_stream = f;
    run_simulation(o);
    std::string text(static_cast<size_t>(std::ftell(f)), '\0');
    std::rewind(f);
    EXPECT_EQ(std::fread(text.data(), 1, text.size(), f), text.size());
    std::fclose(f);
    return text;
  };
  const std::string a = capture(4);
  EXPECT_GT(a.size(), 10'000u);
  EXPECT_EQ(a, capture(4));
}

TEST(Simulation, ReplayCommandNamesEverythingThatShapesARun) {
  SimOptions o = options_for(42, Plant::kAckBeforePersist);
  o.steps = 1234;
  o.faults = false;
  EXPECT_EQ(replay_command(o),
            "bellwether-sim --seed 42 --nodes 5 --steps 1234 --no-faults --plant "
            "ack-before-persist");
  o.disk = DiskKind::kModel;
  o.commit_durability_check = false;
  EXPECT_EQ(replay_command(o),
            "bellwether-sim --seed 42 --nodes 5 --steps 1234 --no-faults --disk model "
            "--no-commit-durability-check --plant ack-before-persist");
  EXPECT_EQ(parse_plant("durable-before-fsync"), Plant::kDurableBeforeFsync);
  EXPECT_EQ(parse_plant("ack-before-persist"), Plant::kAckBeforePersist);
  EXPECT_EQ(parse_plant("kVoteWithoutLogCheck"), Plant::kVoteWithoutLogCheck);
  EXPECT_FALSE(parse_plant("no-such-bug").has_value());
}

// Runs seeds 1.. until one reports a violation, which must be `invariant`; fails if none does
// within kPlantSeedsMax seeds.
void expect_caught(Plant plant, DiskKind disk, bool commit_durability_check,
                   const std::string& invariant) {
  for (uint64_t seed = 1; seed <= kPlantSeedsMax; ++seed) {
    SimOptions o = options_for(seed, plant);
    o.disk = disk;
    o.commit_durability_check = commit_durability_check;
    const SimResult r = run_simulation(o);
    if (!r.violation) continue;
    EXPECT_FALSE(r.recent_trace.empty());
    EXPECT_EQ(r.violation->invariant, invariant) << failure_report(o, r);
    std::printf("%s caught at seed %lu: %s\n  replay: %s\n", plant_name(plant),
                static_cast<unsigned long>(seed), r.violation->invariant.c_str(),
                replay_command(o).c_str());
    return;
  }
  ADD_FAILURE() << plant_name(plant) << " not caught in " << kPlantSeedsMax << " seeds";
}

// A planted bug and the invariant that must catch it.
struct Catch {
  Plant plant;
  const char* invariant;
};

// Each planted bug must be caught, by the invariant it breaks, within kPlantSeedsMax seeds.
// (vote-right-after-restart and lease-extended-after-transfer need schedules the random fault
// mix does not reach within 500 seeds; src/raft/raft_lease_test.cc and the lease_*.txt golden
// scripts play those schedules and show each plant's stale read. Likewise
// read-context-without-epoch needs a late read index answer to meet a round with the same
// number in the next incarnation: src/replica/replica_test.cc plays it.)
class PlantedBug : public ::testing::TestWithParam<Catch> {};

TEST_P(PlantedBug, IsCaughtWithinBoundedSeeds) {
  expect_caught(GetParam().plant, DiskKind::kStorage, /*commit_durability_check=*/true,
                GetParam().invariant);
}

TEST(Simulation, AckBeforePersistIsCaughtOnTheModelDisk) {
  expect_caught(Plant::kAckBeforePersist, DiskKind::kModel, /*commit_durability_check=*/true,
                "commit durability");
}

// Without the commit-durability check (which judges from what disks reported durable), a lost
// acknowledged write must still be caught: by what it breaks after the real WAL's crash
// recovery drops, keeps or tears the unsynced tail.
class LostWrites : public ::testing::TestWithParam<Catch> {};

TEST_P(LostWrites, AreCaughtThroughCrashRecovery) {
  expect_caught(GetParam().plant, DiskKind::kStorage, /*commit_durability_check=*/false,
                GetParam().invariant);
}

std::string test_name(const ::testing::TestParamInfo<Catch>& param_info) {
  std::string name = plant_name(param_info.param.plant);
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Simulation, LostWrites,
                         ::testing::Values(Catch{Plant::kAckBeforePersist, "leader completeness"},
                                           Catch{Plant::kDurableBeforeFsync,
                                                 "leader completeness"}),
                         test_name);

INSTANTIATE_TEST_SUITE_P(
    Simulation, PlantedBug,
    ::testing::Values(Catch{Plant::kCommitPreviousTermByCount, "commit durability"},
                      Catch{Plant::kVoteWithoutLogCheck, "leader completeness"},
                      Catch{Plant::kReadIndexWithoutHeartbeat, "real-time-order"},
                      Catch{Plant::kApplyUncommitted, "state machine safety"},
                      Catch{Plant::kAckBeforePersist, "commit durability"},
                      Catch{Plant::kDurableBeforeFsync, "leader completeness"},
                      // The replica driver's own bugs (issue list: stale answers to a previous
                      // incarnation, writes left unanswered under a snapshot).
                      Catch{Plant::kForgetWritesUnderSnapshot, "write-answered"},
                      Catch{Plant::kReadsUseLocalClock, "read-result"},
                      Catch{Plant::kTicksIgnorePauses, "real-time-order"}),
    test_name);

}  // namespace
}  // namespace bw::sim
