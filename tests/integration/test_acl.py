"""Authentication and ACLs against real node processes and real clients (redis-cli, redis-py),
with Redis 7's replies taken from a real redis-server where both serve the same thing.

The ACL state is replicated: a change made on any node is enforced on every node (polled with a
deadline), survives restarts and snapshot installs, and a deleted user is disconnected everywhere.

Run: BELLWETHER_BIN=build/bellwether /usr/bin/python3 -m pytest -q tests/integration/test_acl.py
"""
import re
import socket
import subprocess

import pytest
import redis

from conftest import BIN, free_port_block, running_redis_server, wait_until
from helpers import persistence, raft, wait_caught_up
from test_snapshot import _snapshot_setup, write_keys

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
ALICE_RULES = ["on", ">alicepw", "~k*", "%R~r*", "&ch*", "-@all", "+get", "+set", "+publish",
               "+psubscribe", "+acl|whoami", "+ping"]
REDIS_CLI_TIMEOUT_S = 20


def error_of(fn, *args):
    """The error text a command raises (fails if it succeeds)."""
    with pytest.raises(redis.exceptions.RedisError) as e:
        fn(*args)
    return str(e.value)


def client(port, **kw):
    kw.setdefault("socket_timeout", 10)
    return redis.Redis(host="127.0.0.1", port=port, **kw)


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), "--no-auth-warning", *args],
                         capture_output=True, text=True, timeout=REDIS_CLI_TIMEOUT_S)
    return (out.stdout + out.stderr).strip()


def followers(c):
    leader = c.leader()
    return [n for n in c.nodes if n is not leader]


def can_login(port, user, password):
    """True if AUTH succeeds (the connection authenticates before its first command)."""
    try:
        return client(port, username=user, password=password, socket_timeout=2).ping()
    except redis.exceptions.NoPermissionError:
        return True  # authenticated; PING is not among the user's commands
    except redis.exceptions.RedisError:
        return False


def wait_everywhere(c, what, predicate):
    for n in c.nodes:
        wait_until(lambda: predicate(n), timeout=20, what=f"{what} on node {n.id}")


# ---- authentication -------------------------------------------------------------------------


def test_requirepass_noauth_wrongpass_and_clients(cluster_factory, redis_server):
    c = cluster_factory(size=3, extra_args=["--requirepass", "s3cret"], start=False)
    for n in c.nodes:
        n.start()
    port = c.nodes[0].port
    wait_until(lambda: can_login(port, "default", "s3cret"), what="node 1 to serve")
    ref = client(redis_server)
    ref.config_set("requirepass", "s3cret")
    for p in (port, redis_server):
        anon = client(p)
        assert error_of(anon.get, "x") == NOAUTH.replace("NOAUTH ", "")
        assert error_of(anon.execute_command, "AUTH", "wrong") == WRONGPASS
        assert error_of(anon.execute_command, "AUTH", "nobody", "s3cret") == \
            WRONGPASS
        assert anon.execute_command("AUTH", "s3cret") is True
        assert anon.execute_command("AUTH", "default", "s3cret") is True
        assert anon.execute_command("ACL", "WHOAMI") == b"default"
    # Raw replies carry the error codes.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"PING\r\nAUTH nope\r\nAUTH s3cret\r\nPING\r\n")
        data = b""
        while data.count(b"\r\n") < 4:
            chunk = s.recv(4096)
            assert chunk
            data += chunk
    assert data == (f"-{NOAUTH}\r\n-{WRONGPASS}\r\n+OK\r\n+PONG\r\n").encode()
    # A wrong password disturbed nothing: the cluster serves writes on every node.
    for n in c.nodes:
        wait_until(lambda: can_login(n.port, "default", "s3cret"), what=f"node {n.id}")
        assert client(n.port, password="s3cret").set(f"k{n.id}", "v") is True
    # redis-cli: -a, --user/--pass; HELLO AUTH.
    assert cli(port, "-a", "s3cret", "get", "k1") == "v"
    assert cli(port, "--user", "default", "--pass", "s3cret", "get", "k2") == "v"
    assert "NOAUTH" in cli(port, "get", "k1")
    assert "WRONGPASS" in cli(port, "-a", "bad", "get", "k1")
    h = client(port)
    assert error_of(h.execute_command, "HELLO", "2", "AUTH", "default", "bad") == WRONGPASS
    hello = h.execute_command("HELLO", "2", "AUTH", "default", "s3cret")
    assert hello[hello.index(b"proto") + 1] == 2


