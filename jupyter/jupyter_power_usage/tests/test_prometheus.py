"""jupyter_server's /metrics carries the engine's own series: the names, types and labels of the
engine's metric table (the ones jpu and jpud write), none re-declared by the extension, per-kernel
series included, and promtool accepts the whole page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from .conftest import first_sample, sysfs_fixture, wait_for

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
# The one series the server adds: whether it has an engine at all (none: no engine text).
SERVER_ONLY = {"jpu_engine_up", "jpu_daemon_up"}


@pytest.fixture
def power_config():
    # A machine with RAPL packages and DRAM: CPU, DRAM and energy series all present.
    return {"sysfs_path": sysfs_fixture("intel-2s-dram")}


def families(text: str) -> dict[str, str]:
    """{name: type} of the jpu_ families declared by `# TYPE` lines."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[:2] == ["#", "TYPE"] and parts[2].startswith("jpu_"):
            out[parts[2]] = parts[3]
    return out


def series(text: str) -> set[tuple[str, frozenset]]:
    """The jpu_ series of a page: name and label set of every sample line."""
    out = set()
    for line in text.splitlines():
        if not line.startswith("jpu_"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(match.group(2) or ""))
        out.add((match.group(1), labels))
    return out


def line_name(line: str) -> str:
    """The metric a line is about: `# HELP/TYPE name ...` or `name{labels} value`."""
    if line.startswith("#"):
        parts = line.split()
        return parts[2] if len(parts) > 2 else ""
    return re.split(r"[{\s]", line, maxsplit=1)[0]


def server_only_removed(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line_name(line) not in SERVER_ONLY)


async def scrape(jp_fetch) -> str:
    return (await jp_fetch("metrics")).body.decode()


def promtool(text: str) -> subprocess.CompletedProcess:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return subprocess.run(
        [path, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


def promtool_check(page: str) -> None:
    """promtool accepts our series, and the page as a whole parses.

    The jpu_ part must pass the lint too. The whole page may carry lint findings (exit 3,
    never a parse failure) about jupyter_server's own series only: its gauges
    kernel_currently_running_total and terminal_currently_running_total end in _total.
    """
    ours = "\n".join(line for line in page.splitlines() if line_name(line).startswith("jpu_"))
    done = promtool(ours + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    done = promtool(page)
    findings = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode in (0, 3), findings
    assert not [f for f in findings if "jpu_" in f], findings


def assert_same_as_engine(page: str, engine_text: str) -> None:
    mine = server_only_removed(page)
    assert families(mine) == families(engine_text)
    assert series(mine) == series(engine_text)


async def test_metrics_are_the_engines(jp_fetch, jp_serverapp):
    await first_sample(jp_fetch)
    svc = jp_serverapp.web_app.settings["jupyter_power_usage_service"]
    page = await scrape(jp_fetch)
    engine_text = svc.engine.prometheus()
    assert {"jpu_cpu_power_watts", "jpu_energy_joules_total"} <= set(families(engine_text))
    assert_same_as_engine(page, engine_text)
    assert ("jpu_engine_up", frozenset()) in series(page)
    promtool_check(page)


async def test_kernel_series_are_the_engines(jp_fetch, jp_serverapp):
    """A tracked kernel appears under the engine's tracked-tree names, labelled by its id."""
    await first_sample(jp_fetch)
    svc = jp_serverapp.web_app.settings["jupyter_power_usage_service"]
    model = json.loads((await jp_fetch("api/kernels", method="POST", body="{}")).body)
    try:

        async def tracked():
            return any(t["tag"] == model["id"] for t in svc.engine.tracked())

        await wait_for(tracked, timeout=30)
        page = await scrape(jp_fetch)
        engine_text = svc.engine.prometheus()
        assert ("jpu_tracked_energy_joules_total", "counter") in families(engine_text).items()
        assert_same_as_engine(page, engine_text)
        assert (
            "jpu_tracked_energy_joules_total",
            frozenset({("tag", model["id"]), ("part", "cpu")}),
        ) in series(page)
        promtool_check(page)
    finally:
        await jp_fetch("api/kernels", model["id"], method="DELETE")


async def test_unusable_engine_text_adds_nothing_of_its_own(jp_fetch, jp_serverapp, monkeypatch):
    """If the engine's text cannot be read, /metrics says the engine is up and invents nothing."""
    await first_sample(jp_fetch)
    svc = jp_serverapp.web_app.settings["jupyter_power_usage_service"]

    class Broken:
        def __getattr__(self, name):
            return getattr(engine, name)

        def prometheus(self):
            return "this is { not prometheus text\n"

    engine = svc.engine
    monkeypatch.setattr(svc, "engine", Broken())
    page = await scrape(jp_fetch)
    assert {name for name, _ in series(page)} == {"jpu_engine_up", "jpu_daemon_up"}
    assert "jpu_engine_up 1.0" in page
    promtool_check(page)
