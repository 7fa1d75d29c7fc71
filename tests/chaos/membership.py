"""Membership changes during the faults: a fixed number of operations from a seeded plan, each
with a deadline, on their own thread while nemesis.Nemesis keeps killing, pausing and
partitioning nodes.

Operations (MEMBER ... in docs/operations.md):
  add       start a node with --join (the cluster adds it as a learner), then MEMBER PROMOTE it
  learner   start a node with --join and leave it a learner, for a later promote or remove
  promote   MEMBER PROMOTE a learner
  remove    MEMBER REMOVE a voter (the leader in a run's first removal, then half the time) or,
            sometimes, a learner, possibly under a fault; sent to any member; the node is
            stopped once it is out, and never restarted
  replace   SIGKILL a voter, delete its data directory, start a new process on its addresses
            with --join --replace OLD: the new node promotes itself and removes OLD once caught up

The voters stay between VOTERS_MIN and VOTERS_MAX (a replacement is promoted before the old
node leaves, so it needs VOTERS_MAX - 1 at most), and at most one learner exists at a time.
Before a change the nemesis registers the voter sets it passes through with the QuorumGuard it
shares with the fault nemesis (and takes the nodes it kills or starts: a replacement's): no
change may leave an impaired majority in any of them, and no fault may start that would, while
the change is under way. A refused change waits for the faults to heal until its deadline.

Every operation ends with an outcome: ok; tryagain (only TRYAGAIN until the deadline); refused
(another error reply, e.g. a change the server finds unsafe under the current faults); timeout
(no outcome by the deadline); skipped (not possible now). None of these fails the run. What
fails it (`violations`, which also stop the plan): a promotion or removal answered +OK that the
leader's member list does not show within IN_FORCE_S; and, checked at the end (finish() and the
test), a replacement that does not complete once the faults healed, members that disagree on
the membership, or a voter count outside the bounds.
"""
import random
import shutil
import threading
import time

import redis

from cluster import wait_until

VOTERS_MIN, VOTERS_MAX = 3, 5
OP_TIMEOUT_S = 30.0  # one operation: joining, catching up, promoting on a busy 2-core machine
REPLACE_TIMEOUT_S = 45.0  # a replacement joins, catches up, is promoted, then OLD is removed
FINISH_TIMEOUT_S = 60.0  # after the faults: unfinished replacements complete
COMMAND_TIMEOUT_S = 8.0  # one MEMBER command (the server answers within its request timeout)
IN_FORCE_S = 10.0  # after +OK, until the leader's member list shows the change
SETTLE_S = 10.0  # reading the member list after a change
OP_BOUND_S = 180.0  # one operation with all its waits, at most (for joining the thread)
RETRY_PACE_S = 0.2
GAP_S = (2.0, 6.0)  # between operations, so that they meet different faults
LEARNER_S = (0.5, 3.0)  # how long an added node stays a learner before its promotion


