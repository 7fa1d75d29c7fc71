"""Operator commands against real node processes: DEBUG (enable-debug-command; slow and failing
fsync, SLEEP) and FAILOVER (leadership transfer), with the CLI's `bellwether failover`.

Run: BELLWETHER_BIN=build/bellwether \
     /usr/bin/python3 -m pytest -q tests/integration/test_operator.py
"""
import select
import signal
import statistics
import subprocess
import time

import pytest
import redis

from conftest import BIN, wait_until
from helpers import (LoadWriter, RawConn, assert_alive, log_tail, missing_or_wrong, raft,
                     resp_command, stopped, wait_caught_up)

DEBUG = ["--enable-debug-command", "yes"]
FSYNC_DELAY_MS = 200
# A delayed write takes the delay plus the usual round; allow a little clock slack below it.
DELAYED_WRITE_MIN_S = FSYNC_DELAY_MS / 1000 * 0.9
WRITES_MEASURED = 8
FAILOVER_TIMEOUT_MS = 5000
FAILOVER_ATTEMPTS = 5
REPLY_WITHIN_S = 2  # well under the request timeout (5 s)
NODE_EXIT_TIMEOUT_S = 30


def raw_reply(port, *args):
    """The first reply line of `args` sent on a fresh connection (errors with their prefix)."""
    conn = RawConn(port)
    try:
        assert conn.send(resp_command(*args))
        return conn.read_line()
    finally:
        conn.close()


