"""Membership changes on a running cluster with real node processes: nodes joining with --join,
learners serving reads, promotion, removal (of the leader too), replacing a node whose data
directory was lost, refused changes, and the `member` / `cluster add|remove` commands.

Run: BELLWETHER_BIN=build/bellwether \\
     /usr/bin/python3 -m pytest -q tests/integration/test_membership.py
"""
import os
import shutil
import subprocess

import pytest
import redis

from conftest import BIN, free_port_block, wait_until
from helpers import LoadWriter, missing_or_wrong, raft, stopped, wait_caught_up

CHANGE_TIMEOUT_S = 60  # joining, catching up and promoting on a busy 2-core machine
ACKS_DURING_CHANGES_MIN = 200


def members(node):
    """MEMBER LIST as {id: fields} (fields decoded to str/int)."""
    out = {}
    for entry in node.client().execute_command("MEMBER", "LIST"):
        fields = dict(zip(entry[0::2], entry[1::2]))
        fields = {k.decode(): (v.decode() if isinstance(v, bytes) else v)
                  for k, v in fields.items()}
        out[fields["id"]] = fields
    return out


def voters(node):
    return sorted(int(x) for x in str(raft(node)["raft_voters"]).split(",") if x)


def member_cli(endpoint, *args, timeout=CHANGE_TIMEOUT_S):
    return subprocess.run([BIN, "member", *args, "--endpoint", endpoint,
                           "--timeout-ms", str(timeout * 1000)],
                          capture_output=True, text=True, timeout=timeout + 30)


def promote(cluster, node):
    r = member_cli(cluster.nodes[0].endpoint if cluster.nodes[0].alive() else node.endpoint,
                   "promote", str(node.raft_id))
    assert r.returncode == 0, r.stderr


def member_ids(node):
    return set(members(node))


def assert_everywhere(nodes, expected):
    for n in nodes:
        leader = wait_until(lambda: n.cluster.leader(), what="a leader")
        wait_caught_up(n, leader)
        assert missing_or_wrong(n.client(), expected) == {}, \
            f"node {n.id} lost acknowledged writes"


def test_grow_three_to_five_under_writes_and_shrink_back(cluster_factory):
    c = cluster_factory(size=3)
    founders = list(c.nodes)
    load = LoadWriter(founders, threads=3, prefix="grow").start()
    try:
        added = []
        for _ in range(2):
            n = c.add_node()
            assert members(c.wait_for_leader())[n.raft_id]["role"] == "learner"
            promote(c, n)
            added.append(n)
        leader = c.wait_for_leader()
        assert voters(leader) == sorted([1, 2, 3] + [n.raft_id for n in added])
        load.retarget(founders + added)
        # Shrink back: remove the two new nodes again.
        for n in added:
            r = member_cli(founders[0].endpoint, "remove", str(n.raft_id))
            assert r.returncode == 0, r.stderr
            n.stop()
        wait_until(lambda: voters(c.wait_for_leader()) == [1, 2, 3], what="3 voters again")
        load.retarget(founders)
        wait_until(lambda: len(load.snapshot()) >= ACKS_DURING_CHANGES_MIN,
                   timeout=CHANGE_TIMEOUT_S, what="writes acknowledged during the changes")
    finally:
        load.stop()
    assert_everywhere(founders, load.snapshot())


def test_learner_serves_reads_and_never_counts_in_quorums(cluster_factory):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    leader.client().set("before", "1")
    learner = c.add_node()
    lc = learner.client()
    # A linearizable read on the learner sees a write made just before, on another node.
    wait_until(lambda: lc.get("before") == b"1", timeout=CHANGE_TIMEOUT_S,
               what="the learner to serve reads")
    c.nodes[1].client().set("after", "2")
    assert lc.get("after") == b"2"
    assert raft(learner)["raft_role"] == "learner"
    leader = c.wait_for_leader()
    assert voters(leader) == [1, 2, 3]
    assert str(raft(leader)["raft_learners"]) == str(learner.raft_id)
    # ROLE and INFO replication list it as a replica.
    role = leader.client().execute_command("ROLE")
    assert str(learner.port).encode() in [r[1] for r in role[2]]
    assert leader.info("replication")["connected_slaves"] == 3
    # Writes through the learner are forwarded to the leader.
    assert lc.set("via-learner", "3") is True
    assert leader.client().get("via-learner") == b"3"


