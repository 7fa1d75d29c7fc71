#!/usr/bin/env python3
"""A work queue on Bellwether whose order the leader decides, across a leader kill.

Starts a local 3-node cluster. Two producers RPUSH jobs through different nodes; three consumers,
one per node, take jobs with BLMOVE jobs -> processing:<consumer> (the reliable-queue pattern),
record each job as done with HSETNX done <job> <consumer>, then LREM it from their processing
list. Midway the script SIGKILLs the Raft leader. Clients that lose their node move to another;
a consumer that reconnects first finishes the jobs left in its processing list.

At the end the script checks and prints: every job whose RPUSH was acknowledged is done exactly
once (HSETNX keeps one record per job; a job handed out twice would show as a duplicate), none
is lost, and jobs whose RPUSH failed with the leader (unacknowledged) were done at most once.

Run from the repository root after building:  python3 examples/work_queue.py
Exit status 0 when every check holds.
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("BELLWETHER_BIN", os.path.join(ROOT, "build", "bellwether"))
BASE_PORT = int(os.environ.get("BELLWETHER_EXAMPLE_PORT", "7401"))
NODES = 3
JOBS_PER_PRODUCER = 300
CONSUMERS = ("c1", "c2", "c3")
DRAIN_TIMEOUT_S = 60


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Rotating:
    """A client that moves to the next node when its node stops answering."""

    def __init__(self, start):
        self.i = start
        self.cl = None

    def call(self, *args):
        for _ in range(200):  # bounded: a leader is elected in well under a second
            if self.cl is None:
                self.cl = redis.Redis(port=BASE_PORT + self.i % NODES, socket_timeout=5)
            try:
                return self.cl.execute_command(*args)
            except redis.ConnectionError:
                self.cl = None
                self.i += 1
                time.sleep(0.05)
            except redis.ResponseError as e:
                # Retried: every call here is safe to repeat (HSETNX, LREM, LLEN, LRANGE) or, for
                # BLMOVE, leaves a job it moved in the processing list, finished on the next turn.
                if not str(e).startswith(("TRYAGAIN", "TIMEOUT", "CLUSTERDOWN")):
                    raise
                time.sleep(0.05)
        raise SystemExit("no node answered")


def produce(name, start, acked, failed):
    cl = Rotating(start)
    for i in range(JOBS_PER_PRODUCER):
        job = f"{name}-{i}"
        try:
            cl.cl = cl.cl or redis.Redis(port=BASE_PORT + cl.i % NODES, socket_timeout=5)
            cl.cl.execute_command("RPUSH", "jobs", job)
            acked.append(job)
        except (redis.ConnectionError, redis.ResponseError):
            # Unknown outcome: the push may or may not be in the log. Not retried, so a job is
            # never pushed twice; it counts as unacknowledged.
            failed.append(job)
            cl.cl = None
            cl.i += 1
        time.sleep(0.002)


def consume(name, start, stop, duplicates):
    cl = Rotating(start)
    mine = f"processing:{name}"
    received = set()  # jobs BLMOVE handed to this consumer

    def finish(job):
        # A 0 from HSETNX is this consumer's own earlier HSETNX whose reply was lost, or a job
        # another consumer already did: only the second is a duplicate.
        if cl.call("HSETNX", "done", job, name) == 0 and cl.call("HGET", "done", job) != name.encode():
            duplicates.append(job)
        cl.call("LREM", mine, 1, job)

    while not stop.is_set():
        for job in cl.call("LRANGE", mine, 0, -1):  # left over from a lost connection
            finish(job)
        job = cl.call("BLMOVE", "jobs", mine, "LEFT", "RIGHT", 0.5)
        if job is not None:
            if job in received:
                duplicates.append(job)  # the queue handed this consumer the same job twice
            received.add(job)
            finish(job)


def leader_port():
    for i in range(NODES):
        try:
            if redis.Redis(port=BASE_PORT + i, socket_timeout=2).info("raft")["raft_role"] == "leader":
                return BASE_PORT + i, i + 1
        except redis.ConnectionError:
            continue
    return None, None


def main():
    if not os.path.exists(BIN):
        raise SystemExit(f"build first: {BIN} not found")
    work = tempfile.mkdtemp(prefix="bellwether-queue-")
    say(f"starting a {NODES}-node Bellwether cluster on ports {BASE_PORT}-{BASE_PORT + NODES - 1}")
    subprocess.run([BIN, "cluster", "up", "--detach", "--dir", work, "--base-port", str(BASE_PORT)],
                   check=True, stdout=subprocess.DEVNULL)
    stop = threading.Event()
    acked, failed, duplicates = [], [], []
    try:
        producers = [threading.Thread(target=produce, args=(p, i, acked, failed))
                     for i, p in enumerate(("p1", "p2"))]
        consumers = [threading.Thread(target=consume, args=(c, i, stop, duplicates))
                     for i, c in enumerate(CONSUMERS)]
        for t in producers + consumers:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < JOBS_PER_PRODUCER // 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        port, node = leader_port()
        pid = int(open(os.path.join(work, f"node{node}.pid")).read())
        say(f"{len(acked)} jobs pushed; SIGKILL the leader, node {node} (port {port}, pid {pid})")
        os.kill(pid, signal.SIGKILL)
        for t in producers:
            t.join()
        say(f"producers done: {len(acked)} pushes acknowledged, {len(failed)} failed")
        check = Rotating(1 if node == 1 else 0)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            left = check.call("LLEN", "jobs") + sum(check.call("LLEN", f"processing:{c}")
                                                   for c in CONSUMERS)
            if left == 0:
                break
            time.sleep(0.1)
        stop.set()
        for t in consumers:
            t.join()
        done = {k.decode(): v.decode() for k, v in check.call("HGETALL", "done").items()}
        lost = [j for j in acked if j not in done]
        unacked_done = [j for j in failed if j in done]
        say(f"done: {len(done)} jobs; by consumer: "
            + ", ".join(f"{c} {sum(1 for v in done.values() if v == c)}" for c in CONSUMERS))
        say(f"acknowledged jobs lost: {len(lost)}; handed out twice: {len(duplicates)}; "
            f"unacknowledged pushes that did land: {len(unacked_done)} of {len(failed)}")
        ok = not lost and not duplicates and len(done) == len(acked) + len(unacked_done)
        say("every acknowledged job done exactly once" if ok else "CHECK FAILED")
        return 0 if ok else 1
    finally:
        stop.set()
        subprocess.run([BIN, "cluster", "down", "--dir", work], stdout=subprocess.DEVNULL)
        say("cluster stopped")


if __name__ == "__main__":
    sys.exit(main())