def process_state(node):
    """The state letter of the node's main thread (T: stopped)."""
    with open(f"/proc/{node.proc.pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def log_count(node, text):
    with open(node.log_path, "rb") as f:
        return f.read().count(text.encode())


def timed_set(client, key, value):
    started = time.monotonic()
    assert client.set(key, value) is True
    return time.monotonic() - started


def followers(cluster, leader):
    return [n for n in cluster.nodes if n is not leader]


# ---------------------------------------------------------------- DEBUG

def test_debug_disabled_answers_exactly_like_redis(cluster_factory, redis_server):
    c = cluster_factory(size=1)
    node = c.nodes[0]
    for args in (["DEBUG", "SLEEP", "0"], ["DEBUG", "FSYNC-DELAY", "100"], ["DEBUG", "POWER-CUT"],
                 ["debug", "help"]):
        ours = raw_reply(node.port, *args)
        theirs = raw_reply(redis_server, *args)  # redis-server 7 defaults to `no`
        assert ours == theirs, (args, ours, theirs)
    assert ours.startswith(b"-ERR DEBUG command not allowed.")
    assert node.client().config_get("enable-debug-command") == {"enable-debug-command": "no"}


@pytest.mark.parametrize("mode", ["yes", "local"])
def test_debug_enabled_for_loopback_clients(cluster_factory, mode):
    c = cluster_factory(size=1, extra_args=["--enable-debug-command", mode])
    node = c.nodes[0]
    client = node.client()
    assert client.config_get("enable-debug-command") == {"enable-debug-command": mode}
    assert raw_reply(node.port, "DEBUG", "SLEEP", "0") == b"+OK\r\n"
    assert raw_reply(node.port, "DEBUG", "FSYNC-DELAY", "0") == b"+OK\r\n"
    assert raw_reply(node.port, "DEBUG", "FSYNC-FAIL", "no") == b"+OK\r\n"
    assert raw_reply(node.port, "DEBUG", "NOSUCH") == (
        b"-ERR unknown subcommand or wrong number of arguments for 'NOSUCH'. Try DEBUG HELP.\r\n")
    assert raw_reply(node.port, "DEBUG", "FSYNC-DELAY", "-1").startswith(b"-ERR fsync delay")
    assert raw_reply(node.port, "DEBUG", "FSYNC-FAIL", "maybe").startswith(b"-ERR")
    assert raw_reply(node.port, "DEBUG", "SLEEP", "x") == b"-ERR value is not a valid float\r\n"
    assert client.set("k", "v") is True


def test_fsync_delay_on_the_leader_slows_writes_by_the_delay(cluster_factory):
    # While the leader's own log write is in flight its Ready loop sends nothing, heartbeats
    # included, and each write here waits behind the previous write's commit-index sync: with the
    # default 0.4-0.8 s election timeout that silence can depose the leader mid-measurement. A
    # longer timeout keeps this test about latency (the chaos suite's slow-fsync family runs with
    # the default one).
    c = cluster_factory(size=3, extra_args=DEBUG + ["--election-ticks", "40"])
    leader = c.wait_for_leader()
    client = leader.client()
    expected = {}

    def measure(tag):
        times = []
        for i in range(WRITES_MEASURED):
            key, value = f"{tag}{i}", f"v-{tag}-{i}"
            times.append(timed_set(client, key, value))
            expected[key] = value.encode()
        return times

    before = measure("before")
    assert client.execute_command("DEBUG", "FSYNC-DELAY", FSYNC_DELAY_MS) == b"OK"
    delayed = measure("delayed")
    assert client.execute_command("DEBUG", "FSYNC-DELAY", 0) == b"OK"
    after = measure("after")
    print(f"median write latency: before {statistics.median(before) * 1000:.1f} ms, with "
          f"{FSYNC_DELAY_MS} ms fsync delay {statistics.median(delayed) * 1000:.1f} ms, after "
          f"{statistics.median(after) * 1000:.1f} ms")
    assert min(delayed) >= DELAYED_WRITE_MIN_S, f"a write was not delayed: {delayed}"
    assert statistics.median(delayed) >= statistics.median(before) + DELAYED_WRITE_MIN_S
    assert statistics.median(after) < statistics.median(delayed)
    assert c.leader() is leader, "the leader changed: the measurement is not about its fsync"

    # Everything written is on every node, and survives a restart of the whole cluster.
    for n in c.nodes:
        wait_caught_up(n, leader)
        assert missing_or_wrong(n.client(), expected) == {}, f"node {n.id}"
    for n in c.nodes:
        n.stop()
    for n in c.nodes:
        n.start()
    new_leader = c.wait_for_leader()
    assert missing_or_wrong(new_leader.client(), expected) == {}


def test_fsync_failure_stops_the_node_and_the_cluster_carries_on(cluster_factory):
    c = cluster_factory(size=3, extra_args=DEBUG)
    leader = c.wait_for_leader()
    victim = followers(c, leader)[0]
    assert victim.client().execute_command("DEBUG", "FSYNC-FAIL", "yes") == b"OK"
    client = leader.client()
    acked = {}
    seq = iter(range(1_000_000))

    def write_until_victim_exits():
        i = next(seq)
        assert client.set(f"f{i}", f"v{i}") is True  # a majority (leader + other follower) is up
        acked[f"f{i}"] = f"v{i}".encode()
        return not victim.alive()

    wait_until(write_until_victim_exits, timeout=NODE_EXIT_TIMEOUT_S,
               what=f"node {victim.id} to stop after its fsync failed")
    assert victim.proc.returncode != 0
    tail = log_tail(victim, lines=40)
    assert "write-ahead log failed" in tail and "injected" in tail, tail
    assert_alive([n for n in c.nodes if n is not victim])

    victim.start()  # a fresh process: DEBUG settings start off again
    wait_caught_up(victim, leader)
    assert missing_or_wrong(victim.client(), acked) == {}
    assert client.set("after", "ok") is True


def test_debug_sleep_blocks_the_node(cluster_factory):
    c = cluster_factory(size=1, extra_args=DEBUG)
    node = c.nodes[0]
    started = time.monotonic()
    assert node.client().execute_command("DEBUG", "SLEEP", "0.5") == b"OK"
    assert time.monotonic() - started >= 0.5
    assert node.client().ping()


# ---------------------------------------------------------------- FAILOVER

def test_failover_errors_match_redis(cluster_factory, redis_server):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    # Syntax and argument errors come before any state check, as in Redis.
    for args in (["FAILOVER", "TIMEOUT", "0"], ["FAILOVER", "BOGUS"], ["FAILOVER", "ABORT"],
                 ["FAILOVER", "TO", "127.0.0.1", "notaport"], ["FAILOVER", "TIMEOUT", "-5"]):
        assert raw_reply(leader.port, *args) == raw_reply(redis_server, *args), args
    follower = followers(c, leader)[0]
    assert raw_reply(follower.port, "FAILOVER") == (
        b"-ERR FAILOVER is not valid when server is a replica.\r\n")
    assert raw_reply(leader.port, "FAILOVER", "TO", "127.0.0.1", "1") == (
        b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n")
    assert raw_reply(leader.port, "FAILOVER", "TO", "127.0.0.1", leader.port) == (
        b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n")
    assert raw_reply(leader.port, "FAILOVER", "FORCE") == (
        b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n")
    assert c.leader() is leader


def test_failover_to_a_named_follower_under_writes_loses_nothing(cluster_factory):
    c = cluster_factory(size=3)
    old = c.wait_for_leader()
    target = followers(c, old)[1]
    term_before = int(raft(old)["raft_term"])
    writer = LoadWriter(c.nodes, threads=3, prefix="fo").start()
    try:
        wait_until(lambda: len(writer.snapshot()) >= 100, timeout=30, what="writes before")
        started = time.monotonic()
        reply = old.client().execute_command("FAILOVER", "TO", "127.0.0.1", target.port,
                                             "TIMEOUT", FAILOVER_TIMEOUT_MS)
        took = time.monotonic() - started
        assert reply == b"OK"
        # The reply comes once the transfer completed: the target leads already.
        assert raft(target)["raft_role"] == "leader"
        assert raft(old)["raft_role"] != "leader"
        assert old.client().execute_command("ROLE")[0] == b"slave"
        assert target.client().execute_command("ROLE")[0] == b"master"
        t_done = time.monotonic()
        wait_until(lambda: writer.acks_since(t_done) >= 100, timeout=30,
                   what="writes after the failover")
    finally:
        writer.stop()
    print(f"FAILOVER took {took * 1000:.0f} ms; errors: "
          f"{ {k: len(v) for k, v in writer.errors.items()} }")
    assert int(raft(target)["raft_term"]) == term_before + 1, "more than one election happened"
    for errs in writer.errors.values():
        bad = [e for e in errs if not e[1].startswith("TRYAGAIN")]
        assert bad == [], f"unexpected write errors: {bad[:5]}"
    acked = writer.snapshot()
    for n in c.nodes:
        wait_caught_up(n, target)
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lacks {len(bad)} acknowledged writes"


def test_failover_write_read_with_the_targets_first_messages_is_answered(cluster_factory):
    # The old leader steps down on a frame from the target (its vote request, then its appends);
    # the Ready that tells the node who leads now runs after the handlers already queued in that
    # pass of its event loop. A client write among them was forwarded to the leader as of the last
    # Ready, the old leader itself, which the transport drops without a word: no answer until the
    # request timeout ("TIMEOUT the leader did not answer in time"). A loaded CPU makes such a
    # pass likely; pausing the old leader while the target takes over makes it certain: its first
    # pass after SIGCONT holds the target's frames, then the write sent during the pause.
    c = cluster_factory(size=3)
    old = c.wait_for_leader()
    target = followers(c, old)[1]
    writer = RawConn(old.port)  # its session exists before the pause
    assert writer.send(resp_command("SET", "before", "1"))
    assert writer.read_line() == b"+OK\r\n"
    failover = None
    try:
        for attempt in range(1, FAILOVER_ATTEMPTS + 1):
            # Caught up and recently heard from: the transfer sends TimeoutNow at once.
            def target_ready():
                info = raft(old)
                peer = info[f"raft_peer{target.id}"]
                return peer["match"] == info["raft_last_index"] and peer["active"] == 1
            wait_until(target_ready, what=f"node {target.id} caught up and active")
            target.signal(signal.SIGSTOP)  # it reads TimeoutNow only once the old leader sleeps
            failover = RawConn(old.port)
            assert failover.send(resp_command("FAILOVER", "TO", "127.0.0.1", target.port,
                                              "TIMEOUT", FAILOVER_TIMEOUT_MS))
            started = wait_until(
                lambda: log_count(old, f"FAILOVER to node {target.id} requested") > 0 or
                select.select([failover.sock], [], [], 0)[0], what="FAILOVER to start")
            if started is True:
                break
            # The paused target's last answer came just before Raft's activity check (no
            # "requested" line is logged then).
            assert failover.read_line() == b"-ERR FAILOVER target replica is not online.\r\n"
            failover.close()
            target.signal(signal.SIGCONT)
        else:
            pytest.fail("FAILOVER never started")
        assert raw_reply(old.port, "PING") == b"+PONG\r\n"  # the Ready with TimeoutNow went out
        old.signal(signal.SIGSTOP)
        wait_until(lambda: process_state(old) == "T", what="the old leader to stop")
        target.signal(signal.SIGCONT)
        wait_until(lambda: raft(target)["raft_role"] == "leader", what="the target to lead")
        assert writer.send(resp_command("SET", "during", "2"))
        old.signal(signal.SIGCONT)
        sent = time.monotonic()
        reply = writer.read_line()
        took = time.monotonic() - sent
    finally:
        old.signal(signal.SIGCONT)
        target.signal(signal.SIGCONT)
    print(f"write during the hand-over: {reply!r} after {took * 1000:.0f} ms")
    # Its result, or TRYAGAIN at once; never the request timeout.
    assert reply == b"+OK\r\n" or reply.startswith(b"-TRYAGAIN"), reply
    assert took < REPLY_WITHIN_S, f"{reply!r} after {took:.2f}s"
    assert failover.read_line() == b"+OK\r\n"
    assert raft(target)["raft_role"] == "leader"
    assert target.client().get("during") == (b"2" if reply == b"+OK\r\n" else None)


def test_failover_without_target_picks_a_follower(cluster_factory):
    c = cluster_factory(size=3)
    old = c.wait_for_leader()
    assert old.client().execute_command("FAILOVER") == b"OK"
    new = c.wait_for_leader(exclude=(old.id,))
    assert int(raft(old)["raft_leader_id"]) == new.id
    assert new.client().set("x", "1") is True


def test_failover_to_a_paused_follower_times_out_and_the_leader_stays(cluster_factory):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    paused = followers(c, leader)[0]
    client = leader.client()
    with stopped(paused):
        for i in range(20):  # the paused follower falls behind
            assert client.set(f"p{i}", "v") is True
        started = time.monotonic()
        with pytest.raises(redis.ResponseError) as e:
            client.execute_command("FAILOVER", "TO", "127.0.0.1", paused.port, "TIMEOUT", 1000)
        took = time.monotonic() - started
    # Raft transfers only to a caught-up voter: either the leader saw the target was gone, or it
    # waited for it until TIMEOUT.
    assert str(e.value) in ("FAILOVER target replica is not online.",
                            "FAILOVER timed out; this node is still the leader"), str(e.value)
    assert took < 5
    assert raft(leader)["raft_role"] == "leader"
    assert client.set("after", "ok") is True
    assert raw_reply(leader.port, "FAILOVER", "ABORT") == b"-ERR No failover in progress.\r\n"


def test_cli_failover_moves_leadership(cluster_factory):
    c = cluster_factory(size=3)
    old = c.wait_for_leader()
    follower = followers(c, old)[0]
    target = followers(c, old)[1]
    out = subprocess.run([BIN, "failover", "--endpoint", follower.endpoint, "--to",
                          target.endpoint], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert f"to node {target.id}" in out.stdout, out.stdout
    assert raft(target)["raft_role"] == "leader"
