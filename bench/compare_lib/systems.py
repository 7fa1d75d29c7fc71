"""The three systems under comparison, each a 3-node group on 127.0.0.1 started from a binary.

Bellwether: 3 voters (fsync always, the default). Redis: a primary and 2 replicas with
appendfsync everysec or always, optionally watched by 3 Sentinels. etcd: a 3-member cluster with
its defaults. Each class knows how to find its leader/primary, its followers/replicas, and how to
restart one of its nodes with the same command line.
"""
import json
import os
import subprocess

import redis

from .procs import wait_until

START_TIMEOUT_S = 30


def client(port, timeout=5.0):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                       socket_connect_timeout=timeout)


def info_fields(port, section, timeout=2.0):
    text = client(port, timeout).execute_command("INFO", section)
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, dict):
        return {k: str(v) for k, v in text.items()}
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


class Node:
    """One node process: its client port, its Proc, and the argv it was started with."""

    def __init__(self, name, port, proc):
        self.name, self.port, self.proc = name, port, proc


class Group:
    """What every 3-node group shares: its nodes, the non-leaders, restart and stop by PID."""

    nodes = ()

    def _leader_by_info(self, section, field, value):
        """The live node whose INFO `section` has `field` == `value` (RESP systems)."""
        for n in self.nodes:
            if not n.proc.alive():
                continue
            try:
                if info_fields(n.port, section).get(field) == value:
                    return n
            except (redis.RedisError, OSError):
                pass
        return None

    def wait_quiescent(self, timeout):
        """Until no node runs a background save (INFO persistence rdb_bgsave_in_progress and
        aof_rewrite_in_progress, as Redis and Bellwether report them): memory is measured in the
        steady state, not while a snapshot holds the log it is about to compact."""
        def idle():
            for n in self.nodes:
                f = info_fields(n.port, "persistence")
                if "1" in (f.get("rdb_bgsave_in_progress"), f.get("aof_rewrite_in_progress")):
                    return False
            return True
        wait_until(idle, timeout, f"{self.label}: background saves to end", interval=0.2)

    def followers(self):
        lead = self.leader()
        return [n for n in self.nodes if n is not lead]

    def restart(self, node):
        node.proc = self.reg.spawn(node.name, node.proc.args, node.proc.log_path)

    def stop(self):
        for n in self.nodes:
            n.proc.stop()


class Bellwether(Group):
    label = "Bellwether"

    def __init__(self, reg, binary, workdir, base_port, extra_args=()):
        self.reg, self.binary, self.dir, self.base = reg, binary, workdir, base_port
        self.extra_args = list(extra_args)
        self.nodes = []

    def ports(self):
        return [self.base + i for i in range(3)]

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        peers = ",".join(f"{i + 1}=127.0.0.1:{p}" for i, p in enumerate(self.ports()))
        for i, port in enumerate(self.ports()):
            args = [self.binary, "server", "--id", str(i + 1), "--listen", f"127.0.0.1:{port}",
                    "--peers", peers, "--data-dir", os.path.join(self.dir, f"node{i + 1}"),
                    "--cluster-id", "bench", "--log-level", "warn"] + self.extra_args
            proc = self.reg.spawn(f"bellwether-{i + 1}", args,
                                  os.path.join(self.dir, f"node{i + 1}.log"))
            self.nodes.append(Node(f"bellwether-{i + 1}", port, proc))
        wait_until(self.leader, START_TIMEOUT_S, "a Bellwether leader")
        wait_until(lambda: client(self.leader().port).set("bench:ready", "1"), START_TIMEOUT_S,
                   "a first Bellwether write")

    def leader(self):
        return self._leader_by_info("raft", "raft_role", "leader")

    def applied(self, node):
        return int(info_fields(node.port, "raft")["raft_applied_index"])

    def wait_replicated(self, timeout):
        """Until every node has applied the leader's commit index."""
        def done():
            lead = self.leader()
            commit = int(info_fields(lead.port, "raft")["raft_commit_index"])
            return all(self.applied(n) >= commit for n in self.nodes)
        wait_until(done, timeout, "Bellwether followers to apply everything", interval=0.2)

    def set_stale_reads(self, node, on):
        client(node.port).config_set("readonly-default", "yes" if on else "no")


