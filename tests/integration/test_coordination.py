"""Coordination features against a real 3-node cluster: versions, transactions, elections with
fencing, leases across failover, notifications and client-side caching on followers."""
import random
import signal
import socket
import threading
import time

import pytest
import redis

from conftest import wait_until
from helpers import resp_command


def leader_and_followers(cluster):
    leader = cluster.wait_for_leader()
    return leader, [n for n in cluster.nodes if n is not leader]


def test_versions_and_cas_across_nodes(cluster_factory):
    c = cluster_factory()
    a, b = c.nodes[0].client(), c.nodes[2].client()
    a.set("cfg", "v1")
    value, version = b.execute_command("GETVER", "cfg")
    assert value == b"v1" and version > 0
    # CAS with the right version wins once; the same version then loses.
    assert b.execute_command("CAS", "cfg", version, "v2") > version
    assert a.execute_command("CAS", "cfg", version, "v3") == 0
    assert a.get("cfg") == b"v2"
    _, v2 = a.execute_command("GETVER", "cfg")
    assert v2 > version
    assert a.execute_command("SET", "cfg", "v4", "IFVER", v2) is True
    assert a.execute_command("SET", "cfg", "v5", "IFVER", v2) is None


def test_watch_multi_exec_across_nodes(cluster_factory):
    c = cluster_factory()
    a, b = c.nodes[1].client(), c.nodes[2].client()
    a.set("balance", 10)
    # A change by another client between WATCH and EXEC aborts the transaction.
    with a.pipeline(transaction=True) as p:
        p.watch("balance")
        b.incr("balance")
        p.multi()
        p.decrby("balance", 5)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert int(a.get("balance")) == 11
    # Without interference it applies atomically and answers every command.
    with a.pipeline(transaction=True) as p:
        p.watch("balance")
        p.multi()
        p.decrby("balance", 5)
        p.set("audit", "debited")
        p.get("balance")
        assert p.execute() == [6, True, b"6"]
    assert b.get("audit") == b"debited"


def test_campaigning_clients_never_see_two_holders(cluster_factory):
    """Several clients campaign for one name on random nodes; over the recorded history, no two
    holders' safe intervals overlap and tokens grow with every new holder."""
    c = cluster_factory()
    ttl_ms = 400
    wins = []  # (received, safe_until, token, candidate)
    lock = threading.Lock()
    stop_at = time.monotonic() + 6

    def worker(name):
        rng = random.Random(name)
        clients = [n.client(socket_timeout=5) for n in c.nodes]
        attempts = 0
        while time.monotonic() < stop_at and attempts < 500:
            attempts += 1
            cl = rng.choice(clients)
            sent = time.monotonic()
            try:
                won, holder, token, _ = cl.execute_command("ELECT", "job", name, ttl_ms)
            except redis.exceptions.RedisError:
                continue
            received = time.monotonic()
            if won != 1:
                time.sleep(rng.uniform(0.005, 0.03))  # pacing the workload, not waiting
                continue
            assert holder.decode() == name
            time.sleep(rng.uniform(0, 0.15))  # "work" while holding
            resign_sent = time.monotonic()
            safe_until = min(sent + ttl_ms / 1000.0, resign_sent)
            try:
                cl.execute_command("ELECT.RESIGN", "job", token)
            except redis.exceptions.RedisError:
                pass  # the holder then simply expires
            with lock:
                wins.append((received, safe_until, token, name))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(wins) >= 8, f"too few wins to judge: {len(wins)}"
    wins.sort()
    for prev, nxt in zip(wins, wins[1:]):
        assert nxt[2] > prev[2], f"token did not grow: {prev} then {nxt}"
        assert nxt[0] >= prev[1], f"two holders at once: {prev} and {nxt}"


def test_fencing_rejects_a_paused_former_holder(cluster_factory):
    c = cluster_factory()
    a, b = c.nodes[0].client(), c.nodes[1].client()
    won, _, t1, _ = a.execute_command("ELECT", "writer", "a", 500)
    assert won == 1
    assert a.execute_command("SET", "data", "from-a", "FENCE", "writer", t1) is True
    # a is "paused" past its TTL: b takes over (blocking until the name is free).
    won, holder, t2, _ = b.execute_command("ELECT", "writer", "b", 5000, "BLOCK", 5000)
    assert won == 1 and holder == b"b" and t2 > t1
    with pytest.raises(redis.ResponseError, match="stale"):
        a.execute_command("SET", "data", "late-from-a", "FENCE", "writer", t1)
    assert b.get("data") == b"from-a"
    assert b.execute_command("SET", "data", "from-b", "FENCE", "writer", t2) is True


