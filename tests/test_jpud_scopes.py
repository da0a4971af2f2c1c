"""jpud serves each caller only its own: real Unix accounts made by the test,
real cgroups, a real PID namespace, on a fixture machine whose energy
counters are root-only (mode 0400).

Needs root, setpriv, Debian's /usr/bin/python3 (clients run as the test
accounts) and a jpud built with libmicrohttpd; skips, saying why, otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
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


def in_cgroup(cg: Path, *cmd: str) -> list[str]:
    """cmd started in cgroup cg: a root shell enters it, then execs cmd (which may drop to an
    account with setpriv)."""
    return ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *cmd]


def end(procs: list, *cgroups: Path) -> None:
    """Kill the test's processes, then remove its cgroups and the parents they emptied."""
    for p in procs:
        p.kill()
        p.wait()
    procs.clear()
    for cg in cgroups:
        for p in [cg, *cg.parents]:
            if not p.exists() or p == CPUACCT:
                break
            try:
                p.rmdir()
            except OSError:
                break  # another test's cgroup is still in it


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
                st, s = c.until_ready(
                    pw, "/v1/sample?scope=user", until=lambda b: b["cpu"]["share"] > 0.05
                )
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
            st, s = c.until_ready(
                alice,
                f"/v1/sample?scope=process&pid={pa.pid}",
                until=lambda b: b["cpu"]["usage"] > 1.0,
            )
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


