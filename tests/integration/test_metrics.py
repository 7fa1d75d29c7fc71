"""The Prometheus endpoint (--metrics-listen, docs/monitoring.md) of a real three-node cluster:
scraped with urllib during write load, parsed with Debian's prometheus_client, linted with
promtool (Debian's prometheus package) or, without it, checked against the text format here; and
the example alert rules validated and unit-tested with promtool."""

import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest
import redis

from conftest import BIN, METRICS_PORT_OFFSET, ROOT, free_port_block, wait_until

HTTP_TIMEOUT_S = 5
BENCH_TIMEOUT_S = 120
PROMTOOL = shutil.which("promtool")
RULES_DIR = os.path.join(ROOT, "examples", "prometheus")

prometheus_parser = pytest.importorskip("prometheus_client.parser")


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=HTTP_TIMEOUT_S) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type", "")


def scrape(node):
    status, body, content_type = http_get(node.metrics_port, "/metrics")
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4"), content_type
    return body


class Samples:
    """A scrape parsed by prometheus_client: value(name, **labels) finds one sample."""

    def __init__(self, text):
        self.text = text
        self.families = {f.name: f for f in prometheus_parser.text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def find(self, name, **labels):
        want = {k: str(v) for k, v in labels.items()}
        return [s for s in self.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in want.items())]

    def value(self, name, **labels):
        found = self.find(name, **labels)
        assert len(found) == 1, f"{name} {labels}: {found}"
        return found[0].value


# The text exposition format, line by line (used when promtool is not installed, and always as a
# second opinion): comments name known types, samples are name{labels} value, histograms'
# buckets are cumulative and end with +Inf equal to _count.
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
                       r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)?\})? (\S+)( -?\d+)?$')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def check_exposition_format(text):
    assert text.endswith("\n")
    types = {}
    buckets = {}  # (family, labels without le) -> [(le, count)]
    counts = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in TYPES, line
            assert name not in types, f"second TYPE for {name}"
            types[name] = kind
            continue
        if line.startswith("# HELP ") or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(3) or "", m.group(5)
        float(value)  # parses, including +Inf/NaN spellings
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if types.get(family) == "histogram":
            rest = ",".join(p for p in labels.split(",") if p and not p.startswith("le="))
            if name.endswith("_bucket"):
                le = re.search(r'le="([^"]+)"', labels).group(1)
                buckets.setdefault((family, rest), []).append((float(le), float(value)))
            elif name.endswith("_count"):
                counts[(family, rest)] = float(value)
        else:
            assert name in types, f"sample {name} without a TYPE line"
    for key, bs in buckets.items():
        les = [le for le, _ in bs]
        assert les == sorted(les) and les[-1] == float("inf"), key
        values = [v for _, v in bs]
        assert values == sorted(values), f"{key}: buckets not cumulative"
        assert values[-1] == counts[key], f"{key}: +Inf bucket != _count"


def promtool_check_metrics(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=HTTP_TIMEOUT_S * 6)
    assert r.returncode == 0, r.stdout + r.stderr


def write_load(node, writes):
    """`writes` SETs through redis-benchmark when installed, else through a redis-py pipeline."""
    if shutil.which("redis-benchmark"):
        r = subprocess.run(["redis-benchmark", "-p", str(node.port), "-t", "set", "-n",
                            str(writes), "-c", "8", "-r", "1000", "-q"],
                           capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
        assert r.returncode == 0, r.stdout + r.stderr
        return
    client = node.client()
    for start in range(0, writes, 100):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(writes, start + 100)):
            pipe.set(f"key:{i % 1000}", i)
        pipe.execute()


@pytest.fixture
def metrics_cluster(cluster_factory):
    return cluster_factory(3, metrics=True)


