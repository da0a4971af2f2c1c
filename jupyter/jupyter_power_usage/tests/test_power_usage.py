"""GET /api/metrics/v1/power_usage, its history and Prometheus, against a real server."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import API, first_sample, get_json, sysfs_fixture


async def test_sample_shape_and_original_contract(jp_fetch):
    body = await first_sample(jp_fetch)
    # DESIGN section 3: the sample of the engine, scope as configured.
    assert body["scope"] == "process"
    assert isinstance(body["time"], str) and body["time"].endswith("Z")
    assert body["interval_s"] == pytest.approx(0.2, rel=0.5)  # measured, not nominal
    assert isinstance(body["diagnostics"], list)
    # The original front end reads cpu.{usage,limit}: both keys present, usage a number.
    cpu = body["cpu"]
    assert "limit" in cpu
    assert isinstance(cpu["usage"], (int, float)) and cpu["usage"] >= 0
    assert cpu["total"] >= cpu["usage"]
    assert cpu["source"]
    # No GPU here (nvml disabled, none on the machine): the key is absent, never 0.
    assert "gpu" not in body
    assert set(body["energy_j"]) >= {"cpu", "total"}


async def test_same_figures_for_every_client(jp_fetch):
    """Handlers read the engine's snapshot: two back-to-back requests within one interval
    return the same sample, they do not each measure."""
    await first_sample(jp_fetch)
    for _ in range(20):
        a = await get_json(jp_fetch, API)
        b = await get_json(jp_fetch, API)
        if a["time"] == b["time"]:
            assert a == b
            return
    pytest.fail("no two requests ever fell within one 0.2 s interval")


async def test_samples_advance_in_background(jp_fetch):
    first = await first_sample(jp_fetch)
    time.sleep(0.5)  # the event loop is blocked: the engine samples on its own thread
    later = await get_json(jp_fetch, API)
    assert later["time"] > first["time"]
    assert later["energy_j"]["total"] >= first["energy_j"]["total"]


@pytest.mark.parametrize(
    "power_config,expected",
    [
        ({"measurement_scope": "process"}, "process"),
        ({"measurement_scope": "user"}, "user"),
        ({"measurement_scope": "system"}, "system"),
        ({"measurement_scope": "sys"}, "system"),
    ],
    indirect=["power_config"],
)
async def test_scopes(jp_fetch, expected):
    body = await first_sample(jp_fetch)
    assert body["scope"] == expected
    if expected == "system":
        # The system scope is the whole measured power.
        assert body["cpu"]["usage"] == pytest.approx(body["cpu"]["total"], rel=1e-6, abs=1e-6)


class TickingRapl:
    """A copy of a RAPL fixture tree whose energy_uj counters advance at a known rate, written
    in place (the engine keeps the files open and preads them)."""

    def __init__(self, root: Path, watts_per_zone: float):
        self.root = root
        shutil.copytree(sysfs_fixture("intel-2s-dram"), root, symlinks=True)
        self.files = [p for p in root.rglob("energy_uj") if not p.is_symlink()]
        self.step = int(watts_per_zone * 1e6 * 0.05)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.05):
            for path in self.files:
                with open(path, "r+") as f:
                    value = int(f.read().strip() or 0) + self.step
                    f.seek(0)
                    f.write(f"{value}\n")
                    f.truncate()


@pytest.fixture
def ticking_rapl(tmp_path):
    tree = TickingRapl(tmp_path / "sys", watts_per_zone=10.0)
    yield tree
    tree.stop.set()
    tree.thread.join()


async def test_rapl_fixture_tree(jp_configurable_serverapp, jp_server_config, ticking_rapl):
    """With a RAPL tree whose counters advance, figures come from RAPL, DRAM is reported
    beside the CPU, and the system scope gets the whole machine."""
    jp_server_config["PowerUsageDisplay"].update(
        {"sysfs_path": str(ticking_rapl.root), "measurement_scope": "system"}
    )
    app = jp_configurable_serverapp(config=jp_server_config)
    service = app.web_app.settings["jupyter_power_usage_service"]
    assert service.error is None, service.error
    deadline = time.monotonic() + 10
    snap = None
    while time.monotonic() < deadline:
        snap = service.snapshot()
        if snap and "cpu" in snap and snap["cpu"]["total"] > 0:
            break
        time.sleep(0.05)
    assert snap and "cpu" in snap, snap
    assert snap["cpu"]["source"] == "rapl"
    assert snap["dram"]["source"] == "rapl"
    assert snap["cpu"]["total"] > snap["dram"]["total"] > 0
    assert snap["cpu"]["usage"] == pytest.approx(snap["cpu"]["total"], rel=1e-3)


async def test_refuses_without_token(jp_fetch):
    for path in (
        API,
        API + "/history",
        API + "/kernels",
        "api/metrics/v1/emission_factor/emaps/v3/x",
    ):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(path, headers={"Authorization": ""})
        assert err.value.code == 403, path
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(path, headers={"Authorization": "token not-the-token"})
        assert err.value.code == 403, path


async def test_history_with_and_without_since(jp_fetch):
    await first_sample(jp_fetch)
    time.sleep(0.7)
    everything = await get_json(jp_fetch, API, "history")
    assert everything["interval_s"] == pytest.approx(0.2, rel=0.5)
    samples = everything["samples"]
    assert len(samples) >= 3
    times = [s["t"] for s in samples]
    assert times == sorted(times)
    for s in samples:
        assert isinstance(s["time"], str)
        assert s["cpu"] >= 0 and s["cpu_total"] >= s["cpu"]
        assert "gpu" not in s or s["gpu"] is None
    since = times[-2]
    recent = await get_json(jp_fetch, API, "history", params={"since": str(since)})
    assert recent["samples"], "the newest sample is after since"
    assert all(s["t"] > since for s in recent["samples"])
    assert len(recent["samples"]) < len(samples)
    future = await get_json(jp_fetch, API, "history", params={"since": str(time.time() + 3600)})
    assert future["samples"] == []


@pytest.mark.parametrize("since", ["yesterday", "nan", "-5", "1e999", "12abc"])
async def test_history_bad_since_is_400(jp_fetch, since):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(API, "history", params={"since": since})
    assert err.value.code == 400
    body = json.loads(err.value.response.body)
    assert "since" in body["message"]


async def test_prometheus_metrics(jp_fetch):
    await first_sample(jp_fetch)
    text = (await jp_fetch("metrics")).body.decode()
    names = {
        line.split("{")[0].split(" ")[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert "jpu_engine_up" in names
    power = [n for n in names if n.startswith("jpu_") and n.endswith("_watts")]
    energy = [n for n in names if n.startswith("jpu_") and n.endswith("_joules_total")]
    assert power, names
    assert energy, names
    # jupyter_server's own series are still there: we add to its registry, not replace it.
    assert "jupyter_server_started_timestamp_seconds" in names


@pytest.mark.parametrize("power_config", [{"sample_interval": 3600.0}], indirect=True)
async def test_before_first_sample(jp_fetch):
    """A sample needs two readings; until then: 200, time null, no cpu key, diagnostics."""
    body = await get_json(jp_fetch, API)
    assert body["time"] is None
    assert "cpu" not in body and "gpu" not in body
    assert any(d["sensor"] == "rapl" for d in body["diagnostics"])


@pytest.fixture
def daemon_socket(tmp_path):
    import socket

    path = str(tmp_path / "jpud.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    yield path
    sock.close()


@pytest.fixture
def dead_daemon_config(jp_server_config, daemon_socket):
    jp_server_config["PowerUsageDisplay"]["daemon_socket"] = daemon_socket
    return jp_server_config


async def test_daemon_socket_falls_back_in_process(
    capfd, dead_daemon_config, daemon_socket, jp_serverapp, jp_fetch
):
    """A socket where nothing answers (bound, not listening): the server samples in-process,
    and says so in the log and in every answer's origin, with the reason."""
    # Logged during start-up, when the server's log still writes to stderr.
    err = capfd.readouterr().err
    assert f"jpud socket {daemon_socket}" in err and "sampling in-process" in err, err
    service = jp_serverapp.web_app.settings["jupyter_power_usage_service"]
    assert service.error is None and service.engine is not None and not service.on_daemon
    body = await first_sample(jp_fetch)
    origin = body["origin"]
    assert origin["kind"] == "server" and origin["label"] == "this Jupyter server"
    assert origin["socket"] == daemon_socket
    assert "connection refused" in origin["reason"].lower() or "jpud" in origin["reason"]
    # the VM fixture: estimated, and nothing on this machine could measure
    assert body["cpu"]["source"] == "estimate"
    assert origin["action"] is None and "no power sensor" in origin["note"]
