#!/usr/bin/env python3
"""Whole-engine sampler cost per tick for each scope, beside psutil, in one run.

For N extra unrelated processes (default 1,000 and 10,000, sleeping, uid 65534)
it times jpu_engine_sample() (through the binding: the sensors, /proc, the
attribution and the snapshot) for the system, user and process scopes, and
the same job done the way the original extension did it with psutil, and
prints both and the ratio. It also starts the `jpu` command on the process
scope and reads its peak resident memory (VmHWM) at that process count.

    python3 bench/bench_engine.py [--procs 1000,10000] [--ticks 200]

Needs root (to spawn processes under another uid) and the `jpu` wheel
installed (`pip install .`), or PYTHONPATH pointing at a build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import jpu
import psutil

HERE = os.path.dirname(os.path.abspath(__file__))


def spawn(n: int, uid: int) -> list[int]:
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                os.setuid(uid)
                while True:
                    time.sleep(3600)
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def reap(pids: list[int]) -> None:
    for p in pids:
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass
    for p in pids:
        try:
            os.waitpid(p, 0)
        except ChildProcessError:
            pass


def per_tick_us(fn, ticks: int) -> float:
    fn()  # warm caches, set baselines
    t0 = time.perf_counter()
    for _ in range(ticks):
        fn()
    return (time.perf_counter() - t0) / ticks * 1e6


def engine_tick(scope: str, root: int):
    eng = jpu.Engine(scope=scope, pid=root, interval=0.01, nvml="")
    eng.sample()

    def tick():
        # the engine refuses a zero-length interval: keep ticks 10 µs apart
        time.sleep(0)
        eng.sample()

    return eng, tick


def psutil_tick(scope: str, root: int):
    """What the original extension did per request: scan processes and ask each one."""
    me = psutil.Process(root)
    uid = os.getuid()

    def system():
        psutil.cpu_times()
        psutil.virtual_memory()

    def process():
        procs = [me] + me.children(recursive=True)
        for p in procs:
            try:
                p.cpu_times()
                p.memory_info()
            except psutil.NoSuchProcess:
                pass
        psutil.cpu_times()

    def user():
        for p in psutil.process_iter(["uids", "cpu_times", "memory_info"]):
            if p.info["uids"] and p.info["uids"].real == uid:
                pass
        psutil.cpu_times()

    return {"system": system, "process": process, "user": user}[scope]


def start_tree() -> subprocess.Popen:
    """The measured tree: a parent with 8 sleeping children (a server and its kernels)."""
    code = (
        "import os, time\n"
        "for _ in range(8):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(3600); os._exit(0)\n"
        "time.sleep(3600)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.5)
    return p


def memory_kib(root: int) -> dict | None:
    exe = shutil.which("jpu")
    if not exe:
        return None
    p = subprocess.Popen(
        [exe, "--json", "--interval", "0.05", "--scope", "process", "--pid", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    mem = {}
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmHWM", "RssAnon", "RssFile"):
                mem[key] = int(line.split()[1])
    p.terminate()
    p.wait()
    return mem


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", default="1000,10000")
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--uid", type=int, default=65534)
    a = ap.parse_args()
    if os.getuid() != 0:
        print("bench_engine: run as root (spawns processes under another uid)", file=sys.stderr)
        return 2
    tree = start_tree()
    root = tree.pid
    print(f"{'procs':>6} {'scope':>8} {'jpu µs/tick':>12} {'psutil µs/tick':>15} {'ratio':>8}")
    for n in [int(x) for x in a.procs.split(",")]:
        # the extra processes are children of this script, not of the tree
        pids = spawn(n, a.uid)
        try:
            for scope in ("system", "user", "process"):
                eng, tick = engine_tick(scope, root)
                ours = per_tick_us(tick, a.ticks)
                eng.close()
                theirs = per_tick_us(psutil_tick(scope, root), max(5, a.ticks // 10))
                print(f"{n:>6} {scope:>8} {ours:>12.1f} {theirs:>15.1f} {theirs / ours:>7.1f}x")
            mem = memory_kib(root)
            if mem:
                print(
                    f"{n:>6}  jpu --scope process: peak RSS {mem['VmHWM']} KiB = "
                    f"{mem['RssAnon']} KiB own memory (RssAnon) + {mem['RssFile']} KiB "
                    "mapped shared libraries (RssFile: libc, libcurl, OpenSSL)"
                )
        finally:
            reap(pids)
    tree.kill()
    tree.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
