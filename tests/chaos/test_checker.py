"""Unit tests of the linearizability checker (no processes)."""
import random

import pytest

from linearizability import Budget, Op, check, check_key, check_versions


def op(kind, call, ret, arg=None, result=None, status="ok", p=0, key="k", version=None):
    return Op(process=p, key=key, kind=kind, arg=arg, result=result, call=call,
              ret=None if status == "unknown" else ret, status=status, version=version)


def test_sequential_history_passes():
    h = [op("read", 0, 1, result=None), op("write", 2, 3, arg=10), op("read", 4, 5, result=10),
         op("incr", 6, 7, result=11), op("cas", 8, 9, arg=(11, 20), result=True),
         op("cas", 10, 11, arg=(11, 30), result=False), op("read", 12, 13, result=20)]
    assert check_key("k", h) is None


def test_concurrent_overlap_allows_either_order():
    # The read overlaps the write: it may see the old or the new value.
    h = [op("write", 0, 1, arg=1), op("write", 2, 6, arg=2, p=1), op("read", 3, 4, result=1, p=2),
         op("read", 3.5, 5, result=2, p=3)]
    assert check_key("k", h) is None


def test_lost_acknowledged_write_fails():
    h = [op("write", 0, 1, arg=1), op("write", 2, 3, arg=2, p=1), op("read", 4, 5, result=1, p=2)]
    v = check_key("k", h)
    assert v is not None
    assert "read -> 1" in v.render()


def test_stale_read_after_newer_read_fails():
    # Two reads in real-time order see the new then the old value.
    h = [op("write", 0, 1, arg=1), op("write", 2, 10, arg=2, p=1), op("read", 3, 4, result=2, p=2),
         op("read", 5, 6, result=1, p=3)]
    assert check_key("k", h) is not None


def test_read_of_never_written_value_fails():
    h = [op("write", 0, 1, arg=1), op("read", 2, 3, result=99, p=1)]
    assert check_key("k", h) is not None


def test_incr_result_must_follow_state():
    h = [op("write", 0, 1, arg=100), op("incr", 2, 3, result=1, p=1)]
    assert check_key("k", h) is not None
    h = [op("write", 0, 1, arg=100), op("incr", 2, 3, result=101, p=1)]
    assert check_key("k", h) is None


def test_cas_success_on_wrong_value_fails():
    h = [op("write", 0, 1, arg=1), op("write", 2, 3, arg=2), op("cas", 4, 5, arg=(1, 3), result=True)]
    assert check_key("k", h) is not None


def test_cas_mismatch_when_value_matched_fails():
    h = [op("write", 0, 1, arg=1), op("cas", 2, 3, arg=(1, 3), result=False)]
    assert check_key("k", h) is not None


def test_unknown_write_may_take_effect_or_not():
    seen = [op("write", 0, 1, arg=1), op("write", 2, None, arg=2, status="unknown", p=1),
            op("read", 5, 6, result=2, p=2)]
    assert check_key("k", seen) is None
    unseen = [op("write", 0, 1, arg=1), op("write", 2, None, arg=2, status="unknown", p=1),
              op("read", 5, 6, result=1, p=2)]
    assert check_key("k", unseen) is None
    # ... but not before it was invoked.
    early = [op("write", 0, 1, arg=1), op("read", 1.5, 1.8, result=2, p=2),
             op("write", 2, None, arg=2, status="unknown", p=1)]
    assert check_key("k", early) is not None


def test_unknown_cas_and_incr_may_apply():
    h = [op("write", 0, 1, arg=10), op("cas", 2, None, arg=(10, 20), status="unknown", p=1),
         op("read", 3, 4, result=20, p=2)]
    assert check_key("k", h) is None
    h = [op("write", 0, 1, arg=10), op("incr", 2, None, status="unknown", p=1),
         op("incr", 3, 4, result=12, p=2)]
    assert check_key("k", h) is None


def test_failed_write_must_not_appear():
    h = [op("write", 0, 1, arg=1), op("write", 2, 3, arg=2, status="fail", p=1),
         op("read", 4, 5, result=2, p=2)]
    assert check_key("k", h) is not None