def cpu_watts(metrics: str) -> dict:
    """jpu_cpu_power_watts series of one scrape: {(scope, key, kind): W}."""
    out = {}
    for line in metrics.splitlines():
        m = re.match(r"jpu_cpu_power_watts\{(.*)\} (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels["scope"], labels.get("key", ""), labels["kind"])] = float(m.group(2))
    return out


@pytest.mark.skipif(not CPUACCT.is_dir(), reason="no cgroup v1 cpuacct hierarchy here")
def test_containers_of_one_uid_apart(binary, rundir, accounts, procs, tmp_path):
    daemon_account, alice, _ = accounts
    pod = str(uuid.uuid4())
    c1 = CPUACCT / "kubepods" / "besteffort" / f"pod{pod}" / ("a" * 64)
    c2 = CPUACCT / "docker" / ("b" * 64)
    c1.mkdir(parents=True)
    c2.mkdir(parents=True)
    port = free_port()
    # kubelet's log links: POD_NAMESPACE_CONTAINER-ID.log (and another pod's)
    logs = rundir / "containers"
    logs.mkdir()
    (logs / f"jupyter-alice_jhub_notebook-{'a' * 64}.log").touch()
    (logs / f"jupyter-bob_jhub_notebook-{'9' * 64}.log").touch()
    try:
        with Machine(tmp_path, real_cgroups=True) as machine:
            d = start_daemon(
                binary,
                rundir,
                machine,
                daemon_account,
                "--listen",
                f"127.0.0.1:{port}",
                "--path.container-logs",
                str(logs),
            )
            try:
                cl = Client(rundir, d.socket)

                sleeper = (SYSTEM_PYTHON, "-c", "import time; time.sleep(60)")
                procs.append(
                    subprocess.Popen(in_cgroup(c1, *as_user(alice, SYSTEM_PYTHON, "-c", BUSY)))
                )
                procs.append(subprocess.Popen(in_cgroup(c2, *as_user(alice, *sleeper))))
                time.sleep(2)

                def ask(cg, busy):
                    argv = in_cgroup(cg, *as_user(alice, *cl.cmd("GET", "/v1/sample?scope=user")))
                    for _ in range(10):
                        out = json.loads(
                            subprocess.run(argv, capture_output=True, text=True).stdout
                        )
                        body = out["body"]
                        # the asking client runs in that container too: its own start-up
                        # may land in a tick of the idle one, so ask again then
                        if out["status"] == 200 and (
                            body["cpu"]["share"] > 0.05 if busy else body["cpu"]["usage"] < 0.5
                        ):
                            break
                        time.sleep(0.6)
                    return out["status"], body

                st1, s1 = ask(c1, True)
                st2, s2 = ask(c2, False)
                assert st1 == 200 and st2 == 200, (s1, s2)
                # "user" inside a container is the container, never the uid
                assert s1["scope"] == "cgroup" and s2["scope"] == "cgroup"
                assert s1["key"] != s2["key"]
                assert s1["cpu"]["usage"] > 1.0 and s2["cpu"]["usage"] < 0.5
                # outside any container there is no container to ask for
                assert cl.call(alice, "GET", "/v1/sample?scope=container")[0] == 404

                # every user's share plus the idle power is the node, in one
                # tick (every process has one uid; Prometheus has them all)
                for _ in range(5):
                    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
                    w = cpu_watts(text.decode())
                    total = w[("system", "", "total")]
                    users = sum(
                        v for (sc, _k, kind), v in w.items() if sc == "user" and kind == "usage"
                    )
                    # the machine's idle power not attributed (the node's own
                    # scope takes it all, so read it from a user's)
                    idle = next(
                        v for (sc, _k, kind), v in w.items() if sc == "user" and kind == "idle"
                    )
                    if abs(users + idle - total) <= 0.01 * total:
                        break
                    time.sleep(1.1)  # a scrape between two ticks' publications
                assert users + idle == pytest.approx(total, rel=0.01), w
                containers = [
                    v for (sc, _k, kind), v in w.items() if sc == "cgroup" and kind == "usage"
                ]
                assert len(containers) >= 2
                # the pod's names from kubelet's log links; the Docker one has none
                named = [
                    line
                    for line in text.decode().splitlines()
                    if line.startswith("jpu_cpu_power_watts{") and "a" * 64 in line
                ]
                assert named and all(
                    'pod="jupyter-alice"' in line
                    and 'namespace="jhub"' in line
                    and 'container="notebook"' in line
                    and f'pod_uid="{pod}"' in line
                    for line in named
                ), named
                assert not any(
                    'pod="' in line for line in text.decode().splitlines() if "b" * 64 in line
                )
            finally:
                d.stop()
    finally:
        end(procs, c1, c2)


def test_tags_of_one_uid_in_two_containers_apart(binary, rundir, accounts, procs, tmp_path):
    """On Kubernetes every user may be uid 1000: a tag is its container's, so one pod never
    lists, re-tracks or removes another pod's kernels, while outside containers the uid's
    processes share their tags as before."""
    daemon_account, alice, _ = accounts
    c1 = CPUACCT / "kubepods" / "burstable" / f"pod{uuid.uuid4()}" / ("e" * 64)
    c2 = CPUACCT / "kubepods" / "burstable" / f"pod{uuid.uuid4()}" / ("f" * 64)
    for cg in (c1, c2):
        cg.mkdir(parents=True)

    try:
        with Machine(tmp_path, real_cgroups=True) as machine:
            d = start_daemon(binary, rundir, machine, daemon_account)
            try:
                cl = Client(rundir, d.socket)
                kernel = subprocess.Popen(
                    in_cgroup(
                        c1, *as_user(alice, SYSTEM_PYTHON, "-c", "import time; time.sleep(60)")
                    )
                )
                procs.append(kernel)
                time.sleep(0.5)

                def call(cg, method, url):
                    argv = in_cgroup(cg, *as_user(alice, *cl.cmd(method, url)))
                    out = json.loads(subprocess.run(argv, capture_output=True, text=True).stdout)
                    return out["status"], out["body"]

                # root may name any pid; the account names its own, as the pod sees it
                assert call(c1, "POST", f"/v1/track?pid={kernel.pid}&tag=k1")[0] == 201
                st, mine = call(c1, "GET", "/v1/tracked")
                assert st == 200 and [t["tag"] for t in mine] == ["k1"], mine
                # the other pod, same uid: nothing to see, nothing to remove
                assert call(c2, "GET", "/v1/tracked") == (200, [])
                assert call(c2, "DELETE", "/v1/track/k1")[0] == 404
                # the same tag name there is another tag
                assert call(c2, "POST", f"/v1/track?pid={kernel.pid}&tag=k1")[0] == 201
                st, theirs = call(c2, "GET", "/v1/tracked")
                assert [t["tag"] for t in theirs] == ["k1"]
                assert call(c2, "DELETE", "/v1/track/k1")[0] == 200
                st, mine = call(c1, "GET", "/v1/tracked")
                assert [t["tag"] for t in mine] == ["k1"], mine
                # outside any container, the uid's own tags (none of the pods')
                assert cl.call(alice, "GET", "/v1/tracked") == (200, [])
            finally:
                d.stop()
    finally:
        end(procs, c1, c2)


def test_rate_limit_per_container(binary, rundir, accounts, procs, tmp_path):
    """Pods that share a uid are not one caller: one pod spending its burst leaves the other's."""
    daemon_account, alice, _ = accounts
    c1 = CPUACCT / "kubepods" / f"pod{uuid.uuid4()}" / ("1" * 64)
    c2 = CPUACCT / "kubepods" / f"pod{uuid.uuid4()}" / ("2" * 64)
    for cg in (c1, c2):
        cg.mkdir(parents=True)

    try:
        with Machine(tmp_path, real_cgroups=True) as machine:
            # 1 request a second after a burst of 3: 10 back to back spend it
            d = start_daemon(binary, rundir, machine, daemon_account, "--rate", "1", "--burst", "3")
            try:
                cl = Client(rundir, d.socket)

                def statuses(cg, n):
                    argv = in_cgroup(cg, *as_user(alice, *cl.cmd("GET", "/healthz"), str(n)))
                    out = subprocess.run(argv, capture_output=True, text=True).stdout
                    return json.loads(out)["statuses"]

                first = statuses(c1, 10)
                assert first[:3] == [200] * 3 and first.count(429) >= 5, first
                assert statuses(c2, 1) == [200]
                assert cl.call(alice, "GET", "/healthz")[0] == 200  # the host user too
            finally:
                d.stop()
    finally:
        end(procs, c1, c2)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) missing")
