"""Fixtures for the server extension's tests: a real jupyter server (pytest-jupyter) with the
extension enabled, reading sysfs from the repository's fixture trees and the real /proc."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"
PROVIDER_RESPONSES = FIXTURES / "provider-responses"

API = "api/metrics/v1/power_usage"


def sysfs_fixture(scenario: str) -> str:
    path = FIXTURES / scenario / "sys"
    # committed fixtures: a missing one is a failure, never a skip
    assert path.is_dir(), f"committed fixture tree {path} is missing"
    return str(path)


def provider_response(name: str) -> Path:
    path = PROVIDER_RESPONSES / name
    assert path.is_file(), f"committed provider response {path} is missing"
    return path


@pytest.fixture
def power_config(request):
    """PowerUsageDisplay settings of the server under test; parametrize (indirect) to change."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def jp_server_config(power_config):
    settings = {
        "sysfs_path": sysfs_fixture("vm-empty"),
        "procfs_path": "/proc",
        "nvml_library": "",
        "sample_interval": 0.2,
        # never a jpud that happens to run on the machine: tests that want one start it
        "daemon_socket": "",
    }
    settings.update(power_config)
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_power_usage": True}},
        "PowerUsageDisplay": settings,
    }


async def get_json(jp_fetch, *parts, **kwargs):
    response = await jp_fetch(*parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def wait_for(predicate, timeout=10.0, interval=0.1):
    """Poll an async predicate until it returns a truthy value (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


async def first_sample(jp_fetch, timeout=10.0):
    async def ready():
        body = await get_json(jp_fetch, API)
        return body if body.get("time") else None

    return await wait_for(ready, timeout)
