"""Backup and restore against real node processes: a backup taken under write load holds every
write acknowledged before it started and exactly the writes up to its index; damaged backups and
occupied data directories are refused without writing anything; SAVE/BGSAVE/LASTSAVE answer as
redis-server does; `bellwether cluster up --restore` serves the backup's keys.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_backup.py
"""
import os
import subprocess

import pytest
import redis

from backup_helpers import TOOL_TIMEOUT_S, restore, restored_cluster, take_backup
from conftest import BIN, free_port_block, wait_until
from helpers import LoadWriter, RawConn, read_all, resp_command

WRITES_BEFORE_BACKUP = 300  # acknowledged writes the load has made before the backup starts


def tree(path):
    """Every file under `path` with its size and modification time: 'untouched' means equal."""
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(root, f))
            out[os.path.relpath(os.path.join(root, f), path)] = (st.st_size, st.st_mtime_ns)
        out.update({os.path.relpath(os.path.join(root, d), path) + "/": None for d in dirs})
    return out


def test_backup_under_load_restores_exactly_up_to_its_index(cluster_factory, tmp_path):
    src = cluster_factory(3)
    load = LoadWriter(src.nodes, threads=4, writes_max=5000, prefix="k").start()
    try:
        wait_until(lambda: len(load.snapshot()) >= WRITES_BEFORE_BACKUP, timeout=60,
                   what=f"{WRITES_BEFORE_BACKUP} acknowledged writes")
        acked_before = load.snapshot()  # every one of these must be in the backup
        follower = next(n for n in src.nodes if n is not src.leader())
        out = str(tmp_path / "under-load.bwbackup")
        index, _ = take_backup(follower.endpoint, out)  # a follower: its barrier asks the leader
        wait_until(lambda: len(load.snapshot()) >= len(acked_before) + 50, timeout=60,
                   what="writes acknowledged after the backup")
    finally:
        load.stop()
    acked = load.snapshot()
    assert set(acked_before) <= set(acked)

    # A key written once has version == the log index of its write.
    src_client = src.leader().client()
    versions = {}
    keys = sorted(acked)
    for i in range(0, len(keys), 500):
        p = src_client.pipeline(transaction=False)
        for k in keys[i:i + 500]:
            p.execute_command("GETVER", k)
        for k, r in zip(keys[i:i + 500], p.execute()):
            assert r is not None and r[0] == acked[k], f"{k} lost on the source: {r}"
            versions[k] = int(r[1])
    assert any(v > index for v in versions.values()), "no write after the backup's index"

    dst = restored_cluster(cluster_factory, out)
    got = read_all(dst.leader().client(), keys)
    for k in acked_before:
        assert got[k] == acked[k], f"{k} acknowledged before the backup started is missing"
    for k in keys:
        if versions[k] <= index:
            assert got[k] == acked[k], f"{k} (version {versions[k]} <= {index}) missing"
        else:
            assert got[k] is None, f"{k} (version {versions[k]} > {index}) is in the backup"
    # The restored cluster is its own: it takes writes, and its members are the new addresses.
    c = dst.nodes[1].client()
    assert c.set("after-restore", "x") is True
    members = c.execute_command("MEMBER", "LIST")
    text = repr(members)
    for n in src.nodes:
        assert n.endpoint not in text, f"the source's address {n.endpoint} survived: {text}"


def small_backup(cluster_factory, tmp_path):
    src = cluster_factory(1)
    c = src.nodes[0].client()
    for i in range(50):
        c.set(f"s{i}", f"v{i}")
    out = str(tmp_path / "small.bwbackup")
    take_backup(src.nodes[0].endpoint, out)
    return src, out


