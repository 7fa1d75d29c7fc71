"""Authenticated peers: the cluster secret's handshake, refusals of wrong peers (secret, cluster
id, replayed handshake, stalled handshake), secret rotation by rolling restart, mutual TLS between
nodes and `cluster up --tls`.

The handshake is spoken by hand here too (docs/security.md describes it), which checks the
documentation as well as the server.
"""
import hashlib
import hmac
import os
import re
import secrets
import shlex
import signal
import struct
import subprocess

import pytest
import redis

from conftest import BIN, Node, free_port_block, wait_until
from helpers import RawConn, raft, wait_caught_up

PEER_PORT_OFFSET = 10000
HANDSHAKE_TIMEOUT_S = 5  # net::kPeerHandshakeTimeoutMs
FRAME_VERSION = 1
HELLO, HELLO_ACK, AUTH = 1, 6, 7
PROOF_LABEL = b"bellwether peer handshake v1"


def write_secret(path, *lines):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def new_secret():
    return secrets.token_hex(24)


def secret_cluster(cluster_factory, size=3, secret=None, start=True):
    c = cluster_factory(size, start=False)
    c.secret = secret or new_secret()
    c.secret_file = write_secret(os.path.join(c.dir, "cluster-secret"), c.secret)
    c.extra_args += ["--cluster-secret-file", c.secret_file]
    return c.start() if start else c


