"""The cost of one operation on one node, taken with `perf stat` in the same run as the throughput.

A PerfStat attaches `perf stat -p PID` to a node process with its counters off (`-D -1`) and
switches them on and off through perf's control FIFO (`--control fifo:CTL,ACK`): the counting
window is the workload, not perf's start-up. The events are software ones (task-clock,
context-switches) and syscall tracepoints (this machine, a VM, has no hardware counters): one
`syscalls:sys_enter_<name>` per kind of call, `raw_syscalls:sys_enter` for all of them, and
`syscalls:sys_exit_<read kind>` filtered on `ret == -EAGAIN` for the reads that found nothing.
Each counts every thread of the process (perf stat -p attaches to all of them; threads created
later inherit the counters).

The node's own counters come from INFO stats before and after the window (Bellwether:
wal_fsyncs, wal_entries_written, raft_append_messages_sent, raft_entries_sent); a node that does
not report one gets "—" in the table.
"""
import errno
import os
import select
import signal
import statistics
import subprocess
import time

from .systems import info_fields

PERF_ACK_TIMEOUT_S = 15  # perf attaches and answers "enable" well within this
PERF_ACK_POLL_S = 0.5  # how often a wait for perf's answer checks that perf still runs
PERF_EXIT_TIMEOUT_S = 15  # perf writes its counts and exits after SIGINT within this
PERF_LIST_TIMEOUT_S = 30
EAGAIN_RET = -errno.EAGAIN  # what a sys_exit tracepoint records for EAGAIN

# Kinds of syscall counted one by one, in the order of the table; those the kernel has no
# tracepoint for are left out (see available_kinds).
SYSCALL_KINDS = ["read", "readv", "recvfrom", "recvmsg", "write", "writev", "pwrite64",
                 "pwritev", "sendto", "sendmsg", "epoll_wait", "epoll_pwait", "epoll_pwait2",
                 "fdatasync", "fsync", "sync_file_range", "futex", "io_uring_enter"]
READ_KINDS = ["read", "readv", "recvfrom", "recvmsg"]  # their EAGAIN share is reported
FSYNC_KINDS = ["fdatasync", "fsync"]
ALL_SYSCALLS_EVENT = "raw_syscalls:sys_enter"
INFO_COUNTERS = ["wal_fsyncs", "wal_entries_written", "raft_append_messages_sent",
                 "raft_entries_sent"]


def available_kinds():
    """(syscall kinds with an enter tracepoint, read kinds with an exit tracepoint, whether
    raw_syscalls:sys_enter exists), from `perf list`."""
    out = subprocess.run(["perf", "list", "tracepoint"], capture_output=True, text=True,
                         timeout=PERF_LIST_TIMEOUT_S)
    names = {w for line in out.stdout.splitlines() for w in line.split()[:1]}
    kinds = [k for k in SYSCALL_KINDS if f"syscalls:sys_enter_{k}" in names]
    exits = [k for k in READ_KINDS if f"syscalls:sys_exit_{k}" in names]
    return kinds, exits, ALL_SYSCALLS_EVENT in names


def perf_event_args(kinds, eagain_kinds, all_syscalls):
    args = ["-e", "task-clock", "-e", "context-switches"]
    if all_syscalls:
        args += ["-e", ALL_SYSCALLS_EVENT]
    for k in kinds:
        args += ["-e", f"syscalls:sys_enter_{k}"]
    for k in eagain_kinds:
        # --filter applies to the event just before it: only the calls that returned EAGAIN.
        args += ["-e", f"syscalls:sys_exit_{k}", "--filter", f"ret == {EAGAIN_RET}"]
    return args


def parse_perf_csv(text):
    """{event: count} from `perf stat -x,` output; task-clock in milliseconds. Events perf
    could not count are left out."""
    counts = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or "," not in line:
            continue
        fields = line.split(",")
        if len(fields) < 3:
            continue
        value, event = fields[0], fields[2]
        try:
            counts[event] = float(value)
        except ValueError:
            continue  # <not counted>, <not supported>
    return counts


