"""The comparison's Markdown table and gnuplot chart."""
import os
import shutil
import statistics
import subprocess

COLUMNS = [("bellwether", "Bellwether"), ("redis-everysec", "Redis everysec"),
           ("redis-always", "Redis always"), ("etcd", "etcd")]
LABELS = {
    "write-1": "writes, 1 client",
    "write-50": "writes, 50 clients",
    "write-50-P16": "writes, 50 clients, pipelined 16",
    "read-linearizable-50": "linearizable reads, 50 clients",
    "read-stale-follower-50": "stale follower reads, 50 clients",
}
YCSB_LABELS = {
    "a": "A: 50% GET / 50% SET",
    "b": "B: 95% GET / 5% SET",
    "c": "C: 100% GET",
}
RATIO_PEERS = ("redis-everysec", "redis-always", "etcd")


def versions(bw_bin):
    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"
    return {"redis": first_line(["redis-server", "--version"]),
            "etcd": first_line(["etcd", "--version"]),
            "bellwether": first_line([bw_bin, "--version"])}


def median(xs):
    return statistics.median(xs) if xs else None


def p99(xs):
    """Nearest-rank 99th percentile; with fewer than 100 samples it is the maximum."""
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, -(-99 * len(s) // 100) - 1))]


def ratio(a, b, higher_is_better=True):
    if a is None or b is None or a == 0 or b == 0:
        return "—"
    return f"{a / b:.2f}x"


def fmt(x, digits=0):
    return "—" if x is None else f"{x:,.{digits}f}"


def figure(results, workload, system, key):
    runs = results["throughput"].get(workload, {}).get(system, [])
    return median([r[key] for r in runs])


def ycsb_figure(results, workload, system, key):
    runs = results.get("ycsb", {}).get(workload, {}).get(system, [])
    return median([r[key] for r in runs if r.get(key) is not None])


def systems_table_header():
    """The header of a table with one column per system and the three ratio columns."""
    return ["| workload | " + " | ".join(c[1] for c in COLUMNS) +
            " | BW/Redis everysec | BW/Redis always | BW/etcd |",
            "| --- |" + " ---: |" * (len(COLUMNS) + 3)]


def ycsb_lines(results):
    """The "Mixed workloads (YCSB)" table: medians of rps and of p50 / p99 per operation."""
    lines = ["", "## Mixed workloads (YCSB): requests/s, latency (ms, p50 / p99) per operation",
             "", *systems_table_header()]
    for w in results["ycsb"]:
        rps = {s: ycsb_figure(results, w, s, "rps") for s, _ in COLUMNS}
        cells = []
        for s, _ in COLUMNS:
            if rps[s] is None:
                cells.append("—")
                continue
            ops = []
            for op in ("read", "update"):
                p50 = ycsb_figure(results, w, s, f"{op}_p50_ms")
                p99 = ycsb_figure(results, w, s, f"{op}_p99_ms")
                if p50 is not None:
                    ops.append(f"{op} {fmt(p50, 2)} / {fmt(p99, 2)}")
            cells.append(f"{fmt(rps[s])} ({'; '.join(ops)})")
        lines.append(f"| {YCSB_LABELS.get(w, w)} | " + " | ".join(cells) + " | " +
                     " | ".join(ratio(rps["bellwether"], rps[s]) for s in RATIO_PEERS) + " |")
    lines += ["", "50 clients, one request in flight each, after every key of the 100k was written "
              "once. Keys: YCSB's scrambled zipfian (theta 0.99) from a fixed seed per client, the "
              "same for every system in a run. Reads: Bellwether's leader (linearizable, the "
              "default), each Redis group's primary (GET), etcd's leader (linearizable Range). "
              "resp-load for the RESP systems, etcd-load ycsb for etcd."]
    return lines


def markdown(results):
    m = results["machine"]
    lines = [
        f"# Bellwether side by side — {m['date']}",
        "",
        f"{m['cores']} cores, all on 127.0.0.1. Medians of {m['runs']} runs of "
        f"{m['seconds']:g} s per figure. {m['versions']['redis']}; {m['versions']['etcd']}.",
        "Bellwether: 3 voters, fsync always. Redis: primary + 2 replicas, appendonly with "
        "appendfsync everysec / always. etcd: 3 members, defaults.",
        "Keys `key:<12 digits>` (16 bytes) over a 100k key space, 256-byte values; redis-benchmark "
        "for the RESP systems, etcd-load (gRPC, same concurrency) for etcd.",
        "Redis has no linearizable read: its row is a primary's GET, the reference point. Stale "
        "reads: a Bellwether follower with `readonly-default`, a Redis replica, an etcd follower "
        "with serializable Range.",
    ]
    if results["throughput"]:
        lines += [
            "",
            "## Throughput (requests/s) and latency (ms, p50 / p99)",
            "",
            *systems_table_header(),
        ]
    for w in results["throughput"]:
        rps = {s: figure(results, w, s, "rps") for s, _ in COLUMNS}
        cells = []
        for s, _ in COLUMNS:
            if rps[s] is None:
                cells.append("—")
            else:
                cells.append(f"{fmt(rps[s])} ({fmt(figure(results, w, s, 'p50_ms'), 2)} / "
                             f"{fmt(figure(results, w, s, 'p99_ms'), 2)})")
        lines.append(f"| {LABELS.get(w, w)} | " + " | ".join(cells) + " | " +
                     " | ".join(ratio(rps["bellwether"], rps[s])
                                for s in ("redis-everysec", "redis-always", "etcd")) + " |")

    if results.get("ycsb"):
        lines += ycsb_lines(results)

    fo, rec, rss = results["failover"], results["recovery_s"], results["rss_mib"]
    if fo or rec or rss:
        lines += ["", "## Failover, restart recovery, memory", "",
                  "| measure | Bellwether | Redis (Sentinel) | etcd | BW/Redis | BW/etcd |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]

        def row(label, table, fn, digits):
            v = {s: fn(table.get(s, [])) for s in ("bellwether", "redis", "etcd")}
            lines.append(f"| {label} | {fmt(v['bellwether'], digits)} | {fmt(v['redis'], digits)}"
                         f" | {fmt(v['etcd'], digits)} | {ratio(v['bellwether'], v['redis'])} | "
                         f"{ratio(v['bellwether'], v['etcd'])} |")
        if fo:
            n = len(fo.get("bellwether", []))
            row(f"failover p50 (s), {n} SIGKILLs of the leader under load", fo, median, 3)
            row(f"failover p99 (s; with {n} samples, the worst)", fo, p99, 3)
        if rec:
            row(f"restart with {m['keys']:,} keys until it serves them (s)", rec, median, 2)
        if rss:
            row(f"RSS per node with {m['keys']:,} keys (MiB, median of 3 nodes)", rss, median, 0)
        lines += ["", "Failover: SIGKILL of the leader / primary while 50 clients write to it; "
                  "time until the first write succeeds on another node (Redis: 3 Sentinels, "
                  "down-after-milliseconds 1000; etcd: defaults). Restart: SIGKILL and restart "
                  "of a follower (Redis: the primary, from its AOF), until a read of the last "
                  "key written returns it on that node."]

    targets = []

    def target(label, value, ok):
        # A target whose figures were not measured in this run (another --only) is left out.
        if ok is not None:
            targets.append(f"| {label} | {value} | {'yes' if ok else 'no'} |")

    def tput_ratio(w, peer):
        a, b = figure(results, w, "bellwether", "rps"), figure(results, w, peer, "rps")
        return (a / b) if a and b else None

    for label, w, peer, goal in [
            ("writes (50 clients) ≥ 1.0x Redis everysec", "write-50", "redis-everysec", 1.0),
            ("writes (50 clients) ≥ 1.0x Redis always", "write-50", "redis-always", 1.0),
            ("pipelined writes ≥ 1.0x Redis everysec", "write-50-P16", "redis-everysec", 1.0),
            ("pipelined writes ≥ 1.0x Redis always", "write-50-P16", "redis-always", 1.0),
            ("writes (50 clients) ≥ 3x etcd", "write-50", "etcd", 3.0),
            ("linearizable reads ≥ 0.9x a Redis primary's GET", "read-linearizable-50",
             "redis-everysec", 0.9),
            ("stale follower reads ≥ 1.0x a Redis replica's GET", "read-stale-follower-50",
             "redis-everysec", 1.0)]:
        r = tput_ratio(w, peer)
        target(label, "—" if r is None else f"{r:.2f}x", None if r is None else r >= goal)
    p50_1 = figure(results, "write-1", "bellwether", "p50_ms")
    if p50_1 is not None:
        target("writes (1 client) p50 ≤ 0.4 ms", f"{p50_1:.2f} ms", p50_1 <= 0.4)
    if fo.get("bellwether"):
        v50, v99 = median(fo["bellwether"]), p99(fo["bellwether"])
        target("failover p50 < 0.5 s", f"{v50:.3f} s", v50 < 0.5)
        target("failover p99 < 1 s", f"{v99:.3f} s", v99 < 1.0)
    if rss.get("bellwether") and rss.get("redis"):
        r = median(rss["bellwether"]) / median(rss["redis"])
        target("memory ≤ 1.5x Redis RSS", f"{r:.2f}x", r <= 1.5)
    if targets:
        lines += ["", "## Targets (reported, not asserted)", "", "| target | measured | met |",
                  "| --- | ---: | :---: |"] + targets
    for e in results.get("errors", []):
        lines.append(f"\n**Failed:** {e[:500]}")
    lines += ["", f"Wall time of the whole comparison: {m.get('wall_s', '?')} s.", ""]
    return "\n".join(lines)


def chart(results, path):
    """Two panels (throughput, p99 latency) of grouped bars per workload; None without gnuplot."""
    if not shutil.which("gnuplot") or not results["throughput"]:
        return None
    data = path[:-4] + ".dat"
    with open(data, "w") as f:
        f.write("workload " + " ".join(s for s, _ in COLUMNS) + " " +
                " ".join(s + "_p99" for s, _ in COLUMNS) + "\n")
        for w in results["throughput"]:
            rps = [figure(results, w, s, "rps") for s, _ in COLUMNS]
            lat = [figure(results, w, s, "p99_ms") for s, _ in COLUMNS]
            label = LABELS.get(w, w).replace(", ", "\\n")
            f.write(f'"{label}" ' +
                    " ".join("NaN" if v is None else f"{v:.3f}" for v in rps + lat) + "\n")
    n = len(COLUMNS)
    plots = ", ".join(f"'{data}' using {i + 2}:xtic(1) title '{COLUMNS[i][1]}'" for i in range(n))
    lat_plots = ", ".join(f"'{data}' using {i + 2 + n}:xtic(1) title '{COLUMNS[i][1]}'"
                          for i in range(n))
    script = f"""
set terminal pngcairo size 1400,1000 font ',10'
set output '{path}'
set multiplot layout 2,1 title 'Bellwether vs Redis vs etcd, 3 nodes each, {results["machine"]["date"]}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside right top
set grid ytics
set logscale y
set ylabel 'requests/s (median, log scale)'
plot {plots}
set ylabel 'p99 latency, ms (median, log scale)'
plot {lat_plots}
unset multiplot
"""
    out = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True, timeout=60)
    os.remove(data)
    if out.returncode != 0:
        print(f"gnuplot failed: {out.stderr[-500:]}")
        return None
    return path
