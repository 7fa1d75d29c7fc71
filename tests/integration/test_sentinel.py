"""Sentinel-compatible discovery with real clients and real processes.

redis-py's Sentinel, pointed at the nodes, sends writes to the leader and reads to followers and
keeps working through a failover with no acknowledged write lost; the replies have the shape of
a real Redis Sentinel's (redis-server --sentinel runs beside for comparison, read with redis-cli);
the optional sentinel port behaves as a Sentinel does and announces +switch-master.
"""
import re
import subprocess

import pytest
import redis
from redis.sentinel import MasterNotFoundError, Sentinel

from conftest import free_port_block, wait_until
from helpers import RawConn, resp_command

MASTER = "bellwether"
FAILOVER_TIMEOUT_S = 30
CLI_TIMEOUT_S = 10


def addresses(nodes):
    return [("127.0.0.1", n.port) for n in nodes]


def sentinel_client(nodes):
    return Sentinel(addresses(nodes), socket_timeout=2, socket_connect_timeout=1)


def master_of(node, name=MASTER):
    """SENTINEL MASTER name, raw, as a dict of str."""
    reply = node.client(socket_timeout=2).execute_command("SENTINEL", "MASTER", name)
    return dict(zip(*[iter(x.decode() for x in reply)] * 2))


def replicas_of(node, name=MASTER):
    reply = node.client(socket_timeout=2).execute_command("SENTINEL", "REPLICAS", name)
    return [dict(zip(*[iter(x.decode() for x in r)] * 2)) for r in reply]


def write_acked(client, key, value, acked, timeout=FAILOVER_TIMEOUT_S):
    """SETs through `client` until it is acknowledged (connection errors and TRYAGAIN retried,
    as an application would while a failover runs); records the acknowledged value."""

    def attempt():
        try:
            return client.set(key, value)
        except redis.exceptions.ResponseError as e:
            if str(e).startswith(("TRYAGAIN", "TIMEOUT")):
                return False  # an idempotent SET: trying again is safe
            raise

    wait_until(attempt, timeout=timeout, interval=0.05, what=f"SET {key} to be acknowledged")
    acked[key] = value


def redis_cli(port, *args, resp3=False):
    cmd = ["redis-cli", "--no-raw", "-p", str(port)] + (["-3"] if resp3 else []) + list(args)
    # Not check=True: redis-cli may exit non-zero after printing an error reply.
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT_S).stdout


def cli_field_names(text, resp3):
    """The field names of the instances redis-cli printed: `1# "name" => ...` in RESP3, every
    other `1) "name"` item in RESP2 (nested lists print as `1)  1) "name"`)."""
    if resp3:
        return re.findall(r'\d+# "([^"]*)" =>', text)
    items = re.findall(r'\d+\) "([^"]*)"$', text, re.M)
    return items[0::2]


