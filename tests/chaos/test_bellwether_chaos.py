"""Faults against a 3-node Bellwether cluster under concurrent clients; the history must be
linearizable (no lost acknowledged write, no stale linearizable read) and versions consistent.
The membership test also adds, promotes, removes and replaces nodes while the faults run."""
import os
import time

import pytest

from acked import AckedSet, check_every_member, settled_membership
from cluster import ChaosCluster, wait_until
from history import Recorder
from linearizability import check, check_versions
from membership import VOTERS_MAX, VOTERS_MIN, MembershipNemesis
from nemesis import Nemesis, QuorumGuard

KEYS = ["k0", "k1", "k2"]
SERVER_ARGS = ["--request-timeout-ms", "2000"]
SHORT_FAULT_S = 18
LONG_FAULT_S = 120
FAMILIES = ["kill", "pause", "transfer", "partition", "slow-fsync", "failover"]
SEEDS = {"kill": 101, "pause": 202, "transfer": 303, "partition": 404, "mixed": 505,
         "slow-fsync": 611, "failover": 707, "membership": 808}
MEMBERSHIP_FAMILIES = ["kill", "pause", "partition"]
# Frequent snapshots with a short log behind them: joining and replacement nodes, and nodes
# down for a few seconds, catch up from a snapshot, as they would on a long-lived cluster.
MEMBERSHIP_SERVER_ARGS = SERVER_ARGS + ["--snapshot-entries", "1000",
                                        "--snapshot-keep-entries", "200"]
MEMBERSHIP_OPS = {"short": 8, "long": 40}
MEMBERSHIP_FAULT_S_MAX = {"short": 120, "long": 600}  # the faults stop with the last operation
WRITE_GAP_S_MAX = 15.0  # a quorum is always up: writes never stop longer than this


def longest_write_gap(ops, start, end):
    """Longest time in [start, end] without an acknowledged write (of any kind)."""
    acks = sorted(o.ret for o in ops if o.status == "ok" and o.kind != "read"
                  and start <= o.ret <= end)
    edges = [start] + acks + [end]
    return max(b - a for a, b in zip(edges, edges[1:]))


def run(family, seed, duration_s, out_dir, allow_majority=False, membership_ops=0):
    families = {"mixed": FAMILIES, "membership": MEMBERSHIP_FAMILIES}.get(family, [family])
    cluster = ChaosCluster(3, MEMBERSHIP_SERVER_ARGS if membership_ops else SERVER_ARGS).start()
    rec = Recorder(cluster.targets, KEYS, clients=5, seed=seed, socket_timeout_s=3.0,
                   think_ms=(2, 12))
    guard = QuorumGuard(cluster.members(), enforce=not allow_majority)
    nem = Nemesis(cluster, seed, families, rec.now, allow_majority=allow_majority, guard=guard)
    mem = MembershipNemesis(cluster, guard, seed, rec.now, membership_ops) \
        if membership_ops else None
    acked = AckedSet(cluster) if mem else None
    failed, saved = True, False
    try:
        rec.start()
        if acked:
            acked.start()
        wait_until(lambda: sum(o.status == "ok" for o in rec.ops) >= 30, timeout=20,
                   what="operations before the faults")
        faults_from = rec.now()
        nem.start(duration_s, until=mem.done.is_set if mem else lambda: False)
        if mem:
            mem.start(duration_s)
            mem.join(duration_s)
        nem.join(duration_s + 60)
        faults_to = rec.now()
        if mem:
            mem.finish()
        cluster.wait_for_leader(timeout=30)
        quiet_from = len(rec.ops)
        wait_until(lambda: sum(o.status == "ok" and o.kind != "read"
                               for o in rec.ops[quiet_from:]) >= 10, timeout=30,
                   what="writes succeeding after the faults healed")
        rec.stop()
        if acked:
            acked.stop()
        finals_from = len(rec.ops)
        rec.final_reads()
        # Saved before checking (a search out of budget leaves it too); cluster.dir is kept when
        # the test fails.
        events = save(cluster.dir, out_dir, family, seed, rec, nem, mem)
        saved = True
        violations, stats = check(rec.ops)
        version_problems = check_versions(rec.ops)
        finals = {o.key for o in rec.ops[finals_from:] if o.status == "ok"}
        print(f"\n{family} seed {seed}: {stats}; faults: {len(nem.events)} events; "
              f"client errors: {rec.errors}")
        kinds = {k: sum(o.kind == k and o.status == "ok" for o in rec.ops)
                 for k in ("read", "write", "incr", "cas")}
        print(f"ok ops by kind: {kinds}; cas hits: "
              f"{sum(o.kind == 'cas' and o.result is True for o in rec.ops)}")
        print("faults:\n  " + "\n  ".join(events))
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
        if mem:
            check_membership(cluster, rec, nem, mem, acked, finals_from, faults_from, faults_to)
        failed = False
    finally:
        if failed and not saved:  # failed before the checks: what happened until then
            rec.stop_flag.set()
            print("\nfaults until the failure:\n  " + "\n  ".join(
                save(cluster.dir, out_dir, family, seed, rec, nem, mem)))
            print(f"history and node logs in {cluster.dir}")
        rec.stop_flag.set()
        nem.stop_flag.set()
        if mem:
            mem.stop_flag.set()
        if acked:
            acked.stop_flag.set()
        cluster.stop(keep_dir=failed)


