"""Bad protocol input over raw sockets: each case gets an error reply and that one connection
closed, while the node stays up and clients connected before and during carry on.

Where Redis answers the same input the same way, the expectation is first checked against a real
redis-server (same error text, same close).

Run: BELLWETHER_BIN=build/bellwether \
     /usr/bin/python3 -m pytest -q tests/integration/test_bad_input.py
"""
import random
import threading
import time

import pytest
import redis

from conftest import Cluster, wait_until
from helpers import RawConn, resp_command

INLINE_BYTES_MAX = 64 << 10
ARGS_OVER_LIMIT = 100001
BYSTANDER_OPS_MAX = 100000


def _garbage(seed, size):
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(size))


# (name, bytes sent, exact error line expected, same answer from redis-server)
CASES = [
    ("bulk-1GiB", b"*1\r\n$1073741824\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n", True),
    ("bulk-negative", b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n", True),
    ("bulk-not-a-number", b"*1\r\n$abc\r\nxyz\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n", True),
    ("bulk-huge-number", b"*1\r\n$99999999999999999999999\r\n",
     b"-ERR Protocol error: invalid bulk length\r\n", True),
    ("multibulk-not-a-number", b"*x1\r\n", b"-ERR Protocol error: invalid multibulk length\r\n",
     True),
    ("multibulk-huge", b"*99999999999999\r\n",
     b"-ERR Protocol error: invalid multibulk length\r\n", True),
    ("multibulk-missing-dollar", b"*2\r\n$3\r\nGET\r\nkey\r\n",
     b"-ERR Protocol error: expected '$', got 'k'\r\n", True),
    ("args-100001-header", b"*%d\r\n$1\r\nx\r\n" % ARGS_OVER_LIMIT,
     b"-ERR Protocol error: invalid multibulk length\r\n", False),
    ("mbulk-count-line-over-64KiB", b"*" + b"1" * (INLINE_BYTES_MAX + 100),
     b"-ERR Protocol error: too big mbulk count string\r\n", True),
    ("bulk-count-line-over-64KiB", b"*1\r\n$" + b"2" * (INLINE_BYTES_MAX + 100),
     b"-ERR Protocol error: too big bulk count string\r\n", True),
    ("inline-unterminated-over-64KiB", b"A" * (INLINE_BYTES_MAX + 1000),
     b"-ERR Protocol error: too big inline request\r\n", True),
    ("inline-unbalanced-quotes", b'SET "k v\r\n',
     b"-ERR Protocol error: unbalanced quotes in request\r\n", True),
    ("binary-garbage-after-star", b"*" + _garbage(1, 4096),
     b"-ERR Protocol error: invalid multibulk length\r\n", False),
]


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(3).start()
    try:
        yield c
    finally:
        c.stop()


class Bystander:
    """A client connected before the bad input that keeps doing SET/GET/PING during it."""

    def __init__(self, node, name):
        self.client = node.client(single_connection_client=True, socket_timeout=10)
        assert self.client.set(f"bystander-{name}", "0") is True
        self.name = name
        self.ops = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        key = f"bystander-{self.name}"
        for i in range(BYSTANDER_OPS_MAX):
            if self._stop.is_set():
                return
            try:
                assert self.client.set(key, str(i)) is True
                assert self.client.get(key) == str(i).encode()
                assert self.client.ping() is True
                self.ops += 1
            except (redis.exceptions.RedisError, AssertionError, OSError) as e:
                self.failures.append(repr(e))
                return

    def __enter__(self):
        self._thread.start()
        wait_until(lambda: self.ops > 0, timeout=10, what="the bystander to run")
        return self

    def __exit__(self, *exc):
        ops_before = self.ops
        wait_until(lambda: self.ops > ops_before or self.failures, timeout=10,
                   what="the bystander to make progress after the bad input")
        self._stop.set()
        self._thread.join(timeout=15)
        assert not self._thread.is_alive()
        assert self.failures == [], self.failures
        assert self.client.ping() is True
        self.client.close()


def send_bad(port, data):
    """Sends `data` on a fresh connection; returns (reply bytes, closed by the server)."""
    conn = RawConn(port)
    try:
        conn.send(data)  # the server may close before taking it all; what it said still counts
        return conn.read_until_closed()
    finally:
        conn.close()


def check_node_healthy(node, tag):
    assert node.alive(), f"node {node.id} died"
    fresh = node.client(socket_timeout=10)
    assert fresh.ping() is True
    assert fresh.set(f"after-{tag}", "ok") is True
    assert fresh.get(f"after-{tag}") == b"ok"
    fresh.close()


@pytest.mark.parametrize("name,data,error,like_redis", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_error_and_close(cluster, redis_server, name, data, error, like_redis):
    if like_redis:
        reply, closed = send_bad(redis_server, data)
        assert (reply, closed) == (error, True), "redis-server answers differently"
    node = cluster.nodes[CASES.index(next(c for c in CASES if c[0] == name)) % len(cluster.nodes)]
    with Bystander(node, name):
        t0 = time.monotonic()
        reply, closed = send_bad(node.port, data)
        assert reply == error
        assert closed, "the server kept the connection open after a protocol error"
        assert time.monotonic() - t0 < 5
    check_node_healthy(node, name)


def test_full_100001_argument_command(cluster):
    node = cluster.nodes[0]
    body = b"*%d\r\n$3\r\nSET\r\n" % ARGS_OVER_LIMIT + b"$1\r\nx\r\n" * (ARGS_OVER_LIMIT - 1)
    with Bystander(node, "full-100001"):
        conn = RawConn(node.port)
        try:
            conn.send(body)  # may be cut short by the server closing: that is the point
            reply, closed = conn.read_until_closed()
        finally:
            conn.close()
        assert closed
        # The error line arrives before the close unless the reset overtook it.
        assert reply in (b"-ERR Protocol error: invalid multibulk length\r\n", b""), reply
    check_node_healthy(node, "full-100001")


def test_negative_multibulk_count_is_ignored_like_redis(cluster, redis_server):
    # Redis skips `*-5` (any count <= 0) without a reply and keeps the connection: so do we.
    data = b"*-5\r\n*0\r\n" + resp_command("PING")
    expected = b"+PONG\r\n"
    for port in (redis_server, cluster.nodes[1].port):
        conn = RawConn(port)
        try:
            conn.send(data)
            assert conn.read_line() == expected
            conn.send(resp_command("ECHO", "still-open"))
            assert conn.read_line() == b"$10\r\n"
            assert conn.read_line() == b"still-open\r\n"
        finally:
            conn.close()


def test_inline_binary_garbage_gets_errors_only(cluster, redis_server):
    # Garbage without a '*' first is read as inline commands: unknown commands get an error each
    # and the connection may stay; no garbage may crash the node or produce a non-error reply.
    node = cluster.nodes[2]
    with Bystander(node, "garbage"):
        for seed in range(20):
            data = _garbage(100 + seed, 2048).replace(b"*", b"x").lstrip(b"*")
            conn = RawConn(node.port)
            try:
                conn.send(data + b"\r\n" + resp_command("PING"))
                reply, closed = conn.read_until_closed(timeout=1.5)
            finally:
                conn.close()
            lines = [ln for ln in reply.split(b"\r\n") if ln]
            assert lines, f"seed {seed}: no reply"
            for ln in lines[:-1]:
                assert ln.startswith(b"-"), f"seed {seed}: non-error reply {ln[:80]!r}"
            assert lines[-1].startswith(b"-") or lines[-1] == b"+PONG"
            if not closed:
                assert lines[-1] == b"+PONG", f"seed {seed}: open connection lost the PING"
    check_node_healthy(node, "garbage")


def test_many_bad_connections_at_once(cluster):
    # Bad clients interleaved with good ones on the same node, all connected at the same time.
    node = cluster.nodes[0]
    good = [node.client(single_connection_client=True) for _ in range(5)]
    bad = [RawConn(node.port) for _ in range(20)]
    try:
        for i, g in enumerate(good):
            assert g.set(f"good{i}", i) is True
        for b in bad:
            b.send(b"*1\r\n$1073741824\r\n")
        for b in bad:
            assert b.read_until_closed() == (b"-ERR Protocol error: invalid bulk length\r\n", True)
        for i, g in enumerate(good):
            assert g.get(f"good{i}") == str(i).encode()
            assert g.ping() is True
    finally:
        for b in bad:
            b.close()
        for g in good:
            g.close()
    check_node_healthy(node, "many")


def test_connection_stuck_mid_bulk_does_not_block_others(cluster):
    # A client that announces a 100 MB value and sends only part of it holds its own connection
    # only: others connect, read and write meanwhile, and the node drops it when it goes away.
    node = cluster.nodes[1]
    stuck = RawConn(node.port)
    try:
        assert stuck.send(b"*3\r\n$3\r\nSET\r\n$5\r\nstuck\r\n$100000000\r\n" + b"v" * 65536)
        with Bystander(node, "stuck"):
            for i in range(5):
                fresh = node.client(socket_timeout=10)
                assert fresh.set(f"while-stuck-{i}", i) is True
                assert fresh.get(f"while-stuck-{i}") == str(i).encode()
                fresh.close()
    finally:
        stuck.close()
    check_node_healthy(node, "stuck")
    assert node.client().exists("stuck") == 0
    wait_until(lambda: node.client().info("clients")["connected_clients"] <= 2, timeout=10,
               what="the stuck connection to be dropped")
