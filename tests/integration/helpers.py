"""Shared helpers for the integration tests: Raft progress checks, a bounded concurrent writer,
raw-socket clients, a context manager that always resumes paused processes, and power cuts.

Everything polls with a deadline (conftest.wait_until); nothing sleeps to wait for a condition.
"""
import contextlib
import random
import signal
import socket
import threading
import time

import redis

from conftest import wait_until

# The machine is small and shared; these bound every wait generously but finitely.
CATCH_UP_TIMEOUT_S = 30
RAW_REPLY_TIMEOUT_S = 10


def raft(node):
    """The node's INFO raft section."""
    return node.info("raft")


def persistence(node):
    return node.info("persistence")


def wait_caught_up(node, leader, timeout=CATCH_UP_TIMEOUT_S):
    """Waits until `node` has applied everything `leader` had committed when this was called."""
    target = int(raft(leader)["raft_commit_index"])
    wait_until(lambda: int(raft(node)["raft_applied_index"]) >= target, timeout=timeout,
               what=f"node {node.id} to apply up to index {target}")
    return target


def read_all(client, keys, batch=500):
    """Values of `keys` as a dict (bytes or None), read with MGET in bounded batches."""
    out = {}
    for i in range(0, len(keys), batch):
        chunk = keys[i:i + batch]
        for k, v in zip(chunk, client.mget(chunk)):
            out[k] = v
    return out


def missing_or_wrong(client, expected):
    """The keys of `expected` (key -> bytes value) whose value on `client` differs, with it."""
    got = read_all(client, list(expected))
    return {k: got[k] for k, v in expected.items() if got[k] != v}


def log_tail(node, lines=15):
    try:
        with open(node.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
    except OSError as e:
        return f"(no log: {e})"


def assert_alive(nodes):
    """Fails naming every node process that exited, with the end of its log."""
    dead = [n for n in nodes if not n.alive()]
    assert not dead, "node process exited unexpectedly:\n" + "\n".join(
        f"--- node {n.id} (exit {n.proc.returncode}):\n{log_tail(n)}" for n in dead)


@contextlib.contextmanager
def stopped(*nodes):
    """SIGSTOPs the nodes for the duration of the block; SIGCONT always follows."""
    for n in nodes:
        n.signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for n in nodes:
            n.signal(signal.SIGCONT)


class LoadWriter:
    """Threads writing unique keys to the nodes in `targets`, recording every outcome.

    acked[key] = value for each SET answered +OK (it must never be lost); errors[node_id] lists
    (exception class name, message) for the rest. Bounded by writes_max per thread and by the
    caller's stop(); each request by the clients' socket timeout.
    """

    def __init__(self, nodes, threads=4, writes_max=20000, socket_timeout=10, prefix="w"):
        self.targets = list(nodes)  # replaced (not mutated) by retarget()
        self.threads_n = threads
        self.writes_max = writes_max
        self.socket_timeout = socket_timeout
        self.prefix = prefix
        self.lock = threading.Lock()
        self.acked = {}
        self.ack_times = []  # (monotonic time, node id) of each ack
        self.errors = {}
        self.slowest_s = {}  # node id -> slowest request seen
        self._stop = threading.Event()
        self._threads = []

    def retarget(self, nodes):
        self.targets = list(nodes)

    def start(self):
        for t in range(self.threads_n):
            th = threading.Thread(target=self._run, args=(t,), daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def stop(self, timeout=30):
        self._stop.set()
        for th in self._threads:
            th.join(timeout)
            assert not th.is_alive(), "a writer thread did not stop"

    def acks_since(self, t0, node_ids=None):
        with self.lock:
            return sum(1 for t, n in self.ack_times
                       if t >= t0 and (node_ids is None or n in node_ids))

    def snapshot(self):
        with self.lock:
            return dict(self.acked)

    def _run(self, thread_no):
        rng = random.Random(thread_no)
        clients = {}
        for seq in range(self.writes_max):
            if self._stop.is_set():
                break
            node = rng.choice(self.targets)
            c = clients.get(node.id)
            if c is None:
                c = clients[node.id] = node.client(socket_timeout=self.socket_timeout,
                                                   socket_connect_timeout=2)
            key = f"{self.prefix}{thread_no}-{seq}"
            value = f"v{seq}-{rng.getrandbits(32):08x}".encode()
            started = time.monotonic()
            try:
                ok = c.set(key, value)
                outcome = None if ok is True else ("NotOK", repr(ok))
            except redis.exceptions.ResponseError as e:
                outcome = ("ResponseError", str(e))
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
                outcome = (type(e).__name__, str(e))
            took = time.monotonic() - started
            with self.lock:
                self.slowest_s[node.id] = max(self.slowest_s.get(node.id, 0.0), took)
                if outcome is None:
                    self.acked[key] = value
                    self.ack_times.append((time.monotonic(), node.id))
                else:
                    self.errors.setdefault(node.id, []).append(outcome)
        for c in clients.values():
            c.close()


def resp_command(*args):
    """One command in RESP (arguments as bytes, or anything str() makes text of)."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RawConn:
    """A plain TCP connection for sending arbitrary bytes and reading whatever comes back."""

    def __init__(self, port, timeout=RAW_REPLY_TIMEOUT_S):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data):
        """Sends all of `data`; returns False if the server closed the connection meanwhile."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def read_until_closed(self, timeout=RAW_REPLY_TIMEOUT_S, bytes_max=1 << 20):
        """Reads until EOF/reset; returns (bytes, closed). closed is False on timeout."""
        deadline = time.monotonic() + timeout
        data = b""
        while len(data) < bytes_max:
            left = deadline - time.monotonic()
            if left <= 0:
                return data, False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False

    def read_line(self, timeout=RAW_REPLY_TIMEOUT_S):
        """Reads one CRLF-terminated reply line (simple replies only)."""
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\r\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no full reply line within {timeout}s, got {data!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(1)
            if not chunk:
                raise AssertionError(f"connection closed mid-reply, got {data!r}")
            data += chunk
        return data

    def close(self):
        self.sock.close()


def power_cut(node, timeout=RAW_REPLY_TIMEOUT_S):
    """DEBUG POWER-CUT (the node must run with --enable-debug-command): the node drops every
    write it has not fsync'd and dies at once, as in a power loss. Unlike SIGKILL, which leaves
    the kernel's page cache to the restarted process, this tells a node that fsyncs what it
    acknowledges from one that does not."""
    conn = RawConn(node.port, timeout=timeout)
    try:
        assert conn.send(resp_command("DEBUG", "POWER-CUT")), f"node {node.id} closed at once"
        reply, closed = conn.read_until_closed(timeout=timeout)
    finally:
        conn.close()
    assert closed and reply == b"", f"node {node.id} answered DEBUG POWER-CUT with {reply!r}"
    node.proc.wait(timeout=timeout)
    assert node.proc.returncode == -signal.SIGKILL, \
        f"node {node.id} exited with {node.proc.returncode}, not as cut off:\n{log_tail(node)}"