def log_text(node):
    with open(node.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def refusals(node, pattern):
    return [line for line in log_text(node).splitlines()
            if "refused" in line and re.search(pattern, line)]


def terms(nodes):
    return {n.id: int(raft(n)["raft_term"]) for n in nodes}


def write_and_check(cluster, key, value):
    """A write through the leader that every running node applies."""
    leader = cluster.wait_for_leader()
    assert leader.client().set(key, value)
    for n in cluster.nodes:
        if n.alive():
            wait_caught_up(n, leader)
            assert n.client().get(key) == value.encode()


def intruder(cluster, slot, extra):
    """A node started on a spare port slot that believes it belongs to the cluster."""
    node = Node(cluster, slot)
    peers = cluster.peers + f",{slot}=127.0.0.1:{node.port}"
    node.args = lambda: ["--id", str(slot), "--peers", peers]
    node.extra_args = extra
    return node


# ---- the handshake by hand -------------------------------------------------------------------

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def frame(kind, payload):
    return struct.pack("<I", len(payload) + 2) + bytes([FRAME_VERSION, kind]) + payload


def read_frame(conn, timeout=10):
    data = b""
    conn.sock.settimeout(timeout)
    while len(data) < 4 or len(data) < 4 + struct.unpack("<I", data[:4])[0]:
        chunk = conn.sock.recv(4096)
        assert chunk, "peer closed the connection"
        data += chunk
    length = struct.unpack("<I", data[:4])[0]
    assert data[4] == FRAME_VERSION
    return data[5], data[6:4 + length]


def proof(secret, side, cluster_id, dialer, acceptor, nonce_d, nonce_a):
    msg = (varint(len(PROOF_LABEL)) + PROOF_LABEL + side + varint(len(cluster_id)) + cluster_id
           + struct.pack("<QQ", dialer, acceptor) + nonce_d + nonce_a)
    return hmac.new(secret, msg, hashlib.sha256).digest()


def hello(cluster_id, node_id, nonce):
    cid = cluster_id.encode()
    return frame(HELLO, varint(len(cid)) + cid + struct.pack("<Q", node_id) + nonce)


# ---- tests -----------------------------------------------------------------------------------

def test_cluster_with_secret_elects_and_replicates(cluster_factory):
    c = secret_cluster(cluster_factory)
    write_and_check(c, "k1", "v1")
    for n in c.nodes:
        assert not refusals(n, "."), log_text(n)[-2000:]
        # The secret is in no reply.
        got = n.client(decode_responses=True).config_get("*")
        assert got["cluster-secret-file"] == c.secret_file
        assert all(c.secret not in v for v in got.values())
        assert c.secret not in str(n.client().info("everything"))


def check_intruder_refused(c, node, reason):
    before = terms(c.nodes)
    node.start()
    try:
        # Each member refuses the intruder's links (it keeps retrying) ...
        wait_until(lambda: all(len(refusals(m, reason)) >= 2 for m in c.nodes), timeout=30,
                   what=f"every member to refuse the intruder ({reason})")
        # ... and meanwhile commits writes; nobody's term moved because of it.
        for i in range(10):
            write_and_check(c, f"during-{i}", str(i))
        assert terms(c.nodes) == before
        for m in c.nodes:
            assert str(raft(m)["raft_voters"]) == "1,2,3"
            assert int(raft(m)["raft_refused_peer_handshakes"]) >= 2
            assert int(raft(m)["raft_leader_id"]) != node.id
        line = refusals(c.nodes[0], reason)[0]
        assert "127.0.0.1:" in line, line
    finally:
        node.stop()


def test_wrong_secret_is_refused(cluster_factory):
    c = secret_cluster(cluster_factory)
    bad = write_secret(os.path.join(c.dir, "wrong-secret"), new_secret())
    node = intruder(c, 4, [])
    # The intruder gets the cluster's flags but its own (wrong) secret file, given last (the
    # last of a repeated flag wins).
    node.extra_args = ["--cluster-secret-file", bad]
    check_intruder_refused(c, node, "wrong cluster secret")


def test_missing_secret_is_refused(cluster_factory):
    c = secret_cluster(cluster_factory)
    node = intruder(c, 4, [])
    args = [a for a in c.extra_args if a not in ("--cluster-secret-file", c.secret_file)]
    c.extra_args, saved = args, c.extra_args
    try:
        check_intruder_refused(c, node, "wrong cluster secret")
    finally:
        c.extra_args = saved


def test_wrong_cluster_id_is_refused(cluster_factory):
    c = secret_cluster(cluster_factory)
    node = intruder(c, 4, ["--cluster-id", "some-other-cluster"])
    check_intruder_refused(c, node, "wrong cluster id 'some-other-cluster'")


def test_replayed_handshake_is_refused(cluster_factory):
    c = secret_cluster(cluster_factory)
    target = c.nodes[0]
    peer_port = target.port + PEER_PORT_OFFSET
    cid = c.cluster_id.encode()
    key = c.secret.encode()

    # An honest handshake: the node proves the secret to us, we prove it back.
    conn = RawConn(peer_port)
    nonce_d = os.urandom(32)
    sent = hello(c.cluster_id, 9, nonce_d)
    conn.send(sent)
    kind, payload = read_frame(conn)
    assert kind == HELLO_ACK
    acceptor, = struct.unpack("<Q", payload[:8])
    nonce_a, their_proof = payload[8:40], payload[40:72]
    assert acceptor == target.id
    assert their_proof == proof(key, b"A", cid, 9, target.id, nonce_d, nonce_a)
    auth = frame(AUTH, proof(key, b"D", cid, 9, target.id, nonce_d, nonce_a))
    conn.send(auth)
    sent += auth
    refused_before = len(refusals(target, "."))

    # The same bytes on a new connection: the node's fresh nonce makes the old proof wrong.
    replay = RawConn(peer_port)
    replay.send(sent)
    data, closed = replay.read_until_closed(timeout=10)
    assert closed
    if data:  # the node's answer, if it left before the refusal closed the connection
        assert data[5] == HELLO_ACK and data[6 + 8:6 + 40] != nonce_a
    wait_until(lambda: len(refusals(target, "wrong cluster secret")) > 0,
               what="the replay's refusal in the log")
    # The honest link was not refused; the replay was.
    assert len(refusals(target, ".")) == refused_before + 1
    conn.sock.close()
    write_and_check(c, "after-replay", "ok")


def test_stalled_handshake_is_closed(cluster_factory):
    c = secret_cluster(cluster_factory)
    target = c.nodes[1]
    conn = RawConn(target.port + PEER_PORT_OFFSET)
    # Half a hello, then nothing.
    conn.send(hello(c.cluster_id, 9, os.urandom(32))[:10])
    _, closed = conn.read_until_closed(timeout=HANDSHAKE_TIMEOUT_S * 4)
    assert closed
    wait_until(lambda: refusals(target, "handshake not complete"),
               what="the stalled handshake's refusal in the log")
    write_and_check(c, "after-stall", "ok")


def test_secret_rotation_by_rolling_restart(cluster_factory):
    old, new = new_secret(), new_secret()
    c = cluster_factory(3, start=False)
    files = {}
    for n in c.nodes:
        files[n.id] = write_secret(os.path.join(c.dir, f"secret-{n.id}"), old)
        n.extra_args = ["--cluster-secret-file", files[n.id]]
    c.start()
    write_and_check(c, "rot-0", "0")
    # Three rolling passes; at every moment any two nodes accept each other:
    # accept both (prove old), prove new (accept both), new only.
    passes = [(old, new), (new, old), (new,)]
    step = 0
    for lines in passes:
        for n in c.nodes:
            write_secret(files[n.id], *lines)
            n.stop()
            n.start()
            step += 1
            write_and_check(c, f"rot-{step}", str(step))
    for n in c.nodes:
        assert not refusals(n, "wrong cluster secret"), log_text(n)[-2000:]
    # The old secret is now refused.
    bad = write_secret(os.path.join(c.dir, "old-secret"), old)
    node = intruder(c, 4, ["--cluster-secret-file", bad])
    check_intruder_refused(c, node, "wrong cluster secret")


def test_secret_rotation_by_config_set(cluster_factory):
    c = secret_cluster(cluster_factory)
    old = c.secret
    new = new_secret()
    for lines in [(old, new), (new, old), (new,)]:
        write_secret(c.secret_file, *lines)  # one file shared by the three nodes here
        for n in c.nodes:
            assert n.client().config_set("cluster-secret-file", c.secret_file)
    # Links opened from now on use the new secret: restart one node and see it catch up.
    c.nodes[2].stop()
    c.nodes[2].start()
    write_and_check(c, "after-config-set", "ok")
    assert not refusals(c.nodes[0], "wrong cluster secret")
    # A bad file is refused by CONFIG SET and changes nothing.
    short = write_secret(os.path.join(c.dir, "short"), "short")
    with pytest.raises(redis.exceptions.ResponseError, match="cluster-secret-file"):
        c.nodes[0].client().config_set("cluster-secret-file", short)
    got = c.nodes[0].client(decode_responses=True).config_get("cluster-secret-file")
    assert got["cluster-secret-file"] == c.secret_file


# ---- mutual TLS between nodes ----------------------------------------------------------------

def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory, name):
    key, crt = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.crt")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, crt


