"""Aggregate types (hashes, sets) against real node processes and, where the behaviour is Redis's,
side by side with a real redis-server: keyspace notifications, replication to every node,
recovery from snapshot and log after a restart, and redis-py's own helpers.

The command replies themselves are golden scripts (src/kv/testdata/*.golden, run by
test_commands.py against both servers).

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_types.py
"""
import os
import subprocess
import sys
import threading
import time

import pytest
import redis

from conftest import BIN, free_port_block, wait_until
from helpers import wait_caught_up

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTIFY_TIMEOUT_S = 10
SNAPSHOT_ENTRIES = 200


def events(client, flags, commands):
    """(channel, message) pairs `commands` make `client`'s server publish under `flags`."""
    client.config_set("notify-keyspace-events", flags)
    ps = client.pubsub()
    ps.psubscribe("__key*__:*")
    wait_until(lambda: ps.get_message(timeout=0.1), what="psubscribe confirmation")
    for cmd in commands:
        try:
            client.execute_command(*cmd)
        except redis.ResponseError:
            pass
    # A marker write in the string class: once its event arrives, every earlier one has.
    client.config_set("notify-keyspace-events", "KE$")
    client.set("marker", "1")
    got = []
    deadline = time.monotonic() + NOTIFY_TIMEOUT_S
    while time.monotonic() < deadline:
        m = ps.get_message(timeout=0.2)
        if m is None or m["type"] != "pmessage":
            continue
        pair = (m["channel"].decode(), m["data"].decode())
        if pair[1] == "marker" or pair[0].endswith(":marker"):
            break
        got.append(pair)
    else:
        raise AssertionError("marker event not received")
    ps.close()
    client.delete("marker")
    return got


HASH_COMMANDS = [
    ("HSET", "h", "a", "1", "b", "2"),
    ("HSETNX", "h", "a", "x"),        # no change: no event
    ("HINCRBY", "h", "n", "5"),
    ("HINCRBYFLOAT", "h", "f", "1.5"),
    ("HDEL", "h", "nofield"),         # no change: no event
    ("HSET", "s", "x", "1"),
    ("SET", "s", "plain"),            # a string over a hash
    ("HDEL", "h", "a", "b", "n", "f"),  # the last fields: hdel, then del
    ("HSET", "e", "f", "v"),
    ("EXPIRE", "e", "100"),
    ("RENAME", "e", "e2"),
]


def test_hash_notifications_match_redis(cluster_factory, redis_server):
    c = cluster_factory()
    ours = c.wait_for_leader().client()
    theirs = redis.Redis(port=redis_server)
    for flags in ("KEA", "KEh", "Kh$", "Eg"):
        ours.flushall()
        theirs.flushall()
        expected = events(theirs, flags, HASH_COMMANDS)
        assert expected, flags  # each flag set sees something
        assert events(ours, flags, HASH_COMMANDS) == expected, flags
    assert ours.config_get("notify-keyspace-events") == theirs.config_get("notify-keyspace-events")
    for flags in ("KEhs", "Kls", "EA", "Ezt"):
        ours.config_set("notify-keyspace-events", flags)
        theirs.config_set("notify-keyspace-events", flags)
        assert (ours.config_get("notify-keyspace-events") ==
                theirs.config_get("notify-keyspace-events")), flags


def all_hashes(client, names):
    return {n: client.hgetall(n) for n in names}


def test_hashes_replicate_and_recover_from_snapshot_and_log(cluster_factory):
    c = cluster_factory(extra_args=["--snapshot-entries", str(SNAPSHOT_ENTRIES)])
    leader = c.wait_for_leader()
    w = leader.client()
    names = [f"user:{i}" for i in range(20)]
    p = w.pipeline(transaction=False)
    for round_ in range(30):  # 600 writes: several snapshots
        for n in names:
            p.hset(n, mapping={f"f{round_}": round_, "last": round_})
        if round_ % 5 == 4:
            p.hdel(names[round_ % 20], f"f{round_ - 1}")
        p.hincrby("counters", "writes", len(names))
    p.execute()
    expected = all_hashes(w, names + ["counters"])
    assert expected["counters"] == {b"writes": b"600"}
    assert len(expected["user:0"]) == 31
    for node in c.nodes:
        if node is leader:
            continue
        wait_caught_up(node, leader)
        ro = node.client(single_connection_client=True)
        ro.execute_command("READONLY")
        assert all_hashes(ro, names + ["counters"]) == expected, node.id
        ro.close()
    # A follower killed and restarted recovers its hashes from its snapshot and log.
    follower = next(n for n in c.nodes if n is not leader)
    follower.kill()
    w.hset("user:0", "after", "restart")
    expected["user:0"][b"after"] = b"restart"
    follower.start()
    wait_until(lambda: follower.alive() and follower.info()["raft_role"] == "follower",
               what="restarted follower")
    wait_caught_up(follower, leader)
    ro = follower.client(single_connection_client=True)
    ro.execute_command("READONLY")
    assert all_hashes(ro, names + ["counters"]) == expected
    # Linearizable reads on the follower see a write acknowledged by the leader at once.
    w.hset("user:1", "fresh", "1")
    assert follower.client().hget("user:1", "fresh") == b"1"


