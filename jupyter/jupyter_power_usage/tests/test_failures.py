"""The server starts even when the engine cannot, and refuses to start on invalid settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import API


@pytest.fixture
def power_config(tmp_path, request):
    cfg = {"procfs_path": str(tmp_path / "empty-proc")}
    (tmp_path / "empty-proc").mkdir()
    cfg.update(getattr(request, "param", {}))
    return cfg


async def test_engine_failure_is_503_with_reason(jp_fetch, tmp_path):
    # The server is up: its own API answers.
    status = json.loads((await jp_fetch("api/status")).body)
    assert "started" in status
    for path in (API, API + "/history", API + "/kernels"):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(path)
        assert err.value.code == 503, path
        body = json.loads(err.value.response.body)
        assert str(tmp_path / "empty-proc") in body["error"]
        assert "No such file or directory" in body["error"]
        assert isinstance(body["diagnostics"], list)
        assert body["origin"]["kind"] == "server" and body["origin"]["socket"] is None
    metrics = (await jp_fetch("metrics")).body.decode()
    assert "jpu_engine_up 0.0" in metrics


@pytest.mark.parametrize(
    "setting,value",
    [
        ("measurement_scope", "bogus"),
        ("sample_interval", -1.0),
        ("sample_interval", 0.0),
        ("sample_interval", 7200.0),
        ("idle_policy", "sometimes"),
        ("history_length", 0),
    ],
)
def test_invalid_setting_stops_server(jp_configurable_serverapp, jp_server_config, setting, value):
    jp_server_config["PowerUsageDisplay"][setting] = value
    with pytest.raises(SystemExit) as exc:
        jp_configurable_serverapp(config=jp_server_config)
    assert exc.value.code == 1


@pytest.mark.parametrize(
    "argument,trait",
    [
        ("--PowerUsageDisplay.measurement_scope=bogus", "measurement_scope"),
        ("--PowerUsageDisplay.sample_interval=-1", "sample_interval"),
    ],
)
def test_real_server_refuses_to_start(tmp_path, argument, trait):
    """A real `jupyter server` process exits non-zero and names the trait."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": ":".join(p for p in sys.path if p),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--port=0",
            f"--ServerApp.root_dir={tmp_path}",
            "--ServerApp.jpserver_extensions=jupyter_power_usage=True",
            argument,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert f"PowerUsageDisplay.{trait}" in proc.stderr
