"""JupyterHub with local accounts, end to end: a real hub (PyPI ``jupyterhub``) behind npm's
``configurable-http-proxy``, two Unix accounts created here, each user's server spawned by
``LocalProcessSpawner`` as that account with jupyter-power-usage enabled.

The machine is a fixture tree whose RAPL counters are root-only (mode 0400, as since
CVE-2020-8694), so no user's server can read them; the node daemon jpud (build/daemon/jpud),
started here as root and dropping to `nobody`, reads them and serves every user on its socket,
which the user servers are configured with (PowerUsageDisplay.daemon_socket).

Shown: each user's /user/NAME/api/metrics/v1/power_usage answers 200 to that user with figures
measured by jpud (origin "daemon", source rapl) for that user's own server process, and the
server behind it runs as that user's uid (read in /proc); a kernel started by one user runs as
that user and never appears in the other user's kernel lists; one user's token is refused on the
other's server. In Debian's Chromium (Playwright, no browser download), each user logs in through
the hub's login page and sees the CPU item of the top bar with a measured figure (no ≈) whose
tooltip says it comes from the node daemon, and the panel: the first user's kernel has a row in
the first user's panel and none in the second's (screenshots in
jupyter/ui-tests/test-results/hub-{topbar,tooltip,panel,kernels}-*.png). Every process started
here (hub, proxy, user servers, kernels, jpud) is stopped at the end, and the accounts are
removed, also when an assertion fails.

Needs root (to create accounts and spawn as them), jupyterhub and configurable-http-proxy
(PATH, $JPU_CHP, or .hubtools/ of the repository as scripts/setup.sh installs it), a built jpud
(JPU_BUILD_DIR or build/, or JPUD_BIN), and a Python with jupyter-power-usage that the accounts
can execute (the running interpreter).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from jpud_helpers import jpud_binary

REPO = Path(__file__).resolve().parents[1]
FIXTURE_SYSFS = REPO / "tests" / "fixtures" / "intel-2s-dram" / "sys"
API = "api/metrics/v1/power_usage"
START_TIMEOUT_S = 60

requests = pytest.importorskip("requests")


def find_chp() -> str | None:
    for candidate in (
        os.environ.get("JPU_CHP"),
        shutil.which("configurable-http-proxy"),
        str(REPO / ".hubtools" / "node_modules" / ".bin" / "configurable-http-proxy"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_uid(pid: int) -> int:
    """The real uid of a process, from /proc/PID/status (Uid: real effective saved fs)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


def pids_of(uids: set[int]) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if proc_uid(int(entry)) in uids:
                    out.append(int(entry))
            except (OSError, AssertionError):
                pass
    return out


