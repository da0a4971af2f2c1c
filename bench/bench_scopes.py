#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cost per tick of each measurement scope: libjpu's procfs layer against
psutil doing the same job, on the same machine in the same run.

For each N in --procs, N unrelated sleeping processes (uid 65534) and
--user-procs processes of --user-uid are spawned (by bench_scope's
--spawner mode, so the machine looks the same to both), then:

  jpu     bench_scope: proctab refresh + tree/user update per tick
  psutil  system  = psutil.cpu_times() + psutil.virtual_memory()
          process = Process(pid).children(recursive=True) + cpu_times()
                    per member, for a tree of a spawner and 8 sleepers
          user    = process_iter() filtered by uid + cpu_times() per match

and prints µs/tick for both, the ratio psutil/jpu, and the C bench's max
RSS. Run as root (it spawns processes of other uids):

    python3 bench/bench_scopes.py --bench build/bench/bench_scope
"""

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time

import psutil


def find_bench():
    here = os.path.dirname(os.path.abspath(__file__))
    hits = sorted(
        glob.glob(os.path.join(here, "..", "build*", "bench", "bench_scope")),
        key=os.path.getmtime,
        reverse=True,
    )
    return hits[0] if hits else None


def spawn(bench, n, uid):
    """A spawner process holding n sleepers of uid; closing stdin ends them."""
    p = subprocess.Popen(
        [bench, "--spawner", str(n), "--uid", str(uid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = p.stdout.readline()
    if not line.startswith("ready"):
        raise SystemExit(f"spawner for {n} processes of uid {uid} failed: {line!r}")
    return p


def stop(p):
    p.stdin.close()
    p.wait(timeout=120)


def per_tick(fn, ticks):
    fn()  # warm caches the same way the C bench's first refresh does
    t0 = time.perf_counter()
    for _ in range(ticks):
        fn()
    return (time.perf_counter() - t0) * 1e6 / ticks


def psutil_system():
    psutil.cpu_times()
    psutil.virtual_memory()


def psutil_process(root):
    def tick():
        total = 0.0
        members = [root] + root.children(recursive=True)
        for m in members:
            try:
                t = m.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    return tick


def psutil_user(uid):
    def tick():
        total = 0.0
        for p in psutil.process_iter(["uids"]):
            try:
                if p.info["uids"] and p.info["uids"].real == uid:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    return tick


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=find_bench(), help="path to bench_scope")
    ap.add_argument(
        "--procs",
        default="1000,10000",
        help="comma-separated counts of unrelated processes (default 1000,10000)",
    )
    ap.add_argument("--ticks", type=int, default=100, help="ticks per scope (default 100)")
    ap.add_argument("--user-uid", type=int, default=4243)
    ap.add_argument("--user-procs", type=int, default=100)
    args = ap.parse_args()
    if not args.bench or not os.access(args.bench, os.X_OK):
        raise SystemExit("bench_scope not found: build it (ninja -C build) or pass --bench")
    if os.geteuid() != 0:
        raise SystemExit("run as root: the bench spawns processes of other uids")
    counts = [int(x) for x in args.procs.split(",") if x]
    need = max(counts) + args.user_procs + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NPROC, (max(need, soft), max(need, hard)))
    with open("/proc/sys/kernel/pid_max") as f:
        if int(f.read()) < need * 2:
            with open("/proc/sys/kernel/pid_max", "w") as g:
                g.write(str(need * 2))

    # psutil's process tree: a spawner and its 8 sleepers, the same shape
    # as the C bench's own tree (itself and 8 sleepers)
    tree = spawn(args.bench, 8, 0)
    tree_root = psutil.Process(tree.pid)
    rows = []
    try:
        for n in counts:
            unrel = spawn(args.bench, n, 65534)
            user = spawn(args.bench, args.user_procs, args.user_uid)
            try:
                out = subprocess.run(
                    [
                        args.bench,
                        "--ticks",
                        str(args.ticks),
                        "--user-uid",
                        str(args.user_uid),
                        "--user-procs",
                        "0",
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                jpu = [json.loads(line) for line in out.splitlines() if line.strip()]
                ps = {
                    "system": per_tick(psutil_system, args.ticks),
                    "process": per_tick(psutil_process(tree_root), args.ticks),
                    "user": per_tick(psutil_user(args.user_uid), max(1, args.ticks // 10)),
                }
            finally:
                stop(user)
                stop(unrel)
            rss = next((r["max_rss_kb"] for r in jpu if "max_rss_kb" in r), None)
            refresh = next((r["us_per_tick"] for r in jpu if r.get("scope") == "refresh"), 0.0)
            upd = next((r for r in jpu if r.get("scope") == "user-update"), None)
            for r in jpu:
                # user-1s: the user scope at the engine's 1 s interval, where
                # the lazy /proc pass runs every 10th tick (bench_scope.c)
                base = "user" if r.get("scope") == "user-1s" else r.get("scope")
                if base not in ps:
                    continue
                p = ps[base]
                per = None
                if r["scope"] == "user" and r["mode"] == "procfs" and upd and upd["members"]:
                    # the global /proc pass is paid per process on the
                    # machine; the update per process of the user
                    per = upd["us_per_tick"] / upd["members"]
                rows.append(
                    (n, r["scope"], r["mode"], r["us_per_tick"], p, rss, refresh, per, r["members"])
                )
    finally:
        stop(tree)

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, psutil {psutil.__version__}"
    )
    print(
        f"{'procs':>6} {'scope':8} {'jpu mode':10} {'jpu us/tick':>12} {'psutil us/tick':>15} "
        f"{'psutil/jpu':>10} {'members':>7} {'update/member us':>13}"
    )
    for n, scope, mode, j, p, _rss, _refresh, per, members in rows:
        per = f"{per:13.2f}" if per is not None else ""
        print(f"{n:6d} {scope:8} {mode:10} {j:12.1f} {p:15.1f} {p / j:10.1f} {members:7d} {per}")
    for n in counts:
        rss = next((r[5] for r in rows if r[0] == n), None)
        refresh = next((r[6] for r in rows if r[0] == n), None)
        print(
            f"{n} unrelated processes: one /proc pass (refresh) {refresh:.1f} us; "
            f"bench_scope peak RSS (VmHWM) {rss} KiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
