"""Totals survive a restart of a real `python -m jupyter_server` process: after a graceful stop
(SIGTERM) and after `kill -9`, which loses at most one sampling interval."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import API
from .test_power_usage import TickingRapl

TOKEN = "persistence-test-token"
INTERVAL = 0.2
INTENSITY = 3000.0  # g/kWh: grams big enough to compare across restarts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One jupyter_server subprocess with the extension, reading a ticking RAPL tree."""

    def __init__(self, tmp: Path, sysfs: Path, extra: list[str]):
        self.port = free_port()
        self.log = open(tmp / f"server-{self.port}.log", "w+")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp),
            "JUPYTER_CONFIG_DIR": str(tmp / "config"),
            "JUPYTER_DATA_DIR": str(tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONPATH": ":".join(p for p in sys.path if p),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--port-retries=0",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={tmp}",
                "--ServerApp.jpserver_extensions=jupyter_power_usage=True",
                f"--PowerUsageDisplay.sysfs_path={sysfs}",
                "--PowerUsageDisplay.measurement_scope=system",
                f"--PowerUsageDisplay.sample_interval={INTERVAL}",
                "--PowerUsageDisplay.nvml_library=",
                "--PowerUsageDisplay.carbon_provider=constant",
                f"--PowerUsageDisplay.carbon_intensity={INTENSITY}",
                *extra,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def request(self, path: str, method: str = "GET", body: bytes | None = None) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=body,
            method=method,
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def sample(self) -> dict | None:
        try:
            return json.loads(self.request(API))
        except (urllib.error.URLError, ConnectionError, OSError):
            return None

    def first_sample(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.output()}")
            body = self.sample()
            if body and body.get("time") and "cpu" in body:
                return body
            time.sleep(0.1)
        pytest.fail(f"no sample from the server within {timeout}s:\n{self.output()}")

    def totals_after(self, seconds: float) -> dict:
        """The latest sample once the server has run `seconds` more."""
        time.sleep(seconds)
        body = self.sample()
        assert body and body.get("time"), self.output()
        return body

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def ticking(tmp_path):
    tree = TickingRapl(tmp_path / "sys", watts_per_zone=10.0)
    yield tree
    tree.stop.set()
    tree.thread.join()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def total(body: dict) -> tuple[float, float]:
    return body["energy_j"]["total"], body["emissions"]["g"]


def test_totals_survive_graceful_restart(tmp_path, ticking, servers):
    """Default state file (the Jupyter data dir): stop with SIGTERM, start again, the totals
    carry on from where they were."""
    first = Server(tmp_path, ticking.root, [])
    servers.append(first)
    first.first_sample()
    before = first.totals_after(1.5)
    joules, grams = total(before)
    assert joules > 1.0 and grams > 0
    state = tmp_path / "data" / "jupyter_power_usage" / "state-system"
    assert state.is_file()
    assert state.read_text().startswith("jpu-state 3\nscope ")
    assert first.stop(signal.SIGTERM) == 0

    second = Server(tmp_path, ticking.root, [])
    servers.append(second)
    after = second.first_sample()
    joules2, grams2 = total(after)
    assert joules2 >= joules
    assert grams2 >= grams
    # Carried over, not re-counted: the first sample adds about one interval to the saved total
    # (the counters tick at a known rate; allow five intervals for a slow machine).
    watts = before["cpu"]["total"]
    assert joules2 <= joules + watts * (INTERVAL * 5 + 2.0)
    later = second.totals_after(1.0)
    assert total(later)[0] > joules2
    assert second.stop(signal.SIGTERM) == 0


def test_totals_survive_kill_9(tmp_path, ticking, servers):
    """An explicit state file; SIGKILL gives the server no chance to save: the totals of the
    next server are at least the last ones read, less one interval's worth."""
    state = tmp_path / "elsewhere" / "jpu.state"
    extra = [f"--PowerUsageDisplay.state_file={state}"]
    first = Server(tmp_path, ticking.root, extra)
    servers.append(first)
    first.first_sample()
    last = first.totals_after(1.5)
    joules, grams = total(last)
    assert joules > 1.0
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=30)
    assert state.is_file()
    assert not (tmp_path / "data" / "jupyter_power_usage" / "state-system").exists()

    second = Server(tmp_path, ticking.root, extra)
    servers.append(second)
    after = second.first_sample()
    joules2, grams2 = total(after)
    one_interval_j = last["cpu"]["total"] * last["interval_s"]
    assert joules2 >= joules - one_interval_j - 1e-6
    assert grams2 >= grams - one_interval_j * INTENSITY / 3.6e6 - 1e-6
    assert second.stop(signal.SIGTERM) == 0


