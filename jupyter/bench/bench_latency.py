#!/usr/bin/env python3
"""Latency and CPU cost of /api/metrics/v1/power_usage on a real jupyter server.

Spawns N extra sleeping processes (the machine of a busy multi-user node), starts a real
`jupyter server` with the extension, then polls the endpoint with 1 and 10 concurrent clients
(each on its own keep-alive connection) and prints median and p99 latency and the server's CPU
seconds per minute (from /proc/<pid>/stat). The same is done for the server's plain
/api/status in the same run, and the ratio is printed: the absolute figures depend on the
machine, the ratio shows what the extension adds. Finally the idle CPU of a server with the
extension (engine sampling) is compared with one without it.

Targets: median <= 1 ms, p99 <= 5 ms, monitoring <= 0.5 % of one core, flat in clients.

    python jupyter/bench/bench_latency.py [--procs 1000] [--requests 2000] [--idle 20]
        [--daemon /run/jpu/jpud.sock]   (the server reads that jpud instead of sampling)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # jupyter/, holds the jupyter_power_usage package
TICKS = os.sysconf("SC_CLK_TCK")
ENDPOINT = "/api/metrics/v1/power_usage"
BASELINE = "/api/status"


def cpu_seconds(pid: int) -> float:
    """utime + stime of pid (threads included), in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, extension: bool, workdir: Path, interval: float, daemon: str = ""):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        for name in ("CONFIG", "DATA", "RUNTIME"):
            env[f"JUPYTER_{name}_DIR"] = str(workdir / name.lower())
        args = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={self.port}",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={workdir}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.log_level=WARN",
            # A histogram per handler would add to both endpoints alike; keep the figures ours.
            "--ServerApp.record_http_request_metrics=False",
        ]
        if extension:
            args += [
                "--ServerApp.jpserver_extensions=jupyter_power_usage=True",
                f"--PowerUsageDisplay.sample_interval={interval}",
                "--PowerUsageDisplay.nvml_library=",
                f"--PowerUsageDisplay.daemon_socket={daemon}",
            ]
        self.log = open(workdir / "server.log", "w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready(extension)

    def _wait_ready(self, extension: bool) -> None:
        deadline = time.monotonic() + 60
        path = ENDPOINT if extension else BASELINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"jupyter server exited ({self.proc.returncode}); see its log")
            try:
                status, body = self.get(path)
                if status == 200 and (not extension or json.loads(body).get("time")):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("jupyter server did not become ready in 60 s")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Authorization": f"token {self.token}"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def load(server: Server, path: str, clients: int, total: int, poll: float = 0.0) -> dict:
    """`total` GETs of path spread over `clients` threads, each with a keep-alive connection.

    poll = 0: back to back (saturation: latency is then queueing behind the other clients);
    poll > 0: each client polls every `poll` seconds, with its own phase, as browser tabs do.
    """
    per_client = total // clients
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"Authorization": f"token {server.token}"}
        mine = []
        start_gate.wait()
        phase = time.perf_counter() + poll * (threading.get_ident() % 997) / 997
        for k in range(per_client):
            if poll > 0:
                delay = phase + k * poll - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append(resp.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    cpu0 = cpu_seconds(server.proc.pid)
    start_gate.wait()
    w0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - w0
    cpu = cpu_seconds(server.proc.pid) - cpu0
    if errors:
        raise SystemExit(f"{len(errors)} non-200 answers from {path}: {sorted(set(errors))}")
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1e3,
        "cpu_s_per_min": cpu / wall * 60,
        "cpu_us_per_req": cpu / len(latencies) * 1e6,
        "rps": len(latencies) / wall,
    }


