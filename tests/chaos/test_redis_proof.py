"""The checker catches a real violation: redis-server with an asynchronous replica that is
promoted after the primary is killed loses acknowledged writes.

Just before a burst of writes the replica is paused (SIGSTOP) and its replication stream
black-holed at the proxy, so the burst is acknowledged by the primary but never reaches the
replica; then the primary is SIGKILLed, the replica resumed and promoted (REPLICAOF NO ONE), and
the clients carry on against it.
"""
import signal
import time

from cluster import RedisPair, failure_dir, wait_until
from history import Recorder
from linearizability import check

KEYS = ["r0", "r1", "r2"]


def run_pair(seed):
    pair = RedisPair().start()
    rec = Recorder(pair.targets, KEYS, clients=4, seed=seed, kinds=("read", "write", "incr"),
                   socket_timeout_s=2.0, think_ms=(1, 5))
    try:
        rec.start()
        wait_until(lambda: len(rec.ops) >= 200, timeout=20, what="warm-up operations")
        pair.replica.signal(signal.SIGSTOP)
        pair.proxy.set(2, 1, "blackhole")
        burst_from = len(rec.ops)
        wait_until(lambda: sum(o.kind != "read" and o.status == "ok"
                               for o in rec.ops[burst_from:]) >= 100,
                   timeout=20, what="a burst of acknowledged writes")
        pair.primary.kill()
        pair.replica.signal(signal.SIGCONT)
        pair.client(pair.replica).execute_command("REPLICAOF", "NO", "ONE")
        pair.current = pair.replica
        after = len(rec.ops)
        wait_until(lambda: sum(o.status == "ok" for o in rec.ops[after:]) >= 100, timeout=20,
                   what="operations on the promoted replica")
        rec.stop()
        rec.final_reads()
    finally:
        rec.stop_flag.set()
        pair.stop()
    return rec


def test_checker_reports_lost_writes_of_promoted_redis_replica(chaos_out):
    started = time.monotonic()
    rec = run_pair(seed=11)
    violations, stats = check(rec.ops)
    out = chaos_out or (None if violations else failure_dir())
    if out:
        rec.dump(f"{out}/redis-promoted-replica.json")
        print(f"history saved in {out}")
    print(f"redis history: {stats}, {len(violations)} keys with violations "
          f"({time.monotonic() - started:.1f}s)")
    for v in violations:
        print(v.render())
    assert violations, "the checker missed the writes lost by promoting an async replica"
    assert any(o.kind in ("write", "incr") for v in violations for o in v.window)
