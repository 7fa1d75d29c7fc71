"""Faults against a 3-node Bellwether cluster under concurrent clients; the history must be
linearizable (no lost acknowledged write, no stale linearizable read) and versions consistent."""
import os
import time

import pytest

from cluster import ChaosCluster, wait_until
from history import Recorder
from linearizability import check, check_versions
from nemesis import Nemesis

KEYS = ["k0", "k1", "k2"]
SERVER_ARGS = ["--request-timeout-ms", "2000"]
SHORT_FAULT_S = 18
LONG_FAULT_S = 120
FAMILIES = ["kill", "pause", "transfer", "partition", "slow-fsync", "failover"]
SEEDS = {"kill": 101, "pause": 202, "transfer": 303, "partition": 404, "mixed": 505,
         "slow-fsync": 611, "failover": 707}


def run(family, seed, duration_s, out_dir, allow_majority=False):
    families = FAMILIES if family == "mixed" else [family]
    cluster = ChaosCluster(3, SERVER_ARGS).start()
    rec = Recorder(cluster.targets, KEYS, clients=5, seed=seed, socket_timeout_s=3.0,
                   think_ms=(2, 12))
    nem = Nemesis(cluster, seed, families, rec.now, allow_majority=allow_majority)
    failed = True
    try:
        rec.start()
        wait_until(lambda: sum(o.status == "ok" for o in rec.ops) >= 30, timeout=20,
                   what="operations before the faults")
        nem.start(duration_s)
        nem.join(duration_s + 60)
        cluster.wait_for_leader(timeout=30)
        quiet_from = len(rec.ops)
        wait_until(lambda: sum(o.status == "ok" and o.kind != "read"
                               for o in rec.ops[quiet_from:]) >= 10, timeout=30,
                   what="writes succeeding after the faults healed")
        rec.stop()
        finals_from = len(rec.ops)
        rec.final_reads()
        # Saved before checking (a search out of budget leaves it too); cluster.dir is kept when
        # the test fails.
        for d in filter(None, [cluster.dir, out_dir]):
            path = os.path.join(d, f"bellwether-{family}-{seed}.json")
            rec.dump(path)
            with open(path + ".faults.txt", "w") as f:
                f.write("\n".join(nem.events) + "\n")
        violations, stats = check(rec.ops)
        version_problems = check_versions(rec.ops)
        finals = {o.key for o in rec.ops[finals_from:] if o.status == "ok"}
        print(f"\n{family} seed {seed}: {stats}; faults: {len(nem.events)} events; "
              f"client errors: {rec.errors}")
        kinds = {k: sum(o.kind == k and o.status == "ok" for o in rec.ops)
                 for k in ("read", "write", "incr", "cas")}
        print(f"ok ops by kind: {kinds}; cas hits: "
              f"{sum(o.kind == 'cas' and o.result is True for o in rec.ops)}")
        print("faults:\n  " + "\n  ".join(nem.events))
        print(f"history and node logs in {cluster.dir} (kept if the test fails)")
        for v in violations:
            print(v.render())
        for p in version_problems:
            print("version:", p)
        assert nem.error is None, f"nemesis failed: {nem.error!r}"
        if family == "failover":
            assert nem.failovers_done >= 1, "no FAILOVER succeeded: the fault was never made"
        assert not violations, f"{len(violations)} key(s) not linearizable (see output)"
        assert not version_problems, "versions do not map one-to-one to values"
        assert finals == set(KEYS), "a key could not be read after the faults healed"
        assert not rec.unexpected, f"unexpected error replies: {rec.unexpected}"
        assert all(n >= 20 for n in kinds.values()), f"too few successful ops of a kind: {kinds}"
        assert sum(o.kind == "cas" and o.result is True for o in rec.ops) >= 10, "no CAS hit"
        failed = False
    finally:
        rec.stop_flag.set()
        nem.stop_flag.set()
        cluster.stop(keep_dir=failed)


@pytest.mark.parametrize("family", FAMILIES + ["mixed"])
def test_faults_keep_history_linearizable(family, chaos_long, chaos_seed, chaos_out):
    seed = chaos_seed if chaos_seed is not None else SEEDS[family]
    duration = LONG_FAULT_S if chaos_long else SHORT_FAULT_S
    if family == "mixed" and chaos_long:
        duration = 3 * LONG_FAULT_S
    started = time.monotonic()
    run(family, seed, duration, chaos_out, allow_majority=chaos_long and family == "mixed")
    print(f"{family}: {time.monotonic() - started:.1f}s")
