"""Faults from a seeded schedule, each bounded in time and healed before the next one.

Families: kill (SIGKILL + restart), pause (SIGSTOP / SIGCONT), transfer (SIGTERM of the leader,
which hands leadership over, then restart), partition (peer links cut or black-holed through the
proxy, sometimes one-way or non-transitive, with delay on the links left up), slow-fsync (DEBUG
FSYNC-DELAY on a node for a while; sometimes DEBUG FSYNC-FAIL, which stops the node at its next
WAL sync, then a restart), failover (FAILOVER on the leader to a random follower).
"""
import random
import signal
import subprocess
import threading
import time

import redis

TRANSFER_EXIT_TIMEOUT_S = 6.0  # the server bounds its handover at 2 s
FSYNC_DELAY_MS = (50, 500)
FSYNC_FAIL_SHARE = 0.2  # of slow-fsync faults: a failing fsync (the node stops) instead
FSYNC_FAIL_EXIT_TIMEOUT_S = 5.0  # under client load a WAL sync comes within milliseconds
FAILOVER_TIMEOUT_MS = 3000


class Nemesis:
    def __init__(self, cluster, seed, families, now, allow_majority=False):
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.families = list(families)
        self.now = now  # the recorder's clock, so events line up with the history
        self.allow_majority = allow_majority
        self.events = []
        self.stop_flag = threading.Event()
        self.thread = None
        self.error = None
        self.failovers_done = 0  # FAILOVERs answered +OK

    def log(self, text):
        self.events.append(f"{self.now():9.4f} {text}")

    def _target(self):
        leader = self.cluster.leader() if self.rng.random() < 0.5 else None
        return leader or self.rng.choice(self.cluster.nodes)

    def _hold(self, lo, hi):
        self.stop_flag.wait(self.rng.uniform(lo, hi))

    # ---- faults ------------------------------------------------------------------------------

    def kill(self):
        victims = [self._target()]
        if self.allow_majority and self.rng.random() < 0.2:
            victims.append(self.rng.choice([n for n in self.cluster.nodes if n is not victims[0]]))
        for n in victims:
            self.log(f"SIGKILL node {n.id}")
            n.kill()
        self._hold(0.3, 2.5)
        for n in victims:
            self.log(f"restart node {n.id}")
            n.start()

    def pause(self):
        n = self._target()
        self.log(f"SIGSTOP node {n.id}")
        n.pause()
        self._hold(0.3, 2.5)
        self.log(f"SIGCONT node {n.id}")
        n.resume()

    def transfer(self):
        n = self.cluster.leader()
        if n is None:
            self.log("transfer: no leader now, skipped")
            return
        self.log(f"SIGTERM leader node {n.id} (hands leadership over)")
        n.signal(signal.SIGTERM)
        try:
            n.proc.wait(timeout=TRANSFER_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.log(f"node {n.id} did not exit after SIGTERM; SIGKILL")
            n.kill()
        self._hold(0.1, 1.0)
        self.log(f"restart node {n.id}")
        n.start()

    def partition(self):
        ids = [n.id for n in self.cluster.nodes]
        proxy = self.cluster.proxy
        mode = self.rng.choice(["drop", "blackhole"])
        shape = self.rng.choice(["isolate", "isolate-leader", "one-way-out", "one-way-in", "bridge"])
        x = self.rng.choice(ids)
        if shape == "isolate-leader":
            leader = self.cluster.leader()
            x = leader.id if leader else x
        others = [i for i in ids if i != x]
        if shape in ("isolate", "isolate-leader"):
            cut = [(a, b) for a in ids for b in ids if a != b and (a == x) != (b == x)]
        elif shape == "one-way-out":
            cut = [(x, o) for o in others]
        elif shape == "one-way-in":
            cut = [(o, x) for o in others]
        else:  # x keeps both sides; the two others cannot talk
            a, b = others[:2]
            cut = [(a, b), (b, a)]
        delay_ms = self.rng.choice([0, 0, 20, 100])
        self.log(f"partition {shape} node {x} ({mode}; cut {cut}; delay {delay_ms} ms elsewhere)")
        for link in proxy.links:
            if link in cut:
                proxy.set(*link, mode=mode)
            else:
                proxy.set(*link, mode="ok", delay_ms=delay_ms)
        self._hold(1.0, 3.5)
        self.log("heal partition")
        proxy.heal()

    def slow_fsync(self):
        n = self._target()
        if self.rng.random() < FSYNC_FAIL_SHARE:
            self._fsync_failure(n)
            return
        delay_ms = self.rng.randint(*FSYNC_DELAY_MS)
        self.log(f"fsync delay {delay_ms} ms on node {n.id}")
        n.command("DEBUG", "FSYNC-DELAY", delay_ms)
        self._hold(1.0, 3.0)
        self.log(f"fsync delay off on node {n.id}")
        n.command("DEBUG", "FSYNC-DELAY", 0)

    def _fsync_failure(self, n):
        """The node's syncs fail: it stops at the next one (a crash), and is restarted."""
        self.log(f"fsync failure on node {n.id}")
        n.command("DEBUG", "FSYNC-FAIL", "yes")
        deadline = time.monotonic() + FSYNC_FAIL_EXIT_TIMEOUT_S
        while n.alive() and time.monotonic() < deadline and not self.stop_flag.is_set():
            self.stop_flag.wait(0.05)
        if n.alive():  # no write reached it; the fault ends without a crash
            self.log(f"node {n.id} did not sync meanwhile; fsync failure off")
            try:
                n.command("DEBUG", "FSYNC-FAIL", "no")
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass  # it failed a sync just now and is stopping
        if not n.alive():
            n.proc.wait(timeout=10)
            self.log(f"node {n.id} stopped (exit {n.proc.returncode}); restart")
            self._hold(0.1, 1.0)
            n.start()

    def failover(self):
        leader = self.cluster.leader()
        if leader is None:
            self.log("failover: no leader now, skipped")
            return
        target = self.rng.choice([n for n in self.cluster.nodes if n is not leader])
        self.log(f"FAILOVER on leader node {leader.id} to node {target.id}")
        try:
            reply = leader.command("FAILOVER", "TO", "127.0.0.1", target.port, "TIMEOUT",
                                   FAILOVER_TIMEOUT_MS, timeout=FAILOVER_TIMEOUT_MS / 1000 + 3)
            self.failovers_done += 1
            self.log(f"FAILOVER to node {target.id}: {reply!r}")
        except redis.exceptions.ResponseError as e:  # e.g. it stopped leading meanwhile
            self.log(f"FAILOVER to node {target.id} refused: {e}")
        self._hold(0.3, 1.0)

    # ---- schedule ----------------------------------------------------------------------------

    def heal_all(self):
        self.cluster.proxy.heal()
        for n in self.cluster.nodes:
            if n.paused:
                n.resume()
            if not n.alive():
                self.log(f"final restart node {n.id}")
                n.start()
            elif "slow-fsync" in self.families:
                try:  # only left on if the nemesis failed mid-fault
                    n.command("DEBUG", "FSYNC-DELAY", 0)
                    n.command("DEBUG", "FSYNC-FAIL", "no")
                except redis.exceptions.RedisError as e:
                    self.log(f"node {n.id}: could not switch fsync faults off: {e!r}")

    def _run(self, duration_s):
        end = time.monotonic() + duration_s
        try:
            while not self.stop_flag.is_set() and time.monotonic() < end:
                self._hold(0.3, 1.5)
                if self.stop_flag.is_set() or time.monotonic() >= end:
                    break
                getattr(self, self.rng.choice(self.families).replace("-", "_"))()
        except Exception as e:  # reported by the test, which fails on it
            self.error = e
            self.log(f"nemesis error: {e!r}")
        finally:
            self.heal_all()

    def start(self, duration_s):
        self.thread = threading.Thread(target=self._run, args=(duration_s,), name="nemesis",
                                       daemon=True)
        self.thread.start()

    def join(self, timeout_s):
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the nemesis did not stop"
