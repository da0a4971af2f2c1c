#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""jpud under load, against a baseline measured in the same command.

On a fixture machine whose RAPL counters tick (tests/jpud_helpers.Machine)
and the real /proc, jpud (dropping to `nobody`) is measured for:

  wrk     wrk -c 64 -t 2 -d SECONDS --latency on /metrics over TCP;
          baseline: /healthz on the same listener
  socket  build/bench/jpud_client with 64 connections on /v1/sample
          (system, user); baseline: /healthz on the same socket
  rss     VmRSS, VmHWM, RssAnon, RssFile of a fresh jpud with 10,000 extra
          sleeping processes over 100 uids (20000..20099), once discovery
          has made their user scopes; baseline: the same jpud before
  cpu     utime+stime over CPU_SECONDS as % of one core at --interval 1
          with 1,000 processes over 50 uids; baseline: the same jpud with
          no extra processes, first

and prints a table with ratios to the baselines and a verdict per target of
issue 9 (p99 <= 5 ms, RSS <= 8 MB, CPU <= 1 %). Run as root (the sleepers
setuid to other uids; jpud drops privileges itself):

    python3 bench/bench_jpud.py --build build

--parts rss measures one part alone, e.g. of another build (--build
build-nocarbon) or with other settings (--jpud-arg=--history --jpud-arg=0).
Figures depend on the machine's load: give the run's load average with them.

The sleepers are forked by build/bench/bench_scope --spawner, one process
group per uid, and are always ended (SIGKILL to the group) on the way out.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from jpud_helpers import Daemon, Machine  # noqa: E402

P99_MS = 5.0
RSS_KB = 8 * 1024
CPU_PCT = 1.0
UID0 = 20000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_rundir(base: Path, name: str) -> Path:
    d = base / name
    d.mkdir()
    os.chmod(d, 0o755)
    os.chown(d, 65534, 65534)  # like RuntimeDirectory=: the daemon's account
    return d


def start_jpud(binary, rundir, machine, port, extra, interval="1", discover="1"):
    d = Daemon(
        binary,
        rundir,
        "--listen",
        f"127.0.0.1:{port}",
        "--path.sysfs",
        str(machine.sysfs),
        "--state-file",
        "",
        "--nvml",
        "",
        "--rate",
        "1000000",
        "--burst",
        "1000000",
        "--interval",
        interval,
        "--discover",
        discover,
        *extra,
        user="nobody",
    )
    return d.start()


# ---- wrk ------------------------------------------------------------------


