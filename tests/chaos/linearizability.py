"""Linearizability checker for a register per key (WGL search with memoization, as in Porcupine).

Model, per key: the value is an integer or None (absent). Operations:
  read   result = value seen (GET, or the value half of GETVER)
  write  arg = value (SET; every written value is unique in a run)
  incr   result = value after the increment (absent counts as 0)
  cas    arg = (expected_value, new_value), result = True (written) / False (did not match).
         The client reads [value, version] with GETVER and sends CAS with that version. Because
         every write leaves a value that never occurs again on that key (unique SET values,
         increments only count up from them), "the version matches" is the same as "the value
         matches", so CAS is modelled as compare-on-value. `check_versions` verifies the premise:
         on each key, a value maps to one version and a version to one value.

Outcomes: "ok" (the reply is known), "fail" (definitely not applied: dropped), "unknown" (the op
may or may not have taken effect, at any time after its invocation: its return is at infinity and
its result is not used).
"""
import dataclasses
import math
import time
from typing import Optional

ANY = "<any>"  # a free initial state for window search: consistent with anything


@dataclasses.dataclass
class Op:
    process: int
    key: str
    kind: str  # read | write | incr | cas
    arg: object = None
    result: object = None
    call: float = 0.0
    ret: Optional[float] = None  # None: unknown outcome
    status: str = "ok"  # ok | fail | unknown
    version: Optional[int] = None  # GETVER's version, or CAS's new version
    node: Optional[int] = None
    id: int = -1

    def describe(self):
        ret = "?" if self.ret is None or self.status == "unknown" else f"{self.ret:9.4f}"
        if self.kind == "read":
            what = f"read -> {self.result}"
        elif self.kind == "write":
            what = f"write {self.arg}"
        elif self.kind == "incr":
            what = f"incr -> {self.result}" if self.status == "ok" else "incr"
        else:
            exp, new = self.arg
            res = {True: "ok", False: "mismatch"}.get(self.result, "?") if self.status == "ok" else "?"
            what = f"cas {exp} -> {new}: {res}"
        ver = f" ver={self.version}" if self.version is not None else ""
        return (f"[{self.call:9.4f} .. {ret}] p{self.process:<2} n{self.node} {self.key} {what}"
                f"{ver} ({self.status})")


def _mutates(op):
    return op.kind in ("write", "incr", "cas")


def step(state, op, unknown):
    """Possible states after `op` from `state` ([] = illegal)."""
    k = op.kind
    if k == "read":
        if state is ANY:
            return [op.result]
        return [state] if state == op.result else []
    if k == "write":
        return [op.arg]
    if k == "incr":
        if unknown:
            return [ANY if state is ANY else (state or 0) + 1]
        if state is ANY or (state or 0) + 1 == op.result:
            return [op.result]
        return []
    if k == "cas":
        exp, new = op.arg
        if unknown:
            if state is ANY:
                return [new, ANY]
            return [new, state] if state == exp else [state]
        if op.result:
            return [new] if (state is ANY or state == exp) else []
        return [state] if (state is ANY or state != exp) else []
    raise ValueError(f"unknown op kind {k}")


class _Entry:
    __slots__ = ("op", "idx", "is_call", "time", "match", "prev", "next", "unknown")


class Budget(Exception):
    """The search exceeded its step budget: no verdict."""


def _search(ops, init, budget_steps):
    """True if `ops` (one key; each with .unknown set) has a linearization from `init`."""
    entries = []
    for i, op in enumerate(ops):
        c, r = _Entry(), _Entry()
        c.op = r.op = op
        c.idx = r.idx = i
        c.unknown = r.unknown = op._unknown
        c.is_call, r.is_call = True, False
        c.time = op.call
        r.time = math.inf if op._unknown else op.ret
        c.match, r.match = r, c
        entries += [c, r]
    # Calls before returns at equal times: concurrency is assumed when the clock cannot tell.
    entries.sort(key=lambda e: (e.time, not e.is_call))
    head = _Entry()
    head.prev, head.next = None, None
    prev = head
    for e in entries:
        prev.next, e.prev, e.next = e, prev, None
        prev = e

    def lift(e):
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev
        m = e.match
        m.prev.next = m.next
        if m.next is not None:
            m.next.prev = m.prev

    def unlift(e):
        m = e.match
        m.prev.next = m
        if m.next is not None:
            m.next.prev = m
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e

    cache = set()
    stack = []
    known_left = sum(not op._unknown for op in ops)
    state, linearized = init, 0
    entry = head.next
    alts = None
    steps = 0
    while True:
        if known_left == 0:
            return True  # all known ops placed; the unknown rest may be applied or not at the end
        steps += 1
        if steps > budget_steps:
            raise Budget()
        if entry.is_call:
            options = alts if alts is not None else step(state, entry.op, entry.unknown)
            alts = None
            moved = False
            while options:
                ns = options.pop()
                lin = linearized | (1 << entry.idx)
                if (lin, ns) in cache:
                    continue
                cache.add((lin, ns))
                stack.append((entry, state, options))
                state, linearized = ns, lin
                lift(entry)
                known_left -= not entry.unknown
                entry = head.next
                moved = True
                break
            if not moved:
                entry = entry.next
        else:
            if not stack:
                return False
            e, st, rest = stack.pop()
            state = st
            linearized &= ~(1 << e.idx)
            unlift(e)
            known_left += not e.unknown
            entry, alts = e, rest
            if not alts:
                alts = None
                entry = e.next


