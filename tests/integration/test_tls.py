"""TLS for clients: a 3-node cluster with a TLS port on every node beside the plain one, reached by
redis-cli and redis-py over TLS; clients refused for a missing or foreign certificate or for not
trusting the server, without disturbing anyone else; certificate reload by CONFIG SET and SIGHUP
keeping open connections; a bad reload that keeps serving; a silent handshake cut after its
timeout; `bellwether status` over TLS with a password.

Certificates are made with the openssl CLI in a temporary directory: a CA, server certificates
(SAN IP:127.0.0.1) with distinct serials, a client certificate, and a second, unrelated CA with a
certificate of its own.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_tls.py
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest
import redis

import json
import urllib.request

from conftest import BIN, JoiningNode, wait_until

TLS_PORT_OFFSET = 2000  # a node's TLS port: its client port + this
HANDSHAKE_TIMEOUT_S = 5.0  # net::kTlsHandshakeTimeout
CMD_TIMEOUT_S = 30
CLUSTER_ATTEMPTS = 5  # port blocks tried until the TLS ports are free as well


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                   timeout=CMD_TIMEOUT_S)


def make_key_and_csr(d, name, cn):
    openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)


def make_ca(d, name):
    openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days",
            "2", "-subj", f"/CN={name}", cwd=d)


def make_leaf(d, name, ca, serial, server):
    make_key_and_csr(d, name, name)
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        if server:
            # clientAuth too: a node presents its own certificate on its connections to other
            # members (join, dashboard probes).
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-set_serial", str(serial), "-days", "2", "-extfile", ext, "-out", f"{name}.crt",
            cwd=d)


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="bellwether-tls-")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "server", "ca", 1001, True)
    make_leaf(d, "server2", "ca", 2002, True)
    make_leaf(d, "server3", "ca", 3003, True)
    make_leaf(d, "client", "ca", 4004, False)
    make_leaf(d, "stranger", "other-ca", 5005, False)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def configure_tls(node, pki, auth_clients="yes"):
    """Gives `node` a TLS port (client port + TLS_PORT_OFFSET) and its own copy of the server
    certificate and key, so that a test can replace one node's files."""
    node.tls_port = node.port + TLS_PORT_OFFSET
    cert = os.path.join(node.cluster.dir, f"node{node.id}.crt")
    key = os.path.join(node.cluster.dir, f"node{node.id}.key")
    shutil.copy(os.path.join(pki, "server.crt"), cert)
    shutil.copy(os.path.join(pki, "server.key"), key)
    node.cert, node.key = cert, key
    node.extra_args += ["--tls-port", str(node.tls_port), "--tls-cert-file", cert,
                        "--tls-key-file", key, "--tls-ca-cert-file", os.path.join(pki, "ca.crt"),
                        "--tls-auth-clients", auth_clients]


def tls_cluster(cluster_factory, pki, auth_clients="yes", size=3, metrics=False):
    """A started cluster whose nodes serve TLS too (configure_tls); the TLS ports of the spare
    slots are free as well."""
    for _ in range(CLUSTER_ATTEMPTS):
        c = cluster_factory(size=size, start=False, metrics=metrics)
        if all(port_free(c.base_port + i + TLS_PORT_OFFSET) for i in range(c.slots)):
            break
    else:
        raise AssertionError("no free TLS ports")
    for n in c.nodes:
        configure_tls(n, pki, auth_clients)
    return c.start()


def tls_client(pki, node, cert="client", ca="ca", **kw):
    kw.setdefault("socket_timeout", 10)
    if cert:
        kw["ssl_certfile"] = os.path.join(pki, f"{cert}.crt")
        kw["ssl_keyfile"] = os.path.join(pki, f"{cert}.key")
    return redis.Redis(host="127.0.0.1", port=node.tls_port, ssl=True,
                       ssl_ca_certs=os.path.join(pki, f"{ca}.crt"), **kw)


def redis_cli_tls(pki, node, *args, cert="client"):
    cmd = ["redis-cli", "--tls", "--cacert", os.path.join(pki, "ca.crt"), "-h", "127.0.0.1",
           "-p", str(node.tls_port)]
    if cert:
        cmd += ["--cert", os.path.join(pki, f"{cert}.crt"), "--key",
                os.path.join(pki, f"{cert}.key")]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=CMD_TIMEOUT_S)


