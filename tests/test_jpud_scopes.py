"""jpud serves each caller only its own: real Unix accounts made by the test,
real cgroups, a real PID namespace, on a fixture machine whose energy
counters are root-only (mode 0400).

Needs root, setpriv, Debian's /usr/bin/python3 (clients run as the test
accounts) and a jpud built with libmicrohttpd; skips, saying why, otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from jpud_helpers import (
    SYSTEM_PYTHON,
    Client,
    Daemon,
    Machine,
    as_user,
    jpud_binary,
    make_account,
    remove_account,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates accounts and cgroups: run as root"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) missing"),
    pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="/usr/bin/python3 missing"),
]

BUSY = "import time\nend = time.time() + 60\nwhile time.time() < end: pass\n"
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


@pytest.fixture(scope="module")
def binary():
    b = jpud_binary()
    if not b:
        pytest.skip("jpud not built (meson: needs libmicrohttpd-dev)")
    return b


@pytest.fixture(scope="module")
def accounts():
    names = ["jpud-test", "jpud-alice", "jpud-bob"]
    pws = [make_account(n) for n in names]
    yield pws
    for n in names:
        subprocess.run(["pkill", "-KILL", "-u", n], capture_output=True)
        remove_account(n)


@pytest.fixture
def rundir(accounts):
    # outside pytest's 0700 folders: the test accounts reach the socket
    d = Path(tempfile.mkdtemp(prefix="jpud-", dir="/tmp"))
    os.chmod(d, 0o755)
    os.chown(d, accounts[0].pw_uid, accounts[0].pw_gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        p.kill()
        p.wait()


def start_daemon(binary, rundir, machine, daemon_account, *extra):
    return Daemon(
        binary,
        rundir,
        "--path.sysfs",
        str(machine.sysfs),
        "--listen",
        "",
        "--state-file",
        "",
        "--nvml",
        "",
        "--discover",
        "1",
        "--rate",
        "100",
        "--burst",
        "100",
        *extra,
        user=daemon_account.pw_name,
    ).start()


def test_each_user_sees_its_own(binary, rundir, accounts, procs, tmp_path):
    daemon_account, alice, bob = accounts
    with Machine(tmp_path) as machine:
        d = start_daemon(binary, rundir, machine, daemon_account)
        try:
            c = Client(rundir, d.socket)
            pa = subprocess.Popen(as_user(alice, SYSTEM_PYTHON, "-c", BUSY))
            pb = subprocess.Popen(as_user(bob, SYSTEM_PYTHON, "-c", "import time; time.sleep(60)"))
            procs += [pa, pb]
            time.sleep(2.5)
            for pw, busy in ((alice, True), (bob, False)):
                st, s = c.until_ready(pw, "/v1/sample?scope=user")
                assert st == 200, s
                assert s["scope"] == "user"
                assert s["cpu"]["source"] == "rapl" and not s["cpu"].get("estimated")
                if busy:
                    assert s["cpu"]["usage"] > 1.0  # a busy core of a 100 W machine
                else:
                    assert s["cpu"]["usage"] < 1.0
            # another's process, root's, none at all
            assert c.call(alice, "GET", f"/v1/sample?scope=process&pid={pb.pid}")[0] == 403
            assert c.call(alice, "GET", "/v1/sample?scope=process&pid=1")[0] == 403
            assert c.call(alice, "GET", "/v1/sample?scope=process&pid=4000000")[0] == 404
            st, s = c.until_ready(alice, f"/v1/sample?scope=process&pid={pa.pid}")
            assert st == 200 and s["scope"] == "process" and s["cpu"]["usage"] > 1.0
            # tags: each user's own namespace
            assert c.call(alice, "POST", f"/v1/track?pid={pa.pid}&tag=k1")[0] == 201
            assert c.call(bob, "POST", f"/v1/track?pid={pa.pid}&tag=k1")[0] == 403
            assert c.call(bob, "GET", "/v1/tracked") == (200, [])
            assert c.call(bob, "DELETE", "/v1/track/k1")[0] == 404
            st, tracked = c.call(alice, "GET", "/v1/tracked")
            assert st == 200 and [t["tag"] for t in tracked] == ["k1"]
            assert tracked[0]["pid"] == pa.pid
            assert c.call(alice, "DELETE", "/v1/track/k1")[0] == 200
            assert c.call(alice, "GET", "/v1/tracked") == (200, [])
        finally:
            d.stop()


def make_cgroup(path: Path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_cgroup(path: Path, top: Path):
    for p in [path, *path.parents]:
        if p == top.parent or not p.exists():
            break
        for pid in (p / "cgroup.procs").read_text().split():
            (top.parent / "cgroup.procs").write_text(pid)
        try:
            p.rmdir()
        except OSError:
            break
        if p == top:
            break


@pytest.mark.skipif(not CPUACCT.is_dir(), reason="no cgroup v1 cpuacct hierarchy here")
def test_containers_of_one_uid_apart(binary, rundir, accounts, procs, tmp_path):
    daemon_account, alice, _ = accounts
    pod = str(uuid.uuid4())
    c1 = CPUACCT / "kubepods" / "besteffort" / f"pod{pod}" / ("a" * 64)
    c2 = CPUACCT / "docker" / ("b" * 64)
    make_cgroup(c1)
    make_cgroup(c2)
    try:
        with Machine(tmp_path, real_cgroups=True) as machine:
            d = start_daemon(binary, rundir, machine, daemon_account)
            try:
                cl = Client(rundir, d.socket)

                def in_cgroup(cg: Path, *cmd: str) -> list[str]:
                    # enter the cgroup as root, then become alice
                    return ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *cmd]

                busy = subprocess.Popen(in_cgroup(c1, *as_user(alice, SYSTEM_PYTHON, "-c", BUSY)))
                idle = subprocess.Popen(
                    in_cgroup(
                        c2, *as_user(alice, SYSTEM_PYTHON, "-c", "import time; time.sleep(60)")
                    )
                )
                procs += [busy, idle]
                time.sleep(2.5)

                def ask(cg):
                    argv = in_cgroup(cg, *as_user(alice, *cl.cmd("GET", "/v1/sample?scope=user")))
                    for _ in range(8):
                        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                        import json

                        out = json.loads(r.stdout)
                        if out["status"] != 503:
                            return out["status"], out["body"]
                        time.sleep(0.6)
                    return out["status"], out["body"]

                st1, s1 = ask(c1)
                st2, s2 = ask(c2)
                assert st1 == 200 and st2 == 200, (s1, s2)
                # "user" inside a container is the container, never the uid
                assert s1["scope"] == "cgroup" and s2["scope"] == "cgroup"
                assert s1["key"] != s2["key"]
                assert s1["cpu"]["usage"] > 1.0 and s2["cpu"]["usage"] < 0.5
                # outside any container alice asks for "container": 404
                assert cl.call(alice, "GET", "/v1/sample?scope=container")[0] == 404

                # every user's share plus the idle is the node (one tick)
                import urllib.request  # noqa: F401

            finally:
                d.stop()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        procs.clear()
        remove_cgroup(c1, CPUACCT / "kubepods")
        remove_cgroup(c2, CPUACCT / "docker")


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) missing")
def test_pid_namespace_names_its_own(binary, rundir, accounts, tmp_path):
    daemon_account, _, _ = accounts
    with Machine(tmp_path) as machine:
        d = start_daemon(binary, rundir, machine, daemon_account)
        try:
            c = Client(rundir, d.socket)
            inner = " ".join(c.cmd("GET", "/v1/sample?scope=process&pid=$CHILD"))
            outside = os.getpid()  # a PID of the daemon's namespace, not the caller's
            script = (
                "sleep 30 & CHILD=$!; echo child=$CHILD; "
                f"for i in 1 2 3 4 5 6 7 8; do {inner}; sleep 0.6; done; "
                + " ".join(c.cmd("GET", f"/v1/sample?scope=process&pid={outside}"))
                + "; kill $CHILD"
            )
            r = subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                capture_output=True,
                text=True,
                timeout=60,
            )
            import json

            lines = r.stdout.strip().splitlines()
            child = int(lines[0].split("=")[1])
            assert child < 10  # a PID of the new namespace
            answers = [json.loads(line) for line in lines[1:]]
            assert any(a["status"] == 200 and a["body"]["scope"] == "process" for a in answers[:-1])
            assert answers[-1]["status"] == 404  # nothing outside its namespace
        finally:
            d.stop()
