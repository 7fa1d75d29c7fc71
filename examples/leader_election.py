#!/usr/bin/env python3
"""Leader election with fencing tokens on Bellwether, end to end.

Starts a local 3-node cluster, then three worker processes that campaign for the "writer" role.
Whoever wins writes to a shared key, fenced with its token. The script then:
  1. SIGKILLs the current writer: another worker takes over within ttl + election time;
  2. SIGSTOPs the next writer past its TTL (a long GC pause, a frozen VM), lets a third worker
     take over, then SIGCONTs it: its late write carries a stale token and is rejected.

Run from the repository root after building:  python3 examples/leader_election.py
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BELLWETHER_BIN", os.path.join(ROOT, "build", "bellwether"))
BASE_PORT = int(os.environ.get("BELLWETHER_EXAMPLE_PORT", "7301"))
TTL_MS = 1000


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def worker(name):
    """Campaign for 'writer'; while leader, write 'state' fenced by the token, keep the role alive."""
    ports = [BASE_PORT + i for i in range(3)]
    clients = [redis.Redis(port=p, socket_timeout=3) for p in ports]
    token = None
    for step in range(2000):  # bounded: the demo ends long before
        cl = clients[step % len(clients)]
        try:
            if token is None:
                won, holder, tok, _ = cl.execute_command("ELECT", "writer", name, TTL_MS, "BLOCK", 3000)
                if won == 1:
                    token = tok
                    print(f"      {name}: I am the writer now (fencing token {token})", flush=True)
                continue
            cl.execute_command("SET", "state", f"written by {name} with token {token}",
                               "FENCE", "writer", token)
            cl.execute_command("ELECT.KEEPALIVE", "writer", token)
            time.sleep(0.2)  # the writer's work cadence
        except redis.ResponseError as e:
            print(f"      {name}: write REJECTED: {e}", flush=True)
            token = None
        except redis.ConnectionError:
            time.sleep(0.1)  # that node is unreachable; try the next


def current_writer(cl):
    r = cl.execute_command("ELECT.LEADER", "writer")
    return (r[0].decode(), r[1]) if r else (None, None)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit(f"gave up waiting for {what}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
        return
    if not os.path.exists(BIN):
        raise SystemExit(f"build first: {BIN} not found")
    work = tempfile.mkdtemp(prefix="bellwether-example-")
    say(f"starting a 3-node Bellwether cluster on ports {BASE_PORT}-{BASE_PORT + 2}")
    subprocess.run([BIN, "cluster", "up", "--detach", "--dir", work, "--base-port", str(BASE_PORT)],
                   check=True, stdout=subprocess.DEVNULL)
    workers = {}
    try:
        cl = redis.Redis(port=BASE_PORT, socket_timeout=3)
        for name in ("alpha", "beta", "gamma"):
            workers[name] = subprocess.Popen([sys.executable, __file__, "--worker", name])
        say("three workers campaign for the 'writer' role")
        first, tok = wait_for(lambda: (w := current_writer(cl))[0] and w, 10, "a first writer")
        say(f"writer: {first} (token {tok}); state = {cl.get('state')}")

        say(f"SIGKILL {first}")
        killed_at = time.monotonic()
        workers[first].kill()
        second, tok2 = wait_for(lambda: (w := current_writer(cl))[0] not in (None, first) and w, 10,
                                "a new writer")
        say(f"{second} took over after {time.monotonic() - killed_at:.2f} s (token {tok2} > {tok})")

        say(f"SIGSTOP {second}: frozen past its {TTL_MS} ms TTL, it still believes it is the writer")
        workers[second].send_signal(signal.SIGSTOP)
        third, tok3 = wait_for(lambda: (w := current_writer(cl))[0] not in (None, second) and w, 10,
                               "a third writer")
        say(f"{third} took over (token {tok3}) while {second} was frozen")
        say(f"SIGCONT {second}: its next write carries stale token {tok2}")
        workers[second].send_signal(signal.SIGCONT)
        time.sleep(1.0)  # let it try
        say(f"state = {cl.get('state')}  (only the current writer's writes land)")
    finally:
        for p in workers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
        subprocess.run([BIN, "cluster", "down", "--dir", work], stdout=subprocess.DEVNULL)
        say("cluster stopped")


if __name__ == "__main__":
    main()
