"""One source per notebook: a real ipykernel started by the server measures ``%%energy`` with the
server's roots and carbon settings, so the cell reports the power source and the intensity of
``/api/metrics/v1/power_usage``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import threading

import pytest

from ..handoff import HANDED_ENV, KernelHandoff
from .conftest import API, first_sample, get_json, sysfs_fixture, wait_for

MARK = "JPU-RESULT "
CELL = f"""
import json, os
ip = get_ipython()
ip.run_line_magic("load_ext", "jpu")
# half a second: long enough for the ticking fixture to move between two
# samples on a loaded machine (a cell shorter than a counter step has no cpu)
ip.run_cell_magic(
    "energy", "--interval 0.05", "import time\\nsum(i * i for i in range(200000))\\ntime.sleep(0.5)"
)
m = ip.magics_manager.registry["EnergyMagics"].last
print({MARK!r} + json.dumps({{
    "power_source": m.power_source,
    "source": m.source,
    "intensity": m.intensity_g_per_kwh,
    "zone": m.zone,
    "origin": m.settings_origin,
    "daemon_socket": m.daemon_socket,
    "messages": m.messages,
    "env": {{k: v for k, v in os.environ.items() if k.startswith("JPU_")}},
    "token_in_env": any("handoff-secret" in v for v in os.environ.values()),
}}))
"""


async def kernel_measure(jp_fetch, jp_serverapp) -> tuple[dict, list[str]]:
    """Start a kernel through the REST API, run %%energy in it; its report and output lines."""
    kernel = await get_json(
        jp_fetch, "api/kernels", method="POST", body=json.dumps({"name": "python3"})
    )
    client = jp_serverapp.kernel_manager.get_kernel(kernel["id"]).client()
    lines: list[str] = []

    def output(msg):
        if msg["msg_type"] == "stream":
            lines.extend(msg["content"]["text"].splitlines())
        elif msg["msg_type"] == "error":
            lines.append("ERROR " + "\n".join(msg["content"]["traceback"]))

    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(CELL, timeout=60, output_hook=output)
    finally:
        client.stop_channels()
        await jp_fetch("api/kernels", kernel["id"], method="DELETE")
    assert reply["content"]["status"] == "ok", lines
    results = [json.loads(line[len(MARK) :]) for line in lines if line.startswith(MARK)]
    assert len(results) == 1, lines
    return results[0], lines


class TickingTree:
    """A copy of a RAPL fixture whose counters advance by 10 W per zone, as a machine's do."""

    def __init__(self, source: str, root: str):
        shutil.copytree(source, root, symlinks=True)
        self.root = root
        self.files = [
            os.path.join(d, "energy_uj")
            for d, _, files in os.walk(root)
            if "energy_uj" in files and not os.path.islink(os.path.join(d, "energy_uj"))
        ]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.wait(0.02):
            for path in self.files:
                with open(path, "r+") as f:
                    value = int(f.read().strip() or 0) + 200_000
                    f.seek(0)
                    f.write(f"{value}\n")
                    f.truncate()

    def stop(self):
        self.stopping.set()
        self.thread.join()


@pytest.mark.parametrize(
    "power_config",
    [{"ticking_rapl": True, "carbon_provider": "constant", "carbon_intensity": 123.0}],
    indirect=True,
)
async def test_energy_cell_reports_the_servers_source_and_intensity(
    jp_fetch, jp_serverapp, power_config
):
    sample = await first_sample(jp_fetch)
    assert sample["cpu"]["source"] == "rapl"  # the fixture, not this machine's sensors
    emissions = sample["emissions"]

    result, lines = await kernel_measure(jp_fetch, jp_serverapp)

    # Without the handoff, the kernel would read this machine's /sys (the estimate) and the
    # World average of the country table.
    assert result["power_source"] == sample["cpu"]["source"]
    assert result["source"] == emissions["source"] == "constant"
    assert result["intensity"] == pytest.approx(emissions["intensity_g_per_kwh"]) == 123.0
    assert result["origin"] == "server"
    summary = [line for line in lines if line.startswith("energy: ")]
    assert len(summary) == 1 and "estimated: no power sensor" not in summary[0], lines
    assert "at 123 g/kWh (constant" in summary[0]
    assert result["env"]["JPU_SYSFS"] == power_config["sysfs_path"]
    assert result["env"]["JPU_NVML"] == ""
    assert "JPU_DAEMON_SOCKET" not in result["env"] and result["daemon_socket"] is None


