"""Replication against real node processes: forwarding, linearizable and stale reads, failover
under load (SIGKILL and power cuts), graceful leadership hand-over (SIGTERM), and a lost majority
(SIGSTOP).

Run: BELLWETHER_BIN=build/bellwether \
     /usr/bin/python3 -m pytest -q tests/integration/test_replication.py
"""
import signal
import threading
import time

import pytest
import redis

from conftest import wait_until
from helpers import (LoadWriter, assert_alive, missing_or_wrong, power_cut, raft, read_all,
                     stopped, wait_caught_up)

ACKS_BEFORE_KILL_MIN = 500
ACKS_AFTER_FAILOVER_MIN = 200
FAILOVER_LOAD_TIMEOUT_S = 30
KILL_ROUNDS = 3
ELECTION_TIMEOUT_S = 10  # far above the default 0.3-0.6 s election timeout; a busy machine
REQUEST_TIMEOUT_MS = 1500
DEBUG_ARGS = ["--enable-debug-command", "yes"]  # for DEBUG POWER-CUT
POWER_CUT_FSYNC_DELAY_MS = 100


def followers(cluster, leader):
    return [n for n in cluster.nodes if n is not leader]


def test_writes_on_every_node_are_readable_on_every_node(cluster_factory):
    c = cluster_factory(size=3)
    clients = [n.client() for n in c.nodes]
    expected = {}
    for i, w in enumerate(clients):
        for j in range(20):
            key, value = f"n{i}-k{j}", f"value-{i}-{j}".encode()
            assert w.set(key, value) is True
            expected[key] = value
            # Linearizable by default: the very next read on any node sees the write, no waiting.
            for r in clients:
                assert r.get(key) == value
    # Read-modify-write through every node in turn: forwarded writes are applied exactly once.
    for r in range(5):
        for i, w in enumerate(clients):
            assert w.incr("shared-counter") == r * len(clients) + i + 1
    for r in clients:
        assert read_all(r, list(expected)) == expected
        assert r.get("shared-counter") == str(5 * len(clients)).encode()
        assert r.dbsize() == len(expected) + 1


def kill_leader_under_load(c, prefix, crash=lambda node: node.kill()):
    """One round: crash the leader (SIGKILL unless `crash` says otherwise) under concurrent writes,
    check the survivors hold every acknowledged write, restart the old leader and check it catches
    up. Returns the acked writes."""
    old = c.wait_for_leader()
    survivors = followers(c, old)
    writer = LoadWriter(c.nodes, threads=4, prefix=prefix).start()
    try:
        # Kill with the load in full swing: writes are in flight on every node at that moment.
        wait_until(lambda: len(writer.snapshot()) >= ACKS_BEFORE_KILL_MIN,
                   timeout=FAILOVER_LOAD_TIMEOUT_S, what="acknowledged writes before the kill")
        crash(old)
        t_kill = time.monotonic()
        writer.retarget(survivors)
        new = c.wait_for_leader(exclude=(old.id,), timeout=ELECTION_TIMEOUT_S)
        t_elected = time.monotonic()
        # Writes continue through every survivor after the election.
        wait_until(lambda: writer.acks_since(t_elected) >= ACKS_AFTER_FAILOVER_MIN and all(
            writer.acks_since(t_elected, {n.id}) > 0 for n in survivors),
            timeout=FAILOVER_LOAD_TIMEOUT_S, what="writes acknowledged after the failover")
    finally:
        writer.stop()
        assert_alive(survivors)  # a crashed survivor is the cause of whatever failed above
    acked = writer.snapshot()
    print(f"[{prefix}] acked {len(acked)} writes; node {old.id} killed, new leader {new.id} after "
          f"{t_elected - t_kill:.2f}s; errors per node: "
          f"{ {k: len(v) for k, v in writer.errors.items()} }; kinds: "
          f"{sorted({(n, e[0], e[1][:40]) for n, errs in writer.errors.items() for e in errs})}")
    for n in survivors:
        errs = [e for e in writer.errors.get(n.id, []) if e[0] != "ResponseError"]
        assert errs == [], f"survivor {n.id} dropped connections: {errs[:5]}"

    # Linearizable reads on every survivor see every acknowledged write.
    for n in survivors:
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lost {len(bad)} acknowledged writes, e.g. {list(bad)[:5]}"
    # Stale (READONLY) local reads, once each survivor has applied the leader's commit index.
    leader = c.wait_for_leader(exclude=(old.id,))
    for n in survivors:
        wait_caught_up(n, leader)
        ro = n.client(single_connection_client=True)
        assert ro.execute_command("READONLY") in (True, b"OK")
        bad = missing_or_wrong(ro, acked)
        assert not bad, f"node {n.id} local state lacks {len(bad)} writes, e.g. {list(bad)[:5]}"
        ro.close()

    # The old leader comes back (from its own write-ahead log) and catches up from the leader.
    old.start()
    target = int(raft(leader)["raft_commit_index"])
    wait_until(lambda: int(raft(old)["raft_applied_index"]) >= target, timeout=30,
               what=f"restarted node {old.id} to apply up to {target}")
    assert raft(old)["raft_role"] == "follower"
    ro = old.client(single_connection_client=True)
    assert ro.execute_command("READONLY") in (True, b"OK")
    bad = missing_or_wrong(ro, acked)
    assert not bad, f"restarted node lacks {len(bad)} writes, e.g. {list(bad)[:5]}"
    ro.close()
    # And it serves linearizable reads and forwards writes again.
    assert old.client().set(f"{prefix}-after-restart", "yes") is True
    for n in c.nodes:
        assert n.client().get(f"{prefix}-after-restart") == b"yes"
    return acked


