"""resp-load (bench/resp-load), the YCSB-style load generator of bench/compare, against a real
redis-server and a Bellwether cluster: one short bounded run each, and its JSON line checked.

The binary is $RESP_LOAD_BIN, else bench/resp-load/resp-load in the build directory that holds
the bellwether binary ($BELLWETHER_BIN's directory, default build/). It is built with BW_BENCH (on
by default: `cmake --build build --target resp-load`); without it these tests are skipped.
"""
import json
import os
import subprocess

import pytest
import redis

from conftest import BIN, running_redis_server

RESP_LOAD = os.environ.get(
    "RESP_LOAD_BIN", os.path.join(os.path.dirname(BIN), "bench", "resp-load", "resp-load"))
KEYS = 2000
RUN_S = 1.0
# Each run is bounded by --duration-s and --stall-timeout-ms; this bounds the process itself.
PROCESS_TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(not os.access(RESP_LOAD, os.X_OK),
                                reason=f"resp-load not built ({RESP_LOAD})")


def resp_load(port, workload, *extra):
    """Runs resp-load; returns (exit code, the JSON line as a dict)."""
    args = [RESP_LOAD, "--port", str(port), "--workload", workload, "--key-space", str(KEYS),
            "--clients", "8", "--stall-timeout-ms", "5000", *extra]
    out = subprocess.run(args, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, f"{args}: {out.stdout!r} {out.stderr!r}"
    return out.returncode, json.loads(lines[0])


def load_then_mix(port):
    """Writes every key once, then runs workload A for about RUN_S; checks both JSON lines."""
    rc, r = resp_load(port, "load", "--pipeline", "16", "--requests", str(10 * KEYS))
    assert rc == 0, r
    assert r["requests"] == KEYS  # every key once, not --requests
    assert r["errors"] == 0
    assert r["update"]["requests"] == KEYS
    assert r["read"]["requests"] == 0

    rc, r = resp_load(port, "a", "--duration-s", str(RUN_S), "--requests", "100000000")
    assert rc == 0, r
    assert r["requests"] > 100, r
    assert r["errors"] == 0, r
    assert r["first_error"] == ""
    assert r["read"]["misses"] == 0, "every key was loaded"
    assert r["requests"] == r["read"]["requests"] + r["update"]["requests"]
    share = r["read"]["requests"] / r["requests"]
    assert 0.4 < share < 0.6, f"workload A read share {share:.3f}"
    assert 0 < r["read"]["p50_ms"] <= r["read"]["p99_ms"]
    assert 0 < r["update"]["p50_ms"] <= r["update"]["p99_ms"]
    assert 0.5 * RUN_S < r["seconds"] < RUN_S + 5, r
    assert r["rps"] > 0
    return r


def test_resp_load_against_redis_server():
    with running_redis_server() as port:
        load_then_mix(port)
        # Workload C only reads; the same seed gives the same run (same request count).
        rc, c1 = resp_load(port, "c", "--requests", "3000", "--seed", "5")
        assert rc == 0
        assert (c1["read"]["requests"], c1["update"]["requests"]) == (3000, 0)
        # Error replies count as errors and fail the run: SETs refused over maxmemory.
        client = redis.Redis(host="127.0.0.1", port=port)
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
        rc, r = resp_load(port, "a", "--requests", "2000")
        assert rc == 1, r
        assert r["update"]["errors"] == r["update"]["requests"] > 0
        assert r["read"]["errors"] == 0
        assert r["first_error"].startswith("OOM"), r["first_error"]


def test_resp_load_against_bellwether(cluster_factory):
    cluster = cluster_factory()
    leader = cluster.wait_for_leader()
    load_then_mix(leader.port)
    # A follower forwards the writes and serves linearizable reads: the same run works there.
    follower = next(n for n in cluster.nodes if n is not leader)
    rc, r = resp_load(follower.port, "b", "--requests", "2000")
    assert rc == 0, r
    assert r["errors"] == 0
    assert r["read"]["requests"] > r["update"]["requests"] > 0


def test_resp_load_fails_without_a_server():
    with running_redis_server() as port:
        pass  # stopped: the port is closed now
    rc, r = resp_load(port, "a", "--requests", "100")
    assert rc == 1
    assert r["errors"] == 8  # one per client that could not connect
    assert "connect" in r["first_error"]