# ---- replicated users -----------------------------------------------------------------------


def test_setuser_on_follower_is_enforced_on_every_node(cluster_factory):
    c = cluster_factory(size=3)
    f = followers(c)[0]
    assert client(f.port).execute_command("ACL", "SETUSER", "alice", *ALICE_RULES) == b"OK"
    wait_everywhere(c, "alice", lambda n: can_login(n.port, "alice", "alicepw"))
    for n in c.nodes:
        a = client(n.port, username="alice", password="alicepw")
        assert a.set("k1", "v") is True
        assert a.get("r1") is None
        assert error_of(a.set, "x", "v") == \
            "this user has no permissions to access one of the keys used as arguments"
        assert error_of(a.set, "r1", "v") == \
            "this user has no permissions to access one of the keys used as arguments"
        assert error_of(a.delete, "k1") == "this user has no permissions to run the 'del' command"
        assert error_of(a.publish, "zz", "m") == \
            "this user has no permissions to access one of the channels used as arguments"
        assert a.execute_command("ACL", "WHOAMI") == b"alice"
    # The log holds hashes only: the leader's canonical definition.
    listed = client(c.nodes[0].port).execute_command("ACL", "LIST")
    alice = [x for x in listed if x.startswith(b"user alice")][0].decode()
    assert "alicepw" not in alice and re.search(r"#[0-9a-f]{64}", alice)
    # CLIENT LIST shows the user, CLIENT KILL USER finds its connections.
    a = client(f.port, username="alice", password="alicepw", single_connection_client=True)
    a.ping()
    admin = client(f.port)
    assert b"user=alice" in admin.execute_command("CLIENT", "LIST")
    assert admin.execute_command("CLIENT", "KILL", "USER", "alice") >= 1


def test_pipelined_changes_of_one_user_all_apply(cluster_factory):
    """Changes sent without waiting for each other build on each other (the leader holds the
    next ACL change until the previous one applied) instead of answering TRYAGAIN."""
    c = cluster_factory(size=3)
    for n, user in ((c.leader(), "pl"), (followers(c)[0], "pf")):
        p = client(n.port).pipeline(transaction=False)
        p.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*")
        commands = ["get", "set", "incr", "del", "exists", "strlen", "append", "ping"]
        for cmd in commands:
            p.execute_command("ACL", "SETUSER", user, "+" + cmd)
        assert p.execute() == [b"OK"] * (1 + len(commands))
        described = dict(zip(*[iter(client(n.port).execute_command("ACL", "GETUSER", user))] * 2))
        granted = described[b"commands"].decode()
        for cmd in commands:
            assert "+" + cmd in granted, (cmd, granted)


def test_deleted_user_is_disconnected_on_another_node(cluster_factory):
    c = cluster_factory(size=3)
    a_node, b_node = c.nodes[0], c.nodes[1]
    client(a_node.port).execute_command("ACL", "SETUSER", "bob", "on", ">bobpw", "+@all", "~*")
    wait_everywhere(c, "bob", lambda n: can_login(n.port, "bob", "bobpw"))
    bob = client(a_node.port, username="bob", password="bobpw", single_connection_client=True)
    assert bob.ping() is True
    assert client(b_node.port).execute_command("ACL", "DELUSER", "bob", "nobody") == 1

    def disconnected():
        try:
            bob.ping()
            return False
        except redis.exceptions.ConnectionError:
            return True
    wait_until(disconnected, timeout=20, what="bob's connection to close")
    wait_everywhere(c, "bob gone", lambda n: not can_login(n.port, "bob", "bobpw"))
    assert "The 'default' user cannot be removed" in \
        error_of(client(b_node.port).execute_command, "ACL", "DELUSER", "default")