class RedisGroup(Group):
    def __init__(self, reg, workdir, base_port, appendfsync, sentinels=False,
                 sentinel_base=None):
        self.reg, self.dir, self.base, self.fsync = reg, workdir, base_port, appendfsync
        self.with_sentinels, self.sentinel_base = sentinels, sentinel_base
        self.label = f"Redis {appendfsync}"
        self.nodes, self.sentinels = [], []

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        for i in range(3):
            port = self.base + i
            d = os.path.join(self.dir, f"redis{i}")
            os.makedirs(d, exist_ok=True)
            args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                    "--save", "", "--appendonly", "yes", "--appendfsync", self.fsync,
                    "--daemonize", "no", "--protected-mode", "no"]
            if i > 0:
                args += ["--replicaof", "127.0.0.1", str(self.base)]
            proc = self.reg.spawn(f"redis-{i}", args, os.path.join(self.dir, f"redis{i}.log"))
            self.nodes.append(Node(f"redis-{i}", port, proc))
        wait_until(lambda: info_fields(self.base, "replication").get("connected_slaves") == "2",
                   START_TIMEOUT_S, "2 Redis replicas to connect")
        if self.with_sentinels:
            self._start_sentinels()

    def _start_sentinels(self):
        for i in range(3):
            port = self.sentinel_base + i
            conf = os.path.join(self.dir, f"sentinel{i}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
                        f"sentinel monitor bench 127.0.0.1 {self.base} 2\n"
                        "sentinel down-after-milliseconds bench 1000\n"
                        "sentinel failover-timeout bench 10000\n"
                        "sentinel parallel-syncs bench 1\n")
            proc = self.reg.spawn(f"sentinel-{i}", ["redis-server", conf, "--sentinel"],
                                  os.path.join(self.dir, f"sentinel{i}.log"))
            self.sentinels.append(Node(f"sentinel-{i}", port, proc))

        def discovered():
            for s in self.sentinels:
                m = client(s.port).execute_command("SENTINEL", "MASTER", "bench")
                fields = dict(zip(m[::2], m[1::2]))
                if fields.get(b"num-slaves") != b"2" or fields.get(b"num-other-sentinels") != b"2":
                    return False
            return True
        wait_until(discovered, START_TIMEOUT_S, "Sentinels to discover replicas and each other",
                   interval=0.1)

    def leader(self):
        return self._leader_by_info("replication", "role", "master")

    def wait_replicated(self, timeout):
        def done():
            primary = info_fields(self.leader().port, "replication")
            offset = int(primary["master_repl_offset"])
            return all(int(info_fields(n.port, "replication").get("slave_repl_offset", -1))
                       >= offset for n in self.followers())
        wait_until(done, timeout, "Redis replicas to catch up", interval=0.2)

    def stop(self):
        for n in self.sentinels + self.nodes:
            n.proc.stop()


class Etcd(Group):
    label = "etcd"

    def __init__(self, reg, workdir, client_base, peer_base):
        self.reg, self.dir, self.client_base, self.peer_base = reg, workdir, client_base, peer_base
        self.nodes = []

    def endpoints(self, nodes=None):
        return ",".join(f"127.0.0.1:{n.port}" for n in (nodes or self.nodes))

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cluster = ",".join(f"m{i}=http://127.0.0.1:{self.peer_base + i}" for i in range(3))
        for i in range(3):
            cport, pport = self.client_base + i, self.peer_base + i
            args = ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(self.dir, f"m{i}"),
                    "--listen-client-urls", f"http://127.0.0.1:{cport}",
                    "--advertise-client-urls", f"http://127.0.0.1:{cport}",
                    "--listen-peer-urls", f"http://127.0.0.1:{pport}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{pport}",
                    "--initial-cluster", cluster, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "bench", "--log-level", "warn",
                    "--logger", "zap"]
            proc = self.reg.spawn(f"etcd-{i}", args, os.path.join(self.dir, f"m{i}.log"))
            self.nodes.append(Node(f"etcd-{i}", cport, proc))
        wait_until(self.leader, START_TIMEOUT_S, "an etcd leader", interval=0.1)

    def _status(self, nodes):
        out = subprocess.run(["etcdctl", "--endpoints", self.endpoints(nodes),
                              "--command-timeout=1s", "endpoint", "status", "-w", "json"],
                             capture_output=True, text=True, timeout=10)
        return json.loads(out.stdout) if out.stdout.strip() else []

    def leader(self):
        live = [n for n in self.nodes if n.proc.alive()]
        for st in self._status(live):
            s = st.get("Status", {})
            if s.get("leader") and s.get("leader") == s.get("header", {}).get("member_id"):
                port = int(st["Endpoint"].rsplit(":", 1)[1])
                return next(n for n in self.nodes if n.port == port)
        return None

    def wait_replicated(self, timeout):
        def done():
            st = self._status(self.nodes)
            idx = [s["Status"]["raftIndex"] for s in st]
            return len(idx) == 3 and len(set(idx)) == 1
        wait_until(done, timeout, "etcd members to agree on the raft index", interval=0.2)

    def restart(self, node):
        args = list(node.proc.args)
        i = args.index("--initial-cluster-state")
        args[i + 1] = "existing"
        node.proc = self.reg.spawn(node.name, args, node.proc.log_path)
