"""Load generators: redis-benchmark for the RESP systems, etcd-load (gRPC) for etcd, resp-load and
etcd-load ycsb for the mixed workloads, and the failover probes."""
import csv
import io
import json
import os
import subprocess
import threading
import time

import redis

VALUE_SIZE = 256
KEY_SPACE = 100000
RUN_TIMEOUT_S = 120


def redis_benchmark(port, test, clients, requests, pipeline=1, extra_args=()):
    """One redis-benchmark run; returns {rps, p50_ms, p99_ms}. Keys are key:<12 digits>.
    `extra_args`: more options, such as --tls --cacert FILE."""
    args = ["redis-benchmark", *extra_args, "-h", "127.0.0.1", "-p", str(port), "-t", test,
            "-n", str(requests), "-c", str(clients), "-d", str(VALUE_SIZE),
            "-r", str(KEY_SPACE), "--csv"]
    if pipeline > 1:
        args += ["-P", str(pipeline)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    rows = [r for r in csv.DictReader(io.StringIO(out.stdout)) if r.get("test")]
    if out.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark {' '.join(args[1:])} failed: "
                           f"{out.stdout[-300:]} {out.stderr[-300:]}")
    r = rows[-1]
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]),
            "p99_ms": float(r["p99_latency_ms"])}


def etcd_load(binary, endpoints, op, clients, depth=1, seconds=3.0, serializable=False,
              requests=100_000_000, sequential=False, key_space=KEY_SPACE):
    """One etcd-load run (gRPC Put or Range); returns {rps, p50_ms, p99_ms}."""
    args = [binary, op, "--endpoints", endpoints, "--clients", str(clients),
            "--depth", str(depth), "--requests", str(requests),
            "--value-size", str(VALUE_SIZE), "--key-space", str(key_space)]
    if seconds:
        args += ["--duration-s", str(seconds)]
    if serializable:
        args.append("--serializable")
    if sequential:
        args.append("--sequential")
    out = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S * 3)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"etcd-load {' '.join(args[1:])} failed: {out.stderr[-500:]}")
    r = json.loads(lines[-1])
    if r.get("errors", 0) > r.get("requests", 0) // 100:
        raise RuntimeError(f"etcd-load {op}: {r['errors']} errors of {r['requests']}")
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_ms"]), "p99_ms": float(r["p99_ms"])}


def resp_write_probe(ports, max_wait_s=30.0, attempt_timeout_s=1.0):
    """Writes to every port in parallel, one thread each, until one write succeeds; returns the
    wall-clock time (time.time()) of the first success, or None."""
    done = threading.Event()
    first = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_wait_s

    def worker(port):
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=attempt_timeout_s,
                        socket_connect_timeout=attempt_timeout_s)
        n = 0
        while not done.is_set() and time.monotonic() < deadline:
            n += 1
            try:
                if c.set("bench:probe", f"{port}-{n}"):
                    with lock:
                        first.append(time.time())
                    done.set()
                    return
            except (redis.RedisError, OSError):
                time.sleep(0.002)  # refused or READONLY: try again at once, without spinning

    threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_wait_s + 2 * attempt_timeout_s)
    return min(first) if first else None


def etcd_write_probe(binary, endpoints, max_wait_s=30):
    out = subprocess.run([binary, "probe", "--endpoints", endpoints, "--timeout-ms", "100",
                          "--max-wait-s", str(max_wait_s)],
                         capture_output=True, text=True, timeout=max_wait_s + 10)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    r = json.loads(lines[-1]) if lines else {}
    return r["unix_ns"] / 1e9 if r.get("ok") else None


def etcd_wait_key(binary, endpoint, key, max_wait_s=180):
    out = subprocess.run([binary, "wait-key", "--endpoints", endpoint, "--key", key,
                          "--serializable", "--timeout-ms", "100", "--max-wait-s",
                          str(max_wait_s)],
                         capture_output=True, text=True, timeout=max_wait_s + 10)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    r = json.loads(lines[-1]) if lines else {}
    return r["unix_ns"] / 1e9 if r.get("ok") else None


