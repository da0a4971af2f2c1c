# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of jpu(1): they run the built binary.

The binary is $JPU_BIN, else cli/jpu in $JPU_BUILD_DIR, else build/cli/jpu under
the repository root. A
missing binary fails every test (it is not a reason to skip), and so does a
missing committed fixture tree under tests/fixtures.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
KNOWN_SOURCES = {"rapl", "hwmon", "perf", "nvml", "estimate", "fake"}
# this machine has no readable RAPL counter when there is no powercap zone
NO_RAPL = not any(Path("/sys/class/powercap").glob("intel-rapl*/energy_uj"))


@pytest.fixture(autouse=True)
def no_server_env(monkeypatch):
    """A Jupyter server's terminal sets these (handoff.py): the tests choose their roots."""
    for name in ("JPU_SYSFS", "JPU_PROCFS", "JPU_NVML"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def jpu():
    """$JPU_BIN, else cli/jpu in $JPU_BUILD_DIR (as CI exports it), else build/cli/jpu."""
    if os.environ.get("JPU_BIN"):
        path = Path(os.environ["JPU_BIN"])
    else:
        build = Path(os.environ.get("JPU_BUILD_DIR") or ROOT / "build")
        path = build / "cli" / "jpu"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"jpu binary not found at {path}: build it (meson setup build && "
            f"ninja -C build) or set JPU_BIN"
        )
    return str(path)


def run(jpu, *args, timeout=30, **kw):
    return subprocess.run([jpu, *args], capture_output=True, text=True, timeout=timeout, **kw)


def json_lines(out):
    lines = out.splitlines()
    return [json.loads(line) for line in lines]


