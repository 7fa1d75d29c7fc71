"""The loss check: a writer of unique keys beside the register workload, and, at the end, every
acknowledged one read back from every member's own copy.

The register workload (history.py) overwrites three keys, so a write lost on some node after it
was overwritten can hide from the linearizability checker. Here every write has its own key
(`acked:<n>` = n), written once through a random member; once the faults healed, each member
(voters and learners) must hold every key whose SET was acknowledged, read locally (READONLY)
after it applied everything the leader had committed. Writes without an answer may or may not
be there; writes refused with TRYAGAIN must not be.
"""
import threading

import redis

from cluster import wait_until

KEY_PREFIX = "acked:"
WRITES_MAX = 20_000
READ_BATCH = 500
CATCH_UP_TIMEOUT_S = 30


class AckedSet:
    def __init__(self, cluster, socket_timeout_s=3.0, think_s=0.005):
        self.cluster = cluster
        self.socket_timeout_s = socket_timeout_s
        self.think_s = think_s
        self.acked = []  # n of every acknowledged SET acked:<n>
        self.refused = []  # n of every SET answered TRYAGAIN (never applied)
        self.unknown = 0
        self.stop_flag = threading.Event()
        self.thread = None

    def _write(self, conns, n):
        members = self.cluster.members()
        port = members[n % len(members)].port
        c = conns.get(port)
        if c is None:
            c = conns[port] = redis.Redis(host="127.0.0.1", port=port,
                                          socket_timeout=self.socket_timeout_s,
                                          socket_connect_timeout=self.socket_timeout_s)
        try:
            c.set(f"{KEY_PREFIX}{n}", n)
            self.acked.append(n)
        except redis.exceptions.ResponseError as e:
            if str(e).startswith("TRYAGAIN"):
                self.refused.append(n)
            else:
                self.unknown += 1
        except (redis.exceptions.RedisError, OSError):
            self.unknown += 1  # refused before sending counts here too: harmless
            conns.pop(port).close()

    def _run(self):
        conns = {}
        try:
            for n in range(1, WRITES_MAX + 1):
                if self.stop_flag.is_set():
                    break
                self._write(conns, n)
                self.stop_flag.wait(self.think_s)
        finally:
            for c in conns.values():
                c.close()

    def start(self):
        self.thread = threading.Thread(target=self._run, name="acked-writer", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout_s=30):
        self.stop_flag.set()
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the acked-set writer did not stop"


def local_values(node, keys):
    """The node's own values of `keys` (READONLY: no round trip to the leader)."""
    c = redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=10)
    try:
        c.execute_command("READONLY")
        out = {}
        for i in range(0, len(keys), READ_BATCH):
            chunk = keys[i:i + READ_BATCH]
            pipe = c.pipeline(transaction=False)
            pipe.execute_command("READONLY")
            pipe.mget(chunk)
            out.update(zip(chunk, pipe.execute()[1]))
        return out
    finally:
        c.close()


def check_every_member(cluster, acked, refused, registers):
    """Returns problems (strings): on each member, after it applied the leader's commit index,
    a missing or wrong acknowledged key, a refused write that is present, or a register key whose
    value differs from `registers` (key -> int or None, the final linearizable reads)."""
    leader = cluster.wait_for_leader()
    commit = int(leader.command("INFO", "raft")["raft_commit_index"])
    problems = []
    keys = [f"{KEY_PREFIX}{n}" for n in acked] + [f"{KEY_PREFIX}{n}" for n in refused]
    for node in cluster.members():
        wait_until(lambda: int(node.command("INFO", "raft", timeout=2)["raft_applied_index"])
                   >= commit, timeout=CATCH_UP_TIMEOUT_S,
                   what=f"{node!r} to apply up to index {commit}")
        got = local_values(node, keys + list(registers))
        lost = [n for n in acked if got[f"{KEY_PREFIX}{n}"] != str(n).encode()]
        if lost:
            problems.append(f"{node!r} lost {len(lost)} acknowledged writes, e.g. "
                            f"{[KEY_PREFIX + str(n) for n in lost[:5]]}")
        ghosts = [n for n in refused if got[f"{KEY_PREFIX}{n}"] is not None]
        if ghosts:
            problems.append(f"{node!r} holds {len(ghosts)} writes refused with TRYAGAIN, e.g. "
                            f"{[KEY_PREFIX + str(n) for n in ghosts[:5]]}")
        for key, value in registers.items():
            mine = got[key]
            if (None if mine is None else int(mine)) != value:
                problems.append(f"{node!r}: {key} = {mine!r}, the final read gave {value!r}")
    return problems


def settled_membership(cluster, timeout_s=30):
    """Waits until every member's MEMBER LIST names the same ids in the same roles; returns that
    list {id: role}."""
    def agreed():
        views = [{i: m["role"] for i, m in n.member_list().items()} for n in cluster.members()]
        return views[0] if views and all(v == views[0] for v in views) else None
    return wait_until(agreed, timeout=timeout_s, what="every member to list the same membership")