def idle_cpu(server: Server, seconds: float) -> float:
    """Server CPU while nobody asks anything, as % of one core."""
    cpu0, w0 = cpu_seconds(server.proc.pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(server.proc.pid) - cpu0) / (time.perf_counter() - w0) * 100


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=1000, help="extra sleeping processes (1000)")
    ap.add_argument("--requests", type=int, default=2000, help="GETs per run (2000)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measure (20)")
    ap.add_argument("--interval", type=float, default=1.0, help="engine sample interval (1.0)")
    ap.add_argument(
        "--poll",
        type=float,
        default=0.1,
        help="seconds between one client's polls in the polling runs (0.1; 0 = only back to back)",
    )
    ap.add_argument(
        "--daemon",
        default="",
        help="a running jpud's socket: the server reads it (default: none, sampling in-process)",
    )
    args = ap.parse_args()

    sleepers = [
        subprocess.Popen(["sleep", "3600"], stdin=subprocess.DEVNULL) for _ in range(args.procs)
    ]
    nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
    print(f"machine: {os.cpu_count()} CPUs, {nprocs} processes ({args.procs} extra sleepers)")
    try:
        with tempfile.TemporaryDirectory(prefix="jpu-bench-") as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "a").mkdir()
            (tmp_path / "b").mkdir()
            server = Server(True, tmp_path / "a", args.interval, args.daemon)
            if args.daemon:
                _, body = server.get(ENDPOINT)
                print(f"figures from: {json.loads(body)['origin']['label']} ({args.daemon})")
            try:
                print(
                    f"{'endpoint':<34}{'clients':>8}{'median ms':>11}{'p99 ms':>9}"
                    f"{'CPU s/min':>11}{'CPU us/req':>12}{'req/s':>9}"
                )
                results = {}
                for clients in (1, 10):
                    for path in (BASELINE, ENDPOINT):
                        load(server, path, clients, min(200, args.requests))  # warm up
                        r = load(server, path, clients, args.requests)
                        results[(path, clients)] = r
                        print(
                            f"{path:<34}{clients:>8}{r['median_ms']:>11.3f}{r['p99_ms']:>9.3f}"
                            f"{r['cpu_s_per_min']:>11.2f}{r['cpu_us_per_req']:>12.1f}"
                            f"{r['rps']:>9.0f}"
                        )
                if args.poll > 0:
                    print(f"polling every {args.poll:g} s per client (not back to back):")
                    for clients in (1, 10):
                        for path in (BASELINE, ENDPOINT):
                            n = min(args.requests, int(20 / args.poll) * clients)
                            r = load(server, path, clients, n, poll=args.poll)
                            results[(path, clients, "poll")] = r
                            print(
                                f"{path:<34}{clients:>8}{r['median_ms']:>11.3f}"
                                f"{r['p99_ms']:>9.3f}{r['cpu_s_per_min']:>11.2f}"
                                f"{r['cpu_us_per_req']:>12.1f}{r['rps']:>9.0f}"
                            )
                for clients in (1, 10):
                    b, e = results[(BASELINE, clients)], results[(ENDPOINT, clients)]
                    print(
                        f"ratio power_usage/status, {clients:>2} clients: median "
                        f"{e['median_ms'] / b['median_ms']:.2f}x, "
                        f"p99 {e['p99_ms'] / b['p99_ms']:.2f}x, "
                        f"CPU per request {e['cpu_us_per_req'] / b['cpu_us_per_req']:.2f}x"
                    )
                e1, e10 = results[(ENDPOINT, 1)], results[(ENDPOINT, 10)]
                print(
                    f"flatness 10 vs 1 client(s): CPU per request "
                    f"{e10['cpu_us_per_req'] / e1['cpu_us_per_req']:.2f}x"
                )
                with_ext = idle_cpu(server, args.idle)
            finally:
                server.stop()
            plain = Server(False, tmp_path / "b", args.interval)
            try:
                without = idle_cpu(plain, args.idle)
            finally:
                plain.stop()
            print(
                f"idle server CPU over {args.idle:g} s: with extension {with_ext:.3f} % of a "
                f"core, without {without:.3f} %; monitoring costs {with_ext - without:.3f} % "
                f"(target <= 0.5 %)"
            )
            polled = [results[k] for k in results if len(k) == 3 and k[0] == ENDPOINT]
            ok = (
                all(r["median_ms"] <= 1.0 and r["p99_ms"] <= 5.0 for r in [e1, *polled])
                and with_ext - without <= 0.5
            )
            print(
                "targets (median <= 1 ms, p99 <= 5 ms for 1 client and for polling clients, "
                "monitoring <= 0.5 %):",
                "met" if ok else "NOT met",
            )
    finally:
        for p in sleepers:
            p.kill()
        for p in sleepers:
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
