"""Backup and restore steps for the integration tests: run `bellwether backup` against a node, and
start a new cluster (conftest.Cluster) whose data directories `bellwether restore` made."""
import re
import subprocess

from conftest import BIN

TOOL_TIMEOUT_S = 120


def take_backup(endpoint, out, timeout_ms=60000):
    """Runs `bellwether backup`; returns (index it printed, completed process)."""
    p = subprocess.run([BIN, "backup", "--endpoint", endpoint, "--out", out, "--timeout-ms",
                        str(timeout_ms)], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    assert p.returncode == 0, f"backup failed: {p.stdout}{p.stderr}"
    m = re.search(r"^index (\d+)$", p.stdout, re.M)
    assert m, f"no index in: {p.stdout}"
    return int(m.group(1)), p


def restore(node_dir, node_id, peers, backup_file, cluster_id=None):
    """Runs `bellwether restore` for one member; returns the completed process (not checked)."""
    args = [BIN, "restore", "--from", backup_file, "--data-dir", node_dir, "--id", str(node_id),
            "--peers", peers]
    if cluster_id:
        args += ["--cluster-id", cluster_id]
    return subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)


def restored_cluster(cluster_factory, backup_file, size=3):
    """A new cluster (its own id and ports) seeded from `backup_file`, started."""
    c = cluster_factory(size, start=False)
    for n in c.nodes:
        p = restore(n.data_dir, n.id, c.peers, backup_file, cluster_id=c.cluster_id)
        assert p.returncode == 0, f"restore of node {n.id} failed: {p.stdout}{p.stderr}"
    return c.start()