def test_acl_survives_restart_of_all_nodes_and_snapshot_install(cluster_factory):
    args, writes = _snapshot_setup()
    c = cluster_factory(size=3, extra_args=args)
    leader = c.leader()
    f = followers(c)[0]
    client(leader.port).execute_command("ACL", "SETUSER", "carol", "on", ">carolpw", "+@all",
                                        "~*")
    wait_caught_up(f, leader)
    f_last = int(raft(f)["raft_last_index"])
    f.kill()
    client(leader.port).execute_command("ACL", "SETUSER", "dave", "on", ">davepw", "+get", "~*")
    write_keys(leader.client(socket_timeout=30), "k", writes)
    wait_until(lambda: int(raft(leader)["raft_first_index"]) > f_last + 1, timeout=60,
               what="the leader to compact past the stopped follower")
    f.start()
    wait_until(lambda: int(persistence(f)["snapshots_installed"]) >= 1, timeout=30,
               what=f"node {f.id} to install a snapshot")
    wait_until(lambda: can_login(f.port, "dave", "davepw"), what="dave on the snapshot node")
    assert can_login(f.port, "carol", "carolpw")
    for n in c.nodes:
        n.stop()
    for n in c.nodes:
        n.start()
    c.wait_for_leader()
    wait_everywhere(c, "carol after restart", lambda n: can_login(n.port, "carol", "carolpw"))
    wait_everywhere(c, "dave after restart", lambda n: can_login(n.port, "dave", "davepw"))
    d = client(c.nodes[2].port, username="dave", password="davepw")
    assert error_of(d.set, "x", "1") == "this user has no permissions to run the 'set' command"


def test_config_set_requirepass_replicates(cluster_factory):
    c = cluster_factory(size=3)
    f = followers(c)[0]
    assert client(f.port).config_set("requirepass", "newpw") is True
    wait_everywhere(c, "requirepass", lambda n: not can_login(n.port, "default", ""))
    for n in c.nodes:
        assert error_of(client(n.port).get, "x") == NOAUTH.replace("NOAUTH ", "")
        assert can_login(n.port, "default", "newpw")
    authed = client(c.nodes[0].port, password="newpw")
    assert authed.config_set("requirepass", "") is True
    wait_everywhere(c, "no password", lambda n: can_login(n.port, "default", "x"))


# ---- Redis's replies, side by side ----------------------------------------------------------


def rules_normalized(text):
    """An ACL rule string with the command rules after +@all/-@all sorted: Redis lists single
    commands in its hash table's order, Bellwether in the command table's."""
    words = text.split()
    start = next((i for i, w in enumerate(words) if w in ("+@all", "-@all")), len(words))
    return " ".join(words[:start + 1] + sorted(words[start + 1:]))


def getuser(r, name):
    reply = r.execute_command("ACL", "GETUSER", name)
    reply = dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else dict(reply)
    reply["commands"] = rules_normalized(reply["commands"])
    return reply


def mask_log(entries):
    out = []
    for e in entries:
        e = dict(zip(e[::2], e[1::2])) if isinstance(e, list) else dict(e)
        e.pop("age-seconds")
        info = e.pop("client-info")
        assert "user=" in info
        out.append(e)
    return out


def test_acl_replies_match_redis(cluster_factory, redis_server):
    c = cluster_factory(size=3)
    ours = client(c.nodes[1].port, decode_responses=True)
    ref = client(redis_server, decode_responses=True)
    for r in (ours, ref):
        assert r.execute_command("ACL", "SETUSER", "alice", *ALICE_RULES) == "OK"
    wait_until(lambda: can_login(c.nodes[1].port, "alice", "alicepw"), what="alice")
    assert ours.execute_command("ACL", "CAT") == ref.execute_command("ACL", "CAT")
    assert getuser(ours, "alice") == getuser(ref, "alice")
    assert getuser(ours, "default") == getuser(ref, "default")
    assert ours.execute_command("ACL", "GETUSER", "nobody") is None
    assert sorted(map(rules_normalized, ours.execute_command("ACL", "LIST"))) == \
        sorted(map(rules_normalized, ref.execute_command("ACL", "LIST")))
    assert ours.execute_command("ACL", "USERS") == ref.execute_command("ACL", "USERS")
    assert ours.execute_command("ACL", "WHOAMI") == ref.execute_command("ACL", "WHOAMI")
    for cmd in (["alice", "set", "x", "1"], ["alice", "get", "k1"], ["alice", "del", "k1"],
                ["alice", "publish", "zz", "m"], ["alice", "publish", "ch1", "m"]):
        assert ours.execute_command("ACL", "DRYRUN", *cmd) == \
            ref.execute_command("ACL", "DRYRUN", *cmd), cmd
    for cmd in (["nobody", "get", "k"], ["alice", "nosuchcmd"], ["alice", "get"]):
        assert error_of(ours.execute_command, "ACL", "DRYRUN", *cmd) == \
            error_of(ref.execute_command, "ACL", "DRYRUN", *cmd), cmd
    for rules in (["+nosuch"], ["bogus"], ["<nope"], ["~a", "allkeys", "~b"], ["+@nocat"]):
        assert error_of(ours.execute_command, "ACL", "SETUSER", "q", *rules) == \
            error_of(ref.execute_command, "ACL", "SETUSER", "q", *rules), rules
    # Denials: the replies, and what ACL LOG records of them.
    for r in (ours, ref):
        r.execute_command("ACL", "LOG", "RESET")
    port_of = {id(ours): c.nodes[1].port, id(ref): redis_server}
    errors = {}
    for r in (ours, ref):
        a = client(port_of[id(r)], username="alice", password="alicepw", decode_responses=True)
        got = [error_of(a.set, "x", "1"), error_of(a.delete, "k1"),
               error_of(a.publish, "zz", "m"), error_of(a.execute_command, "PSUBSCRIBE", "c*")]
        with pytest.raises(redis.exceptions.RedisError, match="WRONGPASS"):
            client(port_of[id(r)], username="alice", password="bad").ping()
        errors[id(r)] = got
    assert errors[id(ours)] == errors[id(ref)]
    assert mask_log(ours.execute_command("ACL", "LOG")) == \
        mask_log(ref.execute_command("ACL", "LOG"))
    assert ours.execute_command("ACL", "LOG", "RESET") == "OK"
    assert ours.execute_command("ACL", "LOG") == []
    assert len(ours.execute_command("ACL", "GENPASS")) == 64
    assert len(ours.execute_command("ACL", "GENPASS", "5")) == 2


