"""Stock Redis tools against a Bellwether cluster: redis-cli on every node, redis-benchmark with
and without pipelining, and `bellwether cluster up --detach` / `cluster down`.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_tools.py
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import BIN, Cluster, free_port_block, wait_until

TOOL_TIMEOUT_S = 20
BENCH_TIMEOUT_S = 150
BENCH_REQUESTS = 100000
BENCH_KEYSPACE = 1000

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None or
                                shutil.which("redis-benchmark") is None,
                                reason="redis-tools not installed")


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(3).start()
    try:
        yield c
    finally:
        c.stop()


def cli(port, *args, raw=None):
    flags = [] if raw is None else (["--raw"] if raw else ["--no-raw"])
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + flags + list(args),
                         capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    assert out.returncode == 0, f"redis-cli {args}: rc {out.returncode}: {out.stderr}"
    return out.stdout


def test_redis_cli_set_get_on_every_node(cluster):
    for n in cluster.nodes:
        assert cli(n.port, "set", f"cli-{n.id}", f"from-{n.id}").strip() == "OK"
    for n in cluster.nodes:
        for m in cluster.nodes:
            assert cli(n.port, "get", f"cli-{m.id}").strip() == f"from-{m.id}"
        assert cli(n.port, "get", "cli-missing", raw=False).strip() == "(nil)"
        assert cli(n.port, "incr", "cli-counter", raw=False).strip().startswith("(integer) ")
    assert cli(cluster.nodes[0].port, "get", "cli-counter").strip() == str(len(cluster.nodes))
    # An error from the server comes out as redis-cli prints Redis's errors.
    out = cli(cluster.nodes[1].port, "incr", f"cli-{cluster.nodes[1].id}", raw=False)
    assert out.strip() == "(error) ERR value is not an integer or out of range"


def test_redis_cli_info_replication_and_command_count(cluster):
    leader = cluster.leader()
    for n in cluster.nodes:
        out = cli(n.port, "info", "replication", raw=False)
        lines = out.replace("\r", "").splitlines()
        assert lines[0] == "# Replication", out
        fields = dict(ln.split(":", 1) for ln in lines[1:] if ":" in ln)
        if n is leader:
            assert fields["role"] == "master", out
            assert fields["connected_slaves"] == str(len(cluster.nodes) - 1), out
        else:
            assert fields["role"] == "slave", out
            assert fields["master_port"] == str(leader.port), out
            assert fields["master_link_status"] == "up", out
    count = cli(cluster.nodes[0].port, "command", "count")
    assert re.fullmatch(r"\d+\n", count), count
    assert int(count) >= 60  # the issue lists about 70 commands
    assert cli(cluster.nodes[0].port, "command", "count", raw=False).strip() == \
        f"(integer) {int(count)}"


def bench(port, *extra):
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get",
                          "-n", str(BENCH_REQUESTS), "-r", str(BENCH_KEYSPACE), "-q"] +
                         list(extra), capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    text = out.stdout + out.stderr
    print(text)
    assert out.returncode == 0, text
    assert not re.search(r"error|ERR|WRONGTYPE|TRYAGAIN|TIMEOUT", text, re.IGNORECASE), text
    rates = dict(re.findall(r"^(SET|GET): ([\d.]+) requests per second", out.stdout, re.M))
    assert set(rates) == {"SET", "GET"}, out.stdout
    return {k: float(v) for k, v in rates.items()}


def check_bench_keys(cluster):
    # -r 1000 draws keys key:000000000000 ... key:000000000999; every node holds the same ones.
    leader = cluster.leader()
    keys = sorted(leader.client().scan_iter(match="key:*", count=1000))
    assert 0 < len(keys) <= BENCH_KEYSPACE
    values = leader.client().mget(keys)
    # Every SET wrote the same 3-byte payload (redis-benchmark's default -d 3).
    assert len(set(values)) == 1 and values[0] is not None and len(values[0]) == 3, values[:3]
    for n in cluster.nodes:
        assert n.client().mget(keys) == values


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark_runs_clean(cluster, pipeline):
    # Unpipelined against a follower (every SET is forwarded), pipelined against the leader.
    leader = cluster.leader()
    target = leader if pipeline > 1 else next(n for n in cluster.nodes if n is not leader)
    rates = bench(target.port, "-P", str(pipeline))
    print(f"node {target.id} ({'leader' if target is leader else 'follower'}) -P {pipeline}: "
          f"{rates}")
    check_bench_keys(cluster)
    for n in cluster.nodes:
        assert n.alive()


def _our_node_running(pid, work_dir):
    """True if `pid` is still a live (not zombie) node process of the cluster in `work_dir`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z" and work_dir.encode() in cmdline


def test_cluster_up_detach_then_down():
    work = tempfile.mkdtemp(prefix="bellwether-up-")
    base = free_port_block(3)
    pids = []
    try:
        out = subprocess.run([BIN, "cluster", "up", "--dir", work, "--detach", "--base-port",
                              str(base)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        with open(os.path.join(work, "cluster.pids")) as f:
            pids = [int(p) for p in f.read().split()]
        assert len(pids) == 3
        assert f"127.0.0.1:{base}" in out.stdout and "leader" in out.stdout, out.stdout
        ports = [base + i for i in range(3)]
        for p in ports:
            assert cli(p, "set", f"up-{p}", "v").strip() == "OK"
        for p in ports:
            for q in ports:
                assert cli(p, "get", f"up-{q}").strip() == "v"
        status = subprocess.run([BIN, "status", "--endpoint", f"127.0.0.1:{base}"],
                                capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
        assert status.returncode == 0, status.stderr
        assert status.stdout.count("leader") >= 1 and status.stdout.count("follower") == 2, \
            status.stdout
        down = subprocess.run([BIN, "cluster", "down", "--dir", work], capture_output=True,
                              text=True, timeout=60)
        assert down.returncode == 0, down.stdout + down.stderr

        wait_until(lambda: not any(_our_node_running(p, work) for p in pids), timeout=15,
                   what="nodes to exit")
    finally:
        for p in pids:  # only if `cluster down` failed to stop them
            if _our_node_running(p, work):
                os.kill(p, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


PIPE_COMMANDS = 30000  # several times a session's limit of commands awaiting replies


@pytest.mark.parametrize("through", ["leader", "follower"])
def test_redis_cli_pipe_of_more_commands_than_a_session_holds(cluster, through):
    """redis-cli --pipe writes everything, then waits for the replies. The session stops
    reading while too many commands await replies; once they are answered it must go on with
    the commands already buffered, not wait for bytes the client will never send."""
    leader = cluster.leader()
    node = leader if through == "leader" else next(n for n in cluster.nodes if n is not leader)
    value = "v" * 256
    body = "".join(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${len(value)}\r\n{value}\r\n"
                   for k in (f"pipe-{through}-{i:06d}" for i in range(PIPE_COMMANDS)))
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(node.port), "--pipe"],
                         input=body, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"errors: 0, replies: {PIPE_COMMANDS}" in out.stdout, out.stdout
    last = f"pipe-{through}-{PIPE_COMMANDS - 1:06d}"
    assert cli(leader.port, "get", last).strip() == value