def make_cert(directory, name, ca):
    key, crt = os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.crt")
    csr, ext = crt + ".csr", crt + ".ext"
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", crt)
    return key, crt


def tls_args(key_crt, ca):
    return ["--peer-tls", "--tls-cert-file", key_crt[1], "--tls-key-file", key_crt[0],
            "--tls-ca-cert-file", ca[1]]


def test_peer_tls_cluster_refuses_a_certificate_from_another_ca(cluster_factory):
    c = secret_cluster(cluster_factory, start=False)
    ca = make_ca(c.dir, "cluster-ca")
    other_ca = make_ca(c.dir, "other-ca")
    for n in c.nodes:
        n.extra_args = tls_args(make_cert(c.dir, f"node{n.id}", ca), ca)
    c.start()
    write_and_check(c, "tls-1", "one")
    for n in c.nodes:
        assert n.client(decode_responses=True).config_get("tls-cluster")["tls-cluster"] == "yes"
        assert not refusals(n, "."), log_text(n)[-2000:]
    # Right secret, right CA file, but a certificate the cluster's CA did not sign.
    node = intruder(c, 4, tls_args(make_cert(c.dir, "node4", other_ca), ca))
    check_intruder_refused(c, node, "TLS handshake failed")


def test_cluster_up_tls_serves_redis_cli_over_tls(tmp_path):
    base = free_port_block(4)  # three nodes and one added
    directory = str(tmp_path / "cluster")
    up = subprocess.run([BIN, "cluster", "up", "--tls", "--detach", "--nodes", "3",
                         "--base-port", str(base), "--dir", directory],
                        capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        command = next(line for line in up.stdout.splitlines() if line.startswith("Connect: "))
        argv = shlex.split(command[len("Connect: "):])
        assert argv[0] == "redis-cli" and "--tls" in argv
        assert argv[argv.index("-p") + 1] == str(base + 100)
        secret_file = os.path.join(directory, "cluster-secret")
        assert os.stat(secret_file).st_mode & 0o077 == 0

        def cli(*args):
            return subprocess.run(argv + list(args), capture_output=True, text=True,
                                  timeout=30).stdout.strip()

        assert wait_until(lambda: cli("set", "greeting", "hello") == "OK",
                          what="SET over TLS")
        other = argv[:]
        other[other.index("-p") + 1] = str(base + 102)
        got = subprocess.run(other + ["get", "greeting"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
        assert got == "hello"
        # Without a client certificate the TLS port refuses.
        bare = [a for a in argv]
        for flag in ("--cert", "--key"):
            i = bare.index(flag)
            del bare[i:i + 2]
        refused = subprocess.run(bare + ["ping"], capture_output=True, text=True, timeout=30)
        assert "PONG" not in refused.stdout
        # The peers run mutual TLS with the secret.
        node1 = redis.Redis(host="127.0.0.1", port=base, decode_responses=True)
        conf = node1.config_get("tls-cluster")
        assert conf["tls-cluster"] == "yes"
        assert node1.config_get("cluster-secret-file")["cluster-secret-file"] == secret_file
        # `cluster add` gives a new node its own certificate from the same CA.
        add = subprocess.run([BIN, "cluster", "add", "--dir", directory], capture_output=True,
                             text=True, timeout=120)
        assert add.returncode == 0, add.stdout + add.stderr
        assert os.path.exists(os.path.join(directory, "tls", "node4.crt"))
        fourth = argv[:]
        fourth[fourth.index("-p") + 1] = str(base + 103)
        assert wait_until(lambda: subprocess.run(fourth + ["get", "greeting"], capture_output=True,
                                                 text=True, timeout=30).stdout.strip() == "hello",
                          what="the added node to serve over TLS")
    finally:
        subprocess.run([BIN, "cluster", "down", "--dir", directory], capture_output=True,
                       timeout=120)


def test_peer_tls_reload_applies_to_new_links(cluster_factory):
    c = secret_cluster(cluster_factory, start=False)
    ca = make_ca(c.dir, "cluster-ca")
    other_ca = make_ca(c.dir, "other-ca")
    for n in c.nodes:
        n.extra_args = tls_args(make_cert(c.dir, f"node{n.id}", ca), ca)
    c.start()
    write_and_check(c, "reload-0", "0")
    # The leader dials every follower, so a restarted follower gets new links from it.
    first = c.wait_for_leader()
    second = next(n for n in c.nodes if n is not first)
    # The leader now trusts another CA only: links opened from now on fail, in both directions.
    assert first.client().config_set("tls-ca-cert-file", other_ca[1])
    second.stop()
    second.start()
    wait_until(lambda: refusals(first, "TLS handshake failed"),
               what="the leader to refuse the restarted node's new links")
    # Trusting the cluster CA again (SIGHUP re-reads the same files) lets it catch up.
    assert first.client().config_set("tls-ca-cert-file", ca[1])
    first.signal(signal.SIGHUP)
    write_and_check(c, "reload-1", "1")
    assert first.alive()
