"""Bellwether nodes whose peer links run through the chaos proxy, and a redis primary/replica pair.

Every process is started here and stopped by its PID.
"""
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import redis

from proxy import Proxy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("BELLWETHER_BIN", os.path.join(ROOT, "build", "bellwether"))
STOP_TIMEOUT_S = 15


def failure_dir():
    """A fresh directory for the history of a failing test."""
    return tempfile.mkdtemp(prefix="bellwether-chaos-failed-")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=20.0, interval=0.02, what="condition"):
    """Polls `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.exceptions.RedisError, OSError) as e:
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class Process:
    """One child process with kill / signal / stop by PID."""

    def __init__(self, name, log_path):
        self.name, self.log_path, self.proc = name, log_path, None

    def spawn(self, args):
        if getattr(self, "log", None):
            self.log.close()
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

    def stop(self, timeout=STOP_TIMEOUT_S):
        if not self.alive():
            return
        os.kill(self.proc.pid, signal.SIGCONT)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Node(Process):
    """A Bellwether node process. A founding node has its Raft id from the start (label = id); a
    node started with --join learns it from the cluster (`id` is None until `learn_id`). A node
    is reached by its peers only through its proxy node port, which it registers when it joins
    (--peer-advertise). `retired`: removed or replaced; never started again."""

    def __init__(self, cluster, label, node_id=None, join=False, replaces=None, takes_over=None):
        super().__init__(f"node{label}", os.path.join(cluster.dir, f"node{label}.log"))
        # label: the founding node's id, or "-j<k>" for the k-th node started with --join
        self.cluster, self.label, self.id = cluster, label, node_id
        self.join, self.replaces = join, replaces
        if takes_over is not None:  # the same addresses and data directory path (emptied)
            self.port, self.peer_port = takes_over.port, takes_over.peer_port
            self.proxy_port, self.data_dir = takes_over.proxy_port, takes_over.data_dir
        else:
            self.port, self.peer_port = free_port(), free_port()
            self.proxy_port = cluster.proxy.add_node(node_id, self.peer_port)
            self.data_dir = os.path.join(cluster.dir, f"node{label}")
        self.paused = False
        self.retired = False

    def __repr__(self):
        return f"node {self.id}" if not self.join else f"node {self.id} ({self.name})"

    def start(self):
        assert not self.retired, f"{self!r} was removed or replaced; it must not run again"
        self.paused = False
        args = [BIN, "server", "--listen", f"127.0.0.1:{self.port}",
                "--peer-listen", f"127.0.0.1:{self.peer_port}", "--data-dir", self.data_dir,
                "--cluster-id", self.cluster.cluster_id]
        if self.join:  # a restart with data ignores --join
            args += ["--join", f"127.0.0.1:{self.cluster.join_port(self)}",
                     "--peer-advertise", f"127.0.0.1:{self.proxy_port}"]
            if self.replaces is not None:
                args += ["--replace", str(self.replaces)]
        else:
            args += ["--id", str(self.id), "--peers", self.cluster.founding_peers]
        self.spawn(args + self.cluster.extra_args)

    def start_unless_retired(self):
        """Starts the node again unless it was removed or replaced meanwhile (checked under the
        cluster's lock, which retiring takes too); returns whether it did."""
        with self.cluster.lock:
            if self.retired:
                return False
            self.start()
            return True

    def learn_id(self):
        """The Raft id the cluster gave this node, once it serves; None before. Points the proxy
        node port at it."""
        node_id = int(self.command("INFO", "raft", timeout=1)["raft_node_id"])
        if node_id != self.id:
            self.id = node_id
            self.cluster.proxy.set_destination(self.proxy_port, node_id)
        return node_id

    def pause(self):
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def role(self):
        return self.command("INFO", "raft", timeout=1)["raft_role"]

    def command(self, *args, timeout=5.0):
        """One command on a fresh connection (DEBUG, FAILOVER, INFO); raises on errors."""
        c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                        socket_connect_timeout=1)
        try:
            if args[0] == "INFO":
                return c.info(*args[1:])
            return c.execute_command(*args)
        finally:
            c.close()

    def member_list(self, timeout=2.0):
        """MEMBER LIST as {id: {field: int or str}}."""
        out = {}
        for entry in self.command("MEMBER", "LIST", timeout=timeout):
            fields = {k.decode(): (v.decode() if isinstance(v, bytes) else v)
                      for k, v in zip(entry[0::2], entry[1::2])}
            out[fields["id"]] = fields
        return out