def test_sigkill_leader_under_write_load_loses_no_acknowledged_write(cluster_factory):
    c = cluster_factory(size=3)
    kill_leader_under_load(c, "w")


def test_repeated_leader_kills_lose_nothing(cluster_factory):
    # Every node gets killed as leader in turn; writes acknowledged in earlier rounds survive
    # the later ones (restarted nodes rejoin fully before the next kill).
    c = cluster_factory(size=3)
    acked = {}
    killed = set()
    for round_no in range(KILL_ROUNDS):
        killed.add(c.wait_for_leader().id)
        acked.update(kill_leader_under_load(c, f"r{round_no}-"))
    print(f"leaders killed: {sorted(killed)}; {len(acked)} acknowledged writes in all")
    leader = c.wait_for_leader()
    for n in c.nodes:
        wait_caught_up(n, leader)
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lost {len(bad)} acknowledged writes, e.g. {list(bad)[:5]}"


def test_whole_cluster_sigkill_keeps_acknowledged_writes(cluster_factory):
    # Every node SIGKILLed at once under write load, then restarted: each write acknowledged
    # before the crash was written on a majority and must be recovered from the logs. SIGKILL
    # leaves unsynced writes in the page cache: that they were fsync'd is checked by the power
    # cuts below.
    c = cluster_factory(size=3)
    writer = LoadWriter(c.nodes, threads=4, prefix="all").start()
    try:
        wait_until(lambda: len(writer.snapshot()) >= ACKS_BEFORE_KILL_MIN,
                   timeout=FAILOVER_LOAD_TIMEOUT_S, what="acknowledged writes before the crash")
        for n in c.nodes:
            n.kill()
    finally:
        writer.stop()
    acked = writer.snapshot()
    for n in c.nodes:
        n.start()
    leader = c.wait_for_leader(timeout=ELECTION_TIMEOUT_S * 2)
    assert_alive(c.nodes)
    for n in c.nodes:
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lost {len(bad)} of {len(acked)} acknowledged writes " \
                        f"after a whole-cluster crash, e.g. {list(bad)[:5]}"
    for n in c.nodes:
        wait_caught_up(n, leader)
    assert leader.client().set("after-crash", "1") is True


def test_power_cut_of_leader_under_write_load_loses_no_acknowledged_write(cluster_factory):
    # The old leader restarts from only what it fsync'd before rejoining.
    c = cluster_factory(size=3, extra_args=DEBUG_ARGS)
    kill_leader_under_load(c, "pc", crash=power_cut)


