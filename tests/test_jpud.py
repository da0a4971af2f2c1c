"""jpud, the node daemon, run for real: as root dropping to an account made
for the test, on a fixture machine whose energy counters are root-only.

Needs root (accounts, the privilege drop) and a jpud built with
libmicrohttpd; skips, saying why, otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from jpud_helpers import Daemon, Machine, jpud_binary, make_account, remove_account, request

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="jpud tests create accounts: run as root"),
]

ACCOUNT = "jpud-test"


@pytest.fixture(scope="module")
def binary():
    b = jpud_binary()
    if not b:
        pytest.skip("jpud not built (meson: needs libmicrohttpd-dev)")
    return b


@pytest.fixture(scope="module")
def account():
    pw = make_account(ACCOUNT)
    yield pw
    remove_account(ACCOUNT)


@pytest.fixture
def rundir(tmp_path, account):
    # like systemd's RuntimeDirectory=: the daemon's account owns it
    d = tmp_path / "run"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    os.chown(d, account.pw_uid, account.pw_gid)
    return d


@pytest.fixture
def machine(tmp_path):
    with Machine(tmp_path) as m:
        yield m


def daemon(binary, rundir, machine, account, *extra, state=None):
    args = [
        "--path.sysfs",
        str(machine.sysfs),
        "--listen",
        "",
        "--state-file",
        str(state) if state else "",
        "--nvml",
        "",
        *extra,
    ]
    return Daemon(binary, rundir, *args, user=account.pw_name)


def test_drops_root_and_reads_root_only_counters(binary, rundir, machine, account):
    with daemon(binary, rundir, machine, account) as d:
        pid = d.proc.pid
        status = open(f"/proc/{pid}/status").read()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == [str(account.pw_uid)] * 4
        cap_eff = next(line for line in status.splitlines() if line.startswith("CapEff:"))
        assert int(cap_eff.split()[1], 16) == 1 << 2  # CAP_DAC_READ_SEARCH alone
        # the counters are 0400 root, yet the figure is measured
        assert oct(os.stat(machine.counters[0]).st_mode & 0o777) == "0o400"
        time.sleep(1.2)
        st, s = request(d.socket, "GET", "/v1/sample?scope=system")
        assert st == 200
        assert s["cpu"]["source"] == "rapl" and not s["cpu"].get("estimated")
        assert s["cpu"]["total"] == pytest.approx(2 * machine.watts, rel=0.2)


def test_refuses_an_unwritable_state_file(binary, rundir, machine, account, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o755)
    r = subprocess.run(
        [
            binary,
            "--socket",
            str(rundir / "s"),
            "--listen",
            "",
            "--user",
            account.pw_name,
            "--path.sysfs",
            str(machine.sysfs),
            "--state-file",
            str(tmp_path / "ro" / "st"),
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1 and "--state-file" in r.stderr and ACCOUNT in r.stderr


def test_refuses_to_run_as_root(binary, rundir, machine):
    r = subprocess.run(
        [binary, "--socket", str(rundir / "s"), "--listen", "", "--user", "root"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode != 0 and "does not run as root" in r.stderr
    r = subprocess.run(
        [binary, "--socket", str(rundir / "s"), "--listen", "", "--user", "no-such-user-x"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode != 0 and "useradd" in r.stderr


@pytest.mark.parametrize(
    "args,setting",
    [
        (["--interval", "0.5"], "--interval"),
        (["--interval", "fast"], "--interval"),
        (["--rate", "0"], "--rate"),
        (["--allow-system", "maybe"], "--allow-system"),
        (["--country", "France"], "--country"),
        (["--bogus"], "--bogus"),
    ],
)
def test_invalid_configuration_names_the_setting(binary, args, setting):
    r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert setting in r.stderr


def test_config_file_errors_name_file_and_line(binary, tmp_path):
    cfg = tmp_path / "jpud.conf"
    cfg.write_text("# comment\nrate = 5\ninterval = 0.1\n")
    r = subprocess.run([binary, "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{cfg}:3: interval" in r.stderr


def test_requests_are_checked(binary, rundir, machine, account):
    with daemon(binary, rundir, machine, account) as d:
        cases = [
            ("GET", "/v1/sample?scope=bogus", 400),
            ("GET", "/v1/sample?scop=user", 400),
            ("GET", "/v1/sample?scope=process", 400),  # needs pid
            ("GET", "/v1/sample?scope=system&pid=1", 400),
            ("GET", "/v1/sample?scope=process&pid=-1", 400),
            ("GET", "/v1/nothing", 404),
            ("POST", "/v1/sample", 405),
            ("DELETE", "/v1/track/bad%20tag", 400),
            ("POST", "/v1/track?pid=1", 400),  # needs a tag
        ]
        for method, url, want in cases:
            st, body = request(d.socket, method, url)
            assert st == want, (method, url, body)
            assert body["error"]


def test_coarse_samples_and_rate_limit(binary, rundir, machine, account):
    with daemon(binary, rundir, machine, account, "--rate", "1", "--burst", "30") as d:
        times = set()
        t0 = time.monotonic()
        for _ in range(20):
            st, s = request(d.socket, "GET", "/v1/sample?scope=system")
            assert st == 200
            times.add(s["time"])
        assert time.monotonic() - t0 < 1.0
        assert len(times) <= 2  # one tick a second at most
        codes = [request(d.socket, "GET", "/healthz")[0] for _ in range(40)]
        assert 429 in codes


def raw(sock_path, data: bytes, timeout=5.0) -> bytes:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except ConnectionResetError:
        pass  # the daemon answered and closed with our excess data unread
    finally:
        s.close()
    return out


def test_oversized_and_slow_requests(binary, rundir, machine, account):
    with daemon(binary, rundir, machine, account, "--timeout", "2") as d:
        big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n"
        assert raw(d.socket, big_header).split(b" ")[1] == b"431"
        body = b"x" * 10000
        big_body = (
            b"POST /v1/track?pid=1&tag=t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        assert raw(d.socket, big_body).split(b" ")[1] == b"413"
        garbage = b"\x00\x01NOT HTTP\r\n\r\n"
        answer = raw(d.socket, garbage)
        assert answer == b"" or answer.split(b" ")[1] == b"400"  # refused either way
        assert request(d.socket, "GET", "/healthz")[0] == 200

        # slowloris: a connection that never finishes its headers is closed
        # after the timeout, and others are served meanwhile
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.connect(d.socket)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        assert request(d.socket, "GET", "/healthz")[0] == 200
        slow.settimeout(10)
        assert slow.recv(100) == b""  # closed by the daemon
        assert 1.5 < time.monotonic() - t0 < 8
        slow.close()


def test_signals_keep_totals(binary, rundir, machine, account, tmp_path):
    # the state folder belongs to the daemon's account, as systemd's
    # StateDirectory= makes it
    (tmp_path / "state").mkdir()
    os.chown(tmp_path / "state", account.pw_uid, account.pw_gid)
    state = tmp_path / "state" / "jpud.state"
    d = daemon(binary, rundir, machine, account, state=state)
    d.start()
    try:
        time.sleep(2.2)
        e1 = request(d.socket, "GET", "/v1/sample?scope=system")[1]["energy_j"]["cpu"]
        assert e1 > 0
        d.send(signal.SIGHUP)
        time.sleep(2.5)
        st, s = request(d.socket, "GET", "/v1/sample?scope=system")
        assert st == 200 and s["energy_j"]["cpu"] >= e1
        assert "configuration reloaded" in d.log.read_text()
        e2 = s["energy_j"]["cpu"]
    finally:
        assert d.stop(signal.SIGTERM) == 0
    assert not os.path.exists(d.socket)  # removed on a clean stop
    # kill -9 and a restart: the totals come back from the state file
    d.start()
    time.sleep(1.2)
    e3 = request(d.socket, "GET", "/v1/sample?scope=system")[1]["energy_j"]["cpu"]
    d.stop(signal.SIGKILL)
    assert e3 >= e2
    d.start()
    e4 = request(d.socket, "GET", "/v1/sample?scope=system")[1]["energy_j"]["cpu"]
    d.stop()
    # at most one interval lost: 2 packages x 50 W x 1 s = 100 J
    assert e4 >= e3 - 2 * machine.watts * 1.1


def test_metrics_pass_promtool(binary, rundir, machine, account):
    if not shutil.which("promtool"):
        pytest.skip("promtool not installed (Debian package prometheus)")
    port = _free_port()
    with Daemon(
        binary,
        rundir,
        "--path.sysfs",
        str(machine.sysfs),
        "--listen",
        f"127.0.0.1:{port}",
        "--state-file",
        "",
        "--nvml",
        "",
        user=account.pw_name,
    ):
        import urllib.request

        time.sleep(1.2)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b"jpu_cpu_power_watts" in text
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
        assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
        # the TCP listener serves nothing of the socket API
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/sample?scope=system", timeout=5)
            raise AssertionError("the socket API answered on TCP")
        except urllib.error.HTTPError as e:
            assert e.code == 404


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_example_configuration_parses(binary):
    example = os.path.join(os.path.dirname(__file__), "..", "daemon", "jpud.conf.example")
    r = subprocess.run([binary, "--config", example, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _metrics(port: int) -> bytes:
    import urllib.request

    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()


def _energy(text: bytes) -> float:
    for line in text.decode().splitlines():
        if line.startswith("jpu_cpu_energy_joules_total") or line.startswith(
            "jpu_energy_joules_total"
        ):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no node energy series in /metrics")


def test_metrics_follow_each_tick_and_reload(binary, rundir, machine, account):
    """/metrics is rendered once per tick and served from a cache: within a
    tick every scrape gets the same text, each tick a new one, and after a
    reload the new engine's text (not the old engine's cached one)."""
    port = _free_port()
    with Daemon(
        binary,
        rundir,
        "--path.sysfs",
        str(machine.sysfs),
        "--listen",
        f"127.0.0.1:{port}",
        "--state-file",
        "",
        "--nvml",
        "",
        "--interval",
        "2",
        user=account.pw_name,
    ) as d:
        texts = []
        e0 = _energy(_metrics(port))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(set(texts)) < 3:
            texts.append(_metrics(port))
            time.sleep(0.05)
        # ~40 scrapes over at least two ticks: few distinct texts, each a
        # later tick with more energy than the one before
        distinct = list(dict.fromkeys(texts))
        assert 3 <= len(distinct) <= 4 and len(texts) >= 3 * len(distinct)
        energies = [_energy(t) for t in distinct]
        assert energies == sorted(energies) and energies[-1] > e0
        d.send(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "configuration reloaded" not in d.log.read_text():
            assert time.monotonic() < deadline, d.log.read_text()
            time.sleep(0.1)
        # the new engine keeps the totals (state file "": none) and counts
        # its samples from 1 again: its first tick's text must replace the
        # cache, whatever seq the old engine had reached
        time.sleep(2.5)
        after = _metrics(port)
        time.sleep(2.2)
        assert _metrics(port) != after


def test_raises_its_open_file_limit(binary, rundir, machine, account):
    """jpud keeps a /proc/PID/stat open per followed process; started with
    the usual soft RLIMIT_NOFILE of 1024 it raises it towards the hard
    limit to keep more of them."""
    import resource

    ours = resource.getrlimit(resource.RLIMIT_NOFILE)
    if ours[1] != resource.RLIM_INFINITY and ours[1] <= 1024:
        pytest.skip(f"hard RLIMIT_NOFILE is {ours[1]}: nothing to raise to")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, ours[1]))
    try:
        d = daemon(binary, rundir, machine, account).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, ours)
    try:
        for line in open(f"/proc/{d.proc.pid}/limits"):
            if line.startswith("Max open files"):
                soft = int(line.split()[3])
        want = 131072 if ours[1] == resource.RLIM_INFINITY else min(ours[1], 131072)
        assert soft == want, (soft, ours)
    finally:
        d.stop()


def test_libcurl_is_not_loaded_without_a_live_provider(binary, rundir, machine, account):
    """libcurl and what it links (~3 MB resident) are dlopen'ed by the first
    fetch of a live intensity provider; jpud (country table, constant)
    never maps them."""
    with daemon(binary, rundir, machine, account) as d:
        maps = open(f"/proc/{d.proc.pid}/maps").read()
        assert "libcurl" not in maps and "libssl" not in maps, [
            line.split()[-1] for line in maps.splitlines() if "libcurl" in line or "libssl" in line
        ]
