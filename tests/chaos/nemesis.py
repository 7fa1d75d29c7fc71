"""Faults from a seeded schedule, each bounded in time and healed before the next one.

Families: kill (SIGKILL + restart), pause (SIGSTOP / SIGCONT), transfer (SIGTERM of the leader,
which hands leadership over, then restart), partition (peer links cut or black-holed through the
proxy, sometimes one-way or non-transitive, with delay on the links left up), slow-fsync (DEBUG
FSYNC-DELAY on a node for a while; sometimes DEBUG FSYNC-FAIL, which stops the node at its next
WAL sync, then a restart), failover (FAILOVER on the leader to a random follower).

Faults act on the cluster's current members and take the nodes they impair from a QuorumGuard
shared with the membership nemesis (membership.py), which runs at the same time.
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


class QuorumGuard:
    """Keeps a majority of the voters working, whatever the two nemeses do at the same time.

    A fault or membership change first takes the nodes it acts on. It gets them only if no one
    else holds them and, when it impairs them (stops, pauses, cuts off or wipes them), only if the
    impaired voters stay a minority in every voter configuration the cluster may be in meanwhile:
    the current one and, while a membership change is under way, the ones it passes through.
    A refused fault picks another node or is skipped; a refused change waits or gives up.
    """

    def __init__(self, voters, enforce=True):
        self.lock = threading.Lock()
        self.enforce = enforce
        self.held = {}  # node -> (holder, impairs)
        self.voters = frozenset(voters)
        self.changing = []  # voter sets a membership change under way may pass through

    @staticmethod
    def _minority(impaired, configs):
        return all(len(impaired & c) <= (len(c) - 1) // 2 for c in configs)

    def _impaired(self):
        return {n for n, (_, impairs) in self.held.items() if impairs}

    def take(self, holder, nodes, impairs=True, changing=None):
        """Takes `nodes` for `holder` (all or none); with `changing`, also registers the voter sets
        a membership change will pass through. Returns whether it got them."""
        nodes = set(nodes)
        with self.lock:
            if any(n in self.held for n in nodes):
                return False
            impaired = self._impaired() | (nodes if impairs else set())
            configs = [self.voters] + list(changing if changing is not None else self.changing)
            if self.enforce and not self._minority(impaired, configs):
                return False
            for n in nodes:
                self.held[n] = (holder, impairs)
            if changing is not None:
                self.changing = list(changing)
            return True

    def impair(self, holder, nodes):
        """Marks nodes `holder` already holds as impaired, if the rule allows it."""
        with self.lock:
            assert all(self.held.get(n, (None,))[0] == holder for n in nodes)
            impaired = self._impaired() | set(nodes)
            if self.enforce and not self._minority(impaired, [self.voters] + self.changing):
                return False
            for n in nodes:
                self.held[n] = (holder, True)
            return True

    def release(self, holder, nodes):
        with self.lock:
            for n in nodes:
                if self.held.get(n, (None,))[0] == holder:
                    del self.held[n]

    def settle(self, voters):
        """A membership change ended: the cluster's voters are now `voters`."""
        with self.lock:
            self.voters = frozenset(voters)
            self.changing = []

    def holds(self, node):
        with self.lock:
            return node in self.held


