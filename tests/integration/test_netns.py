"""Nodes as separate hosts: each node runs in its own network namespace with its own address on a
private bridge, and a fourth "host" joins the running cluster over that network.

The test makes everything it uses (namespaces, a bridge in a switch namespace, veth pairs, the
10.213.<n>.0/24 addresses) and removes it at the end. It is skipped, saying why, where network
namespaces cannot be created (not root, no iproute2, no kernel support).
"""
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import redis

from conftest import BIN, wait_until

CHANGE_TIMEOUT_S = 60
CLIENT_PORT = 7001
PEER_PORT = 17001


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=check)


def namespaces_usable():
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    probe = f"bwprobe{uuid.uuid4().hex[:6]}"
    r = sh("ip", "netns", "add", probe, check=False)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    sh("ip", "netns", "del", probe, check=False)
    return None


class Hosts:
    """A switch namespace with a bridge, and per host a namespace joined to it by a veth pair.
    The test process reaches the hosts through one more veth pair ending in its own namespace."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:5]
        self.subnet = 213
        self.switch = f"bw{self.tag}sw"
        self.namespaces = []
        self.links = []
        sh("ip", "netns", "add", self.switch)
        sh("ip", "netns", "exec", self.switch, "ip", "link", "add", "br0", "type", "bridge")
        sh("ip", "netns", "exec", self.switch, "ip", "link", "set", "br0", "up")
        # The test's own leg: 10.213.0.100 in this (the root) namespace.
        outer, inner = f"bw{self.tag}h", f"bw{self.tag}hs"
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        self.links.append(outer)
        sh("ip", "link", "set", inner, "netns", self.switch)
        sh("ip", "netns", "exec", self.switch, "ip", "link", "set", inner, "master", "br0")
        sh("ip", "netns", "exec", self.switch, "ip", "link", "set", inner, "up")
        sh("ip", "addr", "add", f"10.{self.subnet}.0.100/24", "dev", outer)
        sh("ip", "link", "set", outer, "up")

    def add(self, n):
        """Host n: namespace bw<tag>n<n> with address 10.213.0.<n>."""
        ns = f"bw{self.tag}n{n}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        a, b = f"bw{self.tag}a{n}", f"bw{self.tag}b{n}"
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "netns", ns)
        sh("ip", "link", "set", b, "netns", self.switch)
        sh("ip", "netns", "exec", self.switch, "ip", "link", "set", b, "master", "br0")
        sh("ip", "netns", "exec", self.switch, "ip", "link", "set", b, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"10.{self.subnet}.0.{n}/24", "dev", a)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", a, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        return ns, f"10.{self.subnet}.0.{n}"

    def close(self):
        for link in self.links:
            sh("ip", "link", "del", link, check=False)
        for ns in self.namespaces + [self.switch]:
            sh("ip", "netns", "del", ns, check=False)


@pytest.fixture
def hosts():
    why = namespaces_usable()
    if why:
        pytest.skip(why)
    h = Hosts()
    try:
        yield h
    finally:
        h.close()


def test_a_node_on_another_host_joins_over_the_network(hosts):
    workdir = tempfile.mkdtemp(prefix="bellwether-netns-")
    procs = []
    try:
        addrs = {}
        for n in (1, 2, 3, 4):
            addrs[n] = hosts.add(n)
        peers = ",".join(f"{n}={addrs[n][1]}:{CLIENT_PORT}" for n in (1, 2, 3))

        def start(n, *args):
            ns, ip = addrs[n]
            log = open(os.path.join(workdir, f"node{n}.log"), "ab")
            p = subprocess.Popen(["ip", "netns", "exec", ns, BIN, "server",
                                  "--listen", f"{ip}:{CLIENT_PORT}",
                                  "--data-dir", os.path.join(workdir, f"node{n}"),
                                  "--cluster-id", "hosts",
                                  # clients (and joins) come from other addresses
                                  "--protected-mode", "no", *args],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            procs.append(p)
            return redis.Redis(host=ip, port=CLIENT_PORT, socket_timeout=10,
                               socket_connect_timeout=2)

        clients = {n: start(n, "--id", str(n), "--peers", peers) for n in (1, 2, 3)}
        wait_until(lambda: any(c.info("raft")["raft_role"] == "leader" for c in clients.values()),
                   timeout=CHANGE_TIMEOUT_S, what="a leader among the hosts")
        assert clients[1].set("across", "hosts") is True
        # Host 4 joins through host 2's address, then is promoted.
        clients[4] = start(4, "--join", f"{addrs[2][1]}:{CLIENT_PORT}")
        wait_until(lambda: clients[4].get("across") == b"hosts", timeout=CHANGE_TIMEOUT_S,
                   what="the joined host to serve reads")
        node4 = int(clients[4].info("raft")["raft_node_id"])
        assert node4 == 4
        wait_until(lambda: clients[1].execute_command("MEMBER", "PROMOTE", "4") == b"OK",
                   timeout=CHANGE_TIMEOUT_S, what="the promotion")
        # Every host applies the promotion (the answer came once the leader applied it).
        wait_until(lambda: str(clients[3].info("raft")["raft_voters"]).split(",") ==
                   ["1", "2", "3", "4"], what="host 3 to apply the promotion")
        members = clients[4].execute_command("MEMBER", "LIST")
        addresses = sorted(dict(zip(m[0::2], m[1::2]))[b"address"] for m in members)
        assert addresses == [f"{addrs[n][1]}:{CLIENT_PORT}".encode() for n in (1, 2, 3, 4)]
        assert clients[4].set("from-4", "ok") is True
        assert clients[2].get("from-4") == b"ok"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
