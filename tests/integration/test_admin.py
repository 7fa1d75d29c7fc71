"""Operators' commands as Redis 7 answers them: INFO commandstats/latencystats/errorstats, SLOWLOG,
LATENCY, MONITOR, CLIENT KILL/PAUSE/UNPAUSE/REPLY/LIST, and redis-cli's --latency and --stat.
Reply shapes are compared with a real redis-server where they are deterministic.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest tests/integration/test_admin.py
"""

import os
import pty
import re
import select
import socket
import subprocess
import threading
import time

import pytest
import redis

from conftest import wait_until

DEADLINE_S = 15


def one_node(cluster_factory, *extra):
    c = cluster_factory(1, extra_args=list(extra))
    c.wait_for_leader()
    return c.nodes[0]


def raw(client, *args):
    """A command's reply as the protocol gave it (no redis-py reply callbacks)."""
    conn = client.connection_pool.get_connection("_")
    try:
        conn.send_command(*args)
        return conn.read_response()
    except redis.ResponseError as e:
        return e
    finally:
        client.connection_pool.release(conn)


def error_text(reply):
    assert isinstance(reply, redis.ResponseError), reply
    return str(reply)


class LineReader:
    """Reads lines a subprocess writes to a pseudo-terminal (so it flushes each line), each read
    with a deadline; the process is stopped by its PID."""

    def __init__(self, args):
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        self.fd = master
        self.buf = b""

    def line_matching(self, pattern, timeout=DEADLINE_S):
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode(errors="replace").strip("\r")
                if re.search(pattern, text):
                    return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in {timeout}s")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:  # the process ended
                    raise AssertionError(f"process ended before a line matching {pattern!r}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.fd)


# ---- INFO commandstats / latencystats / errorstats -------------------------------------------


def test_commandstats_counters_move_and_reset(cluster_factory):
    node = one_node(cluster_factory)
    c = node.client()
    c.set("k", "v")
    c.set("k", "w")
    c.get("k")
    with pytest.raises(redis.ResponseError):
        c.execute_command("INCR", "k")  # not an integer: a failed call
    with pytest.raises(redis.ResponseError):
        c.execute_command("HELLO", "4")  # NOPROTO: a failed call
    with pytest.raises(redis.ResponseError):
        c.execute_command("GET")  # arity: a rejected call
    with pytest.raises(redis.ResponseError):
        c.execute_command("NOSUCHCOMMAND")  # unknown: errorstats only
    stats = c.info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 2
    assert stats["cmdstat_set"]["failed_calls"] == 0
    assert stats["cmdstat_get"]["calls"] == 1
    assert stats["cmdstat_get"]["rejected_calls"] == 1
    assert stats["cmdstat_incr"]["calls"] == 1, stats
    assert stats["cmdstat_incr"]["failed_calls"] == 1
    assert stats["cmdstat_hello"]["failed_calls"] == 1
    assert stats["cmdstat_set"]["usec"] > 0
    assert "cmdstat_nosuchcommand" not in stats
    errors = c.info("errorstats")  # redis-py leaves "count=N" (no comma) unparsed
    assert errors["errorstat_NOPROTO"] == "count=1"
    assert errors["errorstat_ERR"] == "count=3"
    assert c.info("stats")["total_error_replies"] == 4
    latency = c.info("latencystats")
    assert set(latency["latency_percentiles_usec_set"]) == {"p50", "p99", "p99.9"}
    everything = c.info("everything")
    assert "cmdstat_set" in everything and "errorstat_NOPROTO" in everything
    default = c.info()
    assert "cmdstat_set" not in default and "errorstat_NOPROTO" in default

    assert c.config_resetstat()
    stats = c.info("commandstats")
    assert set(stats) <= {"cmdstat_config"}  # only CONFIG RESETSTAT itself, once answered
    assert c.info("errorstats") == {}


def test_commandstats_line_format_matches_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    ours = node.client()
    theirs = redis.Redis(port=redis_server)
    pattern = re.compile(r"^cmdstat_set:calls=1,usec=\d+,usec_per_call=\d+\.\d\d,"
                         r"rejected_calls=0,failed_calls=0$")
    latency = re.compile(r"^latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},"
                         r"p99\.9=\d+\.\d{3}$")
    for c in (ours, theirs):
        c.set("k", "v")
        text = raw(c, "INFO", "commandstats").decode()
        assert any(pattern.match(l) for l in text.splitlines()), text
        text = raw(c, "INFO", "latencystats").decode()
        assert any(latency.match(l) for l in text.splitlines()), text


def test_transaction_errors_counted_as_redis_counts_them(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    seen = []
    for port in (node.port, redis_server):
        c = redis.Redis(port=port, single_connection_client=True)
        c.config_resetstat()
        assert raw(c, "MULTI") == b"OK"
        assert isinstance(raw(c, "GET"), redis.ResponseError)  # refused while queueing
        assert str(raw(c, "EXEC")).startswith("Transaction discarded")
        stats = c.info("commandstats")
        errors = c.info("errorstats")
        seen.append((
            {k: v for k, v in stats["cmdstat_get"].items() if k != "usec_per_call"},
            stats["cmdstat_exec"]["calls"], stats["cmdstat_exec"]["failed_calls"],
            stats["cmdstat_multi"]["calls"], errors))
    assert seen[0] == seen[1]


# ---- SLOWLOG ---------------------------------------------------------------------------------


def slowlog_commands(c):
    c.set("short", "v")
    c.set("long", "x" * 200)
    c.execute_command("DEL", *[f"k{i}" for i in range(40)])


def test_slowlog_entries_match_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory, "--slowlog-log-slower-than", "0", "--slowlog-max-len", "128")
    ours = node.client()
    theirs = redis.Redis(port=redis_server)
    theirs.config_set("slowlog-log-slower-than", 0)
    replies = []
    for c in (ours, theirs):
        c.client_setname("watcher")
        raw(c, "SLOWLOG", "RESET")
        slowlog_commands(c)
        replies.append(raw(c, "SLOWLOG", "GET", "3"))
    for entries in replies:
        assert len(entries) == 3
        for e in entries:
            assert len(e) == 6
            assert all(isinstance(x, int) for x in e[:3])
            assert isinstance(e[3], list)
            assert re.fullmatch(rb"127\.0\.0\.1:\d+", e[4]), e[4]
            assert e[5] == b"watcher"
        assert entries[0][0] > entries[1][0] > entries[2][0]  # newest first
        assert abs(entries[0][1] - time.time()) < 60
    # The command lines, trimmed as Redis trims them.
    assert [e[3] for e in replies[0]] == [e[3] for e in replies[1]]
    assert replies[0][0][3][-1] == b"... (10 more arguments)"  # 41 - 32 + 1
    assert replies[0][1][3][2].endswith(b"... (72 more bytes)")


def test_slowlog_len_reset_threshold_and_max_len(cluster_factory):
    node = one_node(cluster_factory, "--slowlog-log-slower-than", "0", "--slowlog-max-len", "5")
    c = node.client()
    for i in range(10):
        c.set(f"k{i}", i)
    assert raw(c, "SLOWLOG", "LEN") == 5
    assert len(raw(c, "SLOWLOG", "GET", "-1")) == 5
    assert len(raw(c, "SLOWLOG", "GET")) == 5
    assert raw(c, "SLOWLOG", "RESET") == b"OK"
    assert raw(c, "SLOWLOG", "LEN") in (0, 1)  # SLOWLOG RESET itself may be logged after it ran
    assert error_text(raw(c, "SLOWLOG", "GET", "-2")) == \
        "count should be greater than or equal to -1"
    help_lines = raw(c, "SLOWLOG", "HELP")
    assert help_lines[0].startswith(b"SLOWLOG <subcommand>")

    quiet = one_node(cluster_factory, "--slowlog-log-slower-than=-1")
    q = quiet.client()
    q.set("a", "b")
    assert raw(q, "SLOWLOG", "LEN") == 0


def test_slowlog_keeps_the_lines_of_pipelined_pending_writes(cluster_factory):
    node = one_node(cluster_factory, "--slowlog-log-slower-than", "0", "--slowlog-max-len", "500")
    c = node.client()
    pipe = c.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"key{i}", "v" * (i % 200))
    pipe.execute()
    entries = raw(c, "SLOWLOG", "GET", "300")
    lines = [e[3] for e in reversed(entries)]
    expected = []
    for i in range(300):
        v = b"v" * (i % 200)
        if len(v) > 128:
            v = v[:128] + b"... (%d more bytes)" % (len(v) - 128)
        expected.append([b"SET", b"key%d" % i, v])
    assert lines == expected


