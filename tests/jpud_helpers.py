"""Helpers for the jpud tests: the binary, a ticking fixture machine whose
energy counters are root-only (mode 0400), real Unix accounts, and HTTP over
the daemon's Unix socket."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def jpud_binary() -> str | None:
    if os.environ.get("JPUD_BIN"):
        return os.environ["JPUD_BIN"]
    build = Path(os.environ.get("JPU_BUILD_DIR") or ROOT / "build")
    path = build / "daemon" / "jpud"
    return str(path) if path.is_file() else None


class Machine:
    """A copied fixture sysfs whose RAPL counters advance at fixed watts."""

    def __init__(
        self,
        dest: Path,
        fixture: str = "amd-epyc",
        watts: float = 50.0,
        real_cgroups: bool = False,
    ):
        self.sysfs = dest / "sys"
        shutil.copytree(FIXTURES / fixture / "sys", self.sysfs, symlinks=True)
        if real_cgroups:
            # the machine's own cgroups under the fixture's sysfs root, so
            # that cgroups made by a test are what the engine reads
            (self.sysfs / "fs").mkdir(exist_ok=True)
            os.symlink("/sys/fs/cgroup", self.sysfs / "fs" / "cgroup")
        self.counters = sorted(self.sysfs.glob("devices/**/intel-rapl:?/energy_uj"))
        assert self.counters, f"no package counters in {fixture}"
        for c in self.counters:
            os.chmod(c, 0o400)  # root-only, as since CVE-2020-8694
        self.watts = watts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self):
        last = time.monotonic()
        while not self._stop.wait(0.1):
            now = time.monotonic()
            uj = int(self.watts * (now - last) * 1e6)
            last = now
            for c in self.counters:
                # in place: the engine keeps the file open and preads it
                with open(c, "r+") as f:
                    v = int(f.read()) + uj
                    f.seek(0)
                    f.write(f"{v}\n")
                    f.truncate()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def request(sock_path: str, method: str, url: str, body: bytes | None = None):
    """(status, parsed JSON or text) of one request on the socket."""
    conn = UnixHTTPConnection(sock_path)
    try:
        conn.request(method, url, body=body)
        r = conn.getresponse()
        data = r.read().decode()
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(data) if "json" in ctype else data)
    finally:
        conn.close()


def make_account(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def remove_account(name: str):
    subprocess.run(["userdel", name], capture_output=True)


class Daemon:
    """jpud as a subprocess; stops it (SIGTERM) on exit."""

    def __init__(self, binary: str, rundir: Path, *args: str, user: str = "nobody"):
        self.binary = binary
        self.rundir = rundir
        self.socket = str(rundir / "jpud.sock")
        self.args = ["--socket", self.socket, "--user", user, *args]
        self.log = rundir / "jpud.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait_sample: bool = True):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, *self.args], stderr=self._logf)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jpud exited: {self.log.read_text()}")
            # few requests: each takes a token of the caller's rate limit
            if os.path.exists(self.socket):
                try:
                    if not wait_sample or self._has_sample():
                        return self
                except OSError:
                    pass
            time.sleep(0.4)
        raise RuntimeError(f"jpud did not come up: {self.log.read_text()}")

    def _has_sample(self) -> bool:
        status, body = request(self.socket, "GET", "/v1/sample?scope=system")
        return status == 200 and "energy_j" in body

    def send(self, sig: int):
        assert self.proc
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if not self.proc:
            return 0
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=15)
        self._logf.close()
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


SYSTEM_PYTHON = "/usr/bin/python3"  # world-executable, unlike a Python under /root
CLIENT = Path(__file__).resolve().parent / "jpud_client.py"


def as_user(pw: pwd.struct_passwd, *cmd: str) -> list[str]:
    return [
        "setpriv",
        f"--reuid={pw.pw_uid}",
        f"--regid={pw.pw_gid}",
        "--clear-groups",
        *cmd,
    ]


class Client:
    """jpud_client.py copied where every account can read it, run as one."""

    def __init__(self, rundir: Path, sock: str):
        self.script = rundir / "jpud_client.py"
        shutil.copy(CLIENT, self.script)
        os.chmod(self.script, 0o644)
        self.sock = sock

    def cmd(self, method: str, url: str) -> list[str]:
        return [SYSTEM_PYTHON, str(self.script), self.sock, method, url]

    def call(self, pw, method: str, url: str, prefix: list[str] | None = None):
        argv = (prefix or []) + (
            as_user(pw, *self.cmd(method, url)) if pw else self.cmd(method, url)
        )
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"client failed: {r.stderr}")
        out = json.loads(r.stdout)
        return out["status"], out["body"]

    def until_ready(self, pw, url: str, method: str = "GET", tries: int = 10, until=None):
        """The first ask for a new scope gets 503 until its first tick, and
        its first sample is the baseline of its processes: ask again until
        `until(body)` holds (or the tries run out)."""
        for _ in range(tries):
            st, body = self.call(pw, method, url)
            if st != 503 and (until is None or st != 200 or until(body)):
                return st, body
            time.sleep(0.6)
        return st, body