def power_cut_under_load(c, victims, prefix):
    """Cuts the power of `victims`, in turn, under concurrent writes to every node, restarts them
    and returns (acknowledged writes, those a linearizable read on some node then misses)."""
    writer = LoadWriter(c.nodes, threads=4, prefix=prefix).start()
    try:
        wait_until(lambda: len(writer.snapshot()) >= ACKS_BEFORE_KILL_MIN,
                   timeout=FAILOVER_LOAD_TIMEOUT_S, what="acknowledged writes before the power cut")
        # Slow fsyncs make it likely that each victim holds written but unsynced log bytes when
        # its power goes (else the cut mostly falls between a write and its fsync).
        for n in victims:
            n.client().execute_command("DEBUG", "FSYNC-DELAY", POWER_CUT_FSYNC_DELAY_MS)
        for n in victims:
            power_cut(n)
    finally:
        writer.stop()
    acked = writer.snapshot()
    for n in victims:
        n.start()
    leader = c.wait_for_leader(timeout=ELECTION_TIMEOUT_S * 2)
    lost = {}
    for n in c.nodes:
        wait_caught_up(n, leader)
        lost.update(missing_or_wrong(n.client(), acked))
    assert_alive(c.nodes)
    print(f"[{prefix}] power cut of nodes {[n.id for n in victims]}: {len(acked)} acknowledged "
          f"writes, {len(lost)} lost")
    return acked, lost


@pytest.mark.parametrize("victims", ["majority", "all"])
def test_power_cut_keeps_acknowledged_writes(cluster_factory, victims):
    # Every acknowledged write was fsync'd on a majority before its reply left: a power cut of a
    # majority (the leader among it) or of every node loses none of them.
    c = cluster_factory(size=3, extra_args=DEBUG_ARGS)
    leader = c.wait_for_leader()
    cut = [leader] + followers(c, leader)[:1 if victims == "majority" else 2]
    acked, lost = power_cut_under_load(c, cut, "pc-" + victims)
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes lost in a power cut of " \
                     f"nodes {[n.id for n in cut]}, e.g. {list(lost.items())[:5]}"
    assert c.wait_for_leader().client().set("after-power-cut", "1") is True


def test_power_cut_without_fsync_loses_acknowledged_writes(cluster_factory):
    # The check above can fail: with --fsync none acknowledged writes sit in the page cache only,
    # and the same power cut of every node loses them (SIGKILL would not).
    c = cluster_factory(size=3, extra_args=DEBUG_ARGS + ["--fsync", "none"])
    acked, lost = power_cut_under_load(c, list(c.nodes), "pc-nofsync")
    assert lost, f"none of {len(acked)} acknowledged writes was lost though no node fsync'd"


def test_paused_leader_is_deposed_and_loses_no_acknowledged_write(cluster_factory):
    # A leader SIGSTOPped under load (its clients' writes pile up in its socket buffers) is
    # replaced; when it resumes it must not acknowledge what it can no longer commit.
    c = cluster_factory(size=3)
    old = c.leader()
    others = followers(c, old)
    writer = LoadWriter(c.nodes, threads=6, prefix="p").start()
    try:
        wait_until(lambda: len(writer.snapshot()) >= ACKS_BEFORE_KILL_MIN,
                   timeout=FAILOVER_LOAD_TIMEOUT_S, what="acknowledged writes before the pause")
        with stopped(old):
            # Threads caught mid-write on the paused node stay blocked; the rest carry on.
            writer.retarget(others)
            new = c.wait_for_leader(exclude=(old.id,), timeout=ELECTION_TIMEOUT_S)
            t_new = time.monotonic()
            wait_until(lambda: writer.acks_since(t_new, {n.id for n in others}) >= 100,
                       timeout=FAILOVER_LOAD_TIMEOUT_S, what="writes under the new leader")
        wait_until(lambda: raft(old)["raft_role"] == "follower" and
                   int(raft(old)["raft_leader_id"]) == new.id, timeout=ELECTION_TIMEOUT_S,
                   what="the resumed old leader to follow the new one")
        writer.retarget(c.nodes)
        t_back = time.monotonic()
        wait_until(lambda: writer.acks_since(t_back, {old.id}) >= 20,
                   timeout=FAILOVER_LOAD_TIMEOUT_S, what="writes through the resumed node")
    finally:
        writer.stop()
    assert_alive(c.nodes)
    acked = writer.snapshot()
    print(f"acked {len(acked)}; errors: "
          f"{sorted({(n, e[1][:50]) for n, errs in writer.errors.items() for e in errs})}")
    for n in others:
        conn_errs = [e for e in writer.errors.get(n.id, []) if e[0] != "ResponseError"]
        assert conn_errs == [], f"node {n.id} dropped connections: {conn_errs[:5]}"
    leader = c.wait_for_leader()
    for n in c.nodes:
        wait_caught_up(n, leader)
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lacks {len(bad)} acknowledged writes, e.g. {list(bad)[:5]}"