def test_slowlog_catches_a_slow_command(cluster_factory):
    node = one_node(cluster_factory, "--slowlog-log-slower-than", "100000",
                    "--enable-debug-command", "yes")
    c = node.client()
    c.set("fast", "1")
    c.execute_command("DEBUG", "SLEEP", "0.2")
    entries = raw(c, "SLOWLOG", "GET")
    assert [e[3] for e in entries] == [[b"DEBUG", b"SLEEP", b"0.2"]]
    assert entries[0][2] >= 200000


def test_slowlog_help_matches_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    assert raw(node.client(), "SLOWLOG", "HELP") == raw(redis.Redis(port=redis_server),
                                                        "SLOWLOG", "HELP")


# ---- LATENCY ---------------------------------------------------------------------------------


def test_latency_latest_after_debug_sleep(cluster_factory):
    node = one_node(cluster_factory, "--latency-monitor-threshold", "100",
                    "--enable-debug-command", "yes")
    c = node.client()
    assert raw(c, "LATENCY", "LATEST") == []
    c.execute_command("DEBUG", "SLEEP", "0.2")
    latest = raw(c, "LATENCY", "LATEST")
    assert len(latest) == 1
    event, when, last_ms, max_ms = latest[0]
    assert event == b"command"
    assert abs(when - time.time()) < 60
    assert 200 <= last_ms <= max_ms
    history = raw(c, "LATENCY", "HISTORY", "command")
    assert len(history) == 1 and history[0][1] == last_ms
    assert b"command" in raw(c, "LATENCY", "DOCTOR")
    assert raw(c, "LATENCY", "RESET") == 1
    assert raw(c, "LATENCY", "LATEST") == []


