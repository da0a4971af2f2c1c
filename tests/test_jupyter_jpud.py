"""Jupyter on the node daemon jpud, end to end, with nothing faked but the machine's sensors.

A fixture machine whose RAPL counters tick and are root-only (mode 0400, as since PLATYPUS); jpud
on it, dropping to `nobody`; a real `jupyter server` started as an unprivileged account created
here (setpriv), which cannot read the counters itself. Shown:

- /api/metrics/v1/power_usage is measured (rapl), from the node daemon, and that account's share
  (jpud's user scope of its uid); a kernel it starts is tracked through jpud;
- %%energy in that kernel measures through jpud, with the same power source as the top bar;
- jpud stopped: every request still answers 200, the estimate with the reason and the one action
  (start jpud again); the cell follows the server (in-process, the estimate);
- jpud started again: measured again; the served totals (server and kernel) never go back.

Needs root (accounts, setpriv), build/daemon/jpud, and a Python with jupyter-power-usage that the
account can execute (the running interpreter).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jpud_helpers import Daemon, Machine, as_user, jpud_binary, make_account, remove_account  # noqa: E402

API = "api/metrics/v1/power_usage"
ACCOUNT = "jpujup1"
MARK = "JPU-RESULT "
CELL = f"""
import json, os, shutil, subprocess
ip = get_ipython()
ip.run_line_magic("load_ext", "jpu")
# longer than jpud's 1 s tick: a block measured by jpud ends at its next sample
ip.run_cell_magic("energy", "", "import time\\nsum(i * i for i in range(300000))\\ntime.sleep(2.5)")
m = ip.magics_manager.registry["EnergyMagics"].last
cli = None
if os.environ.get("JPU_DAEMON_SOCKET"):
    # `jpu` in a kernel reads what the server reads
    run = subprocess.run([shutil.which("jpu"), "--json", "--count", "1", "--scope", "user"],
                         capture_output=True)
    cli = json.loads(run.stdout) if run.returncode == 0 else run.stderr.decode()
print({MARK!r} + json.dumps({{
    "cli": cli,
    "env_socket": os.environ.get("JPU_DAEMON_SOCKET"),
    "power_source": m.power_source,
    "origin": m.settings_origin,
    "daemon_socket": m.daemon_socket,
    "energy_j": m.energy_j,
    "messages": m.messages,
}}))
"""

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates an account, runs setpriv"),
    pytest.mark.skipif(jpud_binary() is None, reason="jpud is not built (build/daemon/jpud)"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="no setpriv (util-linux)"),
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UserServer:
    """`jupyter server` as an account, reading the fixture machine, pointed at jpud's socket."""

    def __init__(
        self,
        pw: pwd.struct_passwd,
        rundir: Path,
        sysfs: Path,
        socket_path: str,
        scope: str = "user",
    ):
        self.pw = pw
        self.home = rundir / "home"
        self.home.mkdir()
        os.chown(self.home, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = rundir / "server.log"
        self.runtime = self.home / "runtime"
        env = {
            "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin",
            "HOME": str(self.home),
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "JUPYTER_DATA_DIR": str(self.home / "data"),
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JPU_DAEMON_SOCKET": "",
        }
        argv = as_user(
            pw,
            "env",
            *[f"{k}={v}" for k, v in env.items()],
            sys.executable,
            "-m",
            "jupyter_server",
            f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.home}",
            "--ServerApp.open_browser=False",
            f"--PowerUsageDisplay.sysfs_path={sysfs}",
            f"--PowerUsageDisplay.daemon_socket={socket_path}",
            f"--PowerUsageDisplay.measurement_scope={scope}",
            "--PowerUsageDisplay.sample_interval=0.5",
            "--PowerUsageDisplay.nvml_library=",
        )
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, cwd="/", stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def call(self, path: str, method: str = "GET", body: dict | None = None):
        """(status, parsed JSON); a refused connection or an HTTP error is a status too."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def until(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter server exited:\n{self.log()}")
            try:
                status, body = self.call(API)
            except OSError:
                status, body = None, None
            last = (status, body)
            if status == 200 and predicate(body):
                return body
            time.sleep(0.25)
        raise AssertionError(f"{what}: not within {timeout}s; last answer {last}\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def run_cell(server: UserServer, kernel_id: str) -> dict:
    """Run CELL in the kernel (through its connection file, as root) and return its report."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(server.runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    lines: list[str] = []

    def output(msg):
        if msg["msg_type"] == "stream":
            lines.extend(msg["content"]["text"].splitlines())
        elif msg["msg_type"] == "error":
            lines.append("ERROR " + "\n".join(msg["content"]["traceback"]))

    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(CELL, timeout=90, output_hook=output)
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", lines
    results = [json.loads(line[len(MARK) :]) for line in lines if line.startswith(MARK)]
    assert len(results) == 1, lines
    return results[0]