def test_counters_and_histograms_move_under_write_load(metrics_cluster):
    c = metrics_cluster
    leader = c.wait_for_leader()
    followers = [n for n in c.nodes if n is not leader]
    before = Samples(scrape(leader))
    follower_before = Samples(scrape(followers[0]))

    write_load(leader, 3000)
    # The followers' acks and the leader's own apply run after the replies: wait for them.
    wait_until(lambda: Samples(scrape(leader)).value("bellwether_commits_total", group=1)
               >= before.value("bellwether_commits_total", group=1) + 3000,
               what="the leader to apply the writes")
    after = Samples(scrape(leader))

    assert after.value("bellwether_role", group=1, role="leader") == 1
    assert after.value("bellwether_role", group=1, role="follower") == 0
    assert after.value("bellwether_leader_id", group=1) == after.value("bellwether_node_id")
    assert after.value("bellwether_term", group=1) >= 1
    for counter in ("bellwether_proposals_total", "bellwether_commits_total"):
        assert after.value(counter, group=1) >= before.value(counter, group=1) + 3000, counter
    assert after.value("bellwether_commit_index", group=1) >= \
        before.value("bellwether_commit_index", group=1) + 3000
    assert after.value("bellwether_connections_total") > before.value("bellwether_connections_total")
    assert after.value("bellwether_keys", group=1) > 0
    assert after.value("bellwether_resident_memory_bytes") > 0

    # Histograms filled: the WAL's fsyncs and the leader's proposals.
    assert after.value("bellwether_fsync_duration_seconds_count") > \
        before.value("bellwether_fsync_duration_seconds_count")
    assert after.value("bellwether_fsync_duration_seconds_sum") > 0
    assert after.value("bellwether_proposal_commit_duration_seconds_count", group=1) >= \
        before.value("bellwether_proposal_commit_duration_seconds_count", group=1) + 3000
    inf = after.value("bellwether_proposal_commit_duration_seconds_bucket", group=1, le="+Inf")
    assert inf == after.value("bellwether_proposal_commit_duration_seconds_count", group=1)
    # Command latencies, once the command path records them.
    set_count = after.find("bellwether_command_duration_seconds_count", command="set")
    if set_count:
        assert set_count[0].value >= 3000

    # The leader lists each follower's progress; the lag is in entries, never negative.
    follower_ids = {str(int(Samples(scrape(n)).value("bellwether_node_id"))) for n in followers}
    lag = after.find("bellwether_follower_lag_entries", group=1)
    assert {s.labels["peer"] for s in lag} == follower_ids
    assert all(s.value >= 0 for s in lag)
    assert {s.labels["peer"] for s in after.find("bellwether_follower_match_index")} == follower_ids

    # Peer traffic: the leader sent appends to each follower, the follower received them.
    for peer in follower_ids:
        assert after.value("bellwether_peer_sent_bytes_total", peer=peer) > \
            before.value("bellwether_peer_sent_bytes_total", peer=peer)
    follower_after = Samples(scrape(followers[0]))
    leader_id = str(int(after.value("bellwether_node_id")))
    assert follower_after.value("bellwether_peer_received_frames_total", peer=leader_id) > \
        follower_before.value("bellwether_peer_received_frames_total", peer=leader_id)
    assert follower_after.value("bellwether_role", group=1, role="follower") == 1
    assert not follower_after.find("bellwether_follower_lag_entries")
    assert follower_after.value("bellwether_fsync_duration_seconds_count") > \
        follower_before.value("bellwether_fsync_duration_seconds_count")

    check_exposition_format(after.text)
    check_exposition_format(follower_after.text)


def test_slow_fsyncs_show_in_the_histograms(cluster_factory):
    """DEBUG FSYNC-DELAY slows the WAL's syncs (under the timing): they and the writes waiting on
    them land in the buckets above the delay."""
    delay_ms, writes = 40, 5
    slower_than = "0.032768"  # the largest bucket bound below the delay, as exported
    c = cluster_factory(1, metrics=True, extra_args=["--enable-debug-command", "yes"])
    node = c.wait_for_leader()
    client = node.client()

    def slow(samples, family, **labels):
        return (samples.value(f"{family}_count", **labels)
                - samples.value(f"{family}_bucket", le=slower_than, **labels))

    before = Samples(scrape(node))
    client.execute_command("DEBUG", "FSYNC-DELAY", delay_ms)
    try:
        for i in range(writes):
            client.set(f"slow:{i}", i)
    finally:
        client.execute_command("DEBUG", "FSYNC-DELAY", 0)
    after = Samples(scrape(node))
    assert slow(after, "bellwether_fsync_duration_seconds") >= \
        slow(before, "bellwether_fsync_duration_seconds") + writes
    assert slow(after, "bellwether_proposal_commit_duration_seconds", group=1) >= \
        slow(before, "bellwether_proposal_commit_duration_seconds", group=1) + writes
    assert after.value("bellwether_fsync_duration_seconds_sum") >= writes * delay_ms / 1000


def test_scrapes_pass_promtool(metrics_cluster):
    leader = metrics_cluster.wait_for_leader()
    write_load(leader, 200)
    for node in metrics_cluster.nodes:
        text = scrape(node)
        check_exposition_format(text)
        if PROMTOOL:
            promtool_check_metrics(text)