def test_latency_histogram_shape_matches_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    for port in (node.port, redis_server):
        for protocol in (2, 3):
            s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
            try:
                s.sendall(b"HELLO %d\r\n" % protocol)
                read_reply(s)
                s.sendall(b"CONFIG RESETSTAT\r\n")
                read_reply(s)
                for _ in range(3):
                    s.sendall(b"SET k v\r\n")
                    read_reply(s)
                s.sendall(b"LATENCY HISTOGRAM set nosuch\r\n")
                reply = read_reply(s)
            finally:
                s.close()
            if protocol == 2:
                name, body = reply[0], reply[1]
                assert len(reply) == 2 and name == b"set"
                assert body[0] == b"calls" and body[1] == 3 and body[2] == b"histogram_usec"
                buckets = body[3]
            else:
                assert list(reply) == [b"set"]
                body = reply[b"set"]
                assert list(body) == [b"calls", b"histogram_usec"] and body[b"calls"] == 3
                buckets = [x for kv in body[b"histogram_usec"].items() for x in kv]
            bounds, counts = buckets[0::2], buckets[1::2]
            assert bounds == sorted(bounds) and counts == sorted(counts) and counts[-1] == 3
            if port == node.port:  # Redis's are near powers of two (HdrHistogram's buckets)
                assert all(b & (b - 1) == 0 for b in bounds)


def read_reply(sock):
    """One RESP2/RESP3 reply from a socket, parsed into Python values (bounded by the timeout)."""
    f = sock.makefile("rb")
    return parse(f)


def parse(f):
    line = f.readline()
    assert line.endswith(b"\r\n"), line
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+",):
        return rest
    if kind in (b"-",):
        return redis.ResponseError(rest.decode())
    if kind in (b":",):
        return int(rest)
    if kind in (b"$", b"="):
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data[4:] if kind == b"=" else data
    if kind in (b"*", b"~", b">"):
        n = int(rest)
        return None if n < 0 else [parse(f) for _ in range(n)]
    if kind == b"%":
        out = {}
        for _ in range(int(rest)):
            k = parse(f)
            out[k] = parse(f)
        return out
    if kind == b"_":
        return None
    raise AssertionError(f"unexpected reply line {line!r}")


# ---- MONITOR ---------------------------------------------------------------------------------


def test_monitor_through_redis_cli(cluster_factory):
    c = cluster_factory(3)
    leader = c.wait_for_leader()
    follower = next(n for n in c.nodes if n is not leader)
    on_follower = LineReader(["redis-cli", "-p", str(follower.port), "monitor"])
    on_leader = LineReader(["redis-cli", "-p", str(leader.port), "monitor"])
    try:
        on_follower.line_matching(r"^OK$")
        on_leader.line_matching(r"^OK$")
        fc = follower.client()
        fc.set("via-follower", 'a "quoted"\nvalue')
        line = on_follower.line_matching(r'"via-follower"')
        assert re.fullmatch(r'\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "via-follower" '
                            r'"a \\"quoted\\"\\nvalue"', line), line
        leader.client().set("marker", "1")
        line = on_leader.line_matching(r'"marker"|"via-follower"')
        assert '"marker"' in line  # the forwarded write shows on the follower only
        # A monitoring client may not touch the keyspace; other commands work; RESET ends it.
        s = socket.create_connection(("127.0.0.1", leader.port), timeout=DEADLINE_S)
        try:
            s.sendall(b"MONITOR\r\nGET k\r\nPING\r\nRESET\r\nGET k\r\n")
            f = s.makefile("rb")
            got = [parse(f) for _ in range(2)]
            assert got[0] == b"OK"
            assert str(got[1]) == "ERR Replica can't interact with the keyspace"
            rest = []
            for _ in range(20):  # monitor lines of PING and RESET may interleave
                rest.append(parse(f))
                if rest[-1] is None:
                    break
            assert b"PONG" in rest and b"RESET" in rest and rest[-1] is None, rest
        finally:
            s.close()
    finally:
        on_follower.stop()
        on_leader.stop()