@pytest.fixture
def real_sentinel(tmp_path):
    """A real Redis Sentinel (redis-server --sentinel) watching a master and one replica under
    the name MASTER; yields its port once it lists the replica as healthy."""
    base = free_port_block(3)
    master_port, replica_port, sentinel_port = base, base + 1, base + 2
    # --dir: the replica stores the master's RDB there during its full sync.
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    procs = []

    def spawn(args):
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))

    try:
        spawn(["redis-server", "--port", str(master_port)] + common)
        spawn(["redis-server", "--port", str(replica_port), "--replicaof", "127.0.0.1",
               str(master_port)] + common)
        conf = tmp_path / "sentinel.conf"
        conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\n"
                        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n")
        spawn(["redis-server", str(conf), "--sentinel"])
        client = redis.Redis(port=sentinel_port, socket_timeout=2)

        def replica_listed():
            reply = client.execute_command("SENTINEL", "REPLICAS", MASTER)
            return len(reply) == 1 and dict(zip(*[iter(reply[0])] * 2))[b"flags"] == b"slave"

        wait_until(replica_listed, timeout=30, what="the real Sentinel to list the replica")
        yield sentinel_port
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def test_redis_py_follows_a_failover_and_keeps_every_acknowledged_write(cluster_factory):
    cluster = cluster_factory(3)
    leader = cluster.wait_for_leader()
    sentinel = sentinel_client(cluster.nodes)
    wait_until(lambda: sentinel.discover_master(MASTER) == ("127.0.0.1", leader.port),
               what="redis-py to discover the leader")
    followers = {n.port for n in cluster.nodes if n is not leader}
    wait_until(lambda: {p for _, p in sentinel.discover_slaves(MASTER)} == followers,
               what="redis-py to discover both followers as replicas")

    master = sentinel.master_for(MASTER, socket_timeout=5, socket_connect_timeout=1)
    replica = sentinel.slave_for(MASTER, socket_timeout=5, socket_connect_timeout=1)
    acked = {}
    for i in range(50):
        assert master.set(f"before-{i}", f"v{i}")
        acked[f"before-{i}"] = f"v{i}".encode()
    assert master.connection_pool.get_master_address() == ("127.0.0.1", leader.port)
    # Reads go to a follower (slave_for connects to the replicas redis-py discovered).
    wait_until(lambda: replica.get("before-49") == b"v49", what="the write on a replica")
    replica_conn = replica.connection_pool.get_connection("GET")
    try:
        assert replica_conn.port in followers
    finally:
        replica.connection_pool.release(replica_conn)

    leader.kill()
    new_leader = cluster.wait_for_leader(exclude=(leader.id,), timeout=FAILOVER_TIMEOUT_S)
    # The same client objects: writes reach the new leader once redis-py rediscovers it.
    for i in range(50):
        write_acked(master, f"after-{i}", f"w{i}".encode(), acked)
    wait_until(lambda: master.connection_pool.get_master_address() ==
               ("127.0.0.1", new_leader.port), what="redis-py to discover the new leader")
    # The killed node is now a replica that is down: redis-py leaves it out.
    wait_until(lambda: [r["flags"] for r in replicas_of(new_leader)
                        if int(r["port"]) == leader.port] == ["s_down,slave,disconnected"],
               what="the killed node to be flagged down")
    survivor = next(n for n in cluster.nodes if n.alive() and n is not new_leader)
    wait_until(lambda: sentinel.discover_slaves(MASTER) == [("127.0.0.1", survivor.port)],
               what="redis-py to leave the killed node out of the replicas")

    # No acknowledged write is lost: the new leader has them all, and so do the reads.
    got = dict(zip(acked, master.mget(list(acked))))
    assert {k: v for k, v in got.items() if v != acked[k]} == {}
    keys = list(acked)
    wait_until(lambda: replica.mget(keys) == [acked[k] for k in keys],
               timeout=FAILOVER_TIMEOUT_S, what="every acknowledged write on the replica")