async def test_browser_carbon_settings_reach_running_kernels(jp_fetch, jp_serverapp):
    """The front end changes the carbon settings after the server started: kernels follow."""
    await get_json(
        jp_fetch,
        API,
        "carbon",
        method="PUT",
        body=json.dumps({"source": "table", "countryCode": "FR"}),
    )
    sample = await first_sample(jp_fetch)

    async def settled():
        s = await get_json(jp_fetch, API)
        return s if (s.get("emissions") or {}).get("zone") == "FR" else None

    sample = await wait_for(settled)
    result, _ = await kernel_measure(jp_fetch, jp_serverapp)
    assert result["zone"] == "FR"
    assert result["source"] == sample["emissions"]["source"]
    assert result["intensity"] == pytest.approx(sample["emissions"]["intensity_g_per_kwh"])


@pytest.fixture
def power_config(request, tmp_path, monkeypatch):
    """conftest's, plus with_socket: a listening Unix socket where the config says jpud is,
    ticking_rapl: sysfs_path a RAPL tree whose counters advance, token_env: the Electricity
    Maps token in the server's environment (JPU_EMAPS_TOKEN), as docs/carbon.md suggests."""
    settings = dict(getattr(request, "param", {}))
    if settings.pop("with_socket", False):
        path = str(tmp_path / "jpud.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(1)
        request.addfinalizer(sock.close)
        settings["daemon_socket"] = path
    if settings.pop("token_env", False):
        monkeypatch.setenv("JPU_EMAPS_TOKEN", "handoff-secret")
    if settings.pop("ticking_rapl", False):
        tree = TickingTree(sysfs_fixture("intel-2s-dram"), str(tmp_path / "sys"))
        request.addfinalizer(tree.stop)
        settings["sysfs_path"] = tree.root
    return settings


@pytest.mark.parametrize(
    "power_config",
    [{"with_socket": True, "carbon_provider": "table", "token_env": True}],
    indirect=True,
)
async def test_kernel_is_never_sent_to_a_dead_daemon_nor_given_the_token(
    jp_fetch, jp_serverapp, power_config
):
    await first_sample(jp_fetch)
    result, _ = await kernel_measure(jp_fetch, jp_serverapp)
    # a socket that never answers: the server samples in-process, and so does the cell, without
    # trying the dead socket again (the settings file says the server is not on jpud), and `jpu`
    # in the kernel is not sent to it either
    assert "JPU_DAEMON_SOCKET" not in result["env"]
    assert result["daemon_socket"] is None
    assert not any("jpud" in m for m in result["messages"]), result["messages"]
    body = await get_json(jp_fetch, API)
    assert body["origin"]["kind"] == "server" and "jpud" in body["origin"]["reason"]
    # The token reaches the kernel's engine through the 0600 file only, never its environment,
    # though the server had it in its own.
    assert jp_serverapp.web_app.settings["jupyter_power_usage_display"].emaps_access_token
    assert not result["token_in_env"]
    path = result["env"]["JPU_SETTINGS_FILE"]
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()
    with open(path) as f:
        assert json.load(f)["carbon"]["emaps_token"] == "handoff-secret"


def test_handoff_stop_restores_the_environment(tmp_path, monkeypatch):
    """Stopping the server gives the environment back as it was and removes the file."""

    class Cfg:
        sysfs_path = "/fixture/sys"
        procfs_path = "/proc"
        nvml_library = None
        daemon_socket = ""

    class Log:
        def warning(self, *args):
            raise AssertionError(args)

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JPU_NVML", "/opt/before/libnvidia-ml.so.1")
    monkeypatch.setenv("JPU_EMAPS_TOKEN", "before-secret")
    for name in HANDED_ENV:
        if name not in ("JPU_NVML", "JPU_EMAPS_TOKEN"):
            monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    handoff = KernelHandoff(Cfg(), Log(), 4242)
    handoff.start({"provider": "auto", "emaps_token": None})
    assert os.environ["JPU_SYSFS"] == "/fixture/sys"
    assert "JPU_NVML" not in os.environ  # None: the system's library, as in the server
    assert "JPU_EMAPS_TOKEN" not in os.environ
    assert os.environ["JPU_SETTINGS_FILE"] == str(tmp_path / "jpu-server-4242.json")
    assert stat.S_IMODE(os.stat(handoff.path).st_mode) == 0o600
    handoff.stop()
    assert dict(os.environ) == before
    assert not os.path.exists(handoff.path)
