"""The UI tests' third server: JupyterLab on the node daemon jpud, as on a shared machine.

Run as root (as CI runs the tests). It copies the fixture machine (fixture_machine.py) with
its RAPL counters made root-only (mode 0400, as since CVE-2020-8694), advances them, starts
build/daemon/jpud on that tree (it drops to `nobody` keeping only the right to read them),
and starts `jupyter lab` with jupyter_server_test_config.py as the unprivileged account
ACCOUNT (created when missing) through setpriv: that server cannot read the counters, so a
measured figure in its answers can only come through jpud's socket.

A control endpoint on 127.0.0.1:CONTROL_PORT lets the tests stop and start jpud:
GET /jpud/stop, /jpud/start, /jpud/status (JSON). SIGTERM or SIGINT stops everything it
started, removes the account when it made it, and removes its folder.

usage: python jpud_server.py PORT CONTROL_PORT
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fixture_machine import REPO, copy_fixture, counters, start_ticking  # noqa: E402

ACCOUNT = os.environ.get("JPU_UI_ACCOUNT", "jpuui")
DAEMON_ACCOUNT = "nobody"


def jpud_binary() -> str | None:
    if os.environ.get("JPUD_BIN"):
        return os.environ["JPUD_BIN"]
    path = Path(os.environ.get("JPU_BUILD_DIR") or REPO / "build") / "daemon" / "jpud"
    return str(path) if path.is_file() else None


def log(msg: str) -> None:
    print(f"jpud_server: {msg}", file=sys.stderr, flush=True)


class Stack:
    def __init__(self, port: int, control_port: int):
        self.port = port
        self.control_port = control_port
        self.binary = jpud_binary()
        if os.geteuid() != 0:
            raise SystemExit("jpud_server: run as root (it starts jpud and switches accounts)")
        if not self.binary:
            raise SystemExit("jpud_server: no build/daemon/jpud (ninja -C build, or set JPUD_BIN)")
        # Not under a 0700 folder: the account must reach the tree, the socket and its home.
        self.dir = Path(tempfile.mkdtemp(prefix="jpu-ui-jpud-"))
        os.chmod(self.dir, 0o755)
        self.stop_ticking = threading.Event()
        self.lock = threading.Lock()
        self.jpud: subprocess.Popen | None = None
        self.lab: subprocess.Popen | None = None
        self.made_account = False
        self.jpud_log = self.dir / "jpud.log"

    # --- the machine and the daemon -------------------------------------------------------
    def prepare(self) -> None:
        self.sysfs = copy_fixture(self.dir)
        for path in counters(self.sysfs):
            os.chown(path, 0, 0)
            os.chmod(path, 0o400)
        self.ticker = start_ticking(self.sysfs, self.stop_ticking)
        daemon = pwd.getpwnam(DAEMON_ACCOUNT)
        self.rundir = self.dir / "run"
        self.rundir.mkdir()
        os.chmod(self.rundir, 0o755)
        # like systemd's RuntimeDirectory=: the daemon's account owns it and removes its socket
        os.chown(self.rundir, daemon.pw_uid, daemon.pw_gid)
        self.socket = str(self.rundir / "jpud.sock")

    def start_jpud(self) -> dict:
        with self.lock:
            if self.jpud is None or self.jpud.poll() is not None:
                argv = [
                    self.binary,
                    "--socket",
                    self.socket,
                    "--listen",
                    "",
                    "--user",
                    DAEMON_ACCOUNT,
                    "--path.sysfs",
                    str(self.sysfs),
                    "--state-file",
                    "",
                    "--nvml",
                    "",
                    "--interval",
                    "1",
                ]
                with open(self.jpud_log, "ab") as logf:
                    self.jpud = subprocess.Popen(argv, stdout=logf, stderr=logf)
                deadline = time.monotonic() + 15
                while not os.path.exists(self.socket):
                    if self.jpud.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"jpud did not start: {self.jpud_log.read_text()}")
                    time.sleep(0.1)
            return self.status()

    def stop_jpud(self) -> dict:
        with self.lock:
            if self.jpud is not None and self.jpud.poll() is None:
                self.jpud.send_signal(signal.SIGTERM)
                try:
                    self.jpud.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.jpud.kill()
                    self.jpud.wait()
            return self.status()

    def status(self) -> dict:
        running = self.jpud is not None and self.jpud.poll() is None
        return {
            "running": running,
            "pid": self.jpud.pid if running else None,
            "socket": self.socket,
            "sysfs": str(self.sysfs),
            "account": ACCOUNT,
        }

    # --- the Jupyter server as the unprivileged account ------------------------------------
    def account(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(ACCOUNT)
        except KeyError:
            subprocess.run(
                ["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", ACCOUNT],
                check=True,
                capture_output=True,
            )
            self.made_account = True
            return pwd.getpwnam(ACCOUNT)

    def start_lab(self) -> None:
        pw = self.account()
        home = self.dir / "home"
        home.mkdir()
        os.chown(home, pw.pw_uid, pw.pw_gid)
        os.chmod(home, 0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER_", "JPU_TEST_", "XDG_"))
        }
        env.update(
            HOME=str(home),
            USER=ACCOUNT,
            LOGNAME=ACCOUNT,
            TMPDIR=str(home),
            JPU_TEST_SYSFS=str(self.sysfs),
            JPU_TEST_DAEMON_SOCKET=self.socket,
        )
        argv = [
            "setpriv",
            f"--reuid={pw.pw_uid}",
            f"--regid={pw.pw_gid}",
            "--clear-groups",
            "--",
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--config",
            str(HERE / "jupyter_server_test_config.py"),
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
        ]
        self.lab = subprocess.Popen(argv, cwd=str(HERE), env=env)

    # --- control ---------------------------------------------------------------------------
    def serve_control(self) -> None:
        stack = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                routes = {
                    "/jpud/stop": stack.stop_jpud,
                    "/jpud/start": stack.start_jpud,
                    "/jpud/status": stack.status,
                }
                action = routes.get(self.path)
                if action is None:
                    self.send_error(404)
                    return
                try:
                    body, code = action(), 200
                except Exception as exc:  # noqa: BLE001 - said to the test, which fails on it
                    body, code = {"error": str(exc)}, 500
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.control = http.server.ThreadingHTTPServer(("127.0.0.1", self.control_port), Handler)
        threading.Thread(target=self.control.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self.lab is not None and self.lab.poll() is None:
            self.lab.send_signal(signal.SIGTERM)
            try:
                self.lab.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.lab.kill()
                self.lab.wait()
        self.stop_jpud()
        if getattr(self, "control", None):
            self.control.shutdown()
        self.stop_ticking.set()
        if self.made_account:
            subprocess.run(["userdel", ACCOUNT], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def main() -> int:
    port, control_port = int(sys.argv[1]), int(sys.argv[2])
    stack = Stack(port, control_port)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    try:
        stack.prepare()
        stack.start_jpud()
        stack.serve_control()
        stack.start_lab()
        log(f"jpud on {stack.socket}, jupyter lab on port {port} as {ACCOUNT}")
        while not done.wait(0.5):
            if stack.lab.poll() is not None:
                log(f"jupyter lab exited ({stack.lab.returncode})")
                return 1
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