def test_pid_namespace_names_its_own(binary, rundir, accounts, tmp_path):
    daemon_account, _, _ = accounts
    with Machine(tmp_path) as machine:
        d = start_daemon(binary, rundir, machine, daemon_account)
        try:
            c = Client(rundir, d.socket)
            py, script_path, sock = c.cmd("GET", "/")[:3]
            inner = f'{py} {script_path} {sock} GET "/v1/sample?scope=process&pid=$CHILD"'
            outside = os.getpid()  # a PID of the daemon's namespace, not the caller's
            script = (
                "sleep 30 & CHILD=$!; echo child=$CHILD; "
                f"for i in 1 2 3 4 5 6 7 8; do {inner}; sleep 0.6; done; "
                + f'{py} {script_path} {sock} GET "/v1/sample?scope=process&pid={outside}"'
                + "; kill $CHILD"
            )
            r = subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                capture_output=True,
                text=True,
                timeout=60,
            )
            lines = r.stdout.strip().splitlines()
            child = int(lines[0].split("=")[1])
            assert child < 10  # a PID of the new namespace
            answers = [json.loads(line) for line in lines[1:]]
            assert any(
                a["status"] == 200 and a["body"]["scope"] == "process" for a in answers[:-1]
            ), (answers, r.stderr)
            assert answers[-1]["status"] == 404  # nothing outside its namespace
        finally:
            d.stop()


def stub_nvml() -> Path | None:
    build = Path(os.environ.get("JPU_BUILD_DIR") or Path(__file__).resolve().parents[1] / "build")
    lib = build / "tests" / "libnvidia-ml.so.1"
    return lib if lib.is_file() else None