# ---- redis-cli --latency and --stat ----------------------------------------------------------


def test_redis_cli_latency_and_stat(cluster_factory):
    node = one_node(cluster_factory)
    latency = subprocess.Popen(["redis-cli", "-p", str(node.port), "--latency"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = latency.communicate(timeout=DEADLINE_S)  # without a terminal: one sample, exits
    finally:
        if latency.poll() is None:
            latency.kill()
            latency.wait(timeout=10)
    assert re.search(rb"^\d+ \d+ [\d.]+ \d+$", out, re.M), out
    stat = LineReader(["redis-cli", "-p", str(node.port), "--stat", "-i", "0.1"])
    try:
        stat.line_matching(r"keys\s+mem\s+clients")
        line = stat.line_matching(r"^\d+\s+[\d.]+[KMGB]\s+\d+\s+\d+\s+\d+ \(\+\d+\)")
        assert int(line.split()[2]) >= 1  # connected clients
    finally:
        stat.stop()


# ---- CLIENT ----------------------------------------------------------------------------------


def client_errors(c):
    me = c.client_id()
    return [raw(c, *args) for args in (
        ("CLIENT", "KILL", "1.2.3.4:5"),
        ("CLIENT", "KILL", "ID", "0"),
        ("CLIENT", "KILL", "ID", "abc"),
        ("CLIENT", "KILL", "TYPE", "bogus"),
        ("CLIENT", "KILL", "USER", "nobody"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "maybe"),
        ("CLIENT", "KILL", "ADDR"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "FOO", "bar"),
        ("CLIENT", "KILL", "ID", str(me)),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "TYPE", "master"),
        ("CLIENT", "PAUSE", "abc"),
        ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "10", "FOO"),
        ("CLIENT", "REPLY", "MAYBE"),
        ("CLIENT", "LIST", "TYPE", "bogus"),
        ("CLIENT", "LIST", "ID", "x"),
        ("CLIENT", "NO-EVICT", "maybe"),
    )]


def test_client_errors_match_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    ours = client_errors(node.client())
    theirs = client_errors(redis.Redis(port=redis_server))
    as_text = [[str(r) if isinstance(r, Exception) else r for r in x] for x in (ours, theirs)]
    assert as_text[0] == as_text[1]


def test_client_kill_both_forms(cluster_factory):
    node = one_node(cluster_factory)
    admin = node.client()
    victim = node.client()
    victim.client_setname("victim")
    addr = victim.client_info()["addr"]
    assert raw(admin, "CLIENT", "KILL", addr) == b"OK"
    wait_until(lambda: "victim" not in [c["name"] for c in admin.client_list()],
               what="the old-form kill")
    victim2 = node.client(single_connection_client=True)
    vid = victim2.client_id()
    assert raw(admin, "CLIENT", "KILL", "ID", str(vid), "SKIPME", "yes") == 1
    with pytest.raises(redis.ConnectionError):
        victim2.ping()
    # LADDR, MAXAGE, USER default, and killing oneself with SKIPME no.
    me = node.client(single_connection_client=True)
    laddr = me.client_info()["laddr"]
    assert laddr.endswith(f":{node.port}")
    assert raw(me, "CLIENT", "KILL", "MAXAGE", "1000000") == 0
    assert raw(me, "CLIENT", "KILL", "ID", str(me.client_id()), "USER", "default",
               "LADDR", laddr, "SKIPME", "no") == 1
    with pytest.raises(redis.ConnectionError):
        me.ping()


def test_client_pause_write_holds_writes_only(cluster_factory):
    node = one_node(cluster_factory)
    admin = node.client()
    writer = node.client()
    writer.set("k", "before")
    assert admin.execute_command("CLIENT", "PAUSE", "500", "WRITE")
    start = time.monotonic()
    assert writer.get("k") == b"before"  # reads go on
    assert time.monotonic() - start < 0.4
    writer.set("k", "after")  # waits for the pause to end
    elapsed = time.monotonic() - start
    assert 0.4 <= elapsed < 5, elapsed
    assert writer.get("k") == b"after"