def test_window_is_small_around_the_violation():
    rng = random.Random(7)
    h, t, value = [], 0.0, None
    for i in range(300):  # a long correct sequential prefix
        if rng.random() < 0.5:
            value = 1000 * (i + 1)
            h.append(op("write", t, t + 0.5, arg=value, p=i % 3))
        else:
            h.append(op("read", t, t + 0.5, result=value, p=i % 3))
        t += 1
    h.append(op("write", t, t + 0.5, arg=7_000_000))
    h.append(op("read", t + 1, t + 1.5, result=value, p=1))  # the write is lost
    for i in range(50):
        h.append(op("read", t + 2 + i, t + 2.5 + i, result=value, p=2))
    v = check_key("k", h)
    assert v is not None
    assert len(v.window) <= 3, v.render()
    assert any(o.kind == "write" and o.arg == 7_000_000 for o in v.window), v.render()


def test_random_linearizable_histories_pass():
    """Histories generated from a real sequential execution with overlapping intervals pass."""
    rng = random.Random(1)
    for trial in range(30):
        value, ops, t = None, [], 0.0
        for i in range(120):
            kind = rng.choice(["read", "write", "incr", "cas"])
            lin = t + rng.random()
            call, ret = lin - rng.random() * 2, lin + rng.random() * 2
            status = "unknown" if rng.random() < 0.05 and kind != "read" else "ok"
            if kind == "read":
                o = op("read", call, ret, result=value)
            elif kind == "write":
                value = (trial * 1000 + i + 1) * 1_000_000
                o = op("write", call, ret, arg=value, status=status)
            elif kind == "incr":
                value = (value or 0) + 1
                o = op("incr", call, ret, result=value, status=status)
            else:
                exp = value if rng.random() < 0.6 else -1
                new = (trial * 1000 + i + 1) * 1_000_000
                hit = exp == value
                if hit:
                    value = new
                o = op("cas", call, ret, arg=(exp, new), result=hit, status=status)
            ops.append(o)
            t += 1
        violations, stats = check(ops)
        assert violations == [], violations[0].render()


def test_versions_must_map_one_to_one():
    ok = [op("read", 0, 1, result=5, version=3), op("read", 2, 3, result=5, version=3),
          op("cas", 4, 5, arg=(5, 6), result=True, version=9)]
    assert check_versions(ok) == []
    bad = [op("read", 0, 1, result=5, version=3), op("read", 2, 3, result=6, version=3)]
    assert check_versions(bad)


def _random_history(rng, n, trial=0):
    value, ops, t = None, [], 0.0
    for i in range(n):
        kind = rng.choice(["read", "write", "incr", "cas"])
        lin = t + rng.random()
        call, ret = lin - rng.random() * 2, lin + rng.random() * 2
        if kind == "read":
            o = op("read", call, ret, result=value, p=i % 5)
        elif kind == "write":
            value = (trial * 100000 + i + 1) * 1_000_000
            o = op("write", call, ret, arg=value, p=i % 5)
        elif kind == "incr":
            value = (value or 0) + 1
            o = op("incr", call, ret, result=value, p=i % 5)
        else:
            new = (trial * 100000 + i + 1) * 1_000_000
            hit = rng.random() < 0.6
            exp = value if hit else -1
            if hit:
                value = new
            o = op("cas", call, ret, arg=(exp, new), result=hit, p=i % 5)
        ops.append(o)
        t += 1
    return ops


def test_long_history_with_one_stale_read_fails():
    rng = random.Random(3)
    ops = _random_history(rng, 3000)
    assert check(ops)[0] == []
    # Make one late read return the value of an early write: stale.
    reads = [o for o in ops[2000:] if o.kind == "read"]
    old = next(o.arg for o in ops[:100] if o.kind == "write")
    reads[0].result = old
    violations, _ = check(ops)
    assert len(violations) == 1
    assert any(o is reads[0] for o in violations[0].window), violations[0].render()
    assert len(violations[0].window) < 50, violations[0].render()


def test_search_is_bounded():
    ops = _random_history(random.Random(5), 200)
    with pytest.raises(Budget):
        check(ops, budget_steps=10)