def gpu_watts(text: str) -> dict:
    """{(scope, key, kind): W} of jpu_gpu_power_watts."""
    out = {}
    for m in re.finditer(r"^jpu_gpu_power_watts\{([^}]*)\} (\S+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out[(labels.get("scope"), labels.get("key", ""), labels.get("kind"))] = float(m.group(2))
    return out


@pytest.mark.skipif(stub_nvml() is None, reason="the stub NVML (build/tests) is not built")
def test_gpu_split_between_containers(binary, rundir, accounts, procs, tmp_path, monkeypatch):
    """One 200 W GPU used by two processes of one uid in two containers, 75 % and 25 % of its
    SM time: each container's share is its processes' part of the device, the two add up to
    the device, and each caller sees only its own."""
    daemon_account, alice, _ = accounts
    c1 = CPUACCT / "docker" / ("c" * 64)
    c2 = CPUACCT / "docker" / ("d" * 64)
    c1.mkdir(parents=True)
    c2.mkdir(parents=True)
    port = free_port()
    ctl = rundir / "nvml.ctl"

    sleeper = (SYSTEM_PYTHON, "-c", "import time; time.sleep(60)")
    stop = threading.Event()
    try:
        p1 = subprocess.Popen(in_cgroup(c1, *as_user(alice, *sleeper)))
        p2 = subprocess.Popen(in_cgroup(c2, *as_user(alice, *sleeper)))
        procs.extend([p1, p2])
        head = (
            "count=1\ngpu.0.name=NVIDIA H200\ngpu.0.power_mw=200000\n"
            "gpu.0.energy=not_supported\n"
            f"gpu.0.proc={p1.pid},1048576\ngpu.0.proc={p2.pid},1048576\n"
        )

        def write_samples():
            # NVML's samples are dated by the real clock and each is seen once: new ones, as
            # the driver keeps taking them, in place (the stub re-reads the file on each call)
            ts = int(time.time() * 1e6)
            tmp = ctl.with_suffix(".tmp")
            tmp.write_text(f"{head}gpu.0.util={p1.pid},75,{ts}\ngpu.0.util={p2.pid},25,{ts}\n")
            os.chmod(tmp, 0o644)
            os.replace(tmp, ctl)

        write_samples()

        def sampler():
            while not stop.wait(0.2):
                write_samples()

        ticker = threading.Thread(target=sampler, daemon=True)
        ticker.start()
        monkeypatch.setenv("JPU_STUB_NVML", str(ctl))
        with Machine(tmp_path, real_cgroups=True) as machine:
            # the later --listen and --nvml win over start_daemon's
            d = start_daemon(
                binary,
                rundir,
                machine,
                daemon_account,
                "--listen",
                f"127.0.0.1:{port}",
                "--nvml",
                str(stub_nvml()),
            )
            try:
                cl = Client(rundir, d.socket)
                for _ in range(20):
                    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
                    w = gpu_watts(text.decode())
                    parts = sorted(
                        v for (sc, _k, kind), v in w.items() if sc == "cgroup" and kind == "usage"
                    )
                    if len(parts) == 2 and sum(parts) > 0:
                        break
                    time.sleep(0.6)
                assert w[("system", "", "total")] == pytest.approx(200.0), w
                assert parts == [pytest.approx(50.0, rel=0.01), pytest.approx(150.0, rel=0.01)], w
                assert sum(parts) == pytest.approx(200.0, rel=0.01)

                # each caller, inside its container, gets its own container's GPU share
                def ask(cg):
                    argv = in_cgroup(cg, *as_user(alice, *cl.cmd("GET", "/v1/sample?scope=user")))
                    out = json.loads(subprocess.run(argv, capture_output=True, text=True).stdout)
                    assert out["status"] == 200, out
                    return out["body"]

                s1, s2 = ask(c1), ask(c2)
                assert s1["scope"] == s2["scope"] == "cgroup" and s1["key"] != s2["key"]
                assert s1["gpu"]["usage"] == pytest.approx(150.0, rel=0.01), s1["gpu"]
                assert s2["gpu"]["usage"] == pytest.approx(50.0, rel=0.01), s2["gpu"]
                assert s1["gpu"]["total"] == pytest.approx(200.0)
            finally:
                d.stop()
    finally:
        stop.set()
        end(procs, c1, c2)