def test_damaged_backups_are_refused_and_nothing_is_written(cluster_factory, tmp_path):
    _, good = small_backup(cluster_factory, tmp_path)
    data = open(good, "rb").read()
    peers = "1=127.0.0.1:1"
    flipped = str(tmp_path / "flipped.bwbackup")
    # The magic, the source node (header), the image, the checksum itself.
    for at, why in ((0, "bad magic"), (20, "checksum mismatch"),
                    (len(data) // 2, "checksum mismatch"), (len(data) - 1, "checksum mismatch")):
        bad = bytearray(data)
        bad[at] ^= 0x40
        open(flipped, "wb").write(bytes(bad))
        target = tmp_path / f"flip{at}"
        p = restore(str(target), 1, peers, flipped)
        assert p.returncode == 1, p.stdout
        assert f"restore: refused: backup {flipped}: offset" in p.stderr, p.stderr
        assert why in p.stderr, (at, p.stderr)
        assert not target.exists()
    truncated = str(tmp_path / "truncated.bwbackup")
    open(truncated, "wb").write(data[:-10])
    target = tmp_path / "trunc"
    target.mkdir()
    before = tree(str(target))
    p = restore(str(target), 1, peers, truncated)
    assert p.returncode == 1
    assert "truncated" in p.stderr and truncated in p.stderr, p.stderr
    assert tree(str(target)) == before == {}
    assert not os.path.exists(str(target) + ".restore-tmp")
    # An unknown format version is named as such.
    future = bytearray(data)
    future[8] = 2
    newer = str(tmp_path / "newer.bwbackup")
    open(newer, "wb").write(bytes(future))
    p = restore(str(tmp_path / "v2"), 1, peers, newer)
    assert p.returncode == 1 and "unknown format version 2" in p.stderr, p.stderr


def test_restore_into_another_clusters_directory_is_refused(cluster_factory, tmp_path):
    _, good = small_backup(cluster_factory, tmp_path)
    other = cluster_factory(1)
    node = other.nodes[0]
    node.stop()
    before = tree(node.data_dir)
    p = restore(node.data_dir, 1, other.peers, good)
    assert p.returncode == 1
    assert f"{node.data_dir} belongs to cluster {other.cluster_id}" in p.stderr, p.stderr
    assert "the backup is from cluster" in p.stderr, p.stderr
    assert tree(node.data_dir) == before
    # A directory of the same cluster already holding data is refused too.
    p = restore(node.data_dir, 1, other.peers, good, cluster_id=other.cluster_id)
    assert p.returncode == 1 and "already holds data" in p.stderr, p.stderr
    assert tree(node.data_dir) == before


def raw_replies(port, commands):
    """Sends `commands` in one pipeline; returns each reply line, integers as ':<int>'."""
    conn = RawConn(port)
    try:
        conn.send(b"".join(resp_command(*c) for c in commands))
        lines = [conn.read_line() for _ in commands]
    finally:
        conn.close()
    return [b":<int>\r\n" if line.startswith(b":") else line for line in lines]


def bgsave_done(port):
    info = redis.Redis(port=port).info("persistence")
    return info["rdb_bgsave_in_progress"] == 0


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch):
    """Runs what follows in a temporary directory: redis-server's SAVE writes dump.rdb into its
    working directory (and `dir` is a protected configuration), so not into the source tree."""
    monkeypatch.chdir(tmp_path)


def test_save_family_matches_redis(in_tmp_cwd, cluster_factory, redis_server):
    node = cluster_factory(1).nodes[0]
    ports = {"redis": redis_server, "bellwether": node.port}
    scripts = [
        [("LASTSAVE",)],
        [("SET", "k", "1"), ("BGSAVE",), ("BGSAVE",), ("SAVE",), ("BGSAVE", "SCHEDULE")],
        [("SET", "k", "2"), ("SAVE",), ("BGSAVE", "SCHEDULE")],
        [("SAVE",), ("LASTSAVE",), ("BGSAVE", "NOW"), ("LASTSAVE", "x")],
    ]
    for script in scripts:
        got = {}
        for name, port in ports.items():
            got[name] = raw_replies(port, script)
            wait_until(lambda: bgsave_done(port), what=f"{name}'s background save to end")
        assert got["bellwether"] == got["redis"], (script, got)
    info = node.info("persistence")
    for field in ("rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time",
                  "rdb_last_bgsave_status", "rdb_last_bgsave_time_sec", "snapshot_index"):
        assert field in info, field
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == 0
    c = node.client()
    assert abs(c.lastsave().timestamp() - c.time()[0]) < 60


def test_cluster_up_restore_serves_the_keys(cluster_factory, tmp_path):
    _, good = small_backup(cluster_factory, tmp_path)
    base = free_port_block(3)
    d = str(tmp_path / "up")
    up = subprocess.run([BIN, "cluster", "up", "--nodes", "3", "--base-port", str(base), "--dir",
                         d, "--restore", good, "-d"], capture_output=True, text=True,
                        timeout=TOOL_TIMEOUT_S)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for i in range(3):
            c = redis.Redis(port=base + i, socket_timeout=10)
            assert c.get("s7") == b"v7"
            assert read_all(c, [f"s{j}" for j in range(50)]) == {
                f"s{j}": f"v{j}".encode() for j in range(50)}
        assert redis.Redis(port=base + 2).set("new", "1") is True
    finally:
        subprocess.run([BIN, "cluster", "down", "--dir", d], capture_output=True, timeout=60)


def test_backups_are_served_in_chunks_and_abandoned_ones_go_at_start(cluster_factory):
    c = cluster_factory(1)
    node = c.nodes[0]
    client = node.client()
    client.set("big", "x" * 300000)
    backup_id, index, term, size = client.execute_command("BACKUP", "START")
    assert index >= 1 and term >= 1 and size > 300000
    chunk = client.execute_command("BACKUP", "READ", backup_id, 0, 10 ** 9)
    assert len(chunk) == size  # under the 1 MiB chunk limit: all of it
    assert client.execute_command("BACKUP", "READ", backup_id, size, 10) == b""
    held = os.path.join(node.data_dir, "backups")
    assert len(os.listdir(held)) == 1
    assert node.info("persistence")["backups_held"] == 1
    node.stop()  # never ended: abandoned
    node.start()
    wait_until(lambda: node.client().ping(), what="the node to serve again")
    assert os.listdir(held) == []
    try:
        node.client().execute_command("BACKUP", "READ", backup_id, 0, 10)
        raise AssertionError("an abandoned backup is still served")
    except redis.exceptions.ResponseError as e:
        assert "no backup" in str(e)