def test_redis_py_hash_helpers(cluster_factory, redis_server):
    c = cluster_factory()
    for client in (c.wait_for_leader().client(), redis.Redis(port=redis_server)):
        client.flushall()
        assert client.hset("u", mapping={"name": "ada", "age": 36}) == 2
        assert client.hgetall("u") == {b"name": b"ada", b"age": b"36"}
        assert client.hincrby("u", "age", 1) == 37
        assert client.hincrbyfloat("u", "score", 0.5) == 0.5
        assert client.hmget("u", ["name", "nope"]) == [b"ada", None]
        assert client.hrandfield("u", 10, withvalues=True)[::2] == [b"name", b"age", b"score"]
        big = {f"field:{i}": i for i in range(1000)}
        client.hset("big", mapping=big)
        seen = [k for k, _ in client.hscan_iter("big", count=50)]
        assert sorted(seen) == sorted(k.encode() for k in big)  # each field once
        assert client.hlen("big") == 1000
        assert client.type("big") == b"hash"
        assert client.delete("big", "u") == 2


def raw_replies(port, commands, count):
    """Sends `commands` on one raw connection and reads `count` replies (pushes included)."""
    conn = redis.Connection(port=port, socket_timeout=10)
    conn.connect()
    for cmd in commands:
        conn.send_command(*cmd)
    out = []
    for _ in range(count):
        try:
            out.append(conn.read_response())
        except redis.ResponseError as e:
            out.append(f"(error) {e}")
    return conn, out


SUBSCRIBER = [
    ("SUBSCRIBE", "a"), ("SUBSCRIBE", "a", "a", "b"), ("PSUBSCRIBE", "[as]*"),
    ("SSUBSCRIBE", "s1", "s1"), ("SSUBSCRIBE", "s2"), ("GET", "k"),
]
SUBSCRIBER_REPLIES = 9  # one confirmation per channel named (8), then GET's error


def test_pubsub_matches_redis(cluster_factory, redis_server):
    c = cluster_factory()
    node = c.wait_for_leader()
    seen = {}
    for name, port in (("redis", redis_server), ("bellwether", node.port)):
        sub, confirmations = raw_replies(port, SUBSCRIBER, SUBSCRIBER_REPLIES)
        r = redis.Redis(port=port)
        r.response_callbacks = {}
        # Channel lists come in Redis's hash table order: compared sorted.
        state = [sorted(r.execute_command("PUBSUB", "CHANNELS")),
                 sorted(r.execute_command("PUBSUB", "CHANNELS", "[ab]")),
                 r.execute_command("PUBSUB", "NUMSUB", "a", "b", "nobody"),
                 r.execute_command("PUBSUB", "NUMPAT"),
                 sorted(r.execute_command("PUBSUB", "SHARDCHANNELS")),
                 r.execute_command("PUBSUB", "SHARDNUMSUB", "s1", "a"),
                 r.execute_command("PUBSUB", "HELP")]
        counts = [r.publish("a", "m1"), r.publish("s1", "m2"),
                  r.execute_command("SPUBLISH", "s1", "m3"), r.execute_command("SPUBLISH", "a", "m4")]
        delivered = [sub.read_response() for _ in range(4)]  # message, pmessage, pmessage, smessage
        sub.send_command("UNSUBSCRIBE")
        sub.send_command("PUNSUBSCRIBE")
        sub.send_command("SUNSUBSCRIBE", "s1", "s2")
        unsub = [sub.read_response() for _ in range(5)]
        after = [r.publish("a", "m5"), r.execute_command("SPUBLISH", "s1", "m6"),
                 r.execute_command("PUBSUB", "NUMSUB", "a"), r.execute_command("PUBSUB", "CHANNELS")]
        errors = []
        for bad in (("PUBSUB", "NOPE"), ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "NUMPAT", "x")):
            try:
                r.execute_command(*bad)
            except redis.ResponseError as e:
                errors.append(str(e))
        sub.disconnect()
        # UNSUBSCRIBE without arguments goes through the channels in Redis's hash table order,
        # which the counts in between follow: compared are the channels and the final counts.
        unsub_sorted = (sorted((m[0], m[1]) for m in unsub), unsub[1][2], unsub[2][2], unsub[4][2])
        seen[name] = (confirmations, state, counts, delivered, unsub_sorted, after, errors)
    assert seen["bellwether"] == seen["redis"]