def test_remove_the_leader_hands_leadership_off_first(cluster_factory):
    c = cluster_factory(size=3)
    extra = c.add_node()
    promote(c, extra)
    old = c.wait_for_leader()
    old_id = int(raft(old)["raft_node_id"])
    old.client().set("k", "v")
    assert old.client().execute_command("MEMBER", "REMOVE", str(old_id)) == b"OK"
    new = c.wait_for_leader(exclude=(old.id,))
    assert old_id not in voters(new)
    assert old_id not in member_ids(new)
    assert new.client().set("k2", "v2") is True
    assert new.client().get("k") == b"v"
    old.stop()


def test_replace_a_node_whose_data_directory_was_lost(cluster_factory):
    c = cluster_factory(size=3)
    load = LoadWriter(c.nodes[:2], threads=2, prefix="repl").start()
    try:
        lost = c.nodes[2]
        wait_until(lambda: len(load.snapshot()) >= 50, what="some writes")
        lost.kill()
        shutil.rmtree(lost.data_dir)
        # A new process on the same address, new identity, replacing node 3.
        new = c.add_node(join=c.nodes[0].endpoint, replaces=3, slot=lost.id)
        assert new.raft_id not in (1, 2, 3)
        wait_until(lambda: member_ids(c.wait_for_leader()) == {1, 2, new.raft_id},
                   timeout=CHANGE_TIMEOUT_S, what="node 3 replaced")
        assert voters(c.wait_for_leader()) == sorted([1, 2, new.raft_id])
        wait_until(lambda: len(load.snapshot()) >= 150, what="more writes")
    finally:
        load.stop()
    c.nodes.remove(lost)
    assert_everywhere(c.nodes, load.snapshot())


def test_refused_changes_name_the_reason_and_change_nothing(cluster_factory):
    c = cluster_factory(size=3)
    leader = c.wait_for_leader()
    before = members(leader)
    cl = c.nodes[2].client()  # a follower: changes are forwarded to the leader

    def refused(*args):
        with pytest.raises(redis.exceptions.ResponseError) as e:
            cl.execute_command("MEMBER", *args)
        return str(e.value)

    assert "already used by node 2" in refused("ADD", c.nodes[1].endpoint)
    assert "is not a member" in refused("PROMOTE", "42")
    assert "already a voter" in refused("PROMOTE", "1")
    assert "is not a member" in refused("REMOVE", "42")
    assert "is not a node id" in refused("REMOVE", "x")
    assert "unknown subcommand" in refused("FROB")
    assert "wrong number of arguments" in refused("PROMOTE")
    assert "not host:port" in refused("ADD", "nowhere")
    assert "belongs to cluster 'other'" in refused("JOIN", "other", "127.0.0.1:1", "127.0.0.1:2")
    # A removal that would leave too few voters online for a quorum.
    victim = next(n for n in c.nodes if n is not leader)
    victim.kill()
    wait_until(lambda: members(leader)[victim.id]["online"] == 0, what="the leader to see it down")
    third = next(n for n in c.nodes if n is not leader and n is not victim)
    msg = str(pytest.raises(redis.exceptions.ResponseError,
                            leader.client().execute_command, "MEMBER", "REMOVE",
                            str(third.id)).value)
    assert "fewer than a quorum" in msg
    assert members(leader).keys() == before.keys()
    assert voters(leader) == [1, 2, 3]


def test_a_join_asked_again_gets_the_node_it_added(cluster_factory):
    # A joining node asks again when its answer was lost (TIMEOUT, a dropped connection).
    c = cluster_factory(size=3)
    cl = c.nodes[0].client()

    def join(*args):
        def attempt():
            try:
                return cl.execute_command("MEMBER", "JOIN", c.cluster_id, *args)
            except redis.exceptions.ResponseError as e:
                if str(e).startswith("TRYAGAIN"):  # the previous change is still being applied
                    return None
                raise AssertionError(f"join {args} refused: {e}")
        return wait_until(attempt, timeout=CHANGE_TIMEOUT_S, what="a join answer")

    port = free_port_block(1)
    address, peer = f"127.0.0.1:{port}", f"127.0.0.1:{port + 10000}"
    first = join(address, peer)
    assert join(address, peer) == first
    # A replacement has the addresses of the node it replaces; asked again it gets the node it
    # added, not the one it replaces.
    old = c.nodes[2]
    replacing = (old.endpoint, f"127.0.0.1:{old.port + 10000}", "REPLACE", str(old.id))
    answer = join(*replacing)
    assert b"\nself 3\n" not in answer and answer != first
    assert join(*replacing) == answer