def test_multi_checks_at_queue_time(cluster_factory):
    c = cluster_factory(size=3)
    n = c.nodes[0]
    client(n.port).execute_command("ACL", "SETUSER", "erin", "on", ">erinpw", "~*", "+multi",
                                   "+exec", "+set", "+get")
    wait_until(lambda: can_login(n.port, "erin", "erinpw"), what="erin")
    with socket.create_connection(("127.0.0.1", n.port), timeout=10) as s:
        s.sendall(b"AUTH erin erinpw\r\nMULTI\r\nSET a 1\r\nDEL a\r\nEXEC\r\n")
        data = b""
        while data.count(b"\r\n") < 5:
            chunk = s.recv(4096)
            assert chunk
            data += chunk
    assert data.split(b"\r\n")[:5] == [
        b"+OK", b"+OK", b"+QUEUED", b"-NOPERM this user has no permissions to run the 'del' command",
        b"-EXECABORT Transaction discarded because of previous errors."]


# ---- protected mode -------------------------------------------------------------------------


def non_loopback_address():
    """This machine's address on its default route, or None (then the test is skipped)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        addr = s.getsockname()[0]
    return None if addr.startswith("127.") else addr


def raw_first_line(host, port):
    """The first reply line a server sends a client that connects and sends PING (a server in
    protected mode may answer and close before reading anything)."""
    with socket.create_connection((host, port), timeout=10) as s:
        try:
            s.sendall(b"PING\r\n")
        except OSError:
            pass
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[0].decode()


def redis_denied_text(addr):
    """What a real redis-server listening on every address answers a non-loopback client."""
    with running_redis_server(bind="0.0.0.0") as port:
        return raw_first_line(addr, port)


def test_protected_mode_refuses_remote_clients_without_password(cluster_factory):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("no non-loopback address on this machine")
    c = cluster_factory(size=1, start=False)
    n = c.nodes[0]
    n.extra_args = ["--listen", f"0.0.0.0:{n.port}"]
    n.start()
    c.wait_for_leader()
    remote = redis.Redis(host=addr, port=n.port, socket_timeout=10)
    denied = error_of(remote.ping)
    assert denied.startswith("DENIED Redis is running in protected mode because protected mode "
                             "is enabled and no password is set for the default user.")
    assert "-" + denied == raw_first_line(addr, n.port) == redis_denied_text(addr)
    assert n.client().ping() is True  # loopback clients are served
    assert n.client().config_set("requirepass", "pw") is True
    wait_until(lambda: can_login(n.port, "default", "pw"), what="the password")
    assert redis.Redis(host=addr, port=n.port, password="pw", socket_timeout=10).ping() is True
    local = client(n.port, password="pw")
    assert local.config_set("requirepass", "") is True
    wait_until(lambda: can_login(n.port, "default", "x"), what="no password")
    assert "DENIED" in error_of(redis.Redis(host=addr, port=n.port, socket_timeout=10).ping)
    assert local.config_set("protected-mode", "no") is True
    assert redis.Redis(host=addr, port=n.port, socket_timeout=10).ping() is True


def test_cluster_up_requirepass(tmp_path):
    """cluster up --requirepass protects every node; cluster add/remove, failover and status
    work on such a cluster (the new node joins with masterauth)."""
    work = str(tmp_path / "cluster")
    base = free_port_block(8)
    tool = lambda *a, **kw: subprocess.run([BIN, *a], capture_output=True, text=True,
                                           timeout=120, **kw)
    try:
        out = tool("cluster", "up", "--dir", work, "--detach", "--base-port", str(base),
                   "--requirepass", "uppw")
        assert out.returncode == 0, out.stdout + out.stderr
        for p in range(base, base + 3):
            assert "NOAUTH" in cli(p, "get", "k")
            assert cli(p, "-a", "uppw", "set", f"k{p}", "v") == "OK"
        out = tool("cluster", "add", "--dir", work)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "NOAUTH" in cli(base + 3, "get", "k")
        assert cli(base + 3, "-a", "uppw", "get", f"k{base}") == "v"
        out = tool("failover", "--endpoint", f"127.0.0.1:{base}", "--pass", "uppw")
        assert out.returncode == 0, out.stdout + out.stderr
        out = tool("status", "--endpoint", f"127.0.0.1:{base}",
                   env={**__import__("os").environ, "REDISCLI_AUTH": "uppw"})
        assert out.returncode == 0 and "leader" in out.stdout, out.stdout + out.stderr
        out = tool("cluster", "remove", "--dir", work, "--node", "4")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "NOAUTH" in cli(base, "get", "k")
    finally:
        subprocess.run([BIN, "cluster", "down", "--dir", work], capture_output=True, text=True,
                       timeout=60)


def test_aclfile_bootstrap_save_and_load(cluster_factory, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user default on nopass ~* &* +@all\n"
                    "user frank on >frankpw ~* +@all\n")
    c = cluster_factory(size=3, extra_args=["--aclfile", str(path)])
    wait_everywhere(c, "frank from the aclfile", lambda n: can_login(n.port, "frank", "frankpw"))
    # The first replicated change carries the bootstrap users along.
    assert client(c.nodes[0].port).execute_command("ACL", "SETUSER", "gina", "on", ">ginapw",
                                                   "+get") == b"OK"
    wait_everywhere(c, "gina", lambda n: can_login(n.port, "gina", "ginapw"))
    assert can_login(c.nodes[2].port, "frank", "frankpw")
    assert client(c.nodes[1].port).execute_command("ACL", "SAVE") == b"OK"
    saved = path.read_text()
    assert "user gina on #" in saved and "user frank on #" in saved and "ginapw" not in saved
    path.write_text("user default on nopass ~* &* +@all\nuser hank on >hankpw +@all\n")
    assert client(c.nodes[2].port).execute_command("ACL", "LOAD") == b"OK"
    wait_everywhere(c, "hank", lambda n: can_login(n.port, "hank", "hankpw"))
    wait_everywhere(c, "gina gone", lambda n: not can_login(n.port, "gina", "ginapw"))
    path.write_text("user broken on +nosuchcommand\n")
    assert "Unknown command" in error_of(client(c.nodes[0].port).execute_command, "ACL", "LOAD")
    assert can_login(c.nodes[0].port, "hank", "hankpw")  # a bad file changes nothing


def test_passwords_never_reach_slowlog_or_monitor(cluster_factory):
    c = cluster_factory(size=1)
    r = client(c.nodes[0].port)
    assert r.config_set("slowlog-log-slower-than", "0") is True
    r.slowlog_reset()
    assert r.execute_command("AUTH", "default", "authsecret") is True  # nopass: any password
    r.execute_command("ACL", "SETUSER", "ivan", "on", ">setusersecret", "+get")
    error_of(r.execute_command, "HELLO", "2", "AUTH", "ivan", "hellosecret")
    logged = repr(r.slowlog_get(128))
    for secret in ("authsecret", "setusersecret", "hellosecret"):
        assert secret not in logged, logged
    assert "(redacted)" in logged