@pytest.fixture
def world(request):
    """(account, machine, jpud, user server); parametrize (indirect) with {"jpud": extra jpud
    arguments, "scope": the server's measurement_scope}."""
    param = dict(getattr(request, "param", {}))
    extra = tuple(param.get("jpud", ()))
    rundir = Path(tempfile.mkdtemp(prefix="jpu-jupyter-jpud-", dir="/tmp"))
    os.chmod(rundir, 0o755)
    pw = make_account(ACCOUNT)
    # the server runs this interpreter as the account: it must be the account's to execute
    check = subprocess.run(
        as_user(pw, sys.executable, "-c", "import jupyter_power_usage, jpu"),
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        remove_account(ACCOUNT)
        shutil.rmtree(rundir, ignore_errors=True)
        pytest.skip(
            f"{sys.executable} cannot import jupyter-power-usage as another account (install "
            f"it in a venv under a world-readable folder): {check.stderr[-300:]}"
        )
    state = rundir / "state"
    state.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(state, nobody.pw_uid, nobody.pw_gid)
    machine = Machine(rundir, watts=40.0)
    machine.__enter__()
    daemon_args = (
        "--path.sysfs",
        str(machine.sysfs),
        "--interval",
        "1",
        "--state-file",
        str(state / "jpud.state"),
        *extra,
    )
    daemon = Daemon(jpud_binary(), rundir, *daemon_args)
    server = None
    try:
        daemon.start()
        os.chmod(daemon.socket, 0o666)
        server = UserServer(pw, rundir, machine.sysfs, daemon.socket, param.get("scope", "user"))
        yield pw, machine, daemon, server
    finally:
        if server is not None:
            server.stop()
        daemon.stop()
        machine.__exit__(None, None, None)
        subprocess.run(["pkill", "-KILL", "-u", str(pw.pw_uid)], capture_output=True)
        remove_account(ACCOUNT)
        shutil.rmtree(rundir, ignore_errors=True)


def test_server_on_jpud_measures_falls_back_and_comes_back(world):
    pw, machine, daemon, server = world
    # the account cannot read the counters itself
    probe = subprocess.run(
        as_user(pw, sys.executable, "-c", f"open({str(machine.counters[0])!r}).read()"),
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, probe

    body = server.until(
        lambda b: b.get("origin", {}).get("kind") == "daemon" and b.get("cpu"),
        what="measured figures from jpud",
    )
    origin = body["origin"]
    assert origin["label"] == "the node daemon jpud" and origin["socket"] == daemon.socket
    assert origin["reason"] is None and origin["action"] is None
    assert body["cpu"]["source"] == "rapl", body
    # that account's share: jpud's user scope of its uid, not the node
    assert body["scope"] == "user" and body["uid"] == pw.pw_uid, body
    assert body["cpu"]["usage"] <= body["cpu"]["total"]

    status, kernel = server.call("api/kernels", "POST", {"name": "python3"})
    assert status == 201, kernel
    kernel_id = kernel["id"]

    def kernel_entry():
        status, report = server.call(API + "/kernels")
        assert status == 200, report
        return next((k for k in report if k["kernel_id"] == kernel_id), None)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entry = kernel_entry()
        if entry and entry["power_w"] is not None:
            break
        time.sleep(0.5)
    assert entry and entry["power_w"] is not None and entry["note"] is None, entry

    cell = run_cell(server, kernel_id)
    assert cell["origin"] == "daemon" and cell["daemon_socket"] == daemon.socket, cell
    assert cell["power_source"] == body["cpu"]["source"] == "rapl", cell
    # the CLI in the kernel: through jpud too (the account alone would estimate)
    assert cell["env_socket"] == daemon.socket and isinstance(cell["cli"], dict), cell
    assert cell["cli"]["cpu"]["source"] == "rapl", cell
    assert cell["cli"].get("key") == f"u:{pw.pw_uid}", cell["cli"]

    # ---- jpud stops: no failed request, the estimate with the reason, totals carried on
    totals = [body["energy_j"]["total"]]
    kernel_totals = [entry["energy_j"].get("total", 0.0)]
    daemon.stop()
    deadline = time.monotonic() + 20
    fallback = None
    while time.monotonic() < deadline:
        status, b = server.call(API)
        assert status == 200, b  # never a 500 or 503 while it switches
        totals.append(b["energy_j"]["total"])
        if b["origin"]["kind"] == "server" and (b.get("cpu") or {}).get("source") == "estimate":
            fallback = b
            break
        time.sleep(0.05)  # often: a request during the switch must not fail either
    assert fallback is not None, f"no fallback within 20 s\n{server.log()}"
    assert "jpud" in fallback["origin"]["reason"], fallback["origin"]
    assert "Errno" not in fallback["origin"]["reason"], fallback["origin"]
    assert "start jpud again" in fallback["origin"]["action"], fallback["origin"]
    assert totals == sorted(totals), totals

    cell = run_cell(server, kernel_id)
    # the cell follows the server: in-process now, the same source as the top bar
    assert cell["origin"] != "daemon" and cell["daemon_socket"] is None, cell
    assert cell["power_source"] == "estimate", cell
    entry = kernel_entry()
    kernel_totals.append(entry["energy_j"].get("total", 0.0))

    # ---- jpud again: measured again, totals continuous
    daemon.start()
    back = server.until(
        lambda b: b["origin"]["kind"] == "daemon" and (b.get("cpu") or {}).get("source") == "rapl",
        what="back on jpud",
    )
    totals.append(back["energy_j"]["total"])
    assert totals == sorted(totals), totals
    time.sleep(3)
    status, later = server.call(API)
    assert status == 200 and later["origin"]["kind"] == "daemon"
    # an idle account's share may not grow in 3 s; new samples come, and never less
    assert later["time"] != back["time"]
    assert later["energy_j"]["total"] >= back["energy_j"]["total"]
    entry = kernel_entry()
    kernel_totals.append(entry["energy_j"].get("total", 0.0))
    assert kernel_totals == sorted(kernel_totals), kernel_totals
    assert entry["power_w"] is not None, entry
    status, history = server.call(API + "/history?since=0")
    assert status == 200
    ts = [s["t"] for s in history["samples"]]
    assert ts == sorted(ts) and len(ts) >= 5
    energies = [s["energy_j"] for s in history["samples"]]
    assert energies == sorted(energies), energies


@pytest.mark.parametrize("world", [{"jpud": ("--rate", "1", "--burst", "1")}], indirect=True)
def test_rate_limited_server_stays_on_jpud(world):
    """jpud's rate limit (1 request/s here, below the 2 a tick the server makes with a kernel)
    answers 429 now and then: the server keeps the daemon's figures, never falls back."""
    pw, machine, daemon, server = world
    server.until(lambda b: b.get("origin", {}).get("kind") == "daemon", what="on jpud")
    status, kernel = server.call("api/kernels", "POST", {"name": "python3"})
    assert status == 201, kernel
    kinds, times = set(), set()
    end = time.monotonic() + 8
    while time.monotonic() < end:
        status, b = server.call(API)
        assert status == 200, b
        kinds.add(b["origin"]["kind"])
        times.add(b["time"])
        time.sleep(0.25)
    assert kinds == {"daemon"}, server.log()
    assert len(times) >= 3  # new samples kept coming, one poll in two
    assert "sampling in-process" not in server.log(), server.log()


@pytest.mark.parametrize("world", [{"scope": "process"}], indirect=True)
def test_default_process_scope_reads_jpud(world):
    """The default scope, the server's own process tree: jpud's process scope of the server's
    pid (jpud keeps no history for it: the server's own begins with it)."""
    pw, machine, daemon, server = world
    body = server.until(
        lambda b: b.get("origin", {}).get("kind") == "daemon" and b.get("cpu"),
        what="the server's process tree from jpud",
    )
    assert body["scope"] == "process" and body["pid"] == server.proc.pid, body
    assert body["cpu"]["source"] == "rapl"
    # on jpud from the start, never a fallback in between
    assert "sampling in-process" not in server.log(), server.log()
    time.sleep(2)
    status, history = server.call(API + "/history?since=0")
    assert status == 200 and len(history["samples"]) >= 2, history