def test_lease_survives_failover_then_expires(cluster_factory):
    c = cluster_factory()
    leader, followers = leader_and_followers(c)
    cl = followers[0].client()
    lease = cl.execute_command("LEASE", "GRANT", 1500)
    cl.execute_command("SET", "session:1", "alive", "LEASE", lease)
    granted = time.monotonic()
    leader.kill()
    c.wait_for_leader(exclude=(leader.id,))
    # The new leader extends live leases before expiring any: the key outlives the failover.
    assert cl.get("session:1") == b"alive"
    # Without keepalives it does expire, and its key with it.
    wait_until(lambda: cl.get("session:1") is None, timeout=15, what="lease expiry")
    assert time.monotonic() - granted >= 1.5
    assert cl.execute_command("LEASE", "TTL", lease) == -2


def test_lease_keepalive_keeps_keys(cluster_factory):
    c = cluster_factory()
    cl = c.nodes[2].client()
    lease = cl.execute_command("LEASE", "GRANT", 600)
    cl.execute_command("SET", "member:x", "1", "LEASE", lease)
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        assert cl.execute_command("LEASE", "KEEPALIVE", lease) > 0
        assert cl.get("member:x") == b"1"
        time.sleep(0.15)  # keepalive period
    assert cl.execute_command("LEASE", "REVOKE", lease) == 1
    assert cl.get("member:x") is None


def test_keyspace_notifications_on_followers(cluster_factory):
    c = cluster_factory()
    leader, followers = leader_and_followers(c)
    follower = followers[0]
    follower.client().config_set("notify-keyspace-events", "KEA")
    ps = follower.client().pubsub()
    ps.psubscribe("__keyevent@0__:*")
    wait_until(lambda: ps.get_message(timeout=0.1), what="psubscribe confirmation")
    w = leader.client()
    for i in range(5):
        w.set(f"n{i}", i)
    w.delete("n0")
    got = []
    deadline = time.monotonic() + 10
    while len(got) < 6 and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"].decode(), m["data"].decode()))
    assert got == [("__keyevent@0__:set", f"n{i}") for i in range(5)] + [("__keyevent@0__:del", "n0")]
    ps.close()


def test_publish_reaches_every_node_once_in_order(cluster_factory):
    c = cluster_factory()
    subs = []
    for n in c.nodes:
        ps = n.client().pubsub()
        ps.subscribe("news")
        wait_until(lambda: ps.get_message(timeout=0.1), what="subscribe confirmation")
        subs.append(ps)
    pub = c.nodes[1].client()
    for i in range(20):
        pub.publish("news", f"m{i}")
    for ps in subs:
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 20 and time.monotonic() < deadline:
            m = ps.get_message(timeout=0.2)
            if m and m["type"] == "message":
                got.append(m["data"].decode())
        assert got == [f"m{i}" for i in range(20)]
        assert ps.get_message(timeout=0.3) is None  # exactly once
        ps.close()


def read_until(sock, needle, timeout=10):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def test_resp3_tracking_invalidation_on_a_follower(cluster_factory):
    c = cluster_factory()
    leader, followers = leader_and_followers(c)
    leader.client().set("cached", "1")
    s = socket.create_connection(("127.0.0.1", followers[0].port))
    s.sendall(resp_command("HELLO", 3))
    assert b"proto" in read_until(s, b"modules")
    s.sendall(resp_command("CLIENT", "TRACKING", "on"))
    assert read_until(s, b"+OK\r\n").endswith(b"+OK\r\n")
    s.sendall(resp_command("GET", "cached"))
    assert read_until(s, b"$1\r\n1\r\n").endswith(b"$1\r\n1\r\n")
    leader.client().set("cached", "2")
    push = read_until(s, b"cached\r\n")
    assert push == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\ncached\r\n"
    s.close()
