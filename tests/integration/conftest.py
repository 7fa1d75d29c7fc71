"""Fixtures that run real Bellwether node processes (and real redis-server) on loopback.

The `bellwether` binary is taken from $BELLWETHER_BIN, else build/bellwether of the source tree.
Every process a fixture starts is stopped by PID when the fixture ends.
"""
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BELLWETHER_BIN", os.path.join(ROOT, "build", "bellwether"))
METRICS_PORT_OFFSET = 1000  # a node's metrics port: its client port + this (as `cluster up`)


def free_port_block(count, span=10000):
    """Finds `count` consecutive free client ports whose peer ports (+span) and metrics ports
    (+METRICS_PORT_OFFSET) are free too, all below the kernel's ephemeral range (32768 up): a port
    there can be taken at any moment by an outgoing connection, such as a peer link or a client,
    between this check and the bind."""
    rng = random.Random()
    for _ in range(400):
        base = rng.randrange(12000, 32768 - span - count)
        ok = True
        ports = [base + offset + i for offset in (0, span, METRICS_PORT_OFFSET)
                 for i in range(count)]
        for p in ports:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


def wait_until(predicate, timeout=20.0, interval=0.02, what="condition"):
    """Polls `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.exceptions.RedisError, OSError) as e:  # node not up yet
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class Node:
    def __init__(self, cluster, node_id):
        self.cluster = cluster
        self.id = node_id
        self.port = cluster.base_port + node_id - 1
        self.endpoint = f"127.0.0.1:{self.port}"
        self.data_dir = os.path.join(cluster.dir, f"node{node_id}")
        self.log_path = os.path.join(cluster.dir, f"node{node_id}.log")
        self.proc = None
        self.extra_args = []  # this node's own flags, after the cluster's
        self.metrics_port = self.port + METRICS_PORT_OFFSET  # serving only with cluster.metrics

    def args(self):
        return ["--id", str(self.id), "--peers", self.cluster.peers]

    def start(self):
        args = ([BIN, "server", "--listen", self.endpoint, "--data-dir", self.data_dir,
                 "--cluster-id", self.cluster.cluster_id] + self.args() + self.cluster.extra_args
                + self.extra_args)
        if self.cluster.metrics:
            args += ["--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def kill(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout=15):
        if not self.alive():
            return
        os.kill(self.proc.pid, signal.SIGCONT)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def info(self, section="raft"):
        return self.client(socket_timeout=2).info(section)

    def role(self):
        return self.info()["raft_role"]


class JoiningNode(Node):
    """A node started with --join (no --peers): the cluster gives it its Raft id, learned from
    INFO once it serves (`raft_id`). `id` is its slot in the port block, as for founding nodes."""

    def __init__(self, cluster, slot, join, replaces=None):
        super().__init__(cluster, slot)
        self.join = join
        self.replaces = replaces
        self.raft_id = None

    def args(self):
        extra = ["--replace", str(self.replaces)] if self.replaces else []
        return ["--join", self.join] + extra

    def wait_joined(self, timeout=30):
        def joined():
            if not self.alive():
                raise AssertionError(f"joining node exited: {open(self.log_path).read()[-2000:]}")
            return int(self.info()["raft_node_id"])
        self.raft_id = wait_until(joined, timeout=timeout, what=f"node in slot {self.id} to join")
        return self.raft_id


class Cluster:
    SPARE_SLOTS = 4  # ports kept free for nodes joined later (add_node)

    def __init__(self, size=3, extra_args=None, metrics=False):
        self.dir = tempfile.mkdtemp(prefix="bellwether-test-")
        self.slots = size + self.SPARE_SLOTS
        self.base_port = free_port_block(self.slots)
        self.cluster_id = "test-" + os.path.basename(self.dir)
        self.extra_args = list(extra_args or [])
        self.metrics = metrics  # every node serves /metrics on node.metrics_port
        self.nodes = [Node(self, i) for i in range(1, size + 1)]
        self.peers = ",".join(f"{n.id}={n.endpoint}" for n in self.nodes)

    def start(self):
        for n in self.nodes:
            n.start()
        self.wait_for_leader()
        return self

    def add_node(self, join=None, replaces=None, slot=None):
        """Starts a node that joins through `join` (default: the first founding node's
        endpoint), in the next free port slot or in `slot` (reusing a departed node's address)."""
        slot = slot or max(n.id for n in self.nodes) + 1
        assert slot <= self.slots, "no spare port slot"
        node = JoiningNode(self, slot, join or self.nodes[0].endpoint, replaces)
        self.nodes.append(node)
        node.start()
        node.wait_joined()
        return node

    def leader(self, exclude=()):
        for n in self.nodes:
            if n.alive() and n.id not in exclude:
                try:
                    if n.role() == "leader":
                        return n
                except (redis.exceptions.RedisError, OSError):
                    pass
        return None

    def wait_for_leader(self, exclude=(), timeout=20):
        return wait_until(lambda: self.leader(exclude), timeout=timeout, what="a leader")

    def stop(self):
        for n in self.nodes:
            n.stop()
        keep = os.environ.get("BELLWETHER_KEEP_TEST_DATA")
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster_factory():
    """Starts clusters on demand; all are stopped at the end of the test."""
    made = []

    def make(size=3, extra_args=None, start=True, metrics=False):
        c = Cluster(size, extra_args, metrics)
        made.append(c)
        return c.start() if start else c

    yield make
    for c in made:
        c.stop()


@pytest.fixture(scope="module")
def bellwether_cluster():
    """A running 3-node cluster shared by a module's tests: its client endpoints."""
    c = Cluster(3).start()
    try:
        yield [n.endpoint for n in c.nodes]
    finally:
        c.stop()


@contextlib.contextmanager
def running_redis_server(bind="127.0.0.1"):
    """A real redis-server on a free port listening on `bind`; yields the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", bind,
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_until(client.ping, what="redis-server")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def redis_server():
    """A real redis-server on a free loopback port, for side-by-side expectations."""
    with running_redis_server() as port:
        yield port