def server_serial(pki, node):
    """The serial number of the certificate a new TLS connection to `node` is shown."""
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, "client.crt"), os.path.join(pki, "client.key"))
    with socket.create_connection(("127.0.0.1", node.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return int(s.getpeercert()["serialNumber"], 16)


def refused(make_client):
    """True if a new connection fails its handshake (or is closed right after it: TLSv1.3
    reports a refused client certificate at the first read)."""
    try:
        c = make_client()
        c.ping()
    except (redis.exceptions.ConnectionError, ssl.SSLError, OSError):
        return True
    return False


def test_cluster_over_tls_with_redis_cli_and_redis_py(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki)
    leader = c.wait_for_leader()
    followers = [n for n in c.nodes if n is not leader]
    # redis-cli over TLS on a follower: the write is forwarded to the leader and acknowledged.
    out = redis_cli_tls(pki, followers[0], "SET", "tls:cli", "v1")
    assert out.returncode == 0 and out.stdout.strip() == "OK", out
    out = redis_cli_tls(pki, followers[1], "GET", "tls:cli")
    assert out.stdout.strip() == "v1", out
    # redis-py over TLS on the other follower, and the plain port of the same node beside it.
    r = tls_client(pki, followers[1])
    assert r.set("tls:py", "v2") is True
    assert r.get("tls:py") == b"v2"
    plain = followers[1].client()
    assert plain.get("tls:py") == b"v2"
    assert plain.set("plain:k", "p") is True
    assert r.get("plain:k") == b"p"
    assert tls_client(pki, leader).get("tls:cli") == b"v1"
    # Pipelined and larger values go through the TLS stream intact.
    big = os.urandom(300_000)
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set(f"tls:pipe:{i}", str(i))
    pipe.set("tls:big", big)
    assert all(pipe.execute())
    assert r.get("tls:big") == big
    assert r.get("tls:pipe:199") == b"199"
    # A connection that speaks plain RESP to the TLS port is not served, and harms nobody.
    with socket.create_connection(("127.0.0.1", followers[1].tls_port), timeout=10) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        s.settimeout(10)
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        assert b"PONG" not in data
    assert r.ping() and plain.ping()


def test_untrusted_clients_are_refused_and_others_carry_on(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki)
    node = c.nodes[0]
    good = tls_client(pki, node)
    plain = node.client()
    assert good.set("k", "1") is True
    # No client certificate while tls-auth-clients is yes.
    assert refused(lambda: tls_client(pki, node, cert=None))
    out = redis_cli_tls(pki, node, "PING", cert=None)
    assert "PONG" not in out.stdout, out
    # A certificate from another CA.
    assert refused(lambda: tls_client(pki, node, cert="stranger"))
    # A client that does not trust the server's CA.
    assert refused(lambda: tls_client(pki, node, ca="other-ca"))
    # Everyone else is undisturbed: the open TLS connection, the plain port, the cluster.
    assert good.incr("n") == 1
    assert plain.incr("n") == 2
    assert c.wait_for_leader() is not None
    assert all(n.alive() for n in c.nodes)
    with open(node.log_path) as f:
        assert "TLS handshake failed" in f.read()


def test_optional_client_certificates(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki, auth_clients="optional", size=1)
    node = c.nodes[0]
    assert tls_client(pki, node, cert=None).set("anon", "1") is True
    assert tls_client(pki, node).get("anon") == b"1"
    # Optional does not mean any: a presented certificate must still verify.
    assert refused(lambda: tls_client(pki, node, cert="stranger"))
    r = tls_client(pki, node)
    assert r.config_set("tls-auth-clients", "yes") is True
    assert refused(lambda: tls_client(pki, node, cert=None))
    assert r.config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
    # masterauth is set at run time too, and its value stays out of the log.
    assert r.config_set("masterauth", "s3cret-value") is True
    assert r.config_get("masterauth") == {"masterauth": "s3cret-value"}
    with open(node.log_path) as f:
        log = f.read()
    assert "CONFIG SET masterauth '(redacted)'" in log and "s3cret-value" not in log


def test_reload_by_config_set_and_sighup_keeps_open_connections(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki, size=1)
    node = c.nodes[0]
    assert server_serial(pki, node) == 1001
    held = tls_client(pki, node)
    assert held.set("before", "1") is True

    # CONFIG SET to other files: new connections see the new certificate, the held one works.
    assert held.execute_command("CONFIG", "SET", "tls-cert-file",
                                os.path.join(pki, "server2.crt"), "tls-key-file",
                                os.path.join(pki, "server2.key")) == b"OK"
    assert server_serial(pki, node) == 2002
    assert held.get("before") == b"1"
    assert held.set("after-config-set", "1") is True

    # SIGHUP after replacing the files in place.
    assert held.execute_command("CONFIG", "SET", "tls-cert-file", node.cert, "tls-key-file",
                                node.key) == b"OK"
    shutil.copy(os.path.join(pki, "server3.crt"), node.cert)
    shutil.copy(os.path.join(pki, "server3.key"), node.key)
    node.signal(signal.SIGHUP)
    wait_until(lambda: server_serial(pki, node) == 3003, timeout=10,
               what="the certificate reloaded by SIGHUP")
    assert held.incr("counter") == 1

    # A bad CONFIG SET: an error naming the file and why, the old values and context kept.
    with pytest.raises(redis.exceptions.ResponseError) as e:
        held.config_set("tls-cert-file", "/nonexistent/cert.pem")
    assert "/nonexistent/cert.pem" in str(e.value) and "No such file" in str(e.value)
    assert held.config_get("tls-cert-file") == {"tls-cert-file": node.cert}
    with pytest.raises(redis.exceptions.ResponseError) as e:
        held.execute_command("CONFIG", "SET", "tls-key-file", os.path.join(pki, "client.key"))
    assert "does not match" in str(e.value)
    assert server_serial(pki, node) == 3003

    # A bad SIGHUP reload (a file that is not PEM): logged, and the old context keeps serving.
    with open(node.cert, "w") as f:
        f.write("not a certificate\n")
    node.signal(signal.SIGHUP)

    def logged():
        with open(node.log_path) as f:
            return "TLS settings not loaded" in f.read()
    wait_until(logged, timeout=10, what="the failed reload in the log")
    assert node.alive()
    assert server_serial(pki, node) == 3003
    assert held.incr("counter") == 2
    assert tls_client(pki, node).get("counter") == b"2"


def test_silent_handshake_is_cut_after_the_timeout(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki, size=1)
    node = c.nodes[0]
    started = time.monotonic()
    silent = socket.create_connection(("127.0.0.1", node.tls_port), timeout=10)
    try:
        silent.settimeout(HANDSHAKE_TIMEOUT_S * 4)
        # Served meanwhile: another TLS client and a plain one.
        assert tls_client(pki, node).ping()
        assert node.client().ping()
        try:
            data = silent.recv(100)
        except ConnectionResetError:
            data = b""
        took = time.monotonic() - started
        assert data == b"", data
        assert HANDSHAKE_TIMEOUT_S * 0.8 <= took <= HANDSHAKE_TIMEOUT_S * 3, took
    finally:
        silent.close()
    with open(node.log_path) as f:
        assert "no TLS handshake within" in f.read()


def run_tool(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=CMD_TIMEOUT_S,
                          env=env)


def test_status_over_tls_with_password(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki)
    c.wait_for_leader()
    node = c.nodes[0]
    tls = ["--tls", "--cacert", os.path.join(pki, "ca.crt"), "--cert",
           os.path.join(pki, "client.crt"), "--key", os.path.join(pki, "client.key")]
    endpoint = f"127.0.0.1:{node.tls_port}"
    out = run_tool("status", "--endpoint", endpoint, *tls, "--user", "default", "--pass", "x")

    def rows_answered(stdout):
        lines = stdout.splitlines()
        return [line for line in lines[1:] if line.split()[2] in ("leader", "follower")]
    assert out.returncode == 0, out
    assert len(rows_answered(out.stdout)) == 3, out.stdout
    # Every member was asked on its TLS port.
    for n in c.nodes:
        assert f"127.0.0.1:{n.tls_port}" in out.stdout, out.stdout
    # The password from REDISCLI_AUTH, as redis-cli takes it: with --user, AUTH default x; alone,
    # AUTH x, which Redis refuses while the default user has no password (proof it was sent).
    env = dict(os.environ, REDISCLI_AUTH="x")
    out = run_tool("status", "--endpoint", endpoint, *tls, "--user", "default", env=env)
    assert out.returncode == 0 and len(rows_answered(out.stdout)) == 3, out
    out = run_tool("status", "--endpoint", endpoint, *tls, env=env)
    assert out.returncode == 1 and "AUTH" in out.stderr, out
    assert "without any password configured" in out.stderr, out
    # Without --tls against the TLS port, or without a client certificate: a clear failure.
    out = run_tool("status", "--endpoint", endpoint)
    assert out.returncode == 1 and out.stderr.startswith("status:"), out
    out = run_tool("status", "--endpoint", endpoint, "--tls", "--cacert",
                   os.path.join(pki, "other-ca.crt"))
    assert out.returncode == 1 and "certificate verify failed" in out.stderr, out


def test_join_and_dashboard_probes_use_tls_and_masterauth(cluster_factory, pki):
    c = tls_cluster(cluster_factory, pki, size=1, metrics=True)
    first = c.nodes[0]
    c.wait_for_leader()
    # A node with client TLS joins through the member's TLS port, presenting its own
    # certificate (tls-auth-clients yes) and AUTH default x (masteruser/masterauth).
    joining = JoiningNode(c, 2, f"127.0.0.1:{first.tls_port}")
    configure_tls(joining, pki)
    joining.extra_args += ["--masteruser", "default", "--masterauth", "x"]
    c.nodes.append(joining)
    joining.start()
    joining.wait_joined()
    assert tls_client(pki, joining).ping()
    assert tls_client(pki, first).set("after-join", "1") is True

    # The dashboard of the first node asks every member over TLS.
    def every_member_answers():
        url = f"http://127.0.0.1:{first.metrics_port}/api/cluster"
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        nodes = doc.get("nodes", [])
        return len(nodes) == 2 and all(n.get("state") == "up" for n in nodes) and doc
    doc = wait_until(every_member_answers, timeout=20, what="the dashboard to reach both nodes")
    assert sorted(n["id"] for n in doc["nodes"]) == ["1", "2"]