def test_exposition_check_catches_bad_text():
    """The in-test format check (promtool's stand-in) must be able to fail."""
    check_exposition_format('# TYPE x_total counter\nx_total{a="1"} 3\n')
    bad = [
        "x_total 3\n",  # no TYPE
        '# TYPE x gauge\nx{a=1} 3\n',  # unquoted label value
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n',  # no +Inf
    ]
    for text in bad:
        with pytest.raises(AssertionError):
            check_exposition_format(text)


def test_healthz_and_unknown_pages(metrics_cluster):
    leader = metrics_cluster.wait_for_leader()
    status, body, _ = http_get(leader.metrics_port, "/healthz")
    assert status == 200 and body == "ok leader\n", body
    follower = next(n for n in metrics_cluster.nodes if n is not leader)
    status, body, _ = http_get(follower.metrics_port, "/healthz")
    assert status == 200 and body == "ok follower\n", body
    status, _, _ = http_get(leader.metrics_port, "/nothing-here")
    assert status == 404


def test_busy_event_loop_answers_503(cluster_factory):
    """The HTTP threads never touch the node: while its event loop is stuck (DEBUG SLEEP), a
    scrape gets 503 after the loop timeout instead of hanging, and 200 again afterwards."""
    c = cluster_factory(1, metrics=True, extra_args=["--enable-debug-command", "yes"])
    node = c.wait_for_leader()
    assert http_get(node.metrics_port, "/metrics")[0] == 200
    sleeper = node.client(socket_timeout=30)
    proc = subprocess.Popen(["redis-cli", "-p", str(node.port), "DEBUG", "SLEEP", "4"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: http_get(node.metrics_port, "/metrics")[0] == 503, timeout=10,
                   what="a 503 while the loop sleeps")
    finally:
        proc.wait(timeout=30)
    wait_until(lambda: http_get(node.metrics_port, "/metrics")[0] == 200, timeout=10,
               what="a 200 once the loop runs again")
    assert sleeper.ping()


def test_metrics_listen_refuses_a_taken_port(cluster_factory):
    c = cluster_factory(1, start=False)
    node = c.nodes[0]
    node.extra_args = ["--metrics-listen", node.endpoint]  # the client port itself
    node.start()
    assert node.proc.wait(timeout=30) != 0
    with open(node.log_path) as f:
        assert "metrics-listen" in f.read()


def test_cluster_up_serves_metrics():
    work = tempfile.mkdtemp(prefix="bellwether-metrics-up-")
    base = free_port_block(3)
    try:
        out = subprocess.run([BIN, "cluster", "up", "--dir", work, "--detach", "--base-port",
                              str(base)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        for i in range(3):
            port = base + i + METRICS_PORT_OFFSET
            assert f"http://127.0.0.1:{port}/metrics" in out.stdout, out.stdout
            status, body, _ = http_get(port, "/metrics")
            assert status == 200 and "bellwether_role{" in body
    finally:
        subprocess.run([BIN, "cluster", "down", "--dir", work], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def test_example_alert_rules():
    rules = os.path.join(RULES_DIR, "bellwether-alerts.yml")
    if not PROMTOOL:
        import yaml  # without promtool: at least the structure Prometheus expects
        with open(rules) as f:
            groups = yaml.safe_load(f)["groups"]
        names = [r["alert"] for g in groups for r in g["rules"]]
        assert {"BellwetherNodeDown", "BellwetherNoLeader", "BellwetherFollowerLagging",
                "BellwetherFsyncSlow", "BellwetherCommandLatencyHigh"} <= set(names)
        assert all(r.get("expr") for g in groups for r in g["rules"])
        return
    for args in (["check", "rules", rules],
                 ["check", "config", os.path.join(RULES_DIR, "prometheus.yml")],
                 ["test", "rules", os.path.join(RULES_DIR, "bellwether-alerts.test.yml")]):
        r = subprocess.run([PROMTOOL] + args, capture_output=True, text=True, timeout=60,
                           cwd=RULES_DIR)
        assert r.returncode == 0, r.stdout + r.stderr


def test_every_exported_metric_is_documented(metrics_cluster):
    leader = metrics_cluster.wait_for_leader()
    write_load(leader, 50)
    with open(os.path.join(ROOT, "docs", "monitoring.md")) as f:
        doc = f.read()
    names = set(re.findall(r"^# TYPE (\S+) ", scrape(leader), re.M))
    assert "bellwether_proposals_total" in names
    missing = sorted(n for n in names if f"`{n}" not in doc)
    assert not missing, f"not in docs/monitoring.md: {missing}"
