"""Per-kernel energy with real ipykernels started, restarted and stopped through the REST API."""

from __future__ import annotations

import json
import os

from .conftest import API, get_json, wait_for

BUSY = "import time\nt = time.time()\nwhile time.time() - t < 1.5:\n    pass\n"


async def kernels(jp_fetch):
    return await get_json(jp_fetch, API, "kernels")


async def entry_for(jp_fetch, kernel_id):
    return {k["kernel_id"]: k for k in await kernels(jp_fetch)}.get(kernel_id)


async def run_code(jp_serverapp, kernel_id, code):
    client = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=30)
        reply = await client.execute_interactive(code, timeout=30)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()


async def test_kernel_lifecycle(jp_fetch, jp_serverapp, jp_root_dir):
    (jp_root_dir / "work.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    assert await kernels(jp_fetch) == []

    # A session starts the kernel and ties it to the notebook path.
    session = json.loads(
        (
            await jp_fetch(
                "api/sessions",
                method="POST",
                body=json.dumps(
                    {"path": "work.ipynb", "type": "notebook", "kernel": {"name": "python3"}}
                ),
            )
        ).body
    )
    kernel_id = session["kernel"]["id"]
    pid = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.process.pid

    async def tracked():
        e = await entry_for(jp_fetch, kernel_id)
        return e if e and e["pid"] == pid and e["alive"] else None

    entry = await wait_for(tracked)
    assert entry["name"] == "python3"
    assert entry["path"] == "work.ipynb"
    assert entry["note"] is None
    assert os.path.exists(f"/proc/{pid}")

    # Running code makes the kernel's energy grow.
    await wait_for(lambda: entry_for(jp_fetch, kernel_id))
    before = (await entry_for(jp_fetch, kernel_id))["energy_j"].get("total", 0.0)
    await run_code(jp_serverapp, kernel_id, BUSY)

    async def grew():
        e = await entry_for(jp_fetch, kernel_id)
        return e if e["energy_j"].get("total", 0.0) > before else None

    after = await wait_for(grew)
    assert after["power_w"] is not None

    # A renamed notebook shows its new path (read from the session manager per request).
    await jp_fetch(
        "api/sessions",
        session["id"],
        method="PATCH",
        body=json.dumps({"path": "renamed.ipynb"}),
    )
    assert (await entry_for(jp_fetch, kernel_id))["path"] == "renamed.ipynb"

    # Restart: same kernel_id, new pid, the tag keeps its total.
    total_before_restart = after["energy_j"]["total"]
    await jp_fetch("api/kernels", kernel_id, "restart", method="POST", body="{}")
    new_pid = jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.process.pid
    assert new_pid != pid

    async def retracked():
        e = await entry_for(jp_fetch, kernel_id)
        return e if e and e["pid"] == new_pid else None

    restarted = await wait_for(retracked)
    assert restarted["energy_j"]["total"] >= total_before_restart

    # Shutdown removes it.
    await jp_fetch("api/sessions", session["id"], method="DELETE")

    async def gone():
        return kernel_id not in {k["kernel_id"] for k in await kernels(jp_fetch)}

    await wait_for(gone)
    svc = jp_serverapp.web_app.settings["jupyter_power_usage_service"]
    assert kernel_id not in {t["tag"] for t in svc.engine.tracked()}


async def test_kernel_tracked_from_start_event(jp_fetch, jp_serverapp):
    """The event bus listener tracks a kernel without anybody listing kernels first."""
    model = json.loads((await jp_fetch("api/kernels", method="POST", body="{}")).body)
    svc = jp_serverapp.web_app.settings["jupyter_power_usage_service"]

    async def tracked():
        return any(t["tag"] == model["id"] for t in svc.engine.tracked())

    await wait_for(tracked)
    await jp_fetch("api/kernels", model["id"], method="DELETE")

    async def untracked():
        return not any(t["tag"] == model["id"] for t in svc.engine.tracked())

    await wait_for(untracked)


async def test_kernel_metrics(jp_fetch, jp_serverapp):
    model = json.loads((await jp_fetch("api/kernels", method="POST", body="{}")).body)
    await wait_for(lambda: entry_for(jp_fetch, model["id"]))

    async def exported():
        text = (await jp_fetch("metrics")).body.decode()
        # The engine's writer labels tracked trees by tag (the kernel id).
        return any(
            line.startswith("jpu_tracked_energy_joules_total") and f'tag="{model["id"]}"' in line
            for line in text.splitlines()
        )

    await wait_for(exported)
    await jp_fetch("api/kernels", model["id"], method="DELETE")