class PerfStat:
    """`perf stat -p PID` with its counters off until enable(); counts() after disable()."""

    def __init__(self, reg, pid, workdir, name, event_args):
        self.name = name
        self.out_path = os.path.join(workdir, f"{name}.perf.csv")
        self.ctl_path = os.path.join(workdir, f"{name}.perf.ctl")
        self.ack_path = os.path.join(workdir, f"{name}.perf.ack")
        for p in (self.out_path, self.ctl_path, self.ack_path):
            if os.path.exists(p):
                os.remove(p)
        os.mkfifo(self.ctl_path)
        os.mkfifo(self.ack_path)
        # O_RDWR: neither open waits for perf, and the ACK FIFO never reads as closed.
        self.ctl = os.open(self.ctl_path, os.O_RDWR)
        self.ack = os.open(self.ack_path, os.O_RDWR | os.O_NONBLOCK)
        self.proc = reg.spawn(f"perf-{name}",
                              ["perf", "stat", "-x", ",", "-o", self.out_path, "-D", "-1",
                               "--control", f"fifo:{self.ctl_path},{self.ack_path}",
                               *event_args, "-p", str(pid)],
                              os.path.join(workdir, f"{name}.perf.log"))

    def send(self, command):
        os.write(self.ctl, command.encode() + b"\n")

    def wait_ack(self):
        deadline = time.monotonic() + PERF_ACK_TIMEOUT_S
        got = b""
        while b"ack" not in got:
            ready, _, _ = select.select([self.ack], [], [], PERF_ACK_POLL_S)
            if ready:
                got += os.read(self.ack, 64)
            elif not self.proc.alive():
                raise RuntimeError(f"perf for {self.name} exited: {self.proc.log_tail()}")
            elif time.monotonic() > deadline:
                raise RuntimeError(f"perf for {self.name} did not answer within "
                                   f"{PERF_ACK_TIMEOUT_S} s: {self.proc.log_tail()}")

    def finish(self):
        """Stops perf (SIGINT: it writes its counts) and returns them."""
        self.proc.signal(signal.SIGINT)
        try:
            self.proc.proc.wait(timeout=PERF_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.close()
        with open(self.out_path) as f:
            counts = parse_perf_csv(f.read())
        if "task-clock" not in counts:
            raise RuntimeError(f"perf for {self.name} counted nothing: {self.proc.log_tail()}")
        return counts


    def close(self):
        """Stops perf if it still runs and closes the FIFOs; safe to call again."""
        self.proc.stop()
        for fd in (self.ctl, self.ack):
            if fd is not None:
                os.close(fd)
        self.ctl = self.ack = None


def switch(perfs, command):
    """Sends `command` (enable/disable) to every perf first, then waits for every answer: the
    windows of the nodes open and close within a few milliseconds of each other."""
    for p in perfs:
        p.send(command)
    for p in perfs:
        p.wait_ack()


def info_counters(port):
    """The INFO stats counters of INFO_COUNTERS the node reports (absent ones are left out)."""
    fields = info_fields(port, "stats")
    out = {}
    for k in INFO_COUNTERS:
        try:
            out[k] = int(fields[k])
        except (KeyError, ValueError):
            pass
    return out


def _ratio(a, b):
    return a / b if a is not None and b else None


def per_op(counts, info_before, info_after, ops):
    """The figures of one node over one workload of `ops` operations."""
    delta = {k: info_after[k] - info_before[k] for k in INFO_COUNTERS
             if k in info_before and k in info_after}
    sys = {k: counts.get(f"syscalls:sys_enter_{k}") for k in SYSCALL_KINDS}
    reads = sum(sys.get(k) or 0 for k in READ_KINDS)
    eagain = [counts[f"syscalls:sys_exit_{k}"] for k in READ_KINDS
              if f"syscalls:sys_exit_{k}" in counts]
    fsyncs = [sys[k] for k in FSYNC_KINDS if sys[k] is not None]
    return {
        "cpu_us": counts["task-clock"] * 1000.0 / ops,
        "cs": _ratio(counts.get("context-switches"), ops),
        "syscalls": _ratio(counts.get(ALL_SYSCALLS_EVENT), ops),
        "fsyncs": _ratio(sum(fsyncs), ops) if fsyncs else None,
        "eagain_pct": 100.0 * sum(eagain) / reads if eagain and reads else None,
        "entries_per_fsync": _ratio(delta.get("wal_entries_written"), delta.get("wal_fsyncs")),
        "entries_per_append": _ratio(delta.get("raft_entries_sent"),
                                     delta.get("raft_append_messages_sent")),
        "sys": {k: v / ops for k, v in sys.items() if v is not None},
        "raw": {"ops": ops, "perf": counts, "info_delta": delta},
    }


# ---- medians and the Markdown tables ----------------------------------------------------------

METRICS = [  # key, column title, digits
    ("cpu_us", "CPU µs/op", 1),
    ("cs", "ctx sw/op", 2),
    ("syscalls", "syscalls/op", 2),
    ("fsyncs", "fsyncs/op", 3),
    ("eagain_pct", "reads EAGAIN %", 0),
    ("entries_per_fsync", "entries/fsync", 1),
    ("entries_per_append", "entries/append msg", 1),
]


def median_of(samples, key, kind=None):
    if kind is None:
        xs = [s[key] for s in samples if s.get(key) is not None]
    else:
        xs = [s["sys"][kind] for s in samples if kind in s["sys"]]
    return statistics.median(xs) if xs else None


def fmt(x, digits):
    return "—" if x is None else f"{x:,.{digits}f}"


def delta_pct(before, after, digits):
    """` (+12%)`; nothing where either side shows as 0 at `digits` (the ratio would be noise)."""
    if before is None or after is None or round(before, digits) == 0 or round(after, digits) == 0:
        return ""
    text = f"{(after - before) / before * 100:+.0f}%"
    return f" ({'±0%' if text in ('+0%', '-0%') else text})"


def kinds_seen(results):
    """The syscall kinds counted at least once, in SYSCALL_KINDS order."""
    seen = set()
    for by_system in results["nodes"].values():
        for by_node in by_system.values():
            for samples in by_node.values():
                for s in samples:
                    seen |= {k for k, v in s["sys"].items() if v}
    return [k for k in SYSCALL_KINDS if k in seen]


def rps_median(results, workload, system):
    runs = results["load"].get(workload, {}).get(system, [])
    return statistics.median([r["rps"] for r in runs]) if runs else None


def table_single(results, labels, systems, workload_labels):
    """Rows workload × system × node; req/s on the first node row of each system."""
    lines = ["| workload | system | node | req/s | " +
             " | ".join(t for _, t, _ in METRICS) + " |",
             "| --- | --- | --- | ---: |" + " ---: |" * len(METRICS)]
    for w, by_system in results["nodes"].items():
        for system in systems:
            for i, (node, samples) in enumerate(by_system.get(system, {}).items()):
                rps = fmt(rps_median(results, w, system), 0) if i == 0 else ""
                cells = [fmt(median_of(samples, k), d) for k, _, d in METRICS]
                lines.append(f"| {workload_labels.get(w, w)} | {labels[system]} | {node} | {rps} | "
                             + " | ".join(cells) + " |")
    return lines


def table_before_after(results, before, after, workload_labels):
    """Rows workload × node; every cell `before → after (±%)`."""
    lines = ["| workload | node | req/s | " + " | ".join(t for _, t, _ in METRICS) + " |",
             "| --- | --- | ---: |" + " ---: |" * len(METRICS)]
    for w, by_system in results["nodes"].items():
        b_nodes, a_nodes = by_system.get(before, {}), by_system.get(after, {})
        for i, node in enumerate(b_nodes):
            if i == 0:
                rb, ra = rps_median(results, w, before), rps_median(results, w, after)
                rps = f"{fmt(rb, 0)} → {fmt(ra, 0)}{delta_pct(rb, ra, 0)}"
            else:
                rps = ""
            cells = []
            for k, _, d in METRICS:
                b = median_of(b_nodes[node], k)
                a = median_of(a_nodes.get(node, []), k)
                cells.append(f"{fmt(b, d)} → {fmt(a, d)}{delta_pct(b, a, d)}")
            lines.append(f"| {workload_labels.get(w, w)} | {node} | {rps} | " +
                         " | ".join(cells) + " |")
    return lines


def table_syscalls(results, labels, systems, workload_labels):
    """Syscalls per operation by kind (the kinds counted at least once)."""
    kinds = kinds_seen(results)
    lines = ["| workload | system | node | " + " | ".join(kinds) + " |",
             "| --- | --- | --- |" + " ---: |" * len(kinds)]
    for w, by_system in results["nodes"].items():
        for system in systems:
            for node, samples in by_system.get(system, {}).items():
                cells = [fmt(median_of(samples, None, k), 3) for k in kinds]
                lines.append(f"| {workload_labels.get(w, w)} | {labels[system]} | {node} | " +
                             " | ".join(cells) + " |")
    return lines


def table_runs(results, labels, systems, node, workload_labels):
    """One node's CPU µs/op and syscalls/op in every run (run order), to see the spread."""
    lines = ["| workload | system | CPU µs/op, each run | syscalls/op, each run |",
             "| --- | --- | ---: | ---: |"]
    for w, by_system in results["nodes"].items():
        for system in systems:
            samples = by_system.get(system, {}).get(node, [])
            if not samples:
                continue
            cpu = " / ".join(fmt(x["cpu_us"], 1) for x in samples)
            calls = " / ".join(fmt(x["syscalls"], 2) for x in samples)
            lines.append(f"| {workload_labels.get(w, w)} | {labels[system]} | {cpu} | {calls} |")
    return lines
