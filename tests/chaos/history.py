"""Concurrent clients that record a history of operations for the linearizability checker.

Every operation records its invocation and completion time (monotonic seconds since the
recorder's start) and outcome:
  ok       the reply is known
  fail     definitely not applied: the connection could not be made before sending, or the
           server answered -TRYAGAIN (docs/operations.md: never proposed / not applied)
  unknown  timeout, connection lost after sending, -TIMEOUT, or any other unexpected error
"""
import itertools
import json
import random
import threading
import time

import redis

from linearizability import Op

VALUE_STRIDE = 1_000_000  # SET values are multiples; increments stay below the next one


class Recorder:
    """Runs `clients` threads against the endpoints `targets()` returns (list of (node, port)).

    kinds: which operations to mix ("read", "write", "incr", "cas"); cas needs GETVER/CAS.
    """

    def __init__(self, targets, keys, clients=5, seed=0, kinds=("read", "write", "incr", "cas"),
                 socket_timeout_s=3.0, think_ms=(0, 10), ops_max=400_000):
        self.targets = targets
        self.keys = list(keys)
        self.clients = clients
        self.seed = seed
        self.kinds = kinds
        self.socket_timeout_s = socket_timeout_s
        self.think_ms = think_ms
        self.ops_max = ops_max
        self.ops = []
        self.lock = threading.Lock()
        self.values = itertools.count(1)
        self.stop_flag = threading.Event()
        self.threads = []
        self.t0 = time.monotonic()
        self.errors = {}  # connection trouble and error replies -> count (for the report)
        self.unexpected = {}  # error replies other than TRYAGAIN / TIMEOUT -> count

    def now(self):
        return time.monotonic() - self.t0

    def _record(self, op):
        with self.lock:
            op.id = len(self.ops)
            self.ops.append(op)

    def _note_error(self, text):
        with self.lock:
            self.errors[text[:60]] = self.errors.get(text[:60], 0) + 1

    # ---- one command, classified -------------------------------------------------------------

    def execute(self, conns, node, port, *args):
        """Returns (status, reply). Connection handling decides ok / fail / unknown."""
        conn = conns.get(port)
        if conn is None:
            conn = redis.Connection(host="127.0.0.1", port=port,
                                    socket_timeout=self.socket_timeout_s,
                                    socket_connect_timeout=self.socket_timeout_s)
            try:
                conn.connect()
            except redis.exceptions.RedisError as e:
                self._note_error(f"connect: {e}")
                return "fail", None  # nothing was sent
            conns[port] = conn
        try:
            conn.send_command(*args)
            reply = conn.read_response()
            return "ok", reply
        except redis.exceptions.ResponseError as e:
            text = str(e)
            if text.startswith("TRYAGAIN"):
                return "fail", None
            if not text.startswith("TIMEOUT"):
                self._note_error(text)
                with self.lock:
                    self.unexpected[text[:80]] = self.unexpected.get(text[:80], 0) + 1
            return "unknown", None
        except (redis.exceptions.RedisError, OSError) as e:
            self._note_error(type(e).__name__)
            conn.disconnect()
            conns.pop(port, None)
            return "unknown", None

    # ---- operations ----------------------------------------------------------------------------

    def op_once(self, rng, conns, process, kind=None, key=None, target=None):
        node, port = target or rng.choice(self.targets())
        key = key or rng.choice(self.keys)
        kind = kind or rng.choice(self.kinds)
        if kind == "read":
            op = Op(process, key, "read", call=self.now(), node=node)
            status, reply = self.execute(conns, node, port, "GET", key)
            op.ret = self.now()
            op.status = status
            if status == "ok":
                op.result = None if reply is None else int(reply)
            self._record(op)
        elif kind == "write":
            value = next(self.values) * VALUE_STRIDE
            op = Op(process, key, "write", arg=value, call=self.now(), node=node)
            status, _ = self.execute(conns, node, port, "SET", key, value)
            op.ret, op.status = self.now(), status
            self._record(op)
        elif kind == "incr":
            op = Op(process, key, "incr", call=self.now(), node=node)
            status, reply = self.execute(conns, node, port, "INCR", key)
            op.ret, op.status = self.now(), status
            if status == "ok":
                op.result = int(reply)
            self._record(op)
        else:
            self.cas_once(conns, process, node, port, key)

    def cas_once(self, conns, process, node, port, key):
        read = Op(process, key, "read", call=self.now(), node=node)
        status, reply = self.execute(conns, node, port, "GETVER", key)
        read.ret, read.status = self.now(), status
        if status != "ok":
            self._record(read)
            return
        if reply is None:
            read.result, read.version = None, 0
        else:
            read.result, read.version = int(reply[0]), int(reply[1])
        self._record(read)
        new = next(self.values) * VALUE_STRIDE
        op = Op(process, key, "cas", arg=(read.result, new), call=self.now(), node=node)
        status, reply = self.execute(conns, node, port, "CAS", key, read.version, new)
        op.ret, op.status = self.now(), status
        if status == "ok":
            op.result = int(reply) != 0
            op.version = int(reply) if op.result else None
        self._record(op)

    def _worker(self, process):
        rng = random.Random(self.seed * 1000 + process)
        conns = {}
        try:
            while not self.stop_flag.is_set() and len(self.ops) < self.ops_max:
                self.op_once(rng, conns, process)
                lo, hi = self.think_ms
                if hi:
                    self.stop_flag.wait(rng.uniform(lo, hi) / 1000.0)
        finally:
            for c in conns.values():
                c.disconnect()

    def start(self):
        for p in range(self.clients):
            t = threading.Thread(target=self._worker, args=(p,), name=f"chaos-client-{p}",
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self, join_timeout_s=30):
        self.stop_flag.set()
        for t in self.threads:
            t.join(join_timeout_s)
        assert not any(t.is_alive() for t in self.threads), "a client thread did not stop"

    def final_reads(self, deadline_s=20.0):
        """After the faults: reads every key once through each target until one answers ok."""
        conns = {}
        process = self.clients
        try:
            for key in self.keys:
                end = time.monotonic() + deadline_s
                for node, port in self.targets():
                    while time.monotonic() < end:
                        before = len(self.ops)
                        self.op_once(random.Random(0), conns, process, kind="read", key=key,
                                     target=(node, port))
                        if self.ops[before].status == "ok":
                            break
                        time.sleep(0.05)  # pacing a retry, not waiting on a condition
        finally:
            for c in conns.values():
                c.disconnect()

    def dump(self, path):
        with open(path, "w") as f:
            json.dump([{k: v for k, v in vars(o).items() if not k.startswith("_")}
                       for o in self.ops], f, indent=0)


def load(path):
    with open(path) as f:
        rows = json.load(f)
    ops = []
    for r in rows:
        if r.get("kind") == "cas" and r.get("arg") is not None:
            r["arg"] = tuple(r["arg"])
        ops.append(Op(**r))
    return ops