def snapshot_installs(cluster):
    """{node name: snapshots it installed}, from the logs of every node process of the run."""
    out = {}
    for n in cluster.all_nodes():
        with open(n.log_path, "rb") as f:
            count = f.read().count(b": installed snapshot at index")
        if count:
            out[n.name] = count
    return out


def save(cluster_dir, out_dir, family, seed, rec, nem, mem):
    """Writes the history and the fault log; returns the fault log's lines."""
    events = sorted(nem.events + (mem.events if mem else []))
    for d in filter(None, [cluster_dir, out_dir]):
        path = os.path.join(d, f"bellwether-{family}-{seed}.json")
        with rec.lock:
            rec.dump(path)
        with open(path + ".faults.txt", "w") as f:
            f.write("\n".join(events) + "\n")
    return events


def check_membership(cluster, rec, nem, mem, acked, finals_from, faults_from, faults_to):
    """The membership run's own checks, after the common ones."""
    print("membership operations:\n  " + "\n  ".join(repr(op) for op in mem.ops))
    print(f"faults skipped by the quorum guard: {nem.skipped}; acked-set writes: "
          f"{len(acked.acked)} acknowledged, {len(acked.refused)} refused, "
          f"{acked.unknown} unknown")
    installs = snapshot_installs(cluster)
    print(f"snapshots installed (from the node logs): {installs}")
    gap = longest_write_gap(rec.ops, faults_from, faults_to)
    print(f"longest time without an acknowledged write during the faults: {gap:.1f}s")
    assert mem.error is None, f"membership nemesis failed: {mem.error!r}"
    assert not mem.violations, f"membership changes acknowledged but not in force: " \
        f"{mem.violations}"
    roles = settled_membership(cluster)
    voters = sorted(i for i, r in roles.items() if r == "voter")
    print(f"final membership: {roles}")
    assert VOTERS_MIN <= len(voters) <= VOTERS_MAX, f"{len(voters)} voters: {voters}"
    running = {n.id for n in cluster.members() if n.alive()}
    assert set(roles) == running, f"members {sorted(roles)} but running nodes {sorted(running)}"
    # Joined nodes' peer traffic goes through the proxy too, so partitions reach them. (Links
    # are dialled on first use: two followers may never have talked.)
    carried = {key for key, link in cluster.proxy.links.items() if link.forwarded_bytes}
    print(f"proxy: {len(carried)} directed links carried traffic; connections closed without "
          f"a hello: {cluster.proxy.unidentified}")
    for i in roles:
        assert any(a == i for a, _ in carried), f"node {i} sent nothing through the proxy"
        assert any(b == i for _, b in carried), f"node {i} received nothing through the proxy"
    registers = {}
    for o in rec.ops[finals_from:]:
        if o.status == "ok":
            registers[o.key] = o.result
    problems = check_every_member(cluster, acked.acked, acked.refused, registers)
    for p in problems:
        print("loss:", p)
    assert not problems, f"{len(problems)} member(s) lost or diverged (see output)"
    assert len(acked.acked) >= 100, f"only {len(acked.acked)} acked-set writes acknowledged"
    assert installs, "no node caught up from a snapshot: that path was not exercised"
    assert gap <= WRITE_GAP_S_MAX, f"no write acknowledged for {gap:.1f}s with a quorum up"
    done = {op.kind for op in mem.ops if op.outcome == "ok"}
    assert len(done) >= 3, f"fewer than 3 kinds of membership change succeeded: {mem.ops}"


@pytest.mark.parametrize("family", FAMILIES + ["mixed"])
def test_faults_keep_history_linearizable(family, chaos_long, chaos_seed, chaos_out):
    seed = chaos_seed if chaos_seed is not None else SEEDS[family]
    duration = LONG_FAULT_S if chaos_long else SHORT_FAULT_S
    if family == "mixed" and chaos_long:
        duration = 3 * LONG_FAULT_S
    started = time.monotonic()
    run(family, seed, duration, chaos_out, allow_majority=chaos_long and family == "mixed")
    print(f"{family}: {time.monotonic() - started:.1f}s")


def test_membership_changes_during_faults(chaos_long, chaos_seed, chaos_out):
    """Nodes join, are promoted, removed (the leader too) and replaced while kill, pause and
    partition faults run; the quorum guard keeps a majority of voters up throughout."""
    seed = chaos_seed if chaos_seed is not None else SEEDS["membership"]
    mode = "long" if chaos_long else "short"
    started = time.monotonic()
    run("membership", seed, MEMBERSHIP_FAULT_S_MAX[mode], chaos_out,
        membership_ops=MEMBERSHIP_OPS[mode])
    print(f"membership: {time.monotonic() - started:.1f}s")
