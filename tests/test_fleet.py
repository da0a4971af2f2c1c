"""The fleet: two jpud on two different fixture machines ("two nodes"), a
real Prometheus (Debian's `prometheus`) scraping both every second, and the
Grafana dashboard's queries asked of that Prometheus. Also checks that the
deployment files parse (Kubernetes manifests, Prometheus configuration).

The two-node test needs root (the daemons drop to an account, the counters
are root-only, a container is a cgroup made by the test), `prometheus`, and
a jpud built with libmicrohttpd; it skips, saying why, otherwise.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from jpud_helpers import ROOT, Daemon, Machine, jpud_binary

DEPLOY = ROOT / "daemon" / "deploy"
DASHBOARD = DEPLOY / "grafana-dashboard.json"
PROM_CONFIGS = [DEPLOY / "prometheus.yml", DEPLOY / "prometheus-kubernetes.yml"]
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
# busy a fifth of the time: the container has a share without taking a core
DUTY = (
    "import time\nend = time.time() + 90\n"
    "while time.time() < end:\n"
    "    t = time.time()\n"
    "    while time.time() - t < 0.02: pass\n"
    "    time.sleep(0.08)\n"
)


def promtool() -> str | None:
    return shutil.which("promtool")


def test_manifests_parse():
    yaml = pytest.importorskip("yaml")
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "jpud-daemonset.yaml").open())]
    ds = next(d for d in docs if d and d.get("kind") == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True
    (c,) = [c for c in pod["containers"] if c["name"] == "jpud"]
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]}
    assert sc["readOnlyRootFilesystem"] is True and sc["runAsNonRoot"] is True
    # non-root: the capability comes from the binary's file capability, which
    # no_new_privs would void; the bounding set keeps it the only one
    assert sc["runAsUser"] != 0 and sc["privileged"] is False
    assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["cpu"]
    args = " ".join(c["args"])
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    for flag, host in (("--path.sysfs", "/sys"), ("--path.procfs", "/proc")):
        m = re.search(rf"{flag}[= ](\S+)", args)
        assert m, flag
        (name,) = [n for n, mo in mounts.items() if mo["mountPath"] == m.group(1)]
        assert mounts[name]["readOnly"] is True and vols[name]["hostPath"]["path"] == host
    sock = re.search(r"--socket[= ](\S+)", args).group(1)
    (name,) = [n for n, mo in mounts.items() if sock.startswith(mo["mountPath"] + "/")]
    assert vols[name]["hostPath"]["path"] == "/run/jpu"
    json.loads(DASHBOARD.read_text())
    for f in PROM_CONFIGS:
        assert yaml.safe_load(f.read_text())["scrape_configs"], f


@pytest.mark.skipif(not promtool(), reason="promtool (Debian package prometheus) missing")
@pytest.mark.parametrize("config", PROM_CONFIGS, ids=lambda p: p.name)
def test_prometheus_config_checks(config):
    r = subprocess.run(
        [promtool(), "check", "config", "--syntax-only", str(config)],
        capture_output=True,
        text=True,
    )
    out = r.stdout + r.stderr
    if r.returncode and "field kubernetes_sd_configs not found" in out:
        pytest.skip("this promtool is built without Kubernetes discovery (Debian's is)")
    assert r.returncode == 0, out


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def query(prom: str, expr: str) -> list:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = json.loads(get(url))
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]


def system_energy(metrics: str) -> float:
    """The node's energy (every part) from a /metrics text."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith('jpu_energy_joules_total{scope="system"'):
            total += float(line.rsplit(" ", 1)[1])
    return total


def dashboard_queries() -> list[str]:
    """Every target's expr, Grafana's variables set as a test can: all
    nodes, a 5 s rate window (four 1 s scrapes) and a 1 m range."""
    subs = {"$__rate_interval": "5s", "$__range": "1m", "$instance": ".*"}
    out = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for t in panel["targets"]:
            expr = t["expr"]
            for k, v in subs.items():
                expr = expr.replace(k, v)
            assert "$" not in expr, f"unhandled variable in {panel['title']}: {expr}"
            out.append((panel["title"], expr))
    return out


@pytest.fixture
def workdir():
    # outside pytest's 0700 folders: the daemons' account reaches it
    d = Path(tempfile.mkdtemp(prefix="jpu-fleet-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def nvml_stub() -> Path | None:
    build = Path(os.environ.get("JPU_BUILD_DIR") or ROOT / "build")
    p = build / "tests" / "libnvidia-ml.so.1"
    return p if p.is_file() else None


class DramTicker(Machine):
    """A Machine whose DRAM counters tick too (the dashboard has a DRAM panel)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        dram = []
        for name in self.sysfs.glob("devices/**/intel-rapl:?:?/name"):
            if name.read_text().strip() == "dram":
                dram.append(name.parent / "energy_uj")
        for c in dram:
            os.chmod(c, 0o400)
        self.counters = sorted(self.counters + dram)


@pytest.mark.skipif(os.geteuid() != 0, reason="root-only counters, a privilege drop: run as root")
@pytest.mark.skipif(not shutil.which("prometheus"), reason="prometheus (Debian package) missing")
@pytest.mark.skipif(not CPUACCT.is_dir(), reason="no cgroup v1 cpuacct hierarchy for a container")
def test_two_nodes_in_prometheus(workdir):
    binary = jpud_binary()
    if not binary:
        pytest.skip("jpud not built (meson: needs libmicrohttpd-dev)")
    stub = nvml_stub()
    if not stub:
        pytest.skip("the NVML stub (tests/libnvidia-ml.so.1) is not built")

    # node A's GPU: the NVML stub, 70 W, its energy counter advancing per read
    nvml_ctl = workdir / "nvml.ctl"
    gpu_on = "init=ok\ncount=1\ngpu.0.name=Stub GPU\ngpu.0.power_mw=70000\n"
    nvml_ctl.write_text(gpu_on + "gpu.0.energy_mj=1000\ngpu.0.energy_step_mj=70000\n")
    os.chmod(nvml_ctl, 0o644)

    # a Kubernetes container on node A (a cgroup made here) holding a process
    pod = str(uuid.uuid4())
    cg = CPUACCT / "kubepods" / "besteffort" / f"pod{pod}" / ("c" * 64)
    cg.mkdir(parents=True)

    procs: list[subprocess.Popen] = []
    daemons: list[Daemon] = []
    machines: list[Machine] = []
    prom_log = open(workdir / "prometheus.log", "wb")
    try:
        procs.append(
            subprocess.Popen(
                ["sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh"]
                + ["python3", "-c", DUTY]
            )
        )
        nodes = []
        for name, fixture, watts, gpu in (
            ("a", "amd-epyc", 40.0, True),
            ("b", "intel-2s-dram", 25.0, False),
        ):
            d = workdir / name
            (d / "run").mkdir(parents=True)
            os.chmod(d, 0o755)
            shutil.chown(d / "run", "nobody")
            m = DramTicker(d, fixture, watts=watts, real_cgroups=gpu).__enter__()
            machines.append(m)
            port = free_port()
            args = ["--path.sysfs", str(m.sysfs), "--listen", f"127.0.0.1:{port}"]
            args += ["--state-file", "", "--discover", "1", "--country", "FR"]
            args += ["--nvml", str(stub) if gpu else ""]
            old = os.environ.get("JPU_STUB_NVML")
            os.environ["JPU_STUB_NVML"] = str(nvml_ctl)
            try:
                daemons.append(Daemon(binary, d / "run", *args).start())
            finally:
                if old is None:
                    del os.environ["JPU_STUB_NVML"]
                else:
                    os.environ["JPU_STUB_NVML"] = old
            nodes.append(f"127.0.0.1:{port}")

        pport = free_port()
        cfg = workdir / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: jpud\n    static_configs:\n"
            f"      - targets: [{', '.join(repr(n) for n in nodes)}]\n"
        )
        procs.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={cfg}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{pport}",
                    "--storage.tsdb.retention.time=1h",
                ],
                stdout=prom_log,
                stderr=subprocess.STDOUT,
            )
        )
        prom = f"http://127.0.0.1:{pport}"

        # both nodes up, and enough scrapes for a 5 s rate and the container
        deadline = time.monotonic() + 30
        up = n = cont = None
        while True:
            try:
                up = query(prom, 'up{job="jpud"} == 1')
                n = query(prom, 'count_over_time(up{job="jpud"}[1m])')
                cont = query(prom, 'jpu_energy_joules_total{scope="cgroup"}')
                if len(up) == 2 and min(float(r["value"][1]) for r in n) >= 7 and cont:
                    break
            except (OSError, AssertionError):
                pass
            if time.monotonic() > deadline:
                targets = json.loads(get(f"{prom}/api/v1/targets"))["data"]["activeTargets"]
                errors = [(t["scrapeUrl"], t["lastError"]) for t in targets]
                pytest.fail(f"not scraped: {errors}, scrapes {n}, container {cont}")
            time.sleep(0.5)

        # every query of the dashboard has data in that Prometheus
        empty = [(title, e) for title, e in dashboard_queries() if not query(prom, e)]
        assert not empty, empty

        # freeze both nodes (counters and GPU stop), let two scrapes pass, and
        # the totals read from each daemon and from Prometheus are one figure
        for m in machines:
            m.watts = 0.0
        nvml_ctl.write_text(gpu_on + "gpu.0.energy_mj=1000\ngpu.0.energy_step_mj=0\n")
        time.sleep(3.5)
        direct = [system_energy(get(f"http://{n}/metrics")) for n in nodes]
        (r,) = query(prom, 'sum(jpu_energy_joules_total{scope="system"})')
        summed = float(r["value"][1])
        print(f"node a {direct[0]:.3f} J, node b {direct[1]:.3f} J, sum {sum(direct):.3f} J")
        print(f"prometheus sum {summed:.3f} J, rel err {abs(summed / sum(direct) - 1):.2e}")
        assert min(direct) > 10.0  # both measured for seconds
        assert math.isclose(summed, sum(direct), rel_tol=0.01)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for d in daemons:
            try:
                d.stop()
            except Exception:
                if d.proc:
                    d.proc.kill()
        for m in machines:
            m.__exit__(None, None, None)
        prom_log.close()
        for p in [cg, *cg.parents]:
            if p == CPUACCT or not p.exists():
                break
            try:
                p.rmdir()
            except OSError:  # a parent another test still uses
                break
            if p.name == "kubepods":
                break