def test_client_unpause_runs_held_commands_in_order(cluster_factory):
    node = one_node(cluster_factory)
    admin = node.client()
    assert admin.execute_command("CLIENT", "PAUSE", "60000", "WRITE")
    results = []

    def write(value):
        results.append(node.client().set("k", value))

    def held():
        return sum("b" in c["flags"] for c in admin.client_list())

    threads = []
    for i, value in enumerate(("first", "second")):
        t = threading.Thread(target=write, args=(value,))
        t.start()
        threads.append(t)
        wait_until(lambda: held() == i + 1, what=f"{i + 1} held clients")
    assert admin.get("k") is None  # nothing written yet
    start = time.monotonic()
    assert admin.execute_command("CLIENT", "UNPAUSE")
    for t in threads:
        t.join(timeout=DEADLINE_S)
        assert not t.is_alive()
    assert time.monotonic() - start < 5
    assert results == [True, True]
    assert admin.get("k") == b"second"


def test_client_pause_all_holds_every_command_until_its_timeout(cluster_factory):
    node = one_node(cluster_factory)
    admin = node.client()
    other = node.client()
    other.ping()
    assert admin.execute_command("CLIENT", "PAUSE", "300", "ALL")
    start = time.monotonic()
    assert other.ping()
    assert 0.25 <= time.monotonic() - start < 5


def reply_bytes(port, payload, expected_len):
    s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
    try:
        s.sendall(payload)
        got = b""
        deadline = time.monotonic() + DEADLINE_S
        while len(got) < expected_len and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def test_client_reply_matches_redis(cluster_factory, redis_server):
    node = one_node(cluster_factory)
    # SET's reply comes after its commit, later than the ones around it: dropped all the same.
    payload = (b"CLIENT REPLY OFF\r\nSET a 1\r\nECHO a\r\nCLIENT REPLY ON\r\nECHO b\r\n"
               b"CLIENT REPLY SKIP\r\nECHO c\r\nPING\r\n")
    expected = b"+OK\r\n$1\r\nb\r\n+PONG\r\n"
    assert reply_bytes(redis_server, payload, len(expected)) == expected
    assert reply_bytes(node.port, payload, len(expected)) == expected


def test_client_list_fields_and_filters(cluster_factory):
    node = one_node(cluster_factory)
    c = node.client(single_connection_client=True)
    c.client_setname("lister")
    assert c.execute_command("CLIENT", "NO-EVICT", "ON")
    assert c.execute_command("CLIENT", "NO-TOUCH", "ON")
    c.execute_command("READONLY")
    sub = node.client().pubsub()
    sub.subscribe("ch")
    sub.psubscribe("p*")
    wait_until(lambda: any(x["flags"] == "P" for x in c.client_list()), what="a subscriber")
    me = c.client_info()
    assert me["name"] == "lister"
    assert me["flags"] == "reT"
    assert me["cmd"] == "client|info"
    assert me["laddr"] == f"127.0.0.1:{node.port}"
    assert int(me["fd"]) > 2
    assert int(me["multi"]) == -1 and me["user"] == "default" and int(me["resp"]) == 2
    pubsubs = c.client_list(_type="pubsub")
    assert len(pubsubs) == 1 and int(pubsubs[0]["sub"]) == 1 and int(pubsubs[0]["psub"]) == 1
    wait_until(lambda: [x["name"] for x in c.client_list(_type="normal")] == ["lister"],
               what="only this normal client")
    by_id = raw(c, "CLIENT", "LIST", "ID", str(c.client_id()), "999999")
    assert by_id.count(b"\n") == 1 and b"name=lister" in by_id
    sub.close()


def test_help_texts(cluster_factory):
    node = one_node(cluster_factory)
    c = node.client()
    client_help = raw(c, "CLIENT", "HELP")
    for sub in (b"KILL", b"LIST", b"PAUSE", b"UNPAUSE", b"REPLY", b"NO-EVICT", b"NO-TOUCH"):
        assert any(line.startswith(sub) for line in client_help), sub
    assert raw(c, "LATENCY", "HELP")[0].startswith(b"LATENCY <subcommand>")
    info = raw(c, "COMMAND", "INFO", "slowlog", "latency", "monitor")
    assert [i[0] for i in info] == [b"slowlog", b"latency", b"monitor"]
