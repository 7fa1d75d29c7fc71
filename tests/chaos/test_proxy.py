"""The partition machinery bites: peer traffic really flows through the proxy, and cutting the
leader's links makes the others elect a new leader; healing lets the old one rejoin."""
from cluster import ChaosCluster, wait_until


def test_cutting_the_leaders_links_moves_leadership():
    cluster = ChaosCluster(3, ["--request-timeout-ms", "2000"]).start()
    try:
        old = cluster.wait_for_leader()
        assert all(link.forwarded_bytes > 0 for (src, dst), link in cluster.proxy.links.items()
                   if src == old.id), "the leader's peer traffic does not go through the proxy"
        cluster.proxy.partition([[old.id], [n.id for n in cluster.nodes if n is not old]])
        new = wait_until(lambda: next((n for n in cluster.nodes if n is not old
                                       and n.role() == "leader"), None),
                         timeout=15, what="a leader on the majority side")
        assert new is not old
        cluster.proxy.heal()
        wait_until(lambda: old.role() == "follower", timeout=15, what="the old leader to follow")
    finally:
        cluster.stop()