def test_sigterm_on_leader_hands_over_leadership(cluster_factory):
    c = cluster_factory(size=3)
    old = c.leader()
    info = raft(old)
    term_before = int(info["raft_term"])
    # Without a hand-over, no follower even starts an election before this much silence.
    election_timeout_min_s = int(info["raft_election_ticks"]) * int(info["raft_tick_ms"]) / 1000
    survivors = followers(c, old)
    writer = LoadWriter(c.nodes, threads=3, prefix="t").start()
    try:
        wait_until(lambda: len(writer.snapshot()) >= 100, timeout=30,
                   what="writes before SIGTERM")
        writer.retarget(survivors)  # writes to the stopping node may fail; to others they may not
        old.signal(signal.SIGTERM)
        t_term = time.monotonic()
        # The hand-over takes a round trip or two, not an election timeout (0.4-0.8 s) plus the
        # time followers need to notice the leader is gone.
        new = c.wait_for_leader(exclude=(old.id,), timeout=ELECTION_TIMEOUT_S)
        took = time.monotonic() - t_term
        old.proc.wait(timeout=10)
        t_gone = time.monotonic()
        wait_until(lambda: writer.acks_since(t_gone) >= 100, timeout=30,
                   what="writes after the old leader exited")
    finally:
        writer.stop()
    print(f"new leader {new.id} after {took:.3f}s; errors: {writer.errors}; "
          f"slowest per node: {writer.slowest_s}")
    assert int(raft(new)["raft_term"]) == term_before + 1, "more than one election happened"
    assert took < election_timeout_min_s, f"no hand-over: a new leader took {took:.2f}s"
    with open(old.log_path, "rb") as f:
        assert b"transferring leadership to" in f.read()
    for n in survivors:
        errs = writer.errors.get(n.id, [])
        conn_errs = [e for e in errs if e[0] != "ResponseError"]
        assert conn_errs == [], f"node {n.id} (not stopped) failed with {conn_errs[:5]}"
        timeouts = [e for e in errs if "TIMEOUT" in e[1]]
        assert timeouts == [], f"writes to node {n.id} timed out during hand-over: {timeouts[:3]}"
    acked = writer.snapshot()
    for n in survivors:
        bad = missing_or_wrong(n.client(), acked)
        assert not bad, f"node {n.id} lost {len(bad)} acknowledged writes"


def test_lost_majority_gives_clear_error_within_request_timeout(cluster_factory):
    c = cluster_factory(size=3, extra_args=["--request-timeout-ms", str(REQUEST_TIMEOUT_MS)])
    leader = c.leader()
    assert leader.client().set("before", "1") is True
    for victims in ([n for n in c.nodes if n is not leader],   # the leader is left alone
                    [n for n in c.nodes if n is leader][:1] + followers(c, leader)[:1]):
        alone = next(n for n in c.nodes if n not in victims)
        cl = alone.client(socket_timeout=REQUEST_TIMEOUT_MS / 1000 * 4)
        with stopped(*victims):
            for attempt in range(3):
                t0 = time.monotonic()
                with pytest.raises(redis.exceptions.ResponseError) as err:
                    cl.set(f"during-{alone.id}-{attempt}", "x")
                took = time.monotonic() - t0
                msg = str(err.value)
                assert msg.startswith(("TRYAGAIN", "TIMEOUT", "CLUSTERDOWN")), msg
                # Bounded by the request timeout plus a tick or two, never a hang.
                assert took < REQUEST_TIMEOUT_MS / 1000 + 1.0, f"error after {took:.2f}s"
            # A linearizable read cannot be confirmed either: also an error, not a stale answer.
            with pytest.raises(redis.exceptions.ResponseError):
                cl.get("before")
            # PING is answered locally.
            assert cl.ping() is True
        # SIGCONT: the cluster recovers and takes writes through the node left alone.
        wait_until(lambda: cl.set(f"after-{alone.id}", "y") is True, timeout=ELECTION_TIMEOUT_S,
                   what="a write to succeed after SIGCONT")
        for n in c.nodes:
            assert n.client().get(f"after-{alone.id}") == b"y"
            assert n.client().get("before") == b"1"