class Nemesis:
    """The fault schedule, on its own thread. `guard` is shared with a membership nemesis if
    one runs; without one, a private guard over the founding voters (it refuses nothing that a
    fault healed before the next one would do, except in allow_majority mode, where it is off)."""

    HOLDER = "fault"

    def __init__(self, cluster, seed, families, now, allow_majority=False, guard=None):
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.families = list(families)
        self.now = now  # the recorder's clock, so events line up with the history
        self.allow_majority = allow_majority
        self.guard = guard or QuorumGuard(cluster.members(), enforce=not allow_majority)
        self.events = []
        self.stop_flag = threading.Event()
        self.thread = None
        self.error = None
        self.failovers_done = 0  # FAILOVERs answered +OK
        self.skipped = 0  # faults the guard refused

    def log(self, text):
        self.events.append(f"{self.now():9.4f} {text}")

    def _take(self, prefer_leader=True):
        """A node to impair (the leader half the time), taken from the guard; None if none may
        be impaired now."""
        members = self.cluster.members()
        if not members:
            return None
        leader = self.cluster.leader() if prefer_leader and self.rng.random() < 0.5 else None
        first = leader or self.rng.choice(members)
        if self.guard.take(self.HOLDER, [first]):
            return first
        for n in self.rng.sample(members, len(members)):  # (draws only when refused: a seed's
            if self.guard.take(self.HOLDER, [n]):          # schedule without refusals is kept)
                return n
        return None

    def _skip(self, fault):
        self.skipped += 1
        self.log(f"{fault}: skipped (no node can be impaired without risking a quorum now)")

    def _release(self, *nodes):
        self.guard.release(self.HOLDER, nodes)

    def _restart(self, n):
        if n.start_unless_retired():
            self.log(f"restart {n!r}")
        else:
            self.log(f"{n!r} was removed meanwhile: not restarted")

    def _hold(self, lo, hi):
        self.stop_flag.wait(self.rng.uniform(lo, hi))

    # ---- faults ------------------------------------------------------------------------------

    def kill(self):
        victim = self._take()
        if victim is None:
            return self._skip("kill")
        victims = [victim]
        if self.allow_majority and self.rng.random() < 0.2:
            others = [n for n in self.cluster.members() if n is not victim]
            second = self.rng.choice(others)
            if self.guard.take(self.HOLDER, [second]):  # the guard is off in this mode
                victims.append(second)
        try:
            for n in victims:
                self.log(f"SIGKILL {n!r}")
                n.kill()
            self._hold(0.3, 2.5)
            for n in victims:
                self._restart(n)
        finally:
            self._release(*victims)

    def pause(self):
        n = self._take()
        if n is None:
            return self._skip("pause")
        try:
            self.log(f"SIGSTOP {n!r}")
            n.pause()
            self._hold(0.3, 2.5)
            self.log(f"SIGCONT {n!r}")
            n.resume()
        finally:
            self._release(n)

    def transfer(self):
        n = self.cluster.leader()
        if n is None:
            self.log("transfer: no leader now, skipped")
            return
        if not self.guard.take(self.HOLDER, [n]):
            return self._skip("transfer")
        try:
            self.log(f"SIGTERM leader {n!r} (hands leadership over)")
            n.signal(signal.SIGTERM)
            try:
                n.proc.wait(timeout=TRANSFER_EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.log(f"{n!r} did not exit after SIGTERM; SIGKILL")
                n.kill()
            self._hold(0.1, 1.0)
            self._restart(n)
        finally:
            self._release(n)

    def partition(self):
        members = self.cluster.members()
        ids = [n.id for n in members]
        proxy = self.cluster.proxy
        mode = self.rng.choice(["drop", "blackhole"])
        shape = self.rng.choice(["isolate", "isolate-leader", "one-way-out", "one-way-in", "bridge"])
        x = self.rng.choice(members)
        if shape == "isolate-leader":
            x = self.cluster.leader() or x
        others = [n for n in members if n is not x]
        if len(others) < 2:
            return self.log("partition: fewer than 3 members now, skipped")
        # The node the shape cuts off: x, or for a bridge one of the two that lose each other.
        a, b = others[:2]
        cut_off = a if shape == "bridge" else x
        if not self.guard.take(self.HOLDER, [cut_off]):
            return self._skip(f"partition {shape}")
        if shape in ("isolate", "isolate-leader"):
            cut = [(i, j) for i in ids for j in ids if i != j and (i == x.id) != (j == x.id)]
        elif shape == "one-way-out":
            cut = [(x.id, o.id) for o in others]
        elif shape == "one-way-in":
            cut = [(o.id, x.id) for o in others]
        else:  # x keeps both sides; a and b cannot talk
            cut = [(a.id, b.id), (b.id, a.id)]
        delay_ms = self.rng.choice([0, 0, 20, 100])
        try:
            self.log(f"partition {shape} {x!r} ({mode}; cut {cut}; delay {delay_ms} ms elsewhere)")
            for i in ids:
                for j in ids:
                    if i == j:
                        continue
                    if (i, j) in cut:
                        proxy.set(i, j, mode=mode)
                    else:
                        proxy.set(i, j, mode="ok", delay_ms=delay_ms)
            self._hold(1.0, 3.5)
            self.log("heal partition")
            proxy.heal()
        finally:
            self._release(cut_off)

    def slow_fsync(self):
        n = self._take()
        if n is None:
            return self._skip("slow-fsync")
        try:
            if self.rng.random() < FSYNC_FAIL_SHARE:
                self._fsync_failure(n)
                return
            delay_ms = self.rng.randint(*FSYNC_DELAY_MS)
            self.log(f"fsync delay {delay_ms} ms on {n!r}")
            n.command("DEBUG", "FSYNC-DELAY", delay_ms)
            self._hold(1.0, 3.0)
            self.log(f"fsync delay off on {n!r}")
            n.command("DEBUG", "FSYNC-DELAY", 0)
        finally:
            self._release(n)

    def _fsync_failure(self, n):
        """The node's syncs fail: it stops at the next one (a crash), and is restarted."""
        self.log(f"fsync failure on {n!r}")
        n.command("DEBUG", "FSYNC-FAIL", "yes")
        deadline = time.monotonic() + FSYNC_FAIL_EXIT_TIMEOUT_S
        while n.alive() and time.monotonic() < deadline and not self.stop_flag.is_set():
            self.stop_flag.wait(0.05)
        if n.alive():  # no write reached it; the fault ends without a crash
            self.log(f"{n!r} did not sync meanwhile; fsync failure off")
            try:
                n.command("DEBUG", "FSYNC-FAIL", "no")
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass  # it failed a sync just now and is stopping
        if not n.alive():
            n.proc.wait(timeout=10)
            self.log(f"{n!r} stopped (exit {n.proc.returncode})")
            self._hold(0.1, 1.0)
            self._restart(n)

    def failover(self):
        leader = self.cluster.leader()
        if leader is None:
            self.log("failover: no leader now, skipped")
            return
        voters = [n for n in self.cluster.members() if n is not leader and n in self.guard.voters]
        if not voters:
            return self.log("failover: no other voter, skipped")
        target = self.rng.choice(voters)
        self.log(f"FAILOVER on leader {leader!r} to {target!r}")
        try:
            reply = leader.command("FAILOVER", "TO", "127.0.0.1", target.port, "TIMEOUT",
                                   FAILOVER_TIMEOUT_MS, timeout=FAILOVER_TIMEOUT_MS / 1000 + 3)
            self.failovers_done += 1
            self.log(f"FAILOVER to {target!r}: {reply!r}")
        except redis.exceptions.ResponseError as e:  # e.g. it stopped leading meanwhile
            self.log(f"FAILOVER to {target!r} refused: {e}")
        self._hold(0.3, 1.0)

    # ---- schedule ----------------------------------------------------------------------------

    def heal_all(self):
        self.cluster.proxy.heal()
        for n in self.cluster.members():
            if n.paused:
                n.resume()
            if not n.alive() and not self.guard.holds(n):  # one held is the membership's
                self.log(f"final restart {n!r}")
                n.start()
            elif n.alive() and "slow-fsync" in self.families:
                try:  # only left on if the nemesis failed mid-fault
                    n.command("DEBUG", "FSYNC-DELAY", 0)
                    n.command("DEBUG", "FSYNC-FAIL", "no")
                except redis.exceptions.RedisError as e:
                    self.log(f"{n!r}: could not switch fsync faults off: {e!r}")

    def _run(self, duration_s, until):
        end = time.monotonic() + duration_s
        try:
            while not self.stop_flag.is_set() and time.monotonic() < end:
                self._hold(0.3, 1.5)
                if self.stop_flag.is_set() or time.monotonic() >= end or until():
                    break
                getattr(self, self.rng.choice(self.families).replace("-", "_"))()
        except Exception as e:  # reported by the test, which fails on it
            self.error = e
            self.log(f"nemesis error: {e!r}")
        finally:
            self.heal_all()

    def start(self, duration_s, until=lambda: False):
        """Runs faults for duration_s at most, and stops early once until() is true."""
        self.thread = threading.Thread(target=self._run, args=(duration_s, until),
                                       name="nemesis", daemon=True)
        self.thread.start()

    def join(self, timeout_s):
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the nemesis did not stop"
