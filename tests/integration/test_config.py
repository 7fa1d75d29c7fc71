"""CONFIG GET/SET/REWRITE, SHUTDOWN, DEBUG OBJECT and JSON logs against real node processes,
side by side with a real redis-server where Redis has the same command.

Run: BELLWETHER_BIN=build/bellwether \
     /usr/bin/python3 -m pytest -q tests/integration/test_config.py
"""
import json
import socket
import string
import subprocess

import pytest
import redis

from conftest import BIN, wait_until
from helpers import RawConn, log_tail, resp_command, stopped

NODE_EXIT_TIMEOUT_S = 30
SNAPSHOT_ENTRIES = 50  # --snapshot-entries of the JSON log test: a snapshot comes soon
# Parameters both servers have: CONFIG GET answers them in the same shape.
SHARED_PARAMS = ["appendfsync", "notify-keyspace-events", "slowlog-log-slower-than",
                 "slowlog-max-len", "latency-monitor-threshold", "proto-max-bulk-len", "loglevel",
                 "save", "appendonly", "databases", "maxmemory", "maxclients", "cluster-enabled"]
MUTABLE_VALUES = {  # a value other than the default for every run-time parameter
    "snapshot-entries": "5000",
    "snapshot-keep-entries": "100",
    "shutdown-transfer-ms": "1500",
    "readonly-default": "yes",
    "proto-max-bulk-len": "2097152",
    "client-output-bytes-max": "33554432",
    "notify-keyspace-events": "AKE",
    "slowlog-log-slower-than": "5",
    "slowlog-max-len": "16",
    "latency-monitor-threshold": "7",
    "loglevel": "debug",
}


def command(client, *args):
    return client.execute_command(*args)


def config_get(client, *patterns):
    """CONFIG GET as a dict of str, from the flat RESP2 array of name/value pairs."""
    flat = client.execute_command("CONFIG", "GET", *patterns)
    assert isinstance(flat, list) and len(flat) % 2 == 0, flat
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def error_of(client, *args):
    with pytest.raises(redis.exceptions.ResponseError) as e:
        client.execute_command(*args)
    return str(e.value)


def one_node(cluster_factory, extra_args=None):
    c = cluster_factory(1, extra_args=extra_args)
    return c, c.nodes[0]


def test_config_get_has_redis_reply_shape(cluster_factory, redis_server):
    _, node = one_node(cluster_factory)
    ours, theirs = node.client(), redis.Redis(port=redis_server)
    # The same flat array of name/value pairs (RESP2), one pair per matching parameter.
    for name in SHARED_PARAMS:
        a, b = config_get(ours, name), config_get(theirs, name)
        assert list(a) == [name] and list(b) == [name], (a, b)
    for pattern in ["slowlog-*", "SLOWLOG-*", "*max-len*", "no-such-parameter*"]:
        ours_names = {k for k in config_get(ours, pattern) if k in SHARED_PARAMS}
        theirs_names = {k for k in config_get(theirs, pattern) if k in SHARED_PARAMS}
        assert ours_names == theirs_names, pattern
    # Several patterns at once, each parameter once (Redis 7).
    raw = RawConn(node.port)
    try:
        raw.send(resp_command("CONFIG", "GET", "slowlog-max-len", "slowlog-*"))
        assert raw.read_line() == b"*4\r\n"
    finally:
        raw.close()
    both = config_get(ours, "slowlog-max-len", "slowlog-*")
    assert sorted(both) == ["slowlog-log-slower-than", "slowlog-max-len"], both
    # RESP3: a map.
    r3 = RawConn(node.port)
    try:
        r3.send(resp_command("HELLO", "3"))
        r3.read_until_closed(timeout=0.5)
        r3.send(resp_command("CONFIG", "GET", "slowlog-max-len"))
        assert r3.read_line() == b"%1\r\n"
    finally:
        r3.close()
    # Errors with Redis's text where both have the parameter.
    for args in [("CONFIG", "SET", "slowlog-max-len", "abc"),
                 ("CONFIG", "SET", "no-such-parameter", "1"),
                 ("CONFIG", "SET", "slowlog-max-len", "1", "slowlog-max-len", "2"),
                 ("CONFIG", "SET", "loglevel", "loud", "slowlog-max-len", "1")]:
        ours_error, theirs_error = error_of(ours, *args), error_of(theirs, *args)
        assert ours_error.split(" - ")[0] == theirs_error.split(" - ")[0], args
        if args[3] == "abc":
            assert ours_error == theirs_error


