"""Power, energy and CO2 of CPU, DRAM and GPUs, per process tree, user or system.

A thin binding over libjpu (see docs/python-api.md). Units: watts (W) and
joules (J) in the returned dicts, seconds for intervals.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
from typing import Any

from . import _jpu
from .daemon import DaemonClient, DaemonError

__all__ = [
    "Engine",
    "DaemonClient",
    "DaemonError",
    "Measurement",
    "measure",
    "SCOPES",
    "IDLE_POLICIES",
    "__version__",
]

__version__ = _jpu.version()

SCOPES = {"system": 0, "sys": 0, "user": 1, "process": 2}
IDLE_POLICIES = {"none": 0, "busy": 1, "even": 2}

_log = logging.getLogger("jpu")
_LEVELS = {3: logging.ERROR, 4: logging.WARNING, 6: logging.INFO, 7: logging.DEBUG}


def _forward_log(level: int, message: str) -> None:
    _log.log(_LEVELS.get(level, logging.INFO), "%s", message)


_jpu.set_log(_forward_log)
# An engine left running at exit must not take the GIL of an interpreter that is shutting
# down to log a line: from here on its lines are dropped.
atexit.register(_jpu.set_log, None)


class Engine:
    """One sampling engine.

    scope: "system", "user" or "process" ("sys" is the original extension's spelling).
    pid: root of the process tree (process scope; default this process).
    uid: the user (user scope; default this user).
    sysfs, procfs: roots to read (defaults /sys and /proc; fixture trees in tests).
    nvml: NVML library to load (None = libnvidia-ml.so.1, "" = no GPU).
    interval: seconds between samples (default 1.0).
    idle_policy: "none" (idle power reported apart), "busy" or "even".
    history: number of samples kept for plots (default 3600).
    sensors: comma-separated backends to probe (None = all real ones).
    state_file: file keeping cumulative energy across restarts; one engine per file (OSError
        EBUSY while another engine holds it); a file that cannot be loaded is moved to
        <file>.corrupt-<UTC time>, never overwritten.
    ncpu: vCPUs the estimate counts (a container's CPU quota; None = from cpuinfo).
    mem_bytes: cap on the memory the estimate counts in use, in bytes (a container's
        memory limit; None = none). Measured sensors ignore ncpu and mem_bytes.
    carbon: carbon settings, as for set_carbon() (None = auto: the World average
        of the country table until a country is given).
    """

    def __init__(
        self,
        scope: str = "system",
        pid: int | None = None,
        uid: int | None = None,
        sysfs: str | None = None,
        procfs: str | None = None,
        nvml: str | None = None,
        interval: float = 1.0,
        idle_policy: str = "none",
        history: int = 3600,
        sensors: str | None = None,
        state_file: str | os.PathLike | None = None,
        carbon: dict | None = None,
        ncpu: int | None = None,
        mem_bytes: int | None = None,
    ) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope: expected one of system, user, process; got {scope!r}")
        if idle_policy not in IDLE_POLICIES:
            raise ValueError(f"idle_policy: expected none, busy or even; got {idle_policy!r}")
        try:
            interval = float(interval)
        except (TypeError, ValueError):
            raise ValueError(f"interval: expected seconds, got {interval!r}") from None
        if not 0.01 <= interval <= 3600:
            raise ValueError(f"interval: {interval} s is outside 0.01 .. 3600 s")
        if history is None or int(history) < 1:
            raise ValueError(f"history: expected a positive number of samples, got {history!r}")
        if ncpu is not None and not 1 <= int(ncpu) <= 65535:
            raise ValueError(f"ncpu: expected a number of vCPUs from 1, got {ncpu!r}")
        if mem_bytes is not None and int(mem_bytes) < 1:
            raise ValueError(f"mem_bytes: expected a positive number of bytes, got {mem_bytes!r}")
        self.scope = "system" if scope == "sys" else scope
        self.interval = interval
        self._e = _jpu.Engine(
            scope=SCOPES[scope],
            pid=int(pid or 0),
            uid=-1 if uid is None else int(uid),
            sysfs=None if sysfs is None else os.fspath(sysfs),
            procfs=None if procfs is None else os.fspath(procfs),
            nvml=nvml,
            interval_usec=int(round(interval * 1e6)),
            idle_policy=IDLE_POLICIES[idle_policy],
            history=int(history),
            sensors=sensors,
            state_file=None if state_file is None else os.fspath(state_file),
            ncpu=int(ncpu or 0),
            mem_bytes=int(mem_bytes or 0),
        )
        if carbon:
            self.set_carbon(**carbon)

    def set_carbon(
        self,
        provider: str | None = "auto",
        country: str | None = None,
        postcode: str | None = None,
        intensity: float | None = None,
        pue: float = 1.0,
        emaps_token: str | None = None,
        urls: dict | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Choose where grid carbon intensity comes from (docs/carbon.md).

        provider: "auto", "rte", "gb", "emaps", "table", "constant" or a chain "gb,table".
        country: ISO 3166-1 alpha-2 code; postcode: GB outward postcode.
        intensity: g/kWh for the constant provider (default 475).
        pue: power usage effectiveness of the data centre (>= 1).
        emaps_token: Electricity Maps token (kept in the engine, never logged).
        urls: {"rte": "http://...", ...} base URL overrides (mirrors, tests).
        Emissions counted so far are kept.
        """
        if intensity is not None and not 0 <= float(intensity) <= 3000:
            raise ValueError(f"intensity: {intensity} g/kWh is outside 0 .. 3000")
        if not 1.0 <= float(pue) <= 10.0:
            raise ValueError(f"pue: {pue} is outside 1.0 .. 10.0")
        if provider is None or (intensity is not None and provider == "auto"):
            provider = "constant" if intensity is not None else "auto"
        self._e.set_carbon(
            provider=provider,
            country=country or None,
            postcode=postcode or None,
            intensity_mg_per_kwh=int(round(float(intensity) * 1000)) if intensity else 0,
            pue_milli=int(round(float(pue) * 1000)),
            emaps_token=emaps_token or None,
            urls=tuple(f"{k}={v}" for k, v in (urls or {}).items()),
            timeout_usec=int(max(0.001, float(timeout)) * 1e6),
        )

    # lifecycle
    def start(self) -> None:
        """Start the background sampler thread (idempotent)."""
        self._e.start()

    def stop(self) -> None:
        """Stop the sampler thread and wait for it."""
        self._e.stop()

    def close(self) -> None:
        """Stop sampling and release the engine.

        Safe while other threads use the engine: it waits for their calls in progress (a
        wait() at most its timeout); calls made after it began raise ValueError.
        """
        self._e.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # samples
    def sample(self) -> bool:
        """Take one sample now; True when it produced one (the first call sets the baseline)."""
        return bool(self._e.sample())

    def wait(self, seq: int = 0, timeout: float = 2.0) -> int | None:
        """Wait for a sample newer than seq; its sequence number, or None on timeout."""
        return self._e.wait(int(seq), int(max(0.0, timeout) * 1e6))

    def snapshot(self) -> dict | None:
        """The latest sample (DESIGN section 3) as a dict, None before the first."""
        text = self._e.json()
        return None if text is None else json.loads(text)

    def snapshot_json(self) -> str | None:
        """The latest sample as the engine's own JSON text (no parse; for servers), or None."""
        return self._e.json()

    def history(self, since: float = 0.0) -> dict:
        """Samples newer than `since` (epoch seconds) for plots."""
        return json.loads(self._e.history_json(int(max(0.0, float(since)) * 1e6)))

    def diagnostics(self) -> list:
        """Why sensors are not used, and how to fix it."""
        return json.loads(self._e.diagnostics_json())

    def prometheus(self) -> str:
        """The latest sample in Prometheus text format."""
        return self._e.prometheus()

    # tracked process trees
    def track(self, pid: int, tag: str) -> None:
        """Follow the process tree rooted at pid under tag (a kernel id)."""
        self._e.track(int(pid), str(tag))

    def untrack(self, tag: str) -> None:
        """Forget tag (KeyError when unknown)."""
        self._e.untrack(str(tag))

    def tracked(self) -> list:
        """Energy and power of each tracked tree."""
        return json.loads(self._e.tracked_json())


# Placed after Engine, which measure uses.
from .measure import Measurement, measure  # noqa: E402


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext jpu`` registers the ``%%energy`` cell magic (jpu/ipython.py)."""
    from .ipython import load_ipython_extension as load

    load(ip)