def run_as(uid: int, gid: int, *cmd: str) -> subprocess.CompletedProcess:
    """cmd as uid:gid without supplementary groups, switched in the child as the hub's
    LocalProcessSpawner does (setgid, setgroups, setuid before exec)."""
    return subprocess.run(
        list(cmd),
        user=uid,
        group=gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


class Hub:
    """The hub process, its folder, and the accounts it serves; close() undoes all of it."""

    def __init__(self, chp: str, jpud: str):
        self.chp = chp
        self.jpud_bin = jpud
        self.jpud: subprocess.Popen | None = None
        # Not under pytest's tmp_path (mode 0700 under /tmp/pytest-of-root): the accounts must
        # reach their homes, the fixture tree and the configuration.
        self.dir = Path(tempfile.mkdtemp(prefix="jpu-hub-"))
        os.chmod(self.dir, 0o755)
        self.users: dict[str, pwd.struct_passwd] = {}
        self.proc: subprocess.Popen | None = None
        self.ticking = threading.Event()
        self.ticker: threading.Thread | None = None
        self.log_path = self.dir / "hub.log"
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def add_user(self, name: str) -> pwd.struct_passwd:
        home = self.dir / "home" / name
        subprocess.run(
            ["useradd", "-M", "-d", str(home), "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(name)
        self.users[name] = entry
        home.mkdir(parents=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        os.chmod(home, 0o700)
        return entry

    def start_jpud(self, sysfs: Path) -> str:
        """jpud on the fixture tree, as a node runs it (root, dropping to `nobody`); its socket."""
        daemon = pwd.getpwnam("nobody")
        rundir = self.dir / "run"
        rundir.mkdir()
        # like systemd's RuntimeDirectory=: the daemon's account owns it
        os.chown(rundir, daemon.pw_uid, daemon.pw_gid)
        os.chmod(rundir, 0o755)
        sock = str(rundir / "jpud.sock")
        argv = [self.jpud_bin, "--socket", sock, "--listen", "", "--user", "nobody"]
        argv += ["--path.sysfs", str(sysfs), "--state-file", "", "--nvml", "", "--interval", "1"]
        with open(self.dir / "jpud.log", "ab") as log:
            self.jpud = subprocess.Popen(argv, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while not os.path.exists(sock):
            if self.jpud.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"jpud did not start: {(self.dir / 'jpud.log').read_text()}")
            time.sleep(0.1)
        return sock

    def write_config(self) -> Path:
        sysfs = self.dir / "sys"
        shutil.copytree(FIXTURE_SYSFS, sysfs, symlinks=True)
        for d, _, names in os.walk(sysfs):
            if "energy_uj" in names and not os.path.islink(os.path.join(d, "energy_uj")):
                os.chown(os.path.join(d, "energy_uj"), 0, 0)
                os.chmod(os.path.join(d, "energy_uj"), 0o400)  # root-only, as on real machines
        self.ticker = threading.Thread(target=self._tick, args=(sysfs,), daemon=True)
        self.ticker.start()
        self.socket = self.start_jpud(sysfs)
        etc = self.dir / "etc"
        etc.mkdir()
        # The user servers' configuration (JUPYTER_CONFIG_PATH): the extension on, jpud's
        # socket, the fixture tree (for the fallback, which cannot read its counters), no GPU.
        (etc / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "ServerApp": {"jpserver_extensions": {"jupyter_power_usage": True}},
                    "PowerUsageDisplay": {
                        "sysfs_path": str(sysfs),
                        "nvml_library": "",
                        "sample_interval": 0.5,
                        "daemon_socket": self.socket,
                    },
                }
            )
        )
        config = self.dir / "jupyterhub_config.py"
        settings = {
            "ip": "127.0.0.1",
            "port": self.port,
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "chp": self.chp,
            "dir": str(self.dir),
            "users": sorted(self.users),
            "token": self.token,
            "python": sys.executable,
            "config_path": str(etc),
        }
        config.write_text(HUB_CONFIG.format(settings=repr(settings)))
        os.chmod(config, 0o600)  # holds the service token
        return config

    def counter(self) -> str:
        """One package counter of the fixture tree."""
        return str(next((self.dir / "sys").glob("devices/**/intel-rapl:0/energy_uj")))

    def _tick(self, root: Path) -> None:
        """Advance the fixture's RAPL counters by 10 W, as a machine's do."""
        files = [
            os.path.join(d, "energy_uj")
            for d, _, names in os.walk(root)
            if "energy_uj" in names and not os.path.islink(os.path.join(d, "energy_uj"))
        ]
        while not self.ticking.wait(0.05):
            for path in files:
                with open(path, "r+") as f:
                    value = int(f.read().strip() or 0) + 500_000
                    f.seek(0)
                    f.write(f"{value}\n")
                    f.truncate()

    def start(self) -> None:
        config = self.write_config()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyterhub exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"jupyterhub did not answer within {START_TIMEOUT_S}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def api(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"token {token or self.token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kwargs
        )

    def user_get(self, user: str, path: str, token: str, **kwargs):
        return requests.get(
            f"{self.url}/user/{user}/{path}",
            headers={"Authorization": f"token {token}"},
            timeout=30,
            **kwargs,
        )

    def user_request(self, method: str, user: str, path: str, token: str, **kwargs):
        return requests.request(
            method,
            f"{self.url}/user/{user}/{path}",
            headers={"Authorization": f"token {token}"},
            timeout=60,
            **kwargs,
        )

    def close(self) -> None:
        """Stop the servers through the hub, then the hub (which stops its proxy); whatever
        still runs as a test account is killed; the accounts and the folder are removed."""
        if self.proc is not None and self.proc.poll() is None:
            for name in self.users:
                try:
                    self.api("DELETE", f"users/{name}/server", timeout=30)
                except Exception:  # noqa: BLE001 - the hub may be the thing that failed
                    pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        pid_file = self.dir / "proxy.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
        if self.jpud is not None and self.jpud.poll() is None:
            self.jpud.send_signal(signal.SIGTERM)
            try:
                self.jpud.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.jpud.kill()
                self.jpud.wait()
        self.ticking.set()
        if self.ticker is not None:
            self.ticker.join()
        uids = {u.pw_uid for u in self.users.values()}
        for _ in range(50):
            left = pids_of(uids)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for name in self.users:
            subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


# The hub's configuration, as docs/jupyterhub.md gives it, with the test's ports and folders.
HUB_CONFIG = """
s = {settings}
c.JupyterHub.ip = s["ip"]
c.JupyterHub.port = s["port"]
c.JupyterHub.hub_port = s["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % s["proxy_api_port"]
c.ConfigurableHTTPProxy.command = [s["chp"]]
c.ConfigurableHTTPProxy.pid_file = s["dir"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + s["dir"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = s["dir"] + "/cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(s["users"])
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [s["python"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {{"JUPYTER_CONFIG_PATH": s["config_path"]}}
c.JupyterHub.services = [{{"name": "jpu-test", "api_token": s["token"]}}]
c.JupyterHub.load_roles = [
    {{
        "name": "jpu-test",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
        "services": ["jpu-test"],
    }}
]
"""


@pytest.fixture
def hub():
    if os.geteuid() != 0:
        pytest.skip("JupyterHub with local accounts: needs root to create accounts and spawn")
    pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (pip install jupyterhub)")
    chp = find_chp()
    if chp is None:
        pytest.skip(
            "configurable-http-proxy not found (npm install --prefix .hubtools "
            "configurable-http-proxy, or set JPU_CHP)"
        )
    if not shutil.which("useradd") or not shutil.which("userdel"):
        pytest.skip("useradd and userdel are needed to create test accounts")
    # a committed fixture: its absence is a failure, never a skip
    assert FIXTURE_SYSFS.is_dir(), f"committed fixture tree {FIXTURE_SYSFS} is missing"
    jpud = jpud_binary()
    if jpud is None:
        # CI builds it before this suite: there its absence is a failure
        assert not os.environ.get("CI"), "build/daemon/jpud is missing (ninja -C build)"
        pytest.skip("no build/daemon/jpud: ninja -C build (or set JPUD_BIN / JPU_BUILD_DIR)")
    h = Hub(chp, jpud)
    try:
        tag = secrets.token_hex(3)
        for suffix in ("a", "b"):
            h.add_user(f"jpuh{tag}{suffix}")
        # The user servers run this interpreter as the accounts: it must be theirs to execute.
        probe = next(iter(h.users.values()))
        try:
            check = run_as(
                probe.pw_uid,
                probe.pw_gid,
                sys.executable,
                "-c",
                "import jupyterhub, jupyter_power_usage, jpu",
            )
            reason = None if check.returncode == 0 else check.stderr[-300:]
        except OSError as exc:
            reason = str(exc)
        if reason is not None:
            # A test setup fault, not the product's (e.g. an interpreter under /root).
            pytest.skip(
                f"{sys.executable} cannot import jupyter-power-usage as another account "
                f"(install it in a venv under a world-readable folder): {reason}"
            )
        h.start()
        yield h
    finally:
        h.close()


def spawn(hub: Hub, name: str) -> str:
    """Log name in through the hub's API (a token of name's), start name's server; the token."""
    r = hub.api("POST", f"users/{name}/tokens", json={"note": "jpu test", "expires_in": 600})
    assert r.status_code in (200, 201), (r.status_code, r.text)
    token = r.json()["token"]
    r = hub.api("POST", f"users/{name}/server")
    assert r.status_code in (201, 202), (r.status_code, r.text, hub.log())
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        model = hub.api("GET", f"users/{name}").json()
        server = (model.get("servers") or {}).get("")
        if server and server.get("ready"):
            return token
        time.sleep(0.3)
    raise AssertionError(f"{name}'s server not ready in {START_TIMEOUT_S}s:\n{hub.log()}")


def first_sample(hub: Hub, name: str, token: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        r = hub.user_get(name, API, token)
        assert r.status_code == 200, (name, r.status_code, r.text[:500])
        body = r.json()
        if body.get("time"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def test_local_accounts_each_see_their_own_server_and_kernels(hub):
    names = sorted(hub.users)
    tokens = {name: spawn(hub, name) for name in names}

    for name in names:
        account = hub.users[name]
        sample = first_sample(hub, name, tokens[name])
        # The sample's pid is the server measuring itself: the process the spawner started.
        state = hub.api("GET", f"users/{name}").json()["servers"][""]["state"]
        assert sample["scope"] == "process" and sample["pid"] == state["pid"]
        assert proc_uid(sample["pid"]) == account.pw_uid, name
        # Measured although the account cannot read the root-only counters: through jpud.
        origin = sample.get("origin") or {}
        assert (origin.get("kind"), origin.get("socket")) == ("daemon", hub.socket), sample
        assert sample["cpu"]["source"] == "rapl", sample
        unreadable = run_as(account.pw_uid, account.pw_gid, "cat", hub.counter())
        assert unreadable.returncode != 0 and "Permission denied" in unreadable.stderr

    a, b = names
    # One user's token opens nothing on the other's server.
    r = hub.user_get(b, API, tokens[a], allow_redirects=False)
    assert r.status_code in (302, 403), r.status_code

    # A kernel of a's runs as a, and shows in a's lists only.
    r = hub.user_request("POST", a, "api/kernels", tokens[a], json={"name": "python3"})
    assert r.status_code == 201, (r.status_code, r.text[:500])
    kernel_id = r.json()["id"]

    def kernel_entry():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            entries = hub.user_get(a, f"{API}/kernels", tokens[a]).json()
            for entry in entries:
                if entry["kernel_id"] == kernel_id and entry.get("pid"):
                    return entry
            time.sleep(0.3)
        raise AssertionError(f"kernel {kernel_id} not in {a}'s power_usage/kernels")

    entry = kernel_entry()
    assert proc_uid(entry["pid"]) == hub.users[a].pw_uid
    a_kernels = [k["id"] for k in hub.user_get(a, "api/kernels", tokens[a]).json()]
    assert kernel_id in a_kernels
    b_kernels = hub.user_get(b, "api/kernels", tokens[b]).json()
    assert kernel_id not in [k["id"] for k in b_kernels]
    b_power = hub.user_get(b, f"{API}/kernels", tokens[b]).json()
    assert kernel_id not in [k["kernel_id"] for k in b_power]
    assert entry["pid"] not in [k.get("pid") for k in b_power]

    # The kernel measures like a's server (jupyter/jupyter_power_usage/handoff.py): the server's
    # roots in its environment, the carbon settings in a file of a's that b cannot read.
    with open(f"/proc/{entry['pid']}/environ", "rb") as f:
        env = dict(item.decode().split("=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert env["JPU_SYSFS"] == str(hub.dir / "sys")
    assert env["JPU_NVML"] == ""
    assert env["JPU_DAEMON_SOCKET"] == hub.socket
    settings = env["JPU_SETTINGS_FILE"]
    st = os.stat(settings)
    assert st.st_uid == hub.users[a].pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    as_a = run_as(hub.users[a].pw_uid, hub.users[a].pw_gid, "cat", settings)
    assert as_a.returncode == 0 and json.loads(as_a.stdout)["carbon"]["provider"] == "auto"
    as_b = run_as(hub.users[b].pw_uid, hub.users[b].pw_gid, "cat", settings)
    assert as_b.returncode != 0 and "Permission denied" in as_b.stderr


def labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any(
        os.path.isfile(os.path.join(d, "jupyter-power-usage", "package.json"))
        for d in jupyter_path("labextensions")
    )


@pytest.fixture
def browser():
    """Debian's Chromium through Playwright (no download), as jupyter/ui-tests uses it."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    chromium = os.environ.get("JPU_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        pytest.skip(f"no Chromium at {chromium} (apt-get install chromium, or set JPU_CHROMIUM)")
    if not labextension_installed():
        pytest.skip("the labextension jupyter-power-usage is not installed (pip install ./jupyter)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def show_tooltip(item) -> None:
    """The tooltip is the item's title, which headless Chromium does not paint: the same
    text in a box under the item, for the screenshot."""
    item.evaluate(
        """node => {
        const box = document.createElement('div');
        box.textContent = node.getAttribute('title');
        const r = node.getBoundingClientRect();
        Object.assign(box.style, {position: 'fixed', top: (r.bottom + 4) + 'px', right: '8px',
          maxWidth: '720px', whiteSpace: 'pre-wrap', font: '12px sans-serif',
          background: '#ffffe1', color: '#000', border: '1px solid #767676',
          padding: '4px 6px', zIndex: '100000'});
        box.id = 'jpu-test-tooltip';
        document.body.appendChild(box);
    }"""
    )


def api_call(page, method: str, url: str, body: dict | None = None):
    """A request of the page's own, as JupyterLab makes it: the login cookie, and the _xsrf
    cookie echoed in a header; the answer's JSON."""
    return page.evaluate(
        """async ([method, url, body]) => {
        const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
        const r = await fetch(url, {method, credentials: 'same-origin',
          headers: {'X-XSRFToken': decodeURIComponent(xsrf), 'Content-Type': 'application/json'},
          body: body === null ? undefined : JSON.stringify(body)});
        return r.json();
    }""",
        [method, url, body],
    )


def open_panel(page, cpu):
    """The Power Usage panel, opened as a person does from the top bar: a click on the CPU
    item shows its sparkline, a click on the sparkline opens the panel."""
    spark = cpu.locator(".jp-PowerUsage-sparkline")
    if not spark.is_visible():
        cpu.locator(".jp-PowerUsage-main").click()
    spark.click()
    panel = page.locator(".jp-PowerUsage-panel")
    panel.wait_for(state="visible")
    return panel


def panel_points(panel) -> int:
    """How many history points the panel holds: it grows with each poll that answered."""
    return int(panel.get_attribute("data-points") or 0)


def wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def test_each_user_logs_in_through_the_hub_and_sees_the_top_bar(browser, hub):
    shots = REPO / "jupyter" / "ui-tests" / "test-results"
    shots.mkdir(parents=True, exist_ok=True)
    names = sorted(hub.users)
    first_kernel = None
    for name in names:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", "any")  # the dummy authenticator takes any password
            page.click("#login_submit")
            # The hub spawns the server and redirects to it: /user/NAME/lab.
            page.wait_for_url(f"**/user/{name}/lab**", timeout=90_000)
            cpu = page.locator("#jp-top-bar .jp-PowerUsage-indicator.jp-PowerUsage-cpu")
            cpu.wait_for(state="visible")
            value = cpu.locator(".jp-PowerUsage-value")
            deadline = time.monotonic() + 30
            # measured through jpud: a figure without the estimate's ≈
            while not re.fullmatch(r"<?\d+(\.\d+)? (mW|W|kW)", value.inner_text()):
                assert time.monotonic() < deadline, value.inner_text()
                time.sleep(0.3)
            title = cpu.get_attribute("title") or ""
            assert "Source: rapl" in title, title
            assert f"From: the node daemon jpud ({hub.socket})" in title, title
            page.screenshot(path=str(shots / f"hub-topbar-{name[-1]}.png"))
            show_tooltip(cpu)
            page.screenshot(path=str(shots / f"hub-tooltip-{name[-1]}.png"))
            page.evaluate("document.getElementById('jpu-test-tooltip').remove()")
            # The answer behind it: this user's server process, measured by the node daemon.
            sample = api_call(page, "GET", f"/user/{name}/{API}")
            assert (sample.get("origin") or {}).get("kind") == "daemon", sample
            # The page is this user's server, running as this user, measured for itself.
            state = hub.api("GET", f"users/{name}").json()["servers"][""]["state"]
            assert proc_uid(state["pid"]) == hub.users[name].pw_uid
            assert sample["pid"] == state["pid"], (name, sample["pid"], state["pid"])

            if first_kernel is None:
                # The first user starts a kernel: it has a row in that user's panel.
                first_kernel = api_call(
                    page, "POST", f"/user/{name}/api/kernels", {"name": "python3"}
                )["id"]
            panel = open_panel(page, cpu)
            # The panel has polled (history and kernels are fetched together).
            wait_until(lambda p=panel: panel_points(p) > 0)
            rows = panel.locator(f'tr[data-kernel-id="{first_kernel}"]')
            if name == names[0]:
                rows.first.wait_for(state="visible")
            else:
                # A few polls more: the other user's kernel never shows.
                seen = panel_points(panel)
                wait_until(lambda p=panel, n=seen: panel_points(p) >= n + 2)
                assert rows.count() == 0, f"{names[0]}'s kernel in {name}'s panel"
                kernels = api_call(page, "GET", f"/user/{name}/{API}/kernels")
                assert first_kernel not in [k["kernel_id"] for k in kernels]
            page.screenshot(path=str(shots / f"hub-panel-{name[-1]}.png"))
            panel.locator(".jp-PowerUsage-kernels").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"hub-kernels-{name[-1]}.png"))
        finally:
            context.close()