def test_config_set_every_mutable_parameter(cluster_factory):
    _, node = one_node(cluster_factory)
    c = node.client()
    for name, value in MUTABLE_VALUES.items():
        assert c.config_set(name, value) is True, name
        assert config_get(c, name) == {name: value}, name
    # Memory units, as Redis's.
    assert c.config_set("proto-max-bulk-len", "1mb")
    assert config_get(c, "proto-max-bulk-len") == {"proto-max-bulk-len": str(1 << 20)}


def test_config_set_is_all_or_none_and_refuses_immutable(cluster_factory):
    _, node = one_node(cluster_factory)
    c = node.client()
    before = config_get(c, "*")
    assert error_of(c, "CONFIG", "SET", "slowlog-max-len", "5", "proto-max-bulk-len", "12") == (
        "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
        "be between 1048576 and 1073741824 inclusive")
    assert error_of(c, "CONFIG", "SET", "slowlog-max-len", "5", "tick-ms", "10") == (
        "CONFIG SET failed (possibly related to argument 'tick-ms') - can't set immutable config")
    for name in ["appendfsync", "election-ticks", "log-format", "enable-debug-command", "port"]:
        assert error_of(c, "CONFIG", "SET", name, "1") == (
            f"CONFIG SET failed (possibly related to argument '{name}') - can't set immutable "
            "config")
    assert config_get(c, "*") == before
    # Both at once when both are good.
    c.execute_command("CONFIG", "SET", "slowlog-max-len", "5", "latency-monitor-threshold", "9")
    after = config_get(c, "*")
    assert after["slowlog-max-len"] == "5" and after["latency-monitor-threshold"] == "9"


def test_config_set_takes_effect(cluster_factory):
    _, node = one_node(cluster_factory)
    c = node.client()
    # notify-keyspace-events: events flow at once.
    p = c.pubsub()
    p.subscribe("__keyevent@0__:set")
    wait_until(lambda: p.get_message(timeout=0.1) is not None, what="subscribe confirmation")
    c.config_set("notify-keyspace-events", "E$")
    c.set("k", "v")
    event = wait_until(lambda: p.get_message(timeout=0.1), what="keyevent message")
    assert event["data"] == b"k"
    p.close()
    # proto-max-bulk-len: a bulk one byte over the limit is refused, also on a connection
    # opened before the change.
    conn = RawConn(node.port)
    try:
        conn.send(resp_command("PING"))
        assert conn.read_line() == b"+PONG\r\n"
        c.config_set("proto-max-bulk-len", "1mb")
        conn.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % ((1 << 20) + 1))
        data, closed = conn.read_until_closed()
        assert data.startswith(b"-ERR Protocol error: invalid bulk length") and closed, data
    finally:
        conn.close()
    c.config_set("proto-max-bulk-len", "2mb")
    fresh = node.client()
    assert fresh.set("big", b"x" * ((1 << 20) + 1)) is True
    # readonly-default: new connections start READONLY (CLIENT INFO flags=r).
    c.config_set("readonly-default", "yes")
    assert "flags=r" in node.client().execute_command("CLIENT", "INFO").decode()


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_file(path):
    with open(path) as f:
        return f.read()


