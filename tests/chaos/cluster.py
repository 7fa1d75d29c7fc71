"""Bellwether nodes whose peer links run through the chaos proxy, and a redis primary/replica pair.

Every process is started here and stopped by its PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
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
    def __init__(self, cluster, node_id):
        super().__init__(f"node{node_id}", os.path.join(cluster.dir, f"node{node_id}.log"))
        self.cluster, self.id = cluster, node_id
        self.port = free_port()
        self.peer_port = free_port()
        self.data_dir = os.path.join(cluster.dir, f"node{node_id}")
        self.paused = False

    def start(self):
        self.paused = False
        self.spawn([BIN, "server", "--id", str(self.id), "--listen", f"127.0.0.1:{self.port}",
                    "--peer-listen", f"127.0.0.1:{self.peer_port}",
                    "--peers", self.cluster.peers_for(self.id), "--data-dir", self.data_dir,
                    "--cluster-id", self.cluster.cluster_id] + self.cluster.extra_args)

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


class ChaosCluster:
    """`size` nodes; node i reaches node j through proxy link (i, j). Every node accepts DEBUG
    (the slow-fsync faults use it)."""

    def __init__(self, size=3, extra_args=None):
        self.dir = tempfile.mkdtemp(prefix="bellwether-chaos-")
        self.cluster_id = "chaos-" + os.path.basename(self.dir)
        self.extra_args = ["--enable-debug-command", "yes"] + list(extra_args or [])
        self.nodes = [Node(self, i) for i in range(1, size + 1)]
        self.proxy = Proxy()
        self.link_ports = {}
        for a in self.nodes:
            for b in self.nodes:
                if a is not b:
                    self.link_ports[(a.id, b.id)] = self.proxy.add_link(a.id, b.id, b.peer_port)

    def peers_for(self, node_id):
        parts = []
        for n in self.nodes:
            peer = n.peer_port if n.id == node_id else self.link_ports[(node_id, n.id)]
            parts.append(f"{n.id}=127.0.0.1:{n.port}/127.0.0.1:{peer}")
        return ",".join(parts)

    def node(self, node_id):
        return self.nodes[node_id - 1]

    def targets(self):
        return [(n.id, n.port) for n in self.nodes]

    def start(self):
        for n in self.nodes:
            n.start()
        self.wait_for_leader()
        return self

    def leader(self):
        for n in self.nodes:
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
        try:
            for n in self.nodes:
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
