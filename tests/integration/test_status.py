"""`bellwether status` while nodes are down, which is when an operator runs it: a row for every
node, killed ones `down`, paused ones `unreachable`, with how long ago the cluster last heard from
them; and a clear one-line error, not an abort, when the endpoint asked is itself down.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_status.py
"""
import re
import subprocess
import time

from conftest import BIN, wait_until
from helpers import stopped

# status asks every node at once with a 1 s deadline each: it ends in about 2 s even with nodes
# paused. The bound leaves room for a loaded machine; the process timeout only stops a hang.
STATUS_QUICK_S = 6
STATUS_TIMEOUT_S = 30
SILENT_FOR_MS = 1500  # how long the killed node is silent before status runs
LAST_HEARD = re.compile(r"last heard (\d+(?:\.\d+)?) (ms|s) ago")


def run_status(endpoint):
    started = time.monotonic()
    out = subprocess.run([BIN, "status", "--endpoint", endpoint], capture_output=True, text=True,
                         timeout=STATUS_TIMEOUT_S)
    return out, time.monotonic() - started


def rows_by_node(stdout):
    lines = stdout.splitlines()
    assert lines and lines[0].split()[:3] == ["NODE", "ADDRESS", "ROLE"], stdout
    return {line.split()[0]: line for line in lines[1:]}


def last_heard_s(row):
    m = LAST_HEARD.search(row)
    assert m, f"no last-heard time in: {row}"
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def peer_last_heard_ms(node, peer):
    """How long ago `node` last heard from `peer`, by its INFO (-1: never)."""
    return int(node.info("raft")[f"raft_peer{peer.id}"]["last_heard_ms"])


def test_status_shows_killed_and_paused_nodes(cluster_factory):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    killed, paused = [n for n in c.nodes if n is not leader]
    assert leader.client().set("before", "1") is True
    for f in (killed, paused):
        wait_until(lambda: 0 <= peer_last_heard_ms(leader, f) < SILENT_FOR_MS,
                   what=f"the leader to hear from node {f.id}")
    before_kill = time.monotonic()
    killed.kill()
    with stopped(paused):
        wait_until(lambda: peer_last_heard_ms(leader, killed) >= SILENT_FOR_MS,
                   what=f"node {killed.id} silent for {SILENT_FOR_MS} ms")
        out, took = run_status(leader.endpoint)
        status_end = time.monotonic()
    assert out.returncode == 0, out.stdout + out.stderr
    assert took < STATUS_QUICK_S, f"status took {took:.1f} s:\n{out.stdout}"
    rows = rows_by_node(out.stdout)
    assert set(rows) == {"1", "2", "3"}, out.stdout

    # Alone, the leader may have stepped down by now (CheckQuorum); either way it answered.
    alive = rows[str(leader.id)].split()
    assert alive[1] == leader.endpoint, out.stdout
    assert alive[2] in ("leader", "follower", "pre-candidate", "candidate"), out.stdout
    assert all(alive[i].isdigit() for i in (3, 5, 6)), out.stdout  # term, commit, applied

    down = rows[str(killed.id)].split()
    assert down[1] == killed.endpoint and down[2] == "down", out.stdout
    assert "connection refused" in rows[str(killed.id)], out.stdout
    # Silent since the kill: at least as long as we waited for, at most since before the kill.
    heard = last_heard_s(rows[str(killed.id)])
    assert SILENT_FOR_MS / 1000 - 0.05 <= heard <= status_end - before_kill + 1, out.stdout

    unreachable = rows[str(paused.id)].split()
    assert unreachable[1] == paused.endpoint and unreachable[2] == "unreachable", out.stdout
    assert "no reply in 1000 ms" in rows[str(paused.id)], out.stdout
    assert 0 <= last_heard_s(rows[str(paused.id)]) <= status_end - before_kill + 1, out.stdout


def test_status_against_a_down_or_paused_endpoint_fails_with_one_line(cluster_factory):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    killed, paused = [n for n in c.nodes if n is not leader]
    killed.kill()
    out, took = run_status(killed.endpoint)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout == "", out.stdout
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"status: cannot reach {killed.endpoint} (connection refused)"), \
        out.stderr
    assert took < STATUS_QUICK_S

    with stopped(paused):
        out, took = run_status(paused.endpoint)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout == "", out.stdout
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"status: {paused.endpoint} did not reply within 1000 ms"), \
        out.stderr
    assert took < STATUS_QUICK_S
