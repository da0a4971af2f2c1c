"""`jpu --daemon SOCKET`, jpu.DaemonClient and %%energy reading from a running jpud.

jpud runs as root dropping to an account made for the test, on a ticking fixture machine
whose energy counters are root-only (0400); the CLI runs as another test account through
setpriv, so the measured source it prints can only have come from the daemon.

Needs root (accounts, the privilege drop) and a jpud built with libmicrohttpd; skips,
saying why, otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from jpud_helpers import (
    ROOT,
    SYSTEM_PYTHON,
    Daemon,
    Machine,
    as_user,
    jpud_binary,
    make_account,
    remove_account,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="jpud tests create accounts: run as root"),
]

DAEMON_ACCOUNT = "jpud-cli-d"
USER_ACCOUNT = "jpud-cli-u"


def jpu_binary() -> str | None:
    if os.environ.get("JPU_BIN"):
        return os.environ["JPU_BIN"]
    build = Path(os.environ.get("JPU_BUILD_DIR") or ROOT / "build")
    path = build / "cli" / "jpu"
    return str(path) if path.is_file() else None


@pytest.fixture(scope="module")
def binaries():
    d, j = jpud_binary(), jpu_binary()
    if not d:
        pytest.skip("jpud not built (meson: needs libmicrohttpd-dev)")
    if not j:
        pytest.skip("jpu not built")
    return d, j


@pytest.fixture(scope="module")
def accounts():
    d, u = make_account(DAEMON_ACCOUNT), make_account(USER_ACCOUNT)
    yield d, u
    remove_account(DAEMON_ACCOUNT)
    remove_account(USER_ACCOUNT)


@pytest.fixture
def node(binaries, accounts):
    """(daemon, jpu copied where every account can run it, the user account)."""
    # pytest's tmp_path is under a 0700 directory: this one every account can reach
    tmp_path = Path(tempfile.mkdtemp(prefix="jpu-daemon-", dir="/tmp"))
    os.chmod(tmp_path, 0o755)
    try:
        yield from _node(tmp_path, binaries, accounts)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _node(tmp_path, binaries, accounts):
    rundir = tmp_path / "run"
    rundir.mkdir(mode=0o755)
    os.chown(rundir, accounts[0].pw_uid, accounts[0].pw_gid)
    jpu = tmp_path / "jpu"
    shutil.copy(binaries[1], jpu)
    os.chmod(jpu, 0o755)
    with Machine(tmp_path) as m:
        d = Daemon(
            binaries[0],
            rundir,
            "--path.sysfs",
            str(m.sysfs),
            "--listen",
            "",
            "--state-file",
            "",
            "--nvml",
            "",
            "--burst",
            "100",
            user=accounts[0].pw_name,
        )
        with d:
            yield d, str(jpu), accounts[1]


def run_as(pw, *cmd, env=None, timeout=60):
    return subprocess.run(
        as_user(pw, *cmd),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
    )


def test_json_lines_user_scope_from_daemon(node):
    d, jpu, user = node
    r = run_as(user, jpu, "--daemon", d.socket, "--json", "--count", "2", "--scope", "user")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    samples = [json.loads(line) for line in lines]
    # the counters are root-only: a measured source can only be the daemon's
    assert all(s["cpu"]["source"] == "rapl" for s in samples), samples
    assert all(s["scope"] == "user" for s in samples)
    # only new samples are printed: two distinct ticks
    assert samples[0]["time"] != samples[1]["time"]


def test_environment_names_the_daemon(node):
    """$JPU_DAEMON_SOCKET is the default (a Jupyter server hands it to its kernels)."""
    d, jpu, user = node
    env = {"PATH": "/usr/bin:/bin", "JPU_DAEMON_SOCKET": d.socket}
    r = run_as(user, jpu, "--json", "--count", "1", "--interval", "0.2", env=env)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["scope"] == "system" and s["cpu"]["source"] == "rapl"
    # the live view, from the daemon too
    r = run_as(user, jpu, "--count", "1", env=env)
    assert r.returncode == 0, r.stderr
    assert "source rapl" in r.stdout and d.socket in r.stdout


def test_run_through_daemon(node):
    d, jpu, user = node
    busy = "t=$(($(date +%s)+1)); while [ $(date +%s) -le $t ]; do :; done"
    r = run_as(user, jpu, "run", "--daemon", d.socket, "--json", "--", "sh", "-c", busy)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["source"] == "rapl"
    assert out["energy_j"]["total"] > 0
    assert out["sample"]["scope"] == "process"
    assert out["daemon"] == d.socket
    # the tag was removed
    r = run_as(user, jpu, "run", "--daemon", d.socket, "--", "true")
    assert r.returncode == 0, r.stderr
    assert "source (jpud" in r.stderr
    client = Path(d.rundir).parent / "client.py"
    shutil.copy(ROOT / "python" / "jpu" / "daemon.py", client)
    os.chmod(client, 0o644)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import client, json; "
        "print(json.dumps(client.DaemonClient(sys.argv[2]).tracked()))"
    )
    r = run_as(user, SYSTEM_PYTHON, "-c", code, str(client.parent), d.socket)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_exit_status_of_command_kept(node):
    d, jpu, user = node
    r = run_as(user, jpu, "run", "--daemon", d.socket, "--", "sh", "-c", "exit 3")
    assert r.returncode == 3, r.stderr


def test_missing_socket(tmp_path, binaries):
    sock = str(tmp_path / "no-jpud.sock")
    r = subprocess.run(
        [binaries[1], "--daemon", sock, "--count", "1"], capture_output=True, text=True, timeout=10
    )
    assert r.returncode == 1
    assert sock in r.stderr and "start it" in r.stderr
    r = subprocess.run(
        [binaries[1], "run", "--daemon", sock, "--", "true"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 1 and sock in r.stderr


def test_sensor_flags_conflict(tmp_path, binaries):
    r = subprocess.run(
        [binaries[1], "--daemon", str(tmp_path / "s"), "--path.sysfs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert r.returncode == 2 and "--daemon" in r.stderr and "do not apply" in r.stderr


def test_python_client(node):
    d, _, user = node
    sys.path.insert(0, str(ROOT / "python" / "jpu"))
    try:
        import daemon as dc  # the pure-Python module, without the C binding
    finally:
        sys.path.pop(0)
    with dc.DaemonClient(d.socket) as c:
        s = c.snapshot("system")
        assert s["cpu"]["source"] == "rapl"
        c.track(os.getpid(), "py-test")
        assert [t["tag"] for t in c.tracked()] == ["py-test"]
        c.untrack("py-test")
        assert c.tracked() == []
        with pytest.raises(dc.DaemonError) as e:
            c.snapshot("process", pid=4000000)
        assert e.value.status == 404
    with pytest.raises(FileNotFoundError) as e:
        dc.DaemonClient(d.socket + ".missing").snapshot("system")
    assert d.socket + ".missing" in str(e.value)


def test_energy_magic_reads_daemon(node, monkeypatch, capsys):
    d, _, _ = node
    jpu = pytest.importorskip("jpu")
    if not hasattr(jpu, "DaemonClient"):
        pytest.fail("the installed jpu binding has no DaemonClient")
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("JPU_DAEMON_SOCKET", d.socket)
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("%load_ext jpu")
        capsys.readouterr()
        result = shell.run_cell(
            "%%energy\nimport time\nt = time.monotonic()\n"
            "while time.monotonic() - t < 1.2:\n    pass\n"
        )
        assert result.success
        out = capsys.readouterr()
        last = shell.magics_manager.registry["EnergyMagics"].last
        assert last.settings_origin == "daemon", out
        assert last.power_source == "rapl"
        assert "rapl via jpud" in out.out
        assert last.energy_j > 0
        # a socket that refuses: measured here, and said why
        monkeypatch.setenv("JPU_DAEMON_SOCKET", d.socket + ".missing")
        result = shell.run_cell("%%energy\nx = 1\n")
        out = capsys.readouterr()
        assert "measuring in this process instead" in out.err
        assert d.socket + ".missing" in out.err
    finally:
        InteractiveShell.clear_instance()