def test_config_rewrite_round_trip(cluster_factory, tmp_path):
    cluster = cluster_factory(1, start=False)
    node = cluster.nodes[0]
    conf = str(tmp_path / "node.conf")
    write_file(conf, "# kept comment\nslowlog-max-len = 64\nnotify-keyspace-events = \"KEA\"\n")
    node.extra_args = ["--config", conf]
    cluster.start()
    c = node.client()
    assert config_get(c, "slowlog-max-len") == {"slowlog-max-len": "64"}
    c.execute_command("CONFIG", "SET", "slowlog-max-len", "77", "notify-keyspace-events", "",
                      "loglevel", "warning", "readonly-default", "yes", "snapshot-entries", "999")
    running = config_get(c, "*")
    assert c.execute_command("CONFIG", "REWRITE") == b"OK"
    text = read_file(conf)
    lines = text.splitlines()
    assert lines[0] == "# kept comment"
    assert lines[1] == "slowlog-max-len = 77"
    assert lines[2] == 'notify-keyspace-events = ""'
    assert "# Generated by CONFIG REWRITE" in lines
    assert f'data-dir = "{node.data_dir}"' in lines and "readonly-default = true" in lines

    # loglevel takes effect at once: the info line of a rewrite is dropped at warning.
    marker = "CONFIG REWRITE wrote"
    assert read_file(node.log_path).count(marker) == 0  # loglevel was warning
    c.config_set("loglevel", "info")
    assert c.execute_command("CONFIG", "REWRITE") == b"OK"
    wait_until(lambda: read_file(node.log_path).count(marker) == 1, what="the info line")
    c.config_set("loglevel", "warning")
    assert c.execute_command("CONFIG", "REWRITE") == b"OK"
    assert c.ping()
    assert read_file(node.log_path).count(marker) == 1
    running = config_get(c, "*")

    # The rewritten file alone starts the same node with the same configuration.
    node.stop()
    assert node.proc.returncode == 0, log_tail(node)
    node.log = open(node.log_path, "ab")
    node.proc = subprocess.Popen([BIN, "server", "--config", conf], stdout=node.log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_until(lambda: node.role() == "leader", what="restarted node to lead")
    assert config_get(node.client(), "*") == running, log_tail(node)
    assert node.client().get("k") is None  # the same data directory (empty) serves


def test_config_rewrite_without_file(cluster_factory, redis_server):
    _, node = one_node(cluster_factory)
    ours = error_of(node.client(), "CONFIG", "REWRITE")
    assert ours == error_of(redis.Redis(port=redis_server), "CONFIG", "REWRITE")
    assert ours == "The server is running without a config file"


def test_config_resetstat(cluster_factory, redis_server):
    _, node = one_node(cluster_factory)
    c = node.client()
    c.set("a", "1")
    counted = "cmdstat_set" in c.info("commandstats")  # once INFO reports per-command counts
    assert c.execute_command("CONFIG", "RESETSTAT") == b"OK"
    assert redis.Redis(port=redis_server).execute_command("CONFIG", "RESETSTAT") == b"OK"
    if counted:
        assert "cmdstat_set" not in c.info("commandstats")


def test_shutdown_on_leader_hands_over_and_exits_zero(cluster_factory):
    cluster = cluster_factory(3)
    leader = cluster.wait_for_leader()
    leader.client().set("before", "1")
    with pytest.raises(redis.exceptions.ConnectionError):
        leader.client().execute_command("SHUTDOWN", "NOSAVE")
    wait_until(lambda: leader.proc.poll() is not None, timeout=NODE_EXIT_TIMEOUT_S,
               what="the node to exit")
    assert leader.proc.returncode == 0, log_tail(leader)
    successor = cluster.wait_for_leader(exclude=(leader.id,))
    assert successor.client().get("before") == b"1"
    # Handed over, not elected after a timeout: the log says so.
    assert "transferring leadership to" in log_tail(leader, lines=50)


def test_shutdown_syntax_and_abort(cluster_factory, redis_server):
    cluster = cluster_factory(3, extra_args=["--shutdown-transfer-ms", "30000"])
    leader = cluster.wait_for_leader()
    c, theirs = leader.client(), redis.Redis(port=redis_server)
    for args in [("SHUTDOWN", "ABORT"), ("SHUTDOWN", "ABORT", "NOW"), ("SHUTDOWN", "SAVE", "NOSAVE"),
                 ("SHUTDOWN", "LATER")]:
        assert error_of(c, *args) == error_of(theirs, *args), args
    assert error_of(c, "SHUTDOWN", "ABORT") == "No shutdown in progress."
    followers = [n for n in cluster.nodes if n is not leader]
    # With the followers paused the hand-over cannot finish: the shutdown stays pending.
    with stopped(*followers):
        caller = RawConn(leader.port)
        try:
            assert caller.send(resp_command("SHUTDOWN"))
            aborter = RawConn(leader.port)
            try:
                assert aborter.send(resp_command("SHUTDOWN", "ABORT"))
                assert aborter.read_line() == b"+OK\r\n"
            finally:
                aborter.close()
            assert caller.read_line() == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        finally:
            caller.close()
    assert leader.alive()
    wait_until(lambda: leader.client().ping(), what="the node to serve after ABORT")
    cluster.wait_for_leader()


def start_debug_redis():
    """A redis-server with DEBUG enabled (the shared fixture's has it off); stopped by PID."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    wait_until(client.ping, what="redis-server with DEBUG")
    return proc, client


def debug_fields(line):
    return dict(item.split(":", 1) for item in line.split(" ")[1:])


def test_debug_object_matches_redis(cluster_factory):
    _, node = one_node(cluster_factory, extra_args=["--enable-debug-command", "yes"])
    proc, theirs = start_debug_redis()
    try:
        ours = node.client()
        values = {"small": "hello", "shared-int": "100", "int": "123456", "big-int": "-70000",
                  "long-int": "12345678901", "zero-lead": "0123", "embstr": string.ascii_letters[:44],
                  "raw": string.ascii_letters[:50]}
        for key, value in values.items():
            ours.set(key, value)
            theirs.set(key, value)
            a = ours.execute_command("DEBUG", "OBJECT", key).decode()
            b = theirs.execute_command("DEBUG", "OBJECT", key).decode()
            assert a.startswith("Value at:0x"), a
            fa, fb = debug_fields(a), debug_fields(b)
            for f in ["refcount", "encoding", "serializedlength"]:
                assert fa[f] == fb[f], (key, f, a, b)
            assert fa["lru_seconds_idle"] == "0", a
            assert list(fa) == list(fb), (a, b)
        assert error_of(ours, "DEBUG", "OBJECT", "missing") == error_of(
            theirs, "DEBUG", "OBJECT", "missing") == "no such key"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def json_lines(node):
    with open(node.log_path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_json_logs(cluster_factory):
    cluster = cluster_factory(3, extra_args=["--log-format", "json", "--snapshot-entries",
                                             str(SNAPSHOT_ENTRIES)])
    first = cluster.wait_for_leader()
    old_term = int(first.info()["raft_term"])
    writer = first.client()
    for i in range(2 * SNAPSHOT_ENTRIES):
        writer.set(f"k{i}", i)

    def snapshots():
        return [r for n in cluster.nodes for r in json_lines(n)
                if r.get("event") == "snapshot_written"]
    snap = wait_until(snapshots, what="a snapshot_written event")[0]
    assert snap["index"] >= SNAPSHOT_ENTRIES and snap["keys"] > 0 and snap["ms"] >= 0, snap
    for node in cluster.nodes:
        records = json_lines(node)  # every line parses
        assert records
        for r in records:
            assert set(r) >= {"time", "level", "node", "group", "term", "msg"}, r
            assert r["group"] == 1
        assert any(r.get("event") == "node_started" and r["node"] == node.id for r in records)
    first.stop()
    assert first.proc.returncode == 0
    successor = cluster.wait_for_leader(exclude=(first.id,))

    def announced():
        return [r for n in cluster.nodes if n is not first for r in json_lines(n)
                if r.get("event") == "leader_changed" and r.get("leader") == successor.id
                and r["term"] > old_term]
    events = wait_until(announced, what="a leader_changed event naming the new leader")
    assert all(e["role"] in ("leader", "follower") for e in events), events
    stopped_events = [r for r in json_lines(first) if r.get("event") == "node_stopped"]
    assert stopped_events and stopped_events[-1]["node"] == first.id