def _prepare(ops):
    """Drops what carries no information; marks unknown ops."""
    out = []
    for op in ops:
        if op.status == "fail":
            continue
        if op.status == "unknown" and not _mutates(op):
            continue
        op._unknown = op.status == "unknown"
        out.append(op)
    return out


def _relaxed(ops, k, j=None):
    """History whose failure implies the failure of `ops` (sorted by call; see check_key).

    Ops after the k-th by call keep only their effect (unknown mutators); with `j`, ops completed
    before the j-th op's call are dropped (the start state becomes ANY) and the remaining older
    ones are relaxed like the later ones.
    """
    window = ops[j if j is not None else 0:k + 1]
    last_ret = max((o.ret for o in window if not o._unknown), default=-math.inf)
    out = []
    for i, o in enumerate(ops):
        relax = i > k or (j is not None and i < j)
        if j is not None and i < j and not o._unknown and o.ret < ops[j].call:
            continue  # linearized before every op of the window
        if relax:
            if not _mutates(o) or o.call > last_ret:
                continue
            o2 = dataclasses.replace(o)
            o2._unknown = True
            out.append(o2)
        else:
            out.append(o)
    return out


@dataclasses.dataclass
class Violation:
    key: str
    window: list  # ops (sorted by call) that together cannot be linearized
    context: list  # relaxed neighbours (their effect may or may not apply)
    reason: str

    def render(self):
        lines = [f"linearizability violation on key {self.key}: {self.reason}",
                 f"  smallest window ({len(self.window)} ops) that cannot be linearized:"]
        lines += ["    " + o.describe() for o in self.window]
        if self.context:
            lines.append("  concurrent writes whose effect was allowed anywhere after their call:")
            lines += ["    " + o.describe() for o in self.context[:20]]
        return "\n".join(lines)


def _fails(h, init, budget_steps):
    return not _search(h, init, budget_steps)


def check_key(key, ops, budget_steps=2_000_000, init=None):
    """None if linearizable, else a Violation with a minimal window. Raises Budget."""
    ops = sorted(_prepare(ops), key=lambda o: o.call)
    if not _fails(ops, init, budget_steps):
        return None
    # Smallest k whose prefix (later ops relaxed) fails: monotone, so binary search.
    lo, hi = 0, len(ops) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _fails(_relaxed(ops, mid), init, budget_steps):
            hi = mid
        else:
            lo = mid + 1
    k = lo
    # Largest start j whose window j..k still fails from any start state.
    best = None
    for j in range(k, -1, -1):
        if k - j > 400:
            break
        if _fails(_relaxed(ops, k, j), ANY, budget_steps):
            best = j
            break
    if best is None:
        window = ops[:k + 1]
        context = [o for o in ops[k + 1:] if _mutates(o)]
    else:
        window = [o for o in ops[best:k + 1]]
        h = _relaxed(ops, k, best)
        ids = {id(o) for o in window}
        context = [o for o in h if id(o) not in ids and o.call <= window[-1].call]
    culprit = ops[k]
    reason = f"no order of the ops explains {culprit.describe().strip()}"
    return Violation(key, window, context, reason)


def check_versions(ops):
    """Violations of 'one version per value and one value per version' per key (strings)."""
    problems = []
    by_key = {}
    for op in ops:
        if op.status != "ok" or op.version is None:
            continue
        value = op.result if op.kind == "read" else op.arg[1]
        if op.kind == "cas" and not op.result:
            continue
        by_key.setdefault(op.key, []).append((value, op.version, op))
    for key, rows in by_key.items():
        v2ver, ver2v = {}, {}
        for value, ver, op in rows:
            if v2ver.setdefault(value, (ver, op))[0] != ver:
                problems.append(f"{key}: value {value} has versions {v2ver[value][0]} and {ver}: "
                                f"{v2ver[value][1].describe()} / {op.describe()}")
            if ver2v.setdefault(ver, (value, op))[0] != value:
                problems.append(f"{key}: version {ver} has values {ver2v[ver][0]} and {value}: "
                                f"{ver2v[ver][1].describe()} / {op.describe()}")
    return problems


def check(ops, budget_steps=2_000_000):
    """Checks every key. Returns (violations, stats)."""
    started = time.monotonic()
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    violations = []
    for key in sorted(by_key):
        try:
            v = check_key(key, by_key[key], budget_steps)
        except Budget:
            raise Budget(f"key {key}: search exceeded {budget_steps} steps; no verdict") from None
        if v is not None:
            violations.append(v)
    stats = {"ops": len(ops), "keys": len(by_key), "seconds": time.monotonic() - started,
             "ok": sum(o.status == "ok" for o in ops),
             "fail": sum(o.status == "fail" for o in ops),
             "unknown": sum(o.status == "unknown" for o in ops)}
    return violations, stats