def test_persist_false_starts_from_zero(tmp_path, ticking, servers):
    first = Server(tmp_path, ticking.root, ["--PowerUsageDisplay.persist=False"])
    servers.append(first)
    first.first_sample()
    before = first.totals_after(1.5)
    assert before["energy_j"]["total"] > 1.0
    assert first.stop(signal.SIGTERM) == 0
    assert not (tmp_path / "data" / "jupyter_power_usage").exists()
    second = Server(tmp_path, ticking.root, ["--PowerUsageDisplay.persist=False"])
    servers.append(second)
    # A fresh start: only what its first interval or two measured.
    after = second.first_sample()
    assert after["energy_j"]["total"] <= before["cpu"]["total"] * INTERVAL * 3
    assert after["energy_j"]["total"] < before["energy_j"]["total"] / 2
    assert second.stop(signal.SIGTERM) == 0


CORRUPT = b"jpu-state 2\nscope 900000000000 0 0 7\ntag 1 2 3\n\xff\x00 not a state file\n"
# larger than any state file the engine writes (4 MiB), valid as far as it goes
OVERSIZED = b"jpu-state 2\nscope 900000000000 0 0 7\n" + b"\n" * (5 << 20)


@pytest.mark.parametrize("content", [CORRUPT, OVERSIZED], ids=["corrupt", "oversized"])
def test_unreadable_state_file_survives_start(tmp_path, ticking, servers, content):
    """A state file the engine cannot load is moved aside byte for byte, logged at error level
    with both paths, and the server runs from zero with a new state file beside it."""
    state = tmp_path / "elsewhere" / "jpu.state"
    state.parent.mkdir()
    state.write_bytes(content)
    server = Server(tmp_path, ticking.root, [f"--PowerUsageDisplay.state_file={state}"])
    servers.append(server)
    server.first_sample()
    body = server.totals_after(1.0)
    (moved,) = state.parent.glob("jpu.state.corrupt-*")
    assert moved.read_bytes() == content
    assert state.read_text().startswith("jpu-state 3\nscope ")
    assert server.stop(signal.SIGTERM) == 0
    log = Path(server.log.name).read_text()
    assert "CANNOT BE LOADED" in log and str(state) in log and str(moved) in log, log
    # from zero, not from the 900 kJ the file held
    assert body["energy_j"]["total"] < 1000.0
    assert moved.read_bytes() == content


def state_lines(path: Path, kind: str) -> list[list[str]]:
    return [line.split(" ") for line in path.read_text().splitlines() if line.startswith(kind)]


def test_shut_down_kernel_folds_into_past_totals(tmp_path, ticking, servers):
    """A kernel that is shut down leaves the per-tag figures (state file, Prometheus) and its
    totals stay in the state file's past line, across a restart: the file does not grow with
    every kernel ever started."""
    state = tmp_path / "jpu.state"
    extra = [f"--PowerUsageDisplay.state_file={state}"]
    server = Server(tmp_path, ticking.root, extra)
    servers.append(server)
    server.first_sample()
    kernel_id = json.loads(server.request("api/kernels", "POST", b"{}"))["id"]

    def wait(predicate, what):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        pytest.fail(f"{what}: {state.read_text()}\n{server.output()}")

    wait(lambda: any(line[-1] == kernel_id for line in state_lines(state, "tag ")), "tracked")
    assert f'tag="{kernel_id}"' in server.request("metrics").decode()
    server.request(f"api/kernels/{kernel_id}", "DELETE")
    wait(lambda: not state_lines(state, "tag "), "untracked")
    (past,) = state_lines(state, "past ")
    assert past[-1] == "1"
    assert f'tag="{kernel_id}"' not in server.request("metrics").decode()
    assert server.stop(signal.SIGTERM) == 0

    second = Server(tmp_path, ticking.root, extra)
    servers.append(second)
    second.first_sample()
    second.totals_after(0.5)
    assert state_lines(state, "past ") == [past]
    assert second.stop(signal.SIGTERM) == 0


def test_second_server_does_not_share_the_state_file(tmp_path, ticking, servers):
    """Two servers of one user at once: the second does not overwrite the first's totals."""
    first = Server(tmp_path, ticking.root, [])
    servers.append(first)
    first.first_sample()
    second = Server(tmp_path, ticking.root, [])
    servers.append(second)
    second.first_sample()
    assert "another Jupyter server of this user uses it" in second.output()
    assert first.stop(signal.SIGTERM) == 0
    assert second.stop(signal.SIGTERM) == 0