def test_blocking_pops_on_any_node(cluster_factory):
    c = cluster_factory()
    leader = c.wait_for_leader()
    follower = next(n for n in c.nodes if n is not leader)
    result = {}

    def consume():
        result["blpop"] = follower.client(socket_timeout=30).blpop(["q1", "q2"], timeout=20)

    t = threading.Thread(target=consume)
    t.start()
    # The consumer waits: its node holds it until an entry gives one of its lists an element.
    wait_until(lambda: follower.client().execute_command("CLIENT", "LIST").count(b"cmd=blpop") == 1,
               what="consumer blocked")
    assert leader.client().rpush("q2", "job") == 1
    t.join(timeout=20)
    assert result["blpop"] == (b"q2", b"job")
    assert leader.client().exists("q2") == 0
    # Out of time: nil, after the timeout.
    start = time.monotonic()
    assert follower.client().blpop(["empty"], timeout=0.3) is None
    assert time.monotonic() - start >= 0.3
    assert follower.client().blmove("empty", "dst", 0.1, "LEFT", "RIGHT") is None
    assert follower.client().execute_command("BLMPOP", "0.1", "1", "empty", "LEFT") is None
    # Available at once: no waiting, every form.
    w = leader.client()
    w.rpush("src", "a", "b", "c", "d")
    assert follower.client().brpop(["src"], timeout=1) == (b"src", b"d")
    assert follower.client().blmove("src", "dst", 1, "LEFT", "RIGHT") == b"a"
    assert follower.client().brpoplpush("src", "dst", 1) == b"c"
    assert follower.client().execute_command("BLMPOP", "1", "1", "src", "LEFT", "COUNT", "5") == \
        [b"src", [b"b"]]
    assert w.lrange("dst", 0, -1) == [b"c", b"a"]
    # Errors as Redis's, before any waiting.
    for cmd, err in ((("BLPOP", "k", "x"), "timeout is not a float or out of range"),
                     (("BLPOP", "k", "-1"), "timeout is negative"),
                     (("BLMOVE", "a", "b", "UP", "LEFT", "0"), "syntax error")):
        with pytest.raises(redis.ResponseError, match=err):
            follower.client().execute_command(*cmd)
    w.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        follower.client().blpop(["str"], timeout=1)


def test_blocked_consumers_on_every_node_get_each_element_once(cluster_factory):
    c = cluster_factory()
    leader = c.wait_for_leader()
    got = []
    lock = threading.Lock()
    done = threading.Event()

    def consume(node):
        cl = node.client(socket_timeout=30)
        while not done.is_set():
            r = cl.blpop(["jobs"], timeout=0.5)
            if r is not None:
                with lock:
                    got.append(r[1])

    threads = [threading.Thread(target=consume, args=(n,)) for n in c.nodes for _ in range(2)]
    for t in threads:
        t.start()
    w = leader.client()
    jobs = [f"job{i}".encode() for i in range(300)]
    for i in range(0, len(jobs), 10):
        w.rpush("jobs", *jobs[i:i + 10])
    wait_until(lambda: len(got) >= len(jobs), timeout=60, what="every job consumed")
    done.set()
    for t in threads:
        t.join(timeout=30)
    assert sorted(got) == sorted(jobs)  # each exactly once
    assert w.llen("jobs") == 0


def test_work_queue_example_survives_a_leader_kill():
    base = free_port_block(3)
    env = dict(os.environ, BELLWETHER_BIN=BIN, BELLWETHER_EXAMPLE_PORT=str(base))
    out = subprocess.run([sys.executable, os.path.join(REPO, "examples", "work_queue.py")],
                         env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "acknowledged jobs lost: 0; handed out twice: 0" in out.stdout
    assert "SIGKILL the leader" in out.stdout


OBJECT_SETUP = [
    ("SET", "int", "12345"), ("SET", "big", "123456789012345678901"), ("SET", "emb", "x" * 44),
    ("SET", "raw", "x" * 45), ("SET", "neg", "-7"), ("SET", "lead", "007"),
    ("HSET", "hsmall", "f", "v"), ("HSET", "hlong", "f", "v" * 65),
    ("HSET", "hmany", *[str(i) for i in range(2 * 513)]), ("HSET", "h129", *[str(i) for i in range(2 * 129)]),
    ("RPUSH", "list", "a"), ("SADD", "ints", "3", "1", "2"), ("SADD", "strs", "a", "1"),
    ("SADD", "manyints", *[str(i) for i in range(513)]),
]
OBJECT_QUERIES = [("OBJECT", "ENCODING", k) for k in
                  ("int", "big", "emb", "raw", "neg", "lead", "hsmall", "hlong", "hmany", "list",
                   "ints", "strs", "manyints", "h129", "nokey")] + [
    ("OBJECT", "REFCOUNT", "int"), ("OBJECT", "REFCOUNT", "big"), ("OBJECT", "REFCOUNT", "nokey"),
    ("OBJECT", "ENCODING"), ("OBJECT", "ENCODING", "a", "b"), ("OBJECT", "NOPE", "x"),
]


def test_object_encoding_matches_redis(cluster_factory, redis_server):
    c = cluster_factory()
    answers = {}
    for name, client in (("redis", redis.Redis(port=redis_server)),
                         ("bellwether", c.wait_for_leader().client())):
        client.response_callbacks = {}
        for cmd in OBJECT_SETUP:
            client.execute_command(*cmd)
        got = []
        for q in OBJECT_QUERIES:
            try:
                got.append(client.execute_command(*q))
            except redis.ResponseError as e:
                got.append(f"(error) {e}")
        answers[name] = got
    assert answers["bellwether"] == answers["redis"]