def check_sample(s):
    """Shape of DESIGN section 3: parts present have sane numbers, never NaN."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s["time"]), s["time"]
    assert s["interval_s"] > 0
    assert s["scope"] in ("system", "user", "process")
    for part in ("cpu", "dram", "psys", "gpu"):
        if part not in s:
            continue
        for key in ("usage", "total", "idle"):
            if key in s[part]:
                assert isinstance(s[part][key], (int, float)) and s[part][key] >= 0, (part, key)
        assert s[part]["source"] in KNOWN_SOURCES
    for v in s["energy_j"].values():
        assert v >= 0
    assert isinstance(s["diagnostics"], list)


# ---- usage ---------------------------------------------------------------------------------


def test_help(jpu):
    r = run(jpu, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: jpu")
    for flag in (
        "--json",
        "--interval",
        "--count",
        "--scope",
        "--pid",
        "--uid",
        "--path.sysfs",
        "--path.procfs",
        "--nvml",
        "--idle-policy",
        "--sensors",
        "--history",
        "--state-file",
        "--country",
        "--intensity",
        "--carbon-provider",
        "--pue",
        "--emaps-token",
        "--carbon-url",
        "--version",
        "jpu run",
    ):
        assert flag in r.stdout, flag
    assert run(jpu, "-h").stdout == r.stdout


def test_version(jpu):
    r = run(jpu, "--version")
    assert r.returncode == 0
    assert re.fullmatch(r"jpu \d+\.\d+\.\d+\S*\n", r.stdout)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--interval", "abc"], "--interval: expected a positive number of seconds, got 'abc'"),
        (["--interval", "0"], "--interval"),
        (["--interval", "0.001"], "--interval: expected between 0.01 and 3600 seconds"),
        (["--interval", "3601"], "--interval"),
        (["--interval", "-1"], "--interval"),
        (["--interval", "nan"], "--interval"),
        (["--interval", "inf"], "--interval"),
        (["--interval", "0x10"], "--interval"),
        (["--interval", " 1"], "--interval"),
        (["--interval", "1x"], "--interval"),
        (["--interval"], "--interval: missing value"),
        (["--count", "1x"], "--count"),
        (["--count", "-1"], "--count"),
        (["--count", "0"], "--count"),
        (["--count", "99999999999999999999999"], "--count"),
        (["--scope", "galaxy"], "--scope"),
        (["--scope", "process"], "--pid"),
        (["--pid", "0"], "--pid"),
        (["--pid", "abc"], "--pid"),
        (["--pid", "1", "--scope", "user"], "--pid"),
        (["--uid", "-1"], "--uid"),
        (["--uid", "root"], "--uid"),
        (["--idle-policy", "greedy"], "--idle-policy"),
        (["--history", "0"], "--history"),
        (["--sensors", ""], "--sensors"),
        (["--sensors", "rapl,bogus"], "--sensors: unknown backend 'bogus'"),
        (["--sensors", "rapl,,estimate"], "--sensors: unknown backend ''"),
        (["--path.sysfs="], "--path.sysfs"),
        (["--country", "FRA"], "--country"),
        (["--country", "F1"], "--country"),
        (["--intensity", "-5"], "--intensity"),
        (["--intensity", "nan"], "--intensity"),
        (["--pue", "0.9"], "--pue"),
        (["--carbon-provider", "coal"], "--carbon-provider"),
        (["--carbon-url", "rte"], "--carbon-url"),
        (["--carbon-url", "rte=ftp://x"], "--carbon-url"),
        (["--carbon-url", "xx=http://x"], "--carbon-url"),
        (["--emaps-token", ""], "--emaps-token"),
        (["--bogus"], "unknown option '--bogus'"),
        (["--json=1"], "unknown option '--json'"),
        (["stray"], "unexpected argument 'stray'"),
        (["--", "stray"], "unexpected argument 'stray'"),
        (["--count", "1", "--", "--json"], "unexpected argument '--json'"),
        (["--js"], "unknown option '--js'"),
        (["--coun=1"], "unknown option '--coun'"),
        (["-x"], "unknown option '-x'"),
        (["--count"], "--count: missing value"),
        (["run"], "missing COMMAND"),
        (["run", "--pid", "1", "--", "true"], "run"),
        (["run", "--count", "2", "--", "true"], "--count"),
        (["run", "--interval", "zero", "--", "true"], "--interval"),
    ],
)
def test_usage_errors(jpu, args, needle):
    r = run(jpu, *args)
    assert r.returncode == 2, (args, r.stderr)
    assert needle in r.stderr
    assert r.stdout == ""


# ---- sampling ------------------------------------------------------------------------------


def test_json_real_machine(jpu):
    t0 = time.monotonic()
    r = run(jpu, "--json", "--count", "2", "--interval", "0.2")
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    samples = json_lines(r.stdout)
    assert len(samples) == 2
    assert elapsed >= 0.35  # the first sample comes after one interval
    for s in samples:
        check_sample(s)
        assert s["scope"] == "system"
        assert abs(s["interval_s"] - 0.2) < 0.1
        assert "cpu" in s
    assert samples[1]["energy_j"]["total"] >= samples[0]["energy_j"]["total"]
    if NO_RAPL:
        # a VM: the figures are estimated and rapl says why it is not used
        assert samples[-1]["cpu"]["source"] == "estimate"
        diags = samples[-1]["diagnostics"]
        rapl = [d for d in diags if d["sensor"] == "rapl"]
        assert rapl and rapl[0]["reason"] in ("absent", "permission", "unsupported")
        assert rapl[0]["message"]
    else:
        assert samples[-1]["cpu"]["source"] in KNOWN_SOURCES


def test_equals_forms_and_scopes(jpu):
    r = run(
        jpu,
        "--json",
        "--count=1",
        "--interval=0.2",
        "--path.procfs=/proc",
        "--scope=sys",
        "--nvml=none",
    )
    assert r.returncode == 0, r.stderr
    (s,) = json_lines(r.stdout)
    check_sample(s)
    assert s["scope"] == "system"
    assert "gpu" not in s  # GPUs disabled: absent, not 0

    r = run(jpu, "--json", "--count", "1", "--interval", "0.2", "--pid", str(os.getpid()))
    assert r.returncode == 0, r.stderr
    (s,) = json_lines(r.stdout)
    assert s["scope"] == "process"
    assert 0 <= s["cpu"]["share"] <= 1

    r = run(jpu, "--json", "--count", "1", "--interval", "0.2", "--scope", "user")
    assert r.returncode == 0, r.stderr
    assert json_lines(r.stdout)[0]["scope"] == "user"


class Bumper:
    """Advance every energy_uj of a copied fixture tree at a steady rate, as a
    running machine would (in place, with pwrite, since the engine keeps the
    files open)."""

    def __init__(self, sysfs, watts_by_name):
        import threading

        self.files = []
        for f in Path(sysfs).rglob("energy_uj"):
            name = (f.parent / "name").read_text().strip()
            w = next((v for k, v in watts_by_name.items() if name.startswith(k)), 0.0)
            self.files.append((f, int(f.read_text()), w))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.monotonic()
        while not self.stop.wait(0.01):
            dt = time.monotonic() - t0
            for f, start, w in self.files:
                fd = os.open(f, os.O_WRONLY)
                try:
                    os.pwrite(fd, b"%d\n" % (start + int(w * dt * 1e6)), 0)
                finally:
                    os.close(fd)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def test_fixture_root(jpu, tmp_path):
    src = FIXTURES / "intel-2s-dram" / "sys"
    assert src.is_dir(), f"committed fixture {src} is missing"
    sysfs = tmp_path / "sys"
    shutil.copytree(src, sysfs, symlinks=True)
    # two packages at 10 W, two DRAM zones at 2 W; core is inside the package
    with Bumper(sysfs, {"package": 10.0, "dram": 2.0, "core": 6.0}):
        r = run(
            jpu,
            "--json",
            "--count",
            "3",
            "--interval",
            "0.3",
            "--path.sysfs",
            str(sysfs),
            "--path.procfs",
            "/proc",
            "--nvml",
            "",
        )
    assert r.returncode == 0, r.stderr
    samples = json_lines(r.stdout)
    assert len(samples) == 3
    for s in samples:
        check_sample(s)
        assert s["cpu"]["source"] == "rapl", s
        assert s["dram"]["source"] == "rapl"
        assert "psys" not in s  # the fixture has no psys zone
        assert "gpu" not in s  # GPUs disabled: absent, not 0
    last = samples[-1]
    # cpu.total = packages + DRAM (24 W); core never added; timing jitter allowed
    assert 24 * 0.7 <= last["cpu"]["total"] <= 24 * 1.3, last
    assert 4 * 0.7 <= last["dram"]["total"] <= 4 * 1.3, last
    assert last["cpu"]["usage"] <= last["cpu"]["total"] * 1.001
    assert last["energy_j"]["total"] > samples[0]["energy_j"]["total"]


def test_roots_and_nvml_from_the_environment(jpu, tmp_path):
    """In a Jupyter server's terminal, JPU_SYSFS, JPU_PROCFS and JPU_NVML (handed over by the
    server) choose what jpu reads; the command line still wins."""
    src = FIXTURES / "intel-2s-dram" / "sys"
    assert src.is_dir(), f"committed fixture {src} is missing"
    sysfs = tmp_path / "sys"
    shutil.copytree(src, sysfs, symlinks=True)
    env = dict(os.environ, JPU_SYSFS=str(sysfs), JPU_PROCFS="/proc", JPU_NVML="")
    with Bumper(sysfs, {"package": 10.0, "dram": 2.0}):
        r = run(jpu, "--json", "--count", "2", "--interval", "0.2", env=env)
    assert r.returncode == 0, r.stderr
    last = json_lines(r.stdout)[-1]
    assert last["cpu"]["source"] == "rapl", last
    assert any(
        d["sensor"] == "nvml" and "empty NVML library name" in d["message"]
        for d in last["diagnostics"]
    ), last["diagnostics"]

    bad = dict(env, JPU_SYSFS="/nonexistent")
    r = run(jpu, "--json", "--count", "1", env=bad)
    assert r.returncode == 1
    assert "JPU_SYSFS /nonexistent: no such directory" in r.stderr
    r = run(jpu, "--json", "--count", "1", "--path.sysfs", str(sysfs), env=bad)
    assert r.returncode == 0, r.stderr


def test_live_view_plain(jpu):
    r = run(jpu, "--count", "2", "--interval", "0.2")
    assert r.returncode == 0, r.stderr
    assert "\033[" not in r.stdout  # not a terminal: no escape sequences
    assert len(re.findall(r" sample \d+ ", r.stdout)) == 2
    assert re.search(r"^CPU +usage +\d+\.\d{3} W", r.stdout, re.M)
    assert re.search(r"^Energy +\d+\.\d{3} J", r.stdout, re.M)
    if NO_RAPL:
        assert "ESTIMATED" in r.stdout
        assert re.search(r"^  rapl \((absent|permission|unsupported)\): \S", r.stdout, re.M)


def test_live_view_tty(jpu):
    """On a terminal every sample redraws the screen (cursor home, clear)."""
    import pty

    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(
            [jpu, "--count", "2", "--interval", "0.2"],
            stdout=slave,
            stderr=subprocess.PIPE,
            close_fds=True,
        )
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the writer has gone
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(timeout=10) == 0, p.stderr.read()
    finally:
        os.close(master)
    text = out.decode()
    # the waiting screen, then one redraw per sample
    assert text.count("\033[H\033[2J") == 3, text
    assert "CPU" in text.rsplit("\033[H\033[2J", 1)[1]


def test_state_file(jpu, tmp_path):
    state = tmp_path / "state"
    r = run(
        jpu,
        "--json",
        "--count",
        "2",
        "--interval",
        "0.2",
        "--state-file",
        str(state),
        "--history",
        "5",
    )
    assert r.returncode == 0, r.stderr
    assert state.is_file() and state.stat().st_size > 0


def test_sigint_stops_cleanly(jpu):
    p = subprocess.Popen(
        [jpu, "--json", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = p.stdout.readline()
    json.loads(first)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    for line in out.splitlines():
        json.loads(line)


def test_missing_root(jpu):
    r = run(jpu, "--json", "--count", "1", "--path.sysfs", "/nonexistent")
    assert r.returncode == 1
    assert "--path.sysfs /nonexistent: no such directory" in r.stderr
    assert r.stdout == ""
    r = run(jpu, "--json", "--count", "1", "--path.procfs", "/etc/passwd")
    assert r.returncode == 1
    assert "--path.procfs /etc/passwd: not a directory" in r.stderr


def test_missing_pid(jpu):
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    pid = next(p for p in range(pid_max - 1, 1, -1) if not Path(f"/proc/{p}").exists())
    r = run(jpu, "--json", "--count", "1", "--pid", str(pid))
    assert r.returncode == 1
    assert "no such process" in r.stderr.lower()


def test_carbon_options_reach_the_sample(jpu):
    r = run(jpu, "--json", "--count", "2", "--interval", "0.2", "--country", "fr", "--pue", "1.2")
    assert r.returncode == 0, r.stderr
    e = json_lines(r.stdout)[-1]["emissions"]
    # no network provider answers here (no route): the country table, FR
    assert e["zone"] == "FR" and e["source"] in ("table", "rte")
    assert e["pue"] == 1.2
    r = run(jpu, "--json", "--count", "1", "--interval", "0.2", "--intensity", "120")
    e = json_lines(r.stdout)[-1]["emissions"]
    assert (e["source"], e["intensity_g_per_kwh"], e["basis"]) == ("constant", 120.0, "custom")


def test_carbon_url_replayed_rte(jpu):
    """--carbon-url points a provider at a local server replaying RTE's recorded answer."""
    sys.path.insert(0, str(ROOT / "tests"))
    from replay_server import Replay

    replay = Replay(str(FIXTURES / "provider-responses"))
    replay.route(
        "/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records",
        {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"},
    )
    replay.start()
    try:
        r = run(
            jpu,
            "--json",
            "--count",
            "4",
            "--interval",
            "0.25",
            "--country",
            "FR",
            "--carbon-url",
            f"rte={replay.url}",
        )
    finally:
        replay.stop()
    assert r.returncode == 0, r.stderr
    last = json_lines(r.stdout)[-1]["emissions"]
    assert (last["source"], last["zone"], last["basis"]) == ("rte", "FR", "direct")
    assert last["intensity_g_per_kwh"] == 47.0
    assert last["time"] == "2023-09-12T16:15:00.000Z"


def test_run_reports_co2(jpu):
    r = run(jpu, "run", "--json", "--intensity", "500", "--", sys.executable, "-c", BUSY)
    assert r.returncode == 0, r.stderr
    (o,) = json_lines(r.stdout)
    # grams = J x 500 g/kWh / 3.6e6 J/kWh (integer micrograms)
    assert o["emissions_g"] == pytest.approx(o["energy_j"]["total"] * 500 / 3.6e6, abs=2e-6)
    r = run(jpu, "run", "--intensity", "500", "--", sys.executable, "-c", BUSY)
    assert "CO2e at 500.0 g/kWh (constant, World)" in r.stderr


def test_unprivileged(jpu):
    """A user without access to root-only counters still gets samples."""
    if os.geteuid() != 0:
        pytest.fail("this test runs as root to drop to uid 65534")
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed"
    d = tempfile.mkdtemp(prefix="jpu-cli-")
    try:
        os.chmod(d, 0o755)
        exe = os.path.join(d, "jpu")
        shutil.copy(jpu, exe)
        os.chmod(exe, 0o755)
        r = subprocess.run(
            [
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                exe,
                "--json",
                "--count",
                "1",
                "--interval",
                "0.2",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=d,
        )
    finally:
        shutil.rmtree(d)
    assert r.returncode == 0, r.stderr
    (s,) = json_lines(r.stdout)
    check_sample(s)
    assert "cpu" in s


def test_permission_names_the_one_recipe(jpu):
    """Root-only RAPL counters: the diagnostic jpu prints names the shipped
    udev rule, its group and the doc section, in text and JSON output."""
    if os.geteuid() != 0:
        pytest.fail("this test runs as root to drop to uid 65534")
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed"
    d = tempfile.mkdtemp(prefix="jpu-cli-")
    try:
        shutil.copytree(FIXTURES / "intel-2s-dram" / "sys", os.path.join(d, "sys"), symlinks=True)
        exe = os.path.join(d, "jpu")
        shutil.copy(jpu, exe)
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                p = os.path.join(root, n)
                if not os.path.islink(p):
                    # the kernel's mode for energy_uj since CVE-2020-8694
                    os.chmod(p, 0o400 if n == "energy_uj" else 0o755)
        os.chmod(d, 0o755)
        outs = []
        for extra in ([], ["--json"]):
            r = subprocess.run(
                [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe]
                + ["--sensors", "rapl", "--path.sysfs", os.path.join(d, "sys")]
                + ["--count", "1", "--interval", "0.2", *extra],
                capture_output=True,
                text=True,
                timeout=30,
                cwd=d,
            )
            assert r.returncode == 0, r.stderr
            outs.append(r.stdout)
    finally:
        shutil.rmtree(d)
    text, js = outs
    assert re.search(r"^  rapl \(permission\): ", text, re.M), text
    (s,) = json_lines(js)
    (diag,) = [x for x in s["diagnostics"] if x["sensor"] == "rapl"]
    for msg in (text, diag["message"]):
        assert "udev rule 90-jpu-powercap.rules" in msg
        assert "group powercap" in msg
        assert "PERMISSIONS in jpu(1)" in msg


# ---- jpu run -------------------------------------------------------------------------------

BUSY = "import time\nt = time.time()\nwhile time.time() - t < 0.5: pass\n"


def summary_value(err, label):
    m = re.search(r"^ +([0-9.]+) ([JWs%])  " + label, err, re.M)
    assert m, f"no '{label}' line in:\n{err}"
    return float(m.group(1))


def test_run_busy_loop(jpu):
    r = run(jpu, "run", "--", sys.executable, "-c", BUSY)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # the summary goes to stderr
    total = summary_value(r.stderr, "total")
    assert total > 0
    assert summary_value(r.stderr, "cpu") > 0
    assert summary_value(r.stderr, "average power") > 0
    assert 0.45 <= summary_value(r.stderr, "elapsed") < 5
    assert "exit status 0" in r.stderr
    if NO_RAPL:
        assert "(estimated)" in r.stderr


def test_run_json(jpu):
    r = run(jpu, "run", "--json", "--interval", "0.1", "--", sys.executable, "-c", BUSY)
    assert r.returncode == 0, r.stderr
    (o,) = json_lines(r.stdout)
    assert o["command"] == [sys.executable, "-c", BUSY]
    assert o["exit_status"] == 0 and "signal" not in o
    assert o["elapsed_s"] >= 0.45
    assert o["energy_j"]["total"] > 0
    assert o["energy_j"]["cpu"] > 0
    assert o["power_w"] > 0
    assert o["source"] in KNOWN_SOURCES
    if o["source"] == "estimate":
        assert o["estimated"] is True
    check_sample(o["sample"])
    assert o["sample"]["scope"] == "process"


def test_run_exit_status(jpu):
    assert run(jpu, "run", "--", "sh", "-c", "exit 3").returncode == 3
    # without "--" the command starts at the first non-option
    assert run(jpu, "run", "sh", "-c", "exit 5").returncode == 5
    r = run(jpu, "run", "--json", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == 128 + signal.SIGTERM
    (o,) = json_lines(r.stdout)
    assert o["signal"] == signal.SIGTERM


def test_run_exec_failure(jpu):
    r = run(jpu, "run", "--", "/nonexistent")
    assert r.returncode == 127
    assert "cannot run '/nonexistent': No such file or directory" in r.stderr
    r = run(jpu, "run", "--", "/etc/passwd")
    assert r.returncode == 127
    assert "Permission denied" in r.stderr


def test_run_forwards_sigterm(jpu):
    p = subprocess.Popen(
        [jpu, "run", "--", "sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    assert time.monotonic() - t0 < 5
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "killed by signal 15" in err


def test_run_missing_root(jpu):
    r = run(jpu, "run", "--path.sysfs", "/nonexistent", "--", "true")
    assert r.returncode == 1
    assert "--path.sysfs /nonexistent: no such directory" in r.stderr


def test_corrupt_state_file_survives(jpu, tmp_path):
    """A state file that does not parse is moved aside byte for byte, said on stderr with both
    paths, and a new one is written beside it."""
    state = tmp_path / "state"
    corrupt = b"jpu-state 2\nscope 12 34\n\x00\xff not a state file\n"
    state.write_bytes(corrupt)
    r = run(jpu, "--json", "--count", "2", "--interval", "0.2", "--state-file", str(state))
    assert r.returncode == 0, r.stderr
    (moved,) = tmp_path.glob("state.corrupt-*")
    assert moved.read_bytes() == corrupt
    assert str(state) in r.stderr and str(moved) in r.stderr, r.stderr
    assert state.read_text().startswith("jpu-state 3\nscope ")


def test_state_file_in_use(jpu, tmp_path):
    """One engine per state file: while another holds its lock, jpu does not start and says why;
    the file is left as it was."""
    state = tmp_path / "state"
    state.write_text("jpu-state 3\nscope 1 2 3 4\npast 0 0 0 0 0\n")
    with open(str(state) + ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = run(jpu, "--json", "--count", "2", "--interval", "0.2", "--state-file", str(state))
    assert r.returncode == 1, r.stderr
    assert "in use by another engine" in r.stderr, r.stderr
    assert state.read_text() == "jpu-state 3\nscope 1 2 3 4\npast 0 0 0 0 0\n"