def test_a_node_of_another_cluster_cannot_join(cluster_factory):
    c = cluster_factory(size=3)
    port = free_port_block(1)
    d = os.path.join(c.dir, "stranger")
    r = subprocess.run([BIN, "server", "--join", c.nodes[0].endpoint, "--listen",
                        f"127.0.0.1:{port}", "--data-dir", d, "--cluster-id", "someone-else"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "belongs to cluster 'someone-else'" in r.stdout + r.stderr
    assert member_ids(c.wait_for_leader()) == {1, 2, 3}


def test_cluster_up_with_learners_then_add_and_remove(tmp_path):
    base = free_port_block(8)
    d = str(tmp_path / "c")
    run = lambda *a: subprocess.run([BIN, "cluster", *a, "--dir", d], capture_output=True,
                                    text=True, timeout=180)
    r = run("up", "--detach", "--nodes", "3", "--learners", "1", "--base-port", str(base))
    assert r.returncode == 0, r.stderr
    try:
        first = redis.Redis(port=base)
        learner = redis.Redis(port=base + 3)
        assert learner.info("raft")["raft_role"] == "learner"
        first.set("x", "1")
        assert learner.get("x") == b"1"
        r = run("add")
        assert r.returncode == 0, r.stderr
        assert "voter" in r.stdout
        wait_until(lambda: len(str(first.info("raft")["raft_voters"]).split(",")) == 4,
                   what="4 voters")
        r = run("remove", "--node", "1")
        assert r.returncode == 0, r.stderr
        other = redis.Redis(port=base + 1)
        wait_until(lambda: "1" not in str(other.info("raft")["raft_voters"]).split(","),
                   what="node 1 removed")
        assert other.get("x") == b"1"
    finally:
        run("down")


def test_a_learner_catches_up_by_snapshot_and_a_stalled_one_never_stalls_the_leader(
        cluster_factory):
    c = cluster_factory(size=3, extra_args=["--snapshot-entries", "300",
                                            "--snapshot-keep-entries", "50"])
    leader = c.wait_for_leader()
    lc = leader.client()
    value = "x" * 1000
    # Writes until the leader's log is compacted behind a snapshot (a batch of pipelined writes
    # may take fewer entries than writes): a new node must then start from the snapshot.
    for batch in range(20):
        pipe = lc.pipeline(transaction=False)
        for i in range(3000):
            pipe.set(f"big{i}", value)
        pipe.execute()
        if int(raft(leader)["raft_first_index"]) > 1:
            break
    wait_until(lambda: int(raft(leader)["raft_first_index"]) > 1, timeout=CHANGE_TIMEOUT_S,
               what="a compacted log on the leader")
    learner = c.add_node()
    wait_until(lambda: learner.client().get("big2999") == value.encode(),
               timeout=CHANGE_TIMEOUT_S, what="the learner to catch up")
    leader = c.wait_for_leader()

    def leader_log():
        with open(leader.log_path) as f:
            return f.read()
    # The leader logs progress every 2 s and the catching up once, on its next tick.
    wait_until(lambda: f"node {learner.raft_id} caught up" in leader_log(),
               what="the leader to log the catch-up")
    assert f"node {learner.raft_id} catching up" in leader_log()
    with open(learner.log_path) as f:
        assert "installed snapshot" in f.read()
    # A learner that stops (SIGSTOP) costs the others nothing: writes go on being acknowledged.
    with stopped(learner):
        for i in range(200):
            assert lc.set(f"during{i}", "v") is True
        assert members(leader)[learner.raft_id]["role"] == "learner"
    wait_until(lambda: learner.client().get("during199") == b"v", timeout=CHANGE_TIMEOUT_S,
               what="the learner to catch up after the pause")