class ChaosCluster:
    """`size` founding nodes, more joined at run time (add_node). Every node's peers reach it
    through its proxy node port, so the proxy controls every directed link, of joined nodes too.
    Every node accepts DEBUG (the slow-fsync faults use it)."""

    def __init__(self, size=3, extra_args=None):
        self.dir = tempfile.mkdtemp(prefix="bellwether-chaos-")
        self.cluster_id = "chaos-" + os.path.basename(self.dir)
        self.extra_args = ["--enable-debug-command", "yes"] + list(extra_args or [])
        self.proxy = Proxy()
        # Guards nodes and their retired flags: the nemeses change them from their threads.
        # Reentrant: a node starting under it (start_unless_retired) asks for the members.
        self.lock = threading.RLock()
        self.nodes = [Node(self, i, node_id=i) for i in range(1, size + 1)]
        self.joined = itertools.count(1)
        self.founding_peers = ",".join(
            f"{n.id}=127.0.0.1:{n.port}/127.0.0.1:{n.proxy_port}" for n in self.nodes)

    def members(self):
        """The nodes that belong to the cluster as far as the test knows (joined, not retired),
        by id; a copy."""
        with self.lock:
            return sorted((n for n in self.nodes if n.id is not None and not n.retired),
                          key=lambda n: n.id)

    def all_nodes(self):
        """Every node process the test made, retired ones too; a copy."""
        with self.lock:
            return list(self.nodes)

    def node(self, node_id):
        return next((n for n in self.members() if n.id == node_id), None)

    def targets(self):
        return [(n.id, n.port) for n in self.members()]

    def join_port(self, joining):
        """A member to join through: a running one if any."""
        running = [n for n in self.members() if n is not joining and n.alive() and not n.paused]
        return (running or self.members())[0].port

    def add_node(self, replaces=None):
        """A new node process (not started) that joins with --join; with `replaces` (a member
        Node) it takes over that node's addresses and data directory path."""
        with self.lock:
            label = f"-j{next(self.joined)}"
            node = Node(self, label, join=True, replaces=replaces.id if replaces else None,
                        takes_over=replaces)
            self.nodes.append(node)
        return node

    def start(self):
        for n in self.nodes:
            n.start()
        self.wait_for_leader()
        return self

    def leader(self):
        for n in self.members():
            if n.alive() and not n.paused:
                try:
                    if n.role() == "leader":
                        return n
                except (redis.exceptions.RedisError, OSError):
                    pass
        return None

    def wait_for_leader(self, timeout=30):
        return wait_until(self.leader, timeout=timeout, what="a leader")

    def stop(self, keep_dir=False):
        # Bounded: a stuck nemesis thread must not keep the processes from being stopped.
        locked = self.lock.acquire(timeout=STOP_TIMEOUT_S)
        nodes = list(self.nodes)
        if locked:
            self.lock.release()
        try:
            for n in nodes:
                n.stop()
        finally:
            self.proxy.close()
        if not keep_dir and not os.environ.get("BELLWETHER_KEEP_TEST_DATA"):
            shutil.rmtree(self.dir, ignore_errors=True)


class RedisPair:
    """redis-server primary + one asynchronous replica on free loopback ports.

    The replica replicates through a proxy link (primary -> replica stream), so the test can
    black-hole the replication stream: bytes the primary sent are then lost, as on a network
    failure. (Pausing the replica alone is not enough: the kernel keeps receiving its stream.)
    """

    def __init__(self):
        self.proxy = Proxy()
        self.dir = tempfile.mkdtemp(prefix="bellwether-chaos-redis-")
        self.primary = Process("redis-primary", os.path.join(self.dir, "primary.log"))
        self.replica = Process("redis-replica", os.path.join(self.dir, "replica.log"))
        self.primary.port, self.replica.port = free_port(), free_port()
        self.current = self.primary  # where clients send everything

    def _args(self, p, extra):
        return ["redis-server", "--port", str(p.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--dbfilename", f"{p.name}.rdb"] + extra

    def client(self, p):
        return redis.Redis(host="127.0.0.1", port=p.port, socket_timeout=2,
                           socket_connect_timeout=2)

    def start(self):
        self.primary.spawn(self._args(self.primary, []))
        wait_until(self.client(self.primary).ping, what="redis primary")
        link_port = self.proxy.add_link(2, 1, self.primary.port)
        self.replica.spawn(self._args(self.replica, ["--replicaof", "127.0.0.1", str(link_port)]))
        wait_until(lambda: self.client(self.replica).info("replication")
                   .get("master_link_status") == "up", what="redis replica link")
        return self

    def targets(self):
        return [(1 if self.current is self.primary else 2, self.current.port)]

    def stop(self):
        try:
            for p in (self.primary, self.replica):
                p.stop()
        finally:
            self.proxy.close()
        shutil.rmtree(self.dir, ignore_errors=True)
