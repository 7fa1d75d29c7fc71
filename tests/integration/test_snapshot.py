"""Snapshots against real node processes: a follower paused while the leader writes far past the
snapshot threshold is caught up by snapshot transfer (not by log), and ends with the leader's data;
a node killed and restarted after the leader compacted past its log is caught up the same way.

Run: BELLWETHER_BIN=build/bellwether \
     /usr/bin/python3 -m pytest -q tests/integration/test_snapshot.py
"""
import subprocess

from conftest import BIN, wait_until
from helpers import persistence, raft, read_all, stopped, wait_caught_up

SNAPSHOT_ENTRIES = 500
PIPELINE_BATCH = 500
# While a follower is paused the leader keeps sending it appends until inflight_appends_max (256)
# messages are unacknowledged; writes in small pipelines make one append each, so the window
# fills and the entries behind it are compacted away.
GAP_BATCH = 10
INFLIGHT_APPENDS_MAX = 256  # raft::Config::inflight_appends_max
# Entries a leader keeps behind its snapshot for slow followers. Without a flag for it the
# server keeps 10000 (NodeConfig::snapshot_keep_entries), so the follower must fall further
# behind than that before the leader can only send it a snapshot.
KEEP_ENTRIES_FLAG = "--snapshot-keep-entries"
KEEP_ENTRIES_SMALL = 100
KEEP_ENTRIES_DEFAULT = 10000


def _keep_flag_supported():
    out = subprocess.run([BIN, "server", "--help"], capture_output=True, text=True, timeout=10)
    return KEEP_ENTRIES_FLAG in out.stdout


def _snapshot_setup():
    """(extra_args, number of writes that puts a paused follower past what the leader keeps).

    The leader stops sending to the paused follower once INFLIGHT_APPENDS_MAX appends of GAP_BATCH
    entries are unacknowledged; it must then compact more than `keep` entries past that point.
    """
    args = ["--snapshot-entries", str(SNAPSHOT_ENTRIES)]
    window = INFLIGHT_APPENDS_MAX * GAP_BATCH
    if _keep_flag_supported():
        return (args + [KEEP_ENTRIES_FLAG, str(KEEP_ENTRIES_SMALL)],
                max(3000, window + KEEP_ENTRIES_SMALL + 1000))
    return args, window + KEEP_ENTRIES_DEFAULT + 1500


def write_keys(client, prefix, count, batch=PIPELINE_BATCH):
    expected = {}
    for start in range(0, count, batch):
        p = client.pipeline(transaction=False)
        keys = [f"{prefix}{i}" for i in range(start, min(start + batch, count))]
        for k in keys:
            p.set(k, f"val-{k}")
            expected[k] = f"val-{k}".encode()
        assert p.execute() == [True] * len(keys)
    return expected


def installed(node):
    return int(persistence(node)["snapshots_installed"])


def assert_same_data(node, leader, expected):
    wait_caught_up(node, leader)
    ro = node.client(single_connection_client=True)
    assert ro.execute_command("READONLY") in (True, b"OK")
    got = read_all(ro, list(expected))
    bad = {k: v for k, v in got.items() if v != expected[k]}
    assert not bad, f"node {node.id} differs on {len(bad)} keys, e.g. {list(bad.items())[:3]}"
    assert ro.dbsize() == leader.client().dbsize() == len(expected)
    ro.close()


def test_paused_follower_is_caught_up_by_snapshot(cluster_factory):
    args, writes = _snapshot_setup()
    c = cluster_factory(size=3, extra_args=args)
    leader = c.leader()
    f = next(n for n in c.nodes if n is not leader)
    lc = leader.client(socket_timeout=30)
    expected = write_keys(lc, "pre", 100)
    wait_caught_up(f, leader)
    before = installed(f)
    taken_before = int(persistence(leader)["snapshots_taken"])
    f_last = int(raft(f)["raft_last_index"])

    with stopped(f):
        expected.update(write_keys(lc, "gap", writes, batch=GAP_BATCH))
        # The leader snapshotted and compacted past the paused follower while it was away.
        # Snapshots are written in the background: wait until the leader's log no longer holds
        # anything the follower could have received before it stopped answering.
        beyond = f_last + INFLIGHT_APPENDS_MAX * GAP_BATCH + 1
        wait_until(lambda: int(raft(leader)["raft_first_index"]) > beyond, timeout=60,
                   what=f"the leader to compact past {beyond}")
        assert int(persistence(leader)["snapshots_taken"]) > taken_before
        assert raft(leader)["raft_role"] == "leader"

    wait_until(lambda: installed(f) > before, timeout=30,
               what=f"follower {f.id} to install a snapshot")
    assert_same_data(f, leader, expected)
    assert int(raft(f)["raft_applied_index"]) >= int(raft(leader)["raft_commit_index"]) - 1

    # Replication continues from the log after the snapshot.
    expected.update(write_keys(lc, "post", 50))
    assert f.client().get("post49") == b"val-post49"  # linearizable: no waiting
    assert_same_data(f, leader, expected)


def test_restarted_node_behind_compaction_is_caught_up_by_snapshot(cluster_factory):
    args, writes = _snapshot_setup()
    c = cluster_factory(size=3, extra_args=args)
    leader = c.leader()
    f = next(n for n in c.nodes if n is not leader)
    f_last = int(raft(f)["raft_last_index"])
    f.kill()
    expected = write_keys(leader.client(socket_timeout=30), "k", writes)
    wait_until(lambda: int(raft(leader)["raft_first_index"]) > f_last + 1, timeout=60,
               what=f"the leader to compact past {f_last + 1}")
    f.start()
    wait_until(lambda: installed(f) >= 1, timeout=30,
               what=f"restarted node {f.id} to install a snapshot")
    assert_same_data(f, leader, expected)
