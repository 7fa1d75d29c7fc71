"""Command semantics, checked side by side against a real redis-server and a Bellwether cluster.

The golden scripts in src/kv/testdata/*.golden, one per command family (also run by
src/kv/golden_test.cc against kv::Store), hold most cases; the tests below them cover what a script cannot: real time passing,
SCAN iteration, unordered replies. Every expectation passes against redis-server first.

Run: /usr/bin/python3 -m pytest tests/integration/test_commands.py
"""

import os
import re
import shutil
import socket
import subprocess
import time

import pytest
import redis

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_DIR = os.path.join(REPO, "src", "kv", "testdata")
STARTUP_TIMEOUT_S = 10
EXPIRY_TIMEOUT_S = 5


# ---------------------------------------------------------------- targets

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_endpoint(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STARTUP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RawErrorParser(redis.connection.PythonParser):
    """Keeps error texts whole: redis-py strips a leading "ERR " and we check it."""
    EXCEPTION_CLASSES = {}


@pytest.fixture(params=["redis", "bellwether"])
def target(request):
    """(name, client) with an empty database; raw replies (no redis-py response callbacks)."""
    if request.param == "redis":
        endpoint = request.getfixturevalue("redis_endpoint")
    else:
        try:
            endpoint = request.getfixturevalue("bellwether_cluster")[0]
        except pytest.FixtureLookupError:
            pytest.skip("no bellwether_cluster fixture (tests/integration/conftest.py)")
    host, port = endpoint.rsplit(":", 1)
    pool = redis.ConnectionPool(host=host, port=int(port), socket_timeout=10,
                                parser_class=RawErrorParser)
    client = redis.Redis(connection_pool=pool)
    client.response_callbacks = {}
    client.execute_command("FLUSHALL")
    yield request.param, client
    client.close()


# ---------------------------------------------------------------- golden scripts

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def tokenize(line):
    """Splits a command line into byte strings (the golden file's quoting rules)."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        word = bytearray()
        if line[i] == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\":
                    if line[i + 1] == "x":
                        word.append(int(line[i + 2:i + 4], 16))
                        i += 4
                    else:
                        word += _ESCAPES[line[i + 1]].encode()
                        i += 2
                else:
                    word += line[i].encode()
                    i += 1
            i += 1
        else:
            while i < len(line) and line[i] != " ":
                word += line[i].encode()
                i += 1
        words.append(bytes(word))
    return words


def quote(b):
    out = '"'
    for c in b:
        ch = chr(c)
        if ch in '"\\':
            out += "\\" + ch
        elif 32 <= c < 127:
            out += ch
        else:
            out += f"\\x{c:02x}"
    return out + '"'


def render(reply):
    if isinstance(reply, redis.ResponseError):
        return f"(error) {reply}"
    if reply is None:
        return "(nil)"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    if isinstance(reply, bytes):
        return quote(reply)
    if isinstance(reply, list):
        return "[" + ", ".join(render(r) for r in reply) + "]"
    raise AssertionError(f"unexpected reply type {type(reply)}: {reply!r}")


def load_sections():
    """{"file: section": [(command, expected, line)]} for every *.golden script."""
    sections = {}
    for file in sorted(f for f in os.listdir(GOLDEN_DIR) if f.endswith(".golden")):
        name = None
        with open(os.path.join(GOLDEN_DIR, file), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f]
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("## "):
                name = f"{file}: {line[3:].strip()}"
                sections[name] = []
            elif line.startswith("> "):
                sections[name].append((line[2:], lines[i + 1], i + 1))
                i += 1
            i += 1
    return sections


SECTIONS = load_sections()


def run(client, *args):
    try:
        return client.execute_command(*args)
    except redis.ResponseError as e:
        return e


@pytest.mark.parametrize("section", list(SECTIONS))
def test_golden(target, section):
    _, client = target
    file = section.split(":", 1)[0]
    for command, expected, line in SECTIONS[section]:
        got = render(run(client, *tokenize(command)))
        assert got == expected, f"{file}:{line}: > {command}"


# ---------------------------------------------------------------- time and iteration

def wait_until(fn, timeout_s=EXPIRY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while not fn():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_relative_expiry_passes(target):
    _, c = target
    assert run(c, "SET", "k", "v", "PX", "150") == b"OK"
    pttl = run(c, "PTTL", "k")
    assert 0 < pttl <= 150
    assert run(c, "GET", "k") == b"v" or pttl < 50
    wait_until(lambda: run(c, "GET", "k") is None)
    assert run(c, "TTL", "k") == -2
    assert run(c, "EXISTS", "k") == 0
    assert run(c, "TYPE", "k") == b"none"
    # Writes treat the expired key as absent.
    assert run(c, "SET", "k", "w", "NX") == b"OK"
    assert run(c, "TTL", "k") == -1


def test_expired_key_is_absent_for_writes(target):
    _, c = target
    run(c, "SET", "n", "41", "PX", "100")
    run(c, "SET", "r", "x", "PX", "100")
    wait_until(lambda: run(c, "EXISTS", "n", "r") == 0)
    assert run(c, "INCR", "n") == 1
    assert run(c, "APPEND", "a", "x") == 1
    assert str(run(c, "RENAME", "r", "s")) == "ERR no such key"
    assert run(c, "EXPIRE", "r", "100") == 0
    assert run(c, "GETSET", "r", "y") is None


def test_active_expiry_removes_keys(target):
    """Keys expire without being touched: DBSIZE drops once the server reclaims them."""
    _, c = target
    for i in range(20):
        run(c, "SET", f"e{i}", "v", "PX", "50")
    run(c, "SET", "keep", "v")
    wait_until(lambda: run(c, "DBSIZE") == 1, timeout_s=10)


def test_pexpire_then_pttl(target):
    _, c = target
    run(c, "SET", "k", "v")
    assert run(c, "PEXPIRE", "k", "100000") == 1
    assert 99000 < run(c, "PTTL", "k") <= 100000
    assert abs(run(c, "EXPIRETIME", "k") - int(time.time() + 100)) <= 2


def scan_all(c, *options, count=10):
    seen, cursor, rounds = [], b"0", 0
    while True:
        cursor, keys = run(c, "SCAN", cursor, "COUNT", count, *options)
        seen.extend(keys)
        rounds += 1
        assert rounds < 10000
        if cursor == b"0":
            return seen


def test_scan_iterates_everything(target):
    _, c = target
    keys = {f"key:{i}".encode() for i in range(500)}
    run(c, "MSET", *[x for k in sorted(keys) for x in (k, b"v")])
    seen = scan_all(c)
    assert set(seen) == keys
    matched = scan_all(c, "MATCH", "key:1*")
    assert set(matched) == {k for k in keys if k.startswith(b"key:1")}
    assert set(scan_all(c, "TYPE", "string")) == keys
    assert scan_all(c, "TYPE", "hash") == []
    cursor, batch = run(c, "SCAN", "0", "COUNT", "1000")
    assert cursor == b"0" and set(batch) == keys


def test_scan_guarantee_under_changes(target):
    """Keys present for the whole scan are returned, while others come and go."""
    _, c = target
    stable = {f"s{i}".encode() for i in range(300)}
    run(c, "MSET", *[x for k in sorted(stable) for x in (k, b"v")])
    seen, cursor, step = set(), b"0", 0
    while True:
        cursor, keys = run(c, "SCAN", cursor, "COUNT", 7)
        seen.update(keys)
        run(c, "SET", f"new{step}", "v")
        run(c, "DEL", f"new{step - 3}")
        step += 1
        assert step < 10000
        if cursor == b"0":
            break
    assert stable <= seen


def test_keys_and_randomkey(target):
    _, c = target
    assert run(c, "RANDOMKEY") is None
    run(c, "MSET", "one", "1", "two", "2", "three", "3", "a/b", "4", ".dot", "5")
    assert sorted(run(c, "KEYS", "*")) == [b".dot", b"a/b", b"one", b"three", b"two"]
    assert sorted(run(c, "KEYS", "t*")) == [b"three", b"two"]
    assert sorted(run(c, "KEYS", "*o*")) == [b".dot", b"one", b"two"]
    assert run(c, "KEYS", "a*b") == [b"a/b"]
    assert run(c, "KEYS", "[.]*") == [b".dot"]
    for _ in range(20):
        assert run(c, "RANDOMKEY") in {b"one", b"two", b"three", b"a/b", b".dot"}


def test_binary_keys_and_values(target):
    _, c = target
    key, value = b"k\x00\xff\r\n", bytes(range(256))
    assert run(c, "SET", key, value) == b"OK"
    assert run(c, "GET", key) == value
    assert run(c, "STRLEN", key) == 256
    assert run(c, "KEYS", "*") == [key]
    assert run(c, "DEL", key) == 1


def test_large_value(target):
    _, c = target
    value = b"x" * (1 << 20)
    assert run(c, "SET", "big", value) == b"OK"
    assert run(c, "APPEND", "big", "y") == (1 << 20) + 1
    assert run(c, "GETRANGE", "big", -2, -1) == b"xy"
    assert run(c, "SETRANGE", "big", 1 << 21, "z") == (1 << 21) + 1


def test_getver(target):
    name, c = target
    if name == "redis":
        pytest.skip("GETVER is a Bellwether command")
    assert run(c, "GETVER", "k") is None
    run(c, "SET", "k", "v")
    value, v1 = run(c, "GETVER", "k")
    assert value == b"v" and v1 > 0
    run(c, "SET", "other", "x")
    assert run(c, "GETVER", "k")[1] == v1
    run(c, "APPEND", "k", "w")
    value, v2 = run(c, "GETVER", "k")
    assert value == b"vw" and v2 > v1
    run(c, "EXPIRE", "k", "100")
    assert run(c, "GETVER", "k")[1] > v2
    assert str(run(c, "GETVER")) == "ERR wrong number of arguments for 'getver' command"


# ---------------------------------------------------------------- sets

def test_set_unordered_replies(target):
    """Set replies whose order Redis leaves to its hash table, compared as sets."""
    _, c = target
    members = {f"m{i}".encode() for i in range(300)}
    assert run(c, "SADD", "s", *sorted(members)) == 300
    assert set(run(c, "SMEMBERS", "s")) == members
    popped = run(c, "SPOP", "s", 10)
    assert len(set(popped)) == 10 and set(popped) <= members
    one = run(c, "SPOP", "s")
    assert one in members and one not in popped
    left = members - set(popped) - {one}
    assert set(run(c, "SMEMBERS", "s")) == left
    picked = run(c, "SRANDMEMBER", "s", 20)
    assert len(set(picked)) == 20 and set(picked) <= left
    repeated = run(c, "SRANDMEMBER", "s", -500)
    assert len(repeated) == 500 and set(repeated) <= left
    assert run(c, "SRANDMEMBER", "s") in left
    run(c, "SADD", "t", "m1", "m2", "m3", "other")
    assert set(run(c, "SINTER", "s", "t")) == {b"m1", b"m2", b"m3"} & left
    assert set(run(c, "SUNION", "t", "s")) == left | {b"m1", b"m2", b"m3", b"other"}
    assert set(run(c, "SDIFF", "t", "s")) == {b"m1", b"m2", b"m3", b"other"} - left
    # SSCAN returns every member present for the whole scan, while others come and go.
    seen, cursor, step = set(), b"0", 0
    while True:
        cursor, batch = run(c, "SSCAN", "s", cursor, "COUNT", 7)
        seen.update(batch)
        run(c, "SADD", "s", f"new{step}")
        run(c, "SREM", "s", f"new{step - 3}")
        step += 1
        assert step < 10000
        if cursor == b"0":
            break
    assert left <= seen


def test_spop_is_the_same_on_every_node(bellwether_cluster):
    """SPOP's choice is the leader's, written into the entry: every node holds the same set."""
    clients = []
    for endpoint in bellwether_cluster:
        host, port = endpoint.rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), socket_timeout=10)
        client.response_callbacks = {}
        clients.append(client)
    try:
        c = clients[0]
        c.delete("pop")
        c.sadd("pop", *[f"m{i}" for i in range(200)])
        popped = c.execute_command("SPOP", "pop", 50)
        assert len(set(popped)) == 50
        c.execute_command("SPOP", "pop")
        # Linearizable reads on each node are served from its own applied state: the same
        # members in the same order.
        replies = [cl.execute_command("SMEMBERS", "pop") for cl in clients]
        assert len(replies[0]) == 149
        assert all(r == replies[0] for r in replies)
        assert not set(popped) & set(replies[0])
    finally:
        for cl in clients:
            cl.close()