def test_leader_counts_the_read_index_requests_it_answers(cluster_factory):
    # INFO stats read_index_answered: the ReadIndex requests of other nodes the leader answered.
    # A linearizable read on a follower asks the leader; one on the leader or a READONLY read on
    # a follower does not.
    c = cluster_factory(size=3)
    leader = c.leader()
    f, other = followers(c, leader)
    assert leader.client().set("k", "v") is True

    def stats():  # (answered by the leader, rounds the followers started)
        return (int(leader.info("stats")["read_index_answered"]),
                sum(int(n.info("stats")["read_index_rounds"]) for n in (f, other)))
    answered, rounds = stats()
    reader = f.client(single_connection_client=True)
    for _ in range(5):  # one at a time: a round each
        assert reader.get("k") == b"v"
    assert reader.execute_command("READONLY") in (True, b"OK")
    assert reader.get("k") == b"v"
    for _ in range(3):
        assert leader.client().get("k") == b"v"
    answered_after, rounds_after = stats()
    assert rounds_after - rounds >= 5
    assert answered_after - answered >= 5
    assert answered_after - answered <= rounds_after - rounds
    reader.close()


def test_readonly_on_follower_serves_stale_local_reads(cluster_factory):
    c = cluster_factory(size=3, extra_args=["--request-timeout-ms", str(REQUEST_TIMEOUT_MS)])
    leader = c.leader()
    f, other = followers(c, leader)
    assert leader.client().set("k", "v1") is True
    wait_caught_up(f, leader)
    ro = f.client(single_connection_client=True, socket_timeout=10)
    assert ro.execute_command("READONLY") in (True, b"OK")
    assert ro.get("k") == b"v1"

    # Alone (the rest paused), the follower still answers READONLY reads from its own state at
    # once, while a linearizable read on the same connection after READWRITE cannot be confirmed.
    with stopped(leader, other):
        for _ in range(3):
            t0 = time.monotonic()
            assert ro.get("k") == b"v1"
            assert ro.mget("k", "nope") == [b"v1", None]
            assert time.monotonic() - t0 < 0.5
        assert ro.execute_command("READWRITE") in (True, b"OK")
        t0 = time.monotonic()
        with pytest.raises(redis.exceptions.ResponseError) as err:
            ro.get("k")
        assert str(err.value).startswith(("TRYAGAIN", "TIMEOUT")), str(err.value)
        assert time.monotonic() - t0 < REQUEST_TIMEOUT_MS / 1000 + 1.0
        assert ro.execute_command("READONLY") in (True, b"OK")
        assert ro.get("k") == b"v1"

    # After SIGCONT a write through another node is seen at once by a linearizable read on the
    # follower, and by its READONLY connection once it has applied it.
    writer = c.wait_for_leader(timeout=ELECTION_TIMEOUT_S)
    wait_until(lambda: writer.client().set("k", "v2") is True, timeout=ELECTION_TIMEOUT_S,
               what="a write after SIGCONT")
    assert f.client().get("k") == b"v2"
    wait_caught_up(f, writer)
    assert ro.get("k") == b"v2"
    assert ro.execute_command("READWRITE") in (True, b"OK")
    assert ro.get("k") == b"v2"
    ro.close()