def to_ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    if not m:
        raise ValueError(f"wrk latency {s!r}")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(port, path, seconds, conns):
    cmd = [
        "wrk",
        "-c",
        str(conns),
        "-t",
        "2",
        "-d",
        f"{seconds}s",
        "--latency",
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = {"cmd": " ".join(cmd), "non2xx": 0, "errors": 0}
    r["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    r["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    r["p50_ms"] = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    r["p99_ms"] = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    r["max_ms"] = to_ms(re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M).group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    return r


# ---- the C client on the socket ---------------------------------------------


def run_client(client, sock, path, seconds, conns):
    cmd = [client, sock, path, str(conns), str(seconds)]
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    r["cmd"] = " ".join(cmd)
    r["errors_all"] = r["errors"] + r["non200"]
    return r


# ---- /proc readings ----------------------------------------------------------


def status_kb(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
            out[k] = int(v.split()[0])
    # proportional: a shared library's pages divided among the processes
    # that map them, the fair share of RssFile
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            out["Pss"] = int(line.split()[1])
    return out


def cpu_ticks(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def cpu_pct(pid, seconds):
    hz = os.sysconf("SC_CLK_TCK")
    t0, w0 = cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    t1, w1 = cpu_ticks(pid), time.monotonic()
    return 100.0 * (t1 - t0) / hz / (w1 - w0)


def user_series(port):
    """The distinct uid="..." label values in /metrics (one per user scope)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return set(re.findall(r'uid="(\d+)"', text))


def wait_users(port, uids, timeout):
    want = {str(u) for u in uids}
    deadline = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < deadline:
        seen = user_series(port)
        if want <= seen:
            return f"{len(want & seen)}/{len(seen)}", time.monotonic() - (deadline - timeout)
        time.sleep(1)
    raise RuntimeError(f"only {len(seen)} user series after {timeout} s")


# ---- sleepers ------------------------------------------------------------------


def proc_uids():
    """The owner of every /proc/PID (its effective uid)."""
    for e in os.scandir("/proc"):
        if e.name.isdigit():
            try:
                yield e.stat().st_uid
            except FileNotFoundError:
                pass


class Sleepers:
    """n processes over `users` uids from UID0, one spawner (a process group
    of its own) per uid; ended on exit whatever happens."""

    def __init__(self, spawner, n, users):
        self.spawner, self.n, self.users = spawner, n, users
        self.procs = []

    def __enter__(self):
        try:
            per = self.n // self.users
            for i in range(self.users):
                p = subprocess.Popen(
                    [self.spawner, "--spawner", str(per), "--uid", str(UID0 + i)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                self.procs.append(p)
                line = p.stdout.readline()
                if not line.startswith("ready"):
                    raise RuntimeError(f"spawner for uid {UID0 + i}: {line!r}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            p.stdin.close()
            p.wait(timeout=60)
        self.procs = []
        # the sleepers, orphaned, are reaped by init in their own time: the
        # next part's jpud must not find them (its baseline would count them)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            UID0 <= uid < UID0 + self.users for uid in proc_uids()
        ):
            time.sleep(0.2)

    @property
    def uids(self):
        return range(UID0, UID0 + self.users)


# ---- report --------------------------------------------------------------------


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--seconds", type=int, default=30, help="per load run")
    ap.add_argument("--cpu-seconds", type=int, default=60)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rss-procs", type=int, default=10000)
    ap.add_argument("--rss-users", type=int, default=100)
    ap.add_argument("--cpu-procs", type=int, default=1000)
    ap.add_argument("--cpu-users", type=int, default=50)
    ap.add_argument(
        "--rss-settle",
        type=int,
        default=3,
        help="seconds between the user series appearing and the RSS reading "
        "(the --history rings, 300 samples by default, fill one a tick)",
    )
    ap.add_argument(
        "--jpud-arg",
        action="append",
        default=[],
        help="one more argument for jpud (repeat), e.g. --jpud-arg=--history --jpud-arg=0",
    )
    ap.add_argument(
        "--parts",
        default="load,rss,cpu",
        help="comma-separated subset of load,rss,cpu (e.g. rss alone for another build)",
    )
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the sleepers setuid to other uids")
    build = Path(a.build)
    jpud = str(build / "daemon" / "jpud")
    client = str(build / "bench" / "jpud_client")
    spawner = str(build / "bench" / "bench_scope")
    for b in (jpud, client, spawner):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"{b} not built: ninja -C {build}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk not installed")

    tmp = Path(tempfile.mkdtemp(prefix="bench_jpud."))
    os.chmod(tmp, 0o755)
    res = {}
    parts = a.parts.split(",")
    try:
        with Machine(tmp) as m:
            for part in parts:
                port = free_port()
                d = start_jpud(
                    jpud,
                    make_rundir(tmp, part),
                    m,
                    port,
                    a.jpud_arg,
                    discover="10" if part == "cpu" else "1",
                )
                try:
                    PARTS[part](a, res, d, port, client, spawner)
                finally:
                    d.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(a, res, parts)


def part_load(a, res, d, port, client, spawner):
    """wrk over TCP, the C client over the socket."""
    time.sleep(2)
    res["wrk_base"] = run_wrk(port, "/healthz", a.seconds, a.connections)
    res["wrk"] = run_wrk(port, "/metrics", a.seconds, a.connections)
    res["sock_base"] = run_client(client, d.socket, "/healthz", a.seconds, a.connections)
    for scope in ("system", "user"):
        res[f"sock_{scope}"] = run_client(
            client, d.socket, f"/v1/sample?scope={scope}", a.seconds, a.connections
        )
    res["load_status"] = status_kb(d.proc.pid)


def part_rss(a, res, d, port, client, spawner):
    """A fresh jpud, before and with the sleepers."""
    time.sleep(3)
    res["rss_base"] = status_kb(d.proc.pid)
    res["rss_base_users"] = f"0/{len(user_series(port))}"
    t0 = time.monotonic()
    with Sleepers(spawner, a.rss_procs, a.rss_users) as s:
        res["rss_spawn_s"] = time.monotonic() - t0
        res["rss_users"], res["rss_wait_s"] = wait_users(port, s.uids, 120)
        time.sleep(a.rss_settle)  # ticks of every scope (--history rings fill)
        res["rss"] = status_kb(d.proc.pid)


def part_cpu(a, res, d, port, client, spawner):
    """At --interval 1 (discovery at its default), without then with the
    sleepers."""
    time.sleep(3)
    res["cpu_base"] = cpu_pct(d.proc.pid, a.cpu_seconds)
    with Sleepers(spawner, a.cpu_procs, a.cpu_users) as s:
        res["cpu_users"], _ = wait_users(port, s.uids, 60)
        res["cpu"] = cpu_pct(d.proc.pid, a.cpu_seconds)


PARTS = {"load": part_load, "rss": part_rss, "cpu": part_cpu}


def report(a, r, parts):
    print(
        f"bench_jpud: {os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.2f} "
        f"at the end; parts {','.join(parts)}; jpud args {' '.join(a.jpud_arg) or '-'}"
    )
    verdicts = []
    if "load" in parts:
        print()
        print(
            f"{'load':<28}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
            f"{'non2xx':>8}{'rps/base':>10}"
        )
        for name, k, base in (
            ("wrk /healthz (base)", "wrk_base", "wrk_base"),
            ("wrk /metrics", "wrk", "wrk_base"),
            ("socket /healthz (base)", "sock_base", "sock_base"),
            ("socket sample system", "sock_system", "sock_base"),
            ("socket sample user", "sock_user", "sock_base"),
        ):
            x = r[k]
            bad = x.get("non2xx", x.get("non200"))
            print(
                f"{name:<28}{x['rps']:>10.0f}{x['p50_ms']:>9.3f}{x['p99_ms']:>9.3f}"
                f"{x['max_ms']:>9.3f}{x['errors']:>8}{bad:>8}"
                f"{ratio(x['rps'], r[base]['rps']):>10}"
            )
        for k in ("wrk_base", "wrk", "sock_base", "sock_system", "sock_user"):
            print(f"  $ {r[k]['cmd']}")
        ls = r["load_status"]
        print(
            f"  jpud after the load: VmRSS {ls['VmRSS']} kB, VmHWM {ls['VmHWM']} kB, "
            f"threads {ls['Threads']}"
        )
        w = r["wrk"]
        ok = w["p99_ms"] <= P99_MS and w["errors"] + w["non2xx"] == 0
        verdicts.append(
            f"p99 <= {P99_MS:g} ms, no errors, wrk /metrics: {'PASS' if ok else 'FAIL'} "
            f"(p99 {w['p99_ms']:.3f} ms, {w['errors']} socket errors, {w['non2xx']} non-2xx)"
        )
        p99 = max(r[k]["p99_ms"] for k in ("sock_system", "sock_user"))
        errs = sum(r[k]["errors_all"] for k in ("sock_system", "sock_user"))
        ok = p99 <= P99_MS and errs == 0
        verdicts.append(
            f"p99 <= {P99_MS:g} ms, no errors, socket /v1/sample: {'PASS' if ok else 'FAIL'} "
            f"(worst p99 {p99:.3f} ms, {errs} errors/non-200)"
        )
    if "rss" in parts:
        print()
        print(
            f"{'rss (kB)':<28}{'VmRSS':>8}{'VmHWM':>8}{'RssAnon':>8}{'RssFile':>8}{'Pss':>8}"
            f"{'uids ours/all':>15}"
        )
        b, x = r["rss_base"], r["rss"]
        label = f"{a.rss_procs} procs/{a.rss_users} uids"
        for name, y, u in (
            ("no extra processes (base)", b, r["rss_base_users"]),
            (label, x, r["rss_users"]),
        ):
            print(
                f"{name:<28}{y['VmRSS']:>8}{y['VmHWM']:>8}{y['RssAnon']:>8}{y['RssFile']:>8}"
                f"{y['Pss']:>8}{u:>15}"
            )
        print(
            f"  ratio VmRSS {ratio(x['VmRSS'], b['VmRSS'])}, "
            f"RssAnon {ratio(x['RssAnon'], b['RssAnon'])}; sleepers up in "
            f"{r['rss_spawn_s']:.1f} s, user series {r['rss_wait_s']:.1f} s later, read "
            f"{a.rss_settle} s after that"
        )
        ok = x["VmRSS"] <= RSS_KB
        verdicts.append(
            f"RSS <= 8 MB: {'PASS' if ok else 'FAIL'} (VmRSS {x['VmRSS'] / 1024:.1f} MiB = "
            f"RssAnon {x['RssAnon'] / 1024:.1f} MiB + RssFile {x['RssFile'] / 1024:.1f} MiB "
            f"(binary and shared libraries) + RssShmem {x['RssShmem'] / 1024:.1f} MiB; "
            f"Pss {x['Pss'] / 1024:.1f} MiB; VmHWM {x['VmHWM'] / 1024:.1f} MiB)"
        )
    if "cpu" in parts:
        print()
        print(f"cpu at --interval 1 (% of one core over {a.cpu_seconds} s)")
        print(f"  no extra processes (base)   {r['cpu_base']:.2f} %")
        print(
            f"  {a.cpu_procs} procs/{a.cpu_users} uids{'':<7}{r['cpu']:.2f} %"
            f"  ({ratio(r['cpu'], r['cpu_base'])}; {r['cpu_users']} uid series ours/all)"
        )
        ok = r["cpu"] <= CPU_PCT
        verdicts.append(
            f"CPU <= {CPU_PCT:g} % of a core: {'PASS' if ok else 'FAIL'} ({r['cpu']:.2f} %)"
        )
    print()
    for v in verdicts:
        print(f"verdict {v}")


if __name__ == "__main__":
    main()