def resp_wait_key(port, key, readonly, max_wait_s=180):
    """Polls GET key on a (re)starting node until it returns the value; returns time.time()."""
    deadline = time.monotonic() + max_wait_s
    while time.monotonic() < deadline:
        try:
            c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                            socket_connect_timeout=0.5, single_connection_client=True)
            if readonly:
                c.execute_command("READONLY")
            v = c.get(key)
            c.close()
            if v is not None and len(v) == VALUE_SIZE:
                return time.time()
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.01)
    return None


FILL_CHUNK_KEYS = 20000


def resp_fill_files(directory, keys):
    """RESP for SET key:<12 digits> <256 bytes> for every key in [0, keys), for redis-cli --pipe,
    in files of FILL_CHUNK_KEYS commands; returns their paths in order."""
    value = b"v" * VALUE_SIZE
    head = b"*3\r\n$3\r\nSET\r\n$16\r\n"
    tail = b"\r\n$%d\r\n" % VALUE_SIZE + value + b"\r\n"
    paths = []
    for start in range(0, keys, FILL_CHUNK_KEYS):
        path = os.path.join(directory, f"fill-{start:09d}.resp")
        with open(path, "wb") as f:
            f.write(b"".join(head + b"key:%012d" % i + tail
                             for i in range(start, min(keys, start + FILL_CHUNK_KEYS))))
        paths.append(path)
    return paths


def resp_fill(port, paths):
    """Loads the files one redis-cli --pipe at a time, so that a failure names its file."""
    for path in paths:
        with open(path, "rb") as f:
            out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                                 stdin=f, capture_output=True, text=True, timeout=300)
        if out.returncode != 0 or "errors: 0" not in out.stdout:
            raise RuntimeError(f"redis-cli --pipe {os.path.basename(path)} to {port}: "
                               f"{out.stdout[-300:]} {out.stderr[-300:]}")


def last_key(keys):
    return "key:%012d" % (keys - 1)


# ---- YCSB-style mixed workloads ----------------------------------------------------------------

def _mixed_result(r):
    """The figures kept from a resp-load / etcd-load ycsb JSON line."""
    out = {"rps": float(r["rps"]), "p50_ms": float(r["p50_ms"]), "p99_ms": float(r["p99_ms"]),
           "requests": int(r["requests"]), "errors": int(r["errors"]),
           "misses": int(r["read"]["misses"])}
    for op in ("read", "update"):
        out[f"{op}_requests"] = int(r[op]["requests"])
        out[f"{op}_p50_ms"] = float(r[op]["p50_ms"]) if r[op]["requests"] else None
        out[f"{op}_p99_ms"] = float(r[op]["p99_ms"]) if r[op]["requests"] else None
    return out


def _run_json(args, timeout):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{os.path.basename(args[0])} {' '.join(args[1:])} failed "
                           f"(exit {out.returncode}): {out.stderr[-500:]}")
    return json.loads(lines[-1])


def resp_load(binary, port, workload, clients=50, pipeline=1, seconds=3.0,
              requests=100_000_000, seed=1, key_space=KEY_SPACE):
    """One resp-load run (bench/resp-load): YCSB workload a, b or c, or `load` (SET every key of
    the key space once). Returns _mixed_result's figures; raises if more than 1% failed."""
    args = [binary, "--host", "127.0.0.1", "--port", str(port), "--workload", workload,
            "--clients", str(clients), "--pipeline", str(pipeline), "--requests", str(requests),
            "--key-space", str(key_space), "--value-size", str(VALUE_SIZE), "--seed", str(seed)]
    if seconds:
        args += ["--duration-s", str(seconds)]
    return _mixed_result(_run_json(args, RUN_TIMEOUT_S))


def etcd_ycsb(binary, endpoints, workload, clients=50, depth=1, seconds=3.0,
              requests=100_000_000, seed=1, key_space=KEY_SPACE):
    """One etcd-load ycsb run: Ranges (linearizable) and Puts as YCSB workload a, b or c."""
    args = [binary, "ycsb", "--endpoints", endpoints, "--workload", workload,
            "--clients", str(clients), "--depth", str(depth), "--requests", str(requests),
            "--key-space", str(key_space), "--value-size", str(VALUE_SIZE), "--seed", str(seed)]
    if seconds:
        args += ["--duration-s", str(seconds)]
    return _mixed_result(_run_json(args, RUN_TIMEOUT_S))