def test_readonly_default_makes_new_connections_stale_readers(cluster_factory):
    c = cluster_factory(size=3, extra_args=["--request-timeout-ms", str(REQUEST_TIMEOUT_MS)])
    leader = c.leader()
    f, other = followers(c, leader)
    assert leader.client().set("k", "v1") is True
    wait_caught_up(f, leader)
    admin = f.client()
    assert admin.config_get("readonly-default") == {"readonly-default": "no"}
    with pytest.raises(redis.exceptions.ResponseError, match="must be 'yes' or 'no'"):
        admin.config_set("readonly-default", "maybe")
    assert admin.config_set("readonly-default", "yes") is True
    assert admin.config_get("readonly-default") == {"readonly-default": "yes"}

    # With the leader and the other follower paused, only a READONLY connection can answer: a
    # new connection does so without having sent READONLY, as redis-benchmark against a replica.
    with stopped(leader, other):
        fresh = f.client(single_connection_client=True, socket_timeout=10)
        assert fresh.get("k") == b"v1"
        assert fresh.client_info()["flags"] == "r"
        assert fresh.execute_command("READWRITE") in (True, b"OK")
        with pytest.raises(redis.exceptions.ResponseError) as err:
            fresh.get("k")
        assert str(err.value).startswith(("TRYAGAIN", "TIMEOUT")), str(err.value)
        # RESET returns the connection to the node's default.
        assert fresh.execute_command("RESET") in (b"RESET", "RESET")
        assert fresh.get("k") == b"v1"
        fresh.close()
    assert f.client().config_set("readonly-default", "no") is True


def test_write_forwarded_to_a_dead_leader_goes_to_the_next_one(cluster_factory):
    # A follower forwards a write to a leader that has just been killed. The frame never leaves
    # the follower (the link is down), so once a new leader exists the follower sends it there:
    # the client gets OK, not a TIMEOUT ("may or may not have been applied").
    c = cluster_factory(size=3, extra_args=["--request-timeout-ms", "20000"])
    leader = c.leader()
    f, other = followers(c, leader)
    assert leader.client().set("before", "1") is True
    wait_caught_up(f, leader)
    with stopped(other):  # no election can complete while only `f` runs
        leader.kill()
        peer = f"raft_peer{leader.id}"

        def link_down():
            v = f.info("raft")[peer]
            return v.get("link") == "down" if isinstance(v, dict) else "link=down" in str(v)
        wait_until(link_down, timeout=10, what="the follower to see its link to the leader down")
        assert str(raft(f)["raft_leader_id"]) == str(leader.id)  # it still believes in it
        result = {}

        def write():
            try:
                result["reply"] = f.client(socket_timeout=30).set("during", "x")
            except redis.RedisError as e:
                result["reply"] = e

        t = threading.Thread(target=write)
        t.start()
        wait_until(lambda: int(f.info("stats")["writes_forwarded"]) >= 1, timeout=10,
                   what="the write to be forwarded")
    t.join(timeout=30)  # `other` resumed: an election, then the write goes to the new leader
    assert result.get("reply") is True, result
    assert int(f.info("stats")["forwards_resent"]) >= 1
    new_leader = c.wait_for_leader(exclude=(leader,), timeout=ELECTION_TIMEOUT_S)
    assert new_leader.client().get("during") == b"x"


def test_write_path_counters_show_entries_per_fsync_and_per_append(cluster_factory):
    # INFO stats: the WAL's gathered writes, fdatasyncs and the entries they carried, and the
    # raft appends sent to peers with their entries (bench/write-cost reads these).
    c = cluster_factory(size=3)
    leader = c.leader()
    f, other = followers(c, leader)

    def counters(node):
        s = node.info("stats")
        return {k: int(s[k]) for k in ("wal_writes", "wal_fsyncs", "wal_entries_written",
                                       "raft_append_messages_sent", "raft_entries_sent")}
    before = {n.id: counters(n) for n in c.nodes}
    writes = 200
    pipe = leader.client().pipeline(transaction=False)
    for i in range(writes):
        pipe.set(f"k{i}", "v")
    assert all(r is True for r in pipe.execute())
    wait_caught_up(f, leader)
    wait_caught_up(other, leader)
    delta = {n.id: {k: v - before[n.id][k] for k, v in counters(n).items()} for n in c.nodes}
    d = delta[leader.id]
    # Every write is one entry in the leader's WAL and goes to both followers.
    assert d["wal_entries_written"] >= writes
    assert d["raft_entries_sent"] >= 2 * writes
    assert d["raft_append_messages_sent"] > 0
    # fsync always: one fdatasync per gathered write that carried something to keep.
    assert 0 < d["wal_fsyncs"] <= d["wal_writes"]
    for n in (f, other):
        assert delta[n.id]["wal_entries_written"] >= writes
        assert delta[n.id]["raft_entries_sent"] == 0  # followers send no appends