def last_line(node):
    try:
        with open(node.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(empty log)"
    except OSError as e:
        return f"(no log: {e})"


class MemberOp:
    def __init__(self, kind, start):
        self.kind, self.start = kind, start
        self.end = None
        self.target = None
        self.outcome = None
        self.detail = ""
        self.tries = 0

    def __repr__(self):
        took = "" if self.end is None else f" in {self.end - self.start:.1f}s"
        target = f" {self.target}" if self.target else ""
        return (f"{self.kind}{target}: {self.outcome}{took}, {self.tries} tries"
                + (f" ({self.detail})" if self.detail else ""))


class MembershipNemesis:
    HOLDER = "membership"

    def __init__(self, cluster, guard, seed, now, ops_count):
        self.cluster, self.guard = cluster, guard
        self.rng = random.Random(seed * 7919 + 1)
        self.now = now
        self.ops_count = ops_count
        self.ops = []
        self.events = []
        self.violations = []
        self.error = None
        self.done = threading.Event()
        self.stop_flag = threading.Event()
        self.thread = None
        self.removed_leader = False
        self.unfinished = []  # (old, new): replacements not done by their deadline
        self.abandoned = []  # joining nodes that never joined (the cluster may have added them)
        self.maybe_removed = []  # nodes whose removal had no outcome by its deadline

    def log(self, text):
        self.events.append(f"{self.now():9.4f} member: {text}")

    # ---- talking to the cluster ------------------------------------------------------------------

    def _running(self, exclude=()):
        return [n for n in self.cluster.members()
                if n.alive() and not n.paused and n not in exclude]

    def send(self, op, *argv, to=None):
        """One MEMBER command to `to` or a random running member (it forwards to the leader).
        Returns (status, reply or error text): ok, tryagain, refused, or unknown."""
        op.tries += 1
        node = to or self.rng.choice(self._running() or self.cluster.members())
        try:
            return "ok", node.command("MEMBER", *argv, timeout=COMMAND_TIMEOUT_S)
        except redis.exceptions.ResponseError as e:
            text = str(e)
            if text.startswith("TIMEOUT"):  # may or may not have been applied
                return "unknown", text
            return ("tryagain" if text.startswith("TRYAGAIN") else "refused"), text
        except (redis.exceptions.RedisError, OSError) as e:
            return "unknown", type(e).__name__

    def view(self):
        """The leader's member list {id: fields}, or None if no leader answers now. Of two nodes
        that both think they lead (one cut off, not stepped down yet), the one of the later term."""
        leaders = []
        for n in self._running():
            try:
                info = n.command("INFO", "raft", timeout=1)
            except (redis.exceptions.RedisError, OSError):
                continue
            if info["raft_role"] == "leader":
                leaders.append((int(info["raft_term"]), n))
        if not leaders:
            return None
        try:
            return max(leaders, key=lambda t: t[0])[1].member_list()
        except (redis.exceptions.RedisError, OSError):
            return None

    def _voters(self, view):
        return {i for i, m in view.items() if m["role"] == "voter"}

    def _learners(self, view):
        return {i for i, m in view.items() if m["role"] == "learner"}

    def settle(self, view):
        """Tells the guard the cluster's voters (as nodes; a replaced node still counts while it
        is a voter, held as impaired by its replacement) after a change."""
        self.guard.settle([n for n in self.cluster.all_nodes() if n.id in self._voters(view)])

    def _wait(self, deadline, predicate):
        """Polls predicate() until truthy (returned) or the deadline: None."""
        while time.monotonic() < deadline and not self.stop_flag.is_set():
            try:
                value = predicate()
            except (redis.exceptions.RedisError, OSError):
                value = None
            if value:
                return value
            self.stop_flag.wait(RETRY_PACE_S)
        return None

    def _take(self, op, deadline, nodes, impairs=False, changing=None):
        """Takes nodes (and the voter sets a change passes through) from the guard, waiting for
        the faults holding them or a quorum to end, until the deadline."""
        got = self._wait(deadline, lambda: self.guard.take(self.HOLDER, nodes, impairs, changing))
        if not got:
            op.outcome, op.detail = "skipped", "the faults did not leave room before the deadline"
        return got

    def _command_until(self, op, deadline, argv, done, to=None):
        """Sends argv until an answer other than TRYAGAIN / no answer, or `done()` shows the
        change in force, or the deadline. Sets op.outcome (ok / tryagain / refused / timeout)."""
        last = None
        while time.monotonic() < deadline and not self.stop_flag.is_set():
            status, reply = self.send(op, *argv, to=to() if to else None)
            if status == "ok":
                op.outcome = "ok"
                return True
            last = (status, reply)
            if status == "refused":
                try:
                    if done():  # asked again after a lost answer: it is in force already
                        op.outcome, op.detail = "ok", f"in force; then {reply}"
                        return True
                except (redis.exceptions.RedisError, OSError):
                    pass
                op.outcome, op.detail = "refused", reply
                return False
            self.stop_flag.wait(RETRY_PACE_S)
        op.outcome = "tryagain" if last and last[0] == "tryagain" else "timeout"
        op.detail = last[1] if last else ""
        return False

    def _expect(self, op, what, predicate):
        """A change answered +OK (sent once it was applied) must show in the leader's member
        list soon. If it does not, the run has failed: the plan stops."""
        if self._wait(time.monotonic() + IN_FORCE_S, predicate):
            return True
        self.violations.append(f"{op.kind} {op.target}: answered OK but {what} not seen "
                               f"within {IN_FORCE_S:.0f}s")
        self.log(f"VIOLATION {self.violations[-1]}")
        self.stop_flag.set()
        return False

    # ---- operations --------------------------------------------------------------------------------

    def _start_joining(self, op, deadline, node):
        """Starts a --join node and learns its id; False if it did not join by the deadline."""
        self.log(f"start {node.name} with --join"
                 + (f" --replace {node.replaces}" if node.replaces else ""))
        node.start()
        restarts = 1  # its join gives up after a while (the server bounds it); once more
        while time.monotonic() < deadline and not self.stop_flag.is_set():
            got = self._wait(deadline, lambda: node.learn_id() if node.alive() else "exited")
            if got is None:
                break
            if got != "exited":
                self.log(f"{node.name} joined as node {node.id}")
                return True
            self.log(f"{node.name} exited (exit {node.proc.returncode}): {last_line(node)}")
            if restarts == 0:
                break
            restarts -= 1
            node.start()
        op.outcome, op.detail = "timeout", f"{node.name} did not join"
        return False

    def _abandon(self, node):
        """A joining node that did not join in time: stopped and retired. If the cluster added
        it all the same, the next operation removes it (see _one)."""
        node.stop()
        with self.cluster.lock:
            node.retired = True
        self.abandoned.append(node)

    def add(self, op, promote):
        node = self.cluster.add_node()
        op.target = node.name
        deadline = time.monotonic() + OP_TIMEOUT_S
        self.guard.take(self.HOLDER, [node], impairs=False)
        try:
            if not self._start_joining(op, deadline, node):
                return self._abandon(node)
            op.target = repr(node)
        finally:
            self.guard.release(self.HOLDER, [node])  # a member now: faults may take it
        if promote:
            self.stop_flag.wait(self.rng.uniform(*LEARNER_S))
            self._promote(op, deadline, node)
        else:
            op.outcome = "ok"

    def promote(self, op, view):
        learners = [n for n in self.cluster.members() if n.id in self._learners(view)]
        node = self.rng.choice(learners)
        op.target = repr(node)
        self._promote(op, time.monotonic() + OP_TIMEOUT_S, node)

    def _promote(self, op, deadline, node):
        view = self._wait(deadline, self.view)
        if view is None:
            op.outcome = "timeout"
            return
        voters = [n for n in self.cluster.all_nodes() if n.id in self._voters(view)]
        if not self._take(op, deadline, [], changing=[frozenset(voters + [node])]):
            return
        try:
            self.log(f"MEMBER PROMOTE {node.id}")
            ok = self._command_until(op, deadline, ("PROMOTE", node.id),
                                     lambda: self._voters(self.view() or {}) >= {node.id})
            self.log(f"promote {node!r}: {op.outcome} {op.detail}")
            if ok:
                self._expect(op, f"node {node.id} as a voter",
                             lambda: node.id in self._voters(self.view() or {}))
        finally:
            self._settle_from_cluster()

    def _settle_from_cluster(self):
        view = self._wait(time.monotonic() + SETTLE_S, self.view)
        if view is not None:  # else the guard keeps the sets the change could be in, until
            self.settle(view)  # the next operation starts from a member list

    def remove(self, op, view):
        voters = [n for n in self.cluster.members() if n.id in self._voters(view)]
        learners = [n for n in self.cluster.members() if n.id in self._learners(view)]
        leader = self.cluster.leader()
        if learners and (len(voters) <= VOTERS_MIN or self.rng.random() < 0.3):
            node = self.rng.choice(learners)
        elif leader is not None and leader in voters and (
                not self.removed_leader or self.rng.random() < 0.5):
            node = leader
        else:
            node = self.rng.choice(voters)
        op.target = repr(node) + (" (the leader)" if node is leader else "")
        deadline = time.monotonic() + OP_TIMEOUT_S
        # The node itself is not taken: a fault may be acting on it (an operator removes a
        # failed node), and one may start on it meanwhile; once it is out it stays down.
        changing = [frozenset(n for n in self.cluster.all_nodes()
                              if n.id in self._voters(view) and n is not node)]
        if not self._take(op, deadline, [], changing=changing):
            return
        try:
            # Sent to the node itself a third of the time, while it runs (a leader hands off
            # first), else to a random member.
            to_itself = self.rng.random() < 0.33
            to = lambda: node if to_itself and node.alive() and not node.paused else None  # noqa

            self.log(f"MEMBER REMOVE {node.id}" + (" (the leader)" if node is leader else "")
                     + (" sent to it" if to() else ""))
            gone = lambda: node.id not in (self.view() or {node.id: None})  # noqa: E731
            ok = self._command_until(op, deadline, ("REMOVE", node.id), gone, to=to)
            self.log(f"remove {node!r}: {op.outcome} {op.detail}")
            if ok and self._expect(op, f"node {node.id} gone from the member list", gone):
                self.removed_leader |= node is leader
                self._retire(node)
            elif not ok:
                # An answer lost to a fault: the removal may still go through; finish() looks.
                self.maybe_removed.append(node)
        finally:
            self._settle_from_cluster()

    def _retire(self, node):
        with self.cluster.lock:
            node.retired = True
        self.log(f"stop {node!r} (removed)")
        node.stop()

    def replace(self, op, view):
        voters = [n for n in self.cluster.members() if n.id in self._voters(view)]
        old = self.rng.choice(voters)
        op.target = repr(old)
        deadline = time.monotonic() + REPLACE_TIMEOUT_S
        new = self.cluster.add_node(replaces=old)
        grown = frozenset([n for n in self.cluster.all_nodes() if n.id in self._voters(view)]
                          + [new])
        changing = [grown, grown - {old}]
        if not self._take(op, deadline, [old], impairs=True, changing=changing):
            with self.cluster.lock:
                new.retired = True  # never started
            return
        self.guard.take(self.HOLDER, [new], impairs=False)
        self.log(f"replace {old!r}: SIGKILL, delete {old.data_dir}")
        old.kill()
        with self.cluster.lock:
            old.retired = True
        shutil.rmtree(old.data_dir, ignore_errors=True)

        if not self._start_joining(op, deadline, new):
            # The guard keeps holding old (impaired) and new until the replacement completes.
            self.unfinished.append((old, new))
            return
        op.target = f"{old!r} by {new!r}"
        if self._wait(deadline, lambda: self._replaced(old, new)):
            op.outcome = "ok"
            self._finish_replace(old, new)
        else:
            op.outcome, op.detail = "timeout", "not replaced by the deadline; finished later"
            self.unfinished.append((old, new))

    def _replaced(self, old, new):
        view = self.view()
        return view is not None and old.id not in view and new.id in self._voters(view)

    def _finish_replace(self, old, new):
        self.log(f"{old!r} replaced by {new!r}")
        self._settle_from_cluster()
        self.guard.release(self.HOLDER, [old, new])

    def _complete(self, deadline):
        """Waits for the replacements left unfinished (starting a replacement node again if its
        join gave up); True once none is left."""
        for old, new in list(self.unfinished):
            if not new.alive():
                self.log(f"{new.name} is not running; start it again")
                new.start()
            if new.id is None:
                self._wait(deadline, lambda: new.learn_id() if new.alive() else None)
            if new.id is not None and self._wait(deadline, lambda: self._replaced(old, new)):
                self.unfinished.remove((old, new))
                self.log(f"replacement of {old!r} completed late")
                self._finish_replace(old, new)
        return not self.unfinished

    # ---- the plan ------------------------------------------------------------------------------

    def _feasible(self, view):
        voters, learners = len(self._voters(view)), len(self._learners(view))
        return [k for k, ok in (
            ("add", voters < VOTERS_MAX and learners == 0),
            ("learner", learners == 0),
            ("promote", learners > 0 and voters < VOTERS_MAX),
            ("remove", voters > VOTERS_MIN or learners > 0),
            ("replace", voters < VOTERS_MAX),
        ) if ok]

    def _choose(self, feasible):
        done = {op.kind for op in self.ops if op.outcome == "ok"}
        fresh = [k for k in feasible if k not in done]
        return self.rng.choice(fresh or feasible)

    def _one(self):
        op = MemberOp("plan", self.now())
        self._choose_and_run(op)
        op.end = self.now()
        self.ops.append(op)
        self.log(f"op {len(self.ops)}: {op!r}")

    def _choose_and_run(self, op):
        if self.unfinished and not self._complete(time.monotonic() + OP_TIMEOUT_S):
            op.outcome, op.detail = "skipped", "a replacement is unfinished"
            return
        view = self._wait(time.monotonic() + OP_TIMEOUT_S, self.view)
        if view is None:
            op.outcome, op.detail = "skipped", "no leader answered"
            return
        self._reconcile(view)
        self.settle(view)  # no change is under way: the guard starts from the cluster's voters
        ghosts = self._ghosts(view)
        if ghosts:
            op.kind, op.target = "cleanup", f"nodes {ghosts}"
            deadline = time.monotonic() + OP_TIMEOUT_S
            for i in ghosts:
                self._command_until(op, deadline, ("REMOVE", i),
                                    lambda: i not in (self.view() or {i: None}))
            return
        op.kind = self._choose(self._feasible(view))
        if op.kind in ("add", "learner"):
            self.add(op, promote=op.kind == "add")
        else:
            getattr(self, op.kind)(op, view)

    def _run(self, duration_s):
        end = time.monotonic() + duration_s
        try:
            for _ in range(self.ops_count):
                if self.stop_flag.is_set() or time.monotonic() >= end:
                    break
                self.stop_flag.wait(self.rng.uniform(*GAP_S))
                self._one()
        except Exception as e:  # reported by the test, which fails on it
            self.error = e
            self.log(f"membership nemesis error: {e!r}")
        finally:
            self.done.set()

    def start(self, duration_s):
        """Runs the plan; starts no operation after duration_s."""
        self.thread = threading.Thread(target=self._run, args=(duration_s,),
                                       name="membership-nemesis", daemon=True)
        self.thread.start()

    def join(self, duration_s):
        self.thread.join(duration_s + GAP_S[1] + OP_BOUND_S)
        assert not self.thread.is_alive(), "the membership nemesis did not stop"

    def _reconcile(self, view):
        """Retires the nodes whose removal had no outcome but went through after all."""
        for node in self.maybe_removed:
            if node.id not in view and not node.retired:
                self.log(f"{node!r}: its removal went through after all")
                self._retire(node)

    def _ghosts(self, view):
        """Members no process of the test stands for: nodes added for a join the test gave up
        on (their answer never reached the joining process)."""
        known = {n.id for n in self.cluster.all_nodes()}
        abandoned = {f"127.0.0.1:{n.port}" for n in self.abandoned}
        ghosts = sorted(i for i in view if i not in known)
        unexplained = [i for i in ghosts if view[i]["address"] not in abandoned]
        assert not unexplained, f"members the test never started: {unexplained} in {view}"
        return ghosts

    def finish(self):
        """After the faults healed: replacements left unfinished complete, and members added for
        a join given up on are removed. Fails the run if that cannot be done: with every node up
        the cluster must finish them."""
        if self.violations:
            return  # the run has failed already (the test reports them)
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731
        assert self._complete(deadline), \
            f"replacements not done once the faults healed: {self.unfinished}"
        view = wait_until(self.view, timeout=left(), what="the member list")
        self._reconcile(view)
        for i in self._ghosts(view):
            op = MemberOp("cleanup", self.now())
            self.log(f"remove node {i} (added for a join given up on)")
            assert self._command_until(op, deadline, ("REMOVE", i),
                                       lambda: i not in (self.view() or {i: None})), \
                f"could not remove node {i}: {op!r}"
        self.guard.release(self.HOLDER, list(self.guard.held))
        self.settle(wait_until(self.view, timeout=left(), what="the member list"))