def test_without_a_leader_the_last_known_one_is_reported_down(cluster_factory):
    cluster = cluster_factory(3)
    leader = cluster.wait_for_leader()
    survivor, other = [n for n in cluster.nodes if n is not leader]
    address = [b"127.0.0.1", str(leader.port).encode()]
    wait_until(lambda: survivor.client().execute_command(
        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == address, what="the survivor to know")

    leader.kill()
    other.kill()  # one node of three: no majority, so no election can succeed
    wait_until(lambda: "o_down" in master_of(survivor)["flags"], timeout=FAILOVER_TIMEOUT_S,
               what="the survivor to see the master down")
    state = master_of(survivor)
    assert state["flags"] == "s_down,o_down,master,disconnected,failover_in_progress"
    assert int(state["port"]) == leader.port
    # As a real Sentinel during a failover, it still names the last master...
    assert survivor.client().execute_command(
        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == address
    # ...and redis-py, which checks the flags, finds no master to use and raises.
    with pytest.raises(MasterNotFoundError):
        sentinel_client([survivor]).discover_master(MASTER)


def test_a_node_that_never_knew_a_leader_answers_nil(cluster_factory):
    cluster = cluster_factory(3, start=False)
    lone = cluster.nodes[0]
    lone.start()
    wait_until(lambda: lone.client().ping(), what="node 1 to answer")
    client = lone.client()
    assert client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) is None
    state = master_of(lone)
    assert (state["ip"], state["port"]) == ("?", "0")
    assert state["flags"].startswith("s_down,o_down,master")
    assert len(client.execute_command("SENTINEL", "REPLICAS", MASTER)) == 3


def test_replies_have_the_shape_of_a_real_sentinels(cluster_factory, real_sentinel):
    cluster = cluster_factory(3)
    leader = cluster.wait_for_leader()
    follower = next(n for n in cluster.nodes if n is not leader)
    wait_until(lambda: master_of(follower)["flags"] == "master"
               and all(r["flags"] == "slave" for r in replicas_of(follower)),
               what="a healthy view on the follower")
    ours, theirs = follower.port, real_sentinel
    for resp3 in (False, True):
        for args in (("SENTINEL", "MASTER", MASTER), ("SENTINEL", "MASTERS")):
            mine = cli_field_names(redis_cli(ours, *args, resp3=resp3), resp3)
            real = cli_field_names(redis_cli(theirs, *args, resp3=resp3), resp3)
            assert mine == real and "num-other-sentinels" in mine, (args, resp3)
        # One replica entry, from the list.
        mine = redis_cli(ours, "SENTINEL", "REPLICAS", MASTER, resp3=resp3)
        real = redis_cli(theirs, "SENTINEL", "REPLICAS", MASTER, resp3=resp3)
        assert cli_field_names(mine, resp3) == 2 * cli_field_names(real, resp3), resp3
        slaves = redis_cli(ours, "SENTINEL", "SLAVES", MASTER, resp3=resp3)
        assert cli_field_names(slaves, resp3) == cli_field_names(mine, resp3)  # times change
        # Unknown names, errors and arity: word for word.
        for args in (("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"),
                     ("SENTINEL", "MASTER", "nosuch"),
                     ("SENTINEL", "REPLICAS", "nosuch"),
                     ("SENTINEL", "MASTERS", "extra"),
                     ("SENTINEL", "nosuchsubcommand")):
            assert redis_cli(ours, *args, resp3=resp3) == redis_cli(theirs, *args, resp3=resp3)
    assert redis_cli(ours, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch") == "(nil)\n"
    # The address, as redis-cli shows it.
    assert redis_cli(ours, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER) == \
        f'1) "127.0.0.1"\n2) "{leader.port}"\n'
    # Raw bytes of the nil reply in RESP2.
    for port in (ours, theirs):
        conn = RawConn(port)
        try:
            conn.send(resp_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"))
            assert conn.read_line() == b"*-1\r\n"
        finally:
            conn.close()


@pytest.fixture
def sentinel_port_cluster(cluster_factory):
    """Three nodes, each also listening as a Sentinel; the master is named `mymaster`."""
    cluster = cluster_factory(3, extra_args=["--sentinel-master-name", "mymaster"], start=False)
    base = free_port_block(3)
    for i, n in enumerate(cluster.nodes):
        n.sentinel_port = base + i
        n.extra_args = ["--sentinel-listen", f"127.0.0.1:{n.sentinel_port}"]
    return cluster.start()


def test_the_sentinel_port_answers_as_a_sentinel(sentinel_port_cluster, real_sentinel):
    cluster = sentinel_port_cluster
    leader = cluster.wait_for_leader()
    ports = [n.sentinel_port for n in cluster.nodes]
    sentinel = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=2)
    wait_until(lambda: sentinel.discover_master("mymaster") == ("127.0.0.1", leader.port),
               what="redis-py to discover the leader through the sentinel ports")
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master(MASTER)  # the configured name only

    port = ports[0]
    client = redis.Redis(port=port, socket_timeout=2, client_name="discovery")
    assert client.ping()
    assert client.client_getname() == "discovery"
    assert client.execute_command("ROLE") == [b"sentinel", [b"mymaster"]]
    info = client.info()
    assert info["redis_mode"] == "sentinel"
    assert info["master0"]["name"] == "mymaster" and info["master0"]["status"] == "ok"
    assert info["master0"]["address"] == f"127.0.0.1:{leader.port}"
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command 'GET'"):
        client.get("k")
    with pytest.raises(redis.exceptions.ResponseError, match="unknown command 'SET'"):
        client.set("k", "v")
    # HELLO as Sentinel answers it: the same fields as the real one's (no role).
    mine = redis_cli(port, "HELLO", "3")
    real = redis_cli(real_sentinel, "HELLO", "3")
    assert re.findall(r'"(\w+)" =>', mine) == re.findall(r'"(\w+)" =>', real)
    assert '"mode" => "sentinel"' in mine

    # Every node announces the new leader on +switch-master when leadership moves.
    subscribers = []
    for p in ports:
        ps = redis.Redis(port=p, socket_timeout=5).pubsub()
        ps.subscribe("+switch-master")
        wait_until(lambda ps=ps: ps.get_message(timeout=0.1), what="the subscription")
        subscribers.append(ps)
    assert leader.client().execute_command("FAILOVER") == b"OK"
    new_leader = cluster.wait_for_leader(exclude=(leader.id,))
    expected = f"mymaster 127.0.0.1 {leader.port} 127.0.0.1 {new_leader.port}".encode()
    for ps in subscribers:
        message = wait_until(lambda ps=ps: ps.get_message(timeout=0.1), timeout=FAILOVER_TIMEOUT_S,
                             what="+switch-master")
        assert (message["channel"], message["data"]) == (b"+switch-master", expected)
        ps.close()
    wait_until(lambda: sentinel.discover_master("mymaster") == ("127.0.0.1", new_leader.port),
               what="redis-py to follow the hand-over")
