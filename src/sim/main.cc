// bellwether-sim: runs the deterministic cluster simulator over one seed or a sweep of seeds.
//
//   bellwether-sim --seeds 2000          seeds 1..2000, alternating 3 and 5 nodes, all faults
//   bellwether-sim --seed 42 --nodes 5   one run; on failure prints how to replay it
//   bellwether-sim --seed 42 --trace     the same run with every event printed
//
// Exit status: 0 when no violation was found, 1 otherwise, 2 on bad arguments.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "sim/simulator.h"

namespace {

using bw::sim::SimOptions;
using bw::sim::SimResult;

void report_failure(const SimOptions& o, const SimResult& r, bool full_trace) {
  fmt::print(stderr, "\nVIOLATION of {} (seed {}, {} nodes, step {}, {}us virtual)\n",
             r.violation->invariant, o.seed, o.nodes, r.steps, r.virtual_us);
  fmt::print(stderr, "{}\n", r.violation->details);
  fmt::print(stderr, "replay: {}\n", bw::sim::replay_command(o));
  if (!full_trace) {
    fmt::print(stderr, "last events (full trace: add --trace):\n{}", r.recent_trace);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bellwether deterministic cluster simulator"};
  uint64_t seed = 0;
  uint64_t seeds = 0;
  uint32_t nodes = 0;
  uint64_t steps = SimOptions::kDefaultSteps;
  std::string plant = "none";
  bool trace = false;
  bool no_faults = false;
  bool verbose = false;
  std::string disk = "storage";
  bool no_durability_check = false;
  app.add_option("--seed", seed, "run this one seed");
  app.add_option("--seeds", seeds, "run seeds 1..N (alternating 3 and 5 nodes unless --nodes)");
  uint64_t first_seed = 1;
  app.add_option("--first-seed", first_seed,
                 "with --seeds N: run seeds F..F+N-1 instead (to split a long sweep)");
  app.add_option("--nodes", nodes, "initial voters (3 or 5)")->check(CLI::Range(1, 9));
  app.add_option("--steps", steps, "simulation events per seed");
  app.add_option("--plant", plant,
                 "plant a bug: commit-previous-term-by-count, vote-without-log-check, "
                 "read-index-without-heartbeat, apply-uncommitted, vote-right-after-restart, "
                 "lease-extended-after-transfer, ack-before-persist, read-context-without-epoch, "
                 "reads-use-local-clock, forget-writes-under-snapshot, durable-before-fsync");
  app.add_option("--disk", disk,
                 "storage (default: the real WAL on a fault-injecting file system) or model")
      ->check(CLI::IsMember({"storage", "model"}));
  app.add_flag("--no-commit-durability-check", no_durability_check,
               "judge lost writes only by what they break after crashes");
  app.add_flag("--trace", trace, "print every event of the run");
  app.add_flag("--no-faults", no_faults, "a healthy network, no crashes or pauses");
  app.add_flag("-v,--verbose", verbose, "one line per seed");
  CLI11_PARSE(app, argc, argv);
  // Every simulated crash recovers a data directory; the storage's logging of that would drown
  // the output (the trace records crashes and restarts).
  if (!verbose && !trace) spdlog::set_level(spdlog::level::off);
  // The storage's mutexes are never contended here (one thread); abseil's deadlock detection
  // would cost a tenth of the run.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const std::optional<bw::sim::Plant> planted = bw::sim::parse_plant(plant);
  if (!planted) {
    fmt::print(stderr, "unknown --plant '{}'\n", plant);
    return 2;
  }
  if ((seed == 0) == (seeds == 0)) {
    fmt::print(stderr, "give exactly one of --seed S or --seeds N\n");
    return 2;
  }
  const uint64_t first = seed != 0 ? seed : first_seed;
  const uint64_t last = seed != 0 ? seed : first_seed + seeds - 1;
  uint64_t runs = 0, runs3 = 0, runs5 = 0, other = 0, ops = 0, violations = 0;
  for (uint64_t s = first; s <= last; ++s) {
    SimOptions o;
    o.seed = s;
    o.nodes = nodes != 0 ? nodes : (s % 2 == 1 ? 3 : 5);
    o.steps = steps;
    o.faults = !no_faults;
    o.plant = *planted;
    o.commit_durability_check = !no_durability_check;
    o.disk = disk == "model" ? bw::sim::DiskKind::kModel : bw::sim::DiskKind::kStorage;
    o.trace_stream = trace ? stdout : nullptr;
    const SimResult r = bw::sim::run_simulation(o);
    ++runs;
    (o.nodes == 3 ? runs3 : o.nodes == 5 ? runs5 : other)++;
    ops += r.ops;
    if (verbose) {
      fmt::print(stderr,
                 "seed {} nodes {}: {} ops ({} ok, {} failed, {} unknown), {} leaders, {} crashes, "
                 "{} power cuts, {} torn tails, {} snapshots installed, {} conf changes, {} steps, "
                 "{}ms virtual, trace "
                 "{:016x}{}\n",
                 s, o.nodes, r.ops, r.ops_ok, r.ops_failed, r.ops_unknown, r.leaders, r.crashes,
                 r.power_cuts, r.torn_tails, r.snapshots_installed, r.conf_changes_applied, r.steps,
                 r.virtual_us / 1000, r.trace_hash, r.violation ? ", VIOLATION" : "");
    }
    if (r.violation) {
      ++violations;
      report_failure(o, r, trace);
    }
  }
  std::string shape = fmt::format("{} x 3 nodes, {} x 5 nodes", runs3, runs5);
  if (other != 0) shape += fmt::format(", {} x {} nodes", other, nodes);
  fmt::print("{} seed{} ({}), {} ops, {} violation{}\n", runs, runs == 1 ? "" : "s", shape, ops,
             violations, violations == 1 ? "" : "s");
  return violations == 0 ? 0 : 1;
}
