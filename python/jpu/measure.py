"""Energy, power and CO2 of a block of code: ``with jpu.measure() as m: ...``.

Measures this process and its children (scope ``process``, pid ``os.getpid()``): in a Jupyter
kernel, the kernel's own process tree. A sample is taken when the block starts and when it ends,
besides the background ones every ``interval`` seconds, so a block shorter than one interval
still gets a figure.

In a kernel started by a Jupyter server with jupyter-power-usage, the server hands its own
settings over (jupyter/jupyter_power_usage/handoff.py), so the cell measures like the top bar:
the sysfs/procfs roots and NVML library from ``JPU_SYSFS``, ``JPU_PROCFS`` and ``JPU_NVML``, the
carbon settings in force (token included) from the 0600 JSON file ``JPU_SETTINGS_FILE`` names,
read at each measurement since the front end may change them, and ``JPU_DAEMON_SOCKET`` when the
server uses the node daemon jpud.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import time
from typing import Any

ENV_COUNTRY = "JPU_COUNTRY"
ENV_PROVIDER = "JPU_CARBON_PROVIDER"
ENV_INTENSITY = "JPU_CARBON_INTENSITY"
ENV_PUE = "JPU_PUE"
ENV_TOKEN = "JPU_EMAPS_TOKEN"
# Handed over by the Jupyter server to its kernels (handoff.py of the extension).
ENV_SYSFS = "JPU_SYSFS"
ENV_PROCFS = "JPU_PROCFS"
ENV_NVML = "JPU_NVML"
ENV_DAEMON_SOCKET = "JPU_DAEMON_SOCKET"
ENV_SETTINGS_FILE = "JPU_SETTINGS_FILE"
SETTINGS_VERSION = 1
CARBON_KEYS = (
    "provider",
    "country",
    "postcode",
    "intensity",
    "pue",
    "emaps_token",
    "urls",
    "timeout",
)
MAX_SETTINGS_BYTES = 65536


def carbon_from_env(
    country: str | None = None,
    provider: str | None = None,
    intensity: float | None = None,
    pue: float | None = None,
) -> dict:
    """Engine.set_carbon() keywords: the arguments given, else JPU_COUNTRY,
    JPU_CARBON_PROVIDER, JPU_CARBON_INTENSITY, JPU_PUE and JPU_EMAPS_TOKEN, else the engine's
    defaults (auto: the World average of the country table)."""
    env = os.environ
    country = country or env.get(ENV_COUNTRY) or None
    provider = provider or env.get(ENV_PROVIDER) or "auto"
    if intensity is None and env.get(ENV_INTENSITY):
        try:
            intensity = float(env[ENV_INTENSITY])
        except ValueError:
            raise ValueError(
                f"{ENV_INTENSITY}: {env[ENV_INTENSITY]!r} is not a number of g/kWh"
            ) from None
    if pue is None and env.get(ENV_PUE):
        try:
            pue = float(env[ENV_PUE])
        except ValueError:
            raise ValueError(f"{ENV_PUE}: {env[ENV_PUE]!r} is not a number") from None
    return {
        "provider": provider,
        "country": country.upper() if country else None,
        "intensity": intensity,
        "pue": 1.0 if pue is None else pue,
        "emaps_token": env.get(ENV_TOKEN) or None,
    }


def server_settings(notes: list[str]) -> dict | None:
    """The settings file of the Jupyter server that started this process (JPU_SETTINGS_FILE),
    parsed, or None when there is none or it cannot be used (why: in notes).

    The file must belong to this account and be readable by it alone: it may hold the
    Electricity Maps token, and settings anyone else could write are not the server's."""
    path = os.environ.get(ENV_SETTINGS_FILE)
    if not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        notes.append(
            f"the Jupyter server's settings ({ENV_SETTINGS_FILE}={path}) cannot be read: "
            f"{exc.strerror}; carbon settings from the arguments and JPU_* variables"
        )
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            notes.append(
                f"ignoring {path}: not a regular file of this account with mode 0600; carbon "
                "settings from the arguments and JPU_* variables"
            )
            return None
        text = f.read(MAX_SETTINGS_BYTES + 1)
    try:
        data = json.loads(text) if len(text) <= MAX_SETTINGS_BYTES else None
    except ValueError:
        data = None
    carbon = data.get("carbon") if isinstance(data, dict) else None
    if not isinstance(carbon, dict) or data.get("version") != SETTINGS_VERSION:
        notes.append(f"ignoring {path}: not a jupyter-power-usage settings file of version 1")
        return None
    return data


def server_carbon(notes: list[str], settings: Any = False) -> dict | None:
    """The carbon settings in force on the Jupyter server that started this process, or None
    (server_settings; settings: its result when already read)."""
    data = server_settings(notes) if settings is False else settings
    if data is None:
        return None
    carbon = data["carbon"]
    return {k: carbon[k] for k in CARBON_KEYS if k in carbon}


def server_daemon_socket(settings: dict | None) -> str | None:
    """The jpud socket a cell measures through: the one the Jupyter server reads now (its
    settings file says so, null while it samples in-process), else JPU_DAEMON_SOCKET."""
    if settings is not None and "daemon_socket" in settings:
        path = settings["daemon_socket"]
        return path if isinstance(path, str) and path else None
    return os.environ.get(ENV_DAEMON_SOCKET) or None


def resolve_carbon(
    country: str | None,
    provider: str | None,
    intensity: float | None,
    pue: float | None,
    notes: list[str],
    settings: Any = False,
) -> tuple[dict, str]:
    """Engine.set_carbon() keywords and where they come from: "server" (the Jupyter server's
    settings in force, with the arguments given on top) or "environment" (carbon_from_env).
    settings: server_settings()'s result when already read."""
    carbon = server_carbon(notes, settings)
    if carbon is None:
        return carbon_from_env(country, provider, intensity, pue), "environment"
    if provider:
        carbon["provider"] = provider
    elif intensity is not None:
        carbon["provider"] = "constant"
    elif country:
        carbon["provider"] = "auto"  # the server's provider may be another country's (rte, gb)
    if country:
        carbon["country"] = country.upper()
        carbon["postcode"] = None
    if intensity is not None:
        carbon["intensity"] = intensity
    if pue is not None:
        carbon["pue"] = pue
    return carbon, "server"


def engine_options_from_env(options: dict) -> dict:
    """The Engine keywords given, completed with the roots and NVML library from JPU_SYSFS,
    JPU_PROCFS and JPU_NVML (set: "" means no GPU)."""
    out = dict(options)
    env = os.environ
    for key, name in (("sysfs", ENV_SYSFS), ("procfs", ENV_PROCFS)):
        if key not in out and env.get(name):
            out[key] = env[name]
    if "nvml" not in out and ENV_NVML in env:
        out["nvml"] = env[ENV_NVML]
    return out


def format_mass(grams: float | None) -> str:
    """CO2 mass with a unit that keeps a few significant digits: µg, mg, g, kg."""
    if grams is None or not math.isfinite(grams):
        return "unknown"
    for unit, scale in (("kg", 1e3), ("g", 1.0), ("mg", 1e-3)):
        if grams >= scale:
            return f"{grams / scale:.3g} {unit}"
    return f"{grams / 1e-6:.3g} µg"


def format_energy(joules: float) -> str:
    if joules >= 3.6e6:
        return f"{joules / 3.6e6:.3g} kWh"
    if joules >= 3600:
        return f"{joules / 3600:.3g} Wh"
    return f"{joules:.3g} J"


class _Capture(logging.Handler):
    """Keeps the engine's log lines (sensors skipped...) on the measurement instead of letting
    logging's last-resort handler print them into the notebook."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.INFO)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Measurement:
    """What one measured block used. Attributes are None until the block has ended.

    energy_j: energy attributed to the process tree, J (CPU + DRAM + GPU).
    energy_parts_j: {"cpu", "dram", "gpu", "total"} in J.
    duration_s: wall-clock time of the block, s.
    power_w: average power over the block, W.
    co2_g: CO2-equivalent emitted, g (None when no intensity was known).
    intensity_g_per_kwh, source, zone, basis: the grid intensity used and where it came from.
    estimated: True when the power or the intensity is an estimate (power_estimated: no power
        sensor; intensity_estimated: an annual average, a constant or a modelled value).
    power_source: "rapl", "hwmon", "perf", "nvml" or "estimate".
    settings_origin: "server" when the carbon settings are the Jupyter server's (in a kernel it
        started), else "environment".
    daemon_socket: the node daemon jpud's socket, or None: in a kernel, the one its Jupyter
        server reads now (its settings file says so), else JPU_DAEMON_SOCKET. When it is set
        the block is measured by jpud (the tree is tracked under a tag for the block's length,
        with the daemon's sensors and carbon settings: settings_origin "daemon"); when the
        daemon cannot be read, in this process, with a message saying why. A block measured
        by jpud ends at the daemon's next sample, up to one daemon interval (1 s) after it.
    messages: why a setting or sensor is not used (the engine's log lines included).
    """

    def __init__(
        self,
        pid: int | None = None,
        interval: float = 0.1,
        country: str | None = None,
        provider: str | None = None,
        intensity: float | None = None,
        pue: float | None = None,
        **engine_options: Any,
    ) -> None:
        self.pid = os.getpid() if pid is None else int(pid)
        self.interval = interval
        self.messages: list[str] = []
        settings = server_settings(self.messages)
        self.carbon, self.settings_origin = resolve_carbon(
            country, provider, intensity, pue, self.messages, settings
        )
        self.engine_options = engine_options_from_env(engine_options)
        self.daemon_socket = server_daemon_socket(settings)
        # the DaemonClient while the block is measured through jpud, else None
        self.daemon: Any = None
        self.fallback: str | None = None  # why jpud was named but not read
        self._tag = ""
        self.engine: Any = None
        self.energy_j: float | None = None
        self.energy_parts_j: dict | None = None
        self.duration_s: float | None = None
        self.power_w: float | None = None
        self.co2_g: float | None = None
        self.intensity_g_per_kwh: float | None = None
        self.source: str | None = None
        self.zone: str | None = None
        self.basis: str | None = None
        self.estimated: bool | None = None
        self.power_estimated: bool | None = None
        self.intensity_estimated: bool | None = None
        self.power_source: str | None = None
        self._capture: _Capture | None = None
        self._t0 = 0.0
        self._e0: dict = {}
        self._g0 = 0.0

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> Measurement:
        if self.daemon_socket and self._start_daemon():
            return self
        return self._start_engine()

    def _start_daemon(self) -> bool:
        """Track this process tree in jpud under a tag of its own: the block is then measured
        with the node's sensors and carbon settings, as the server's top bar is. False, with
        a message, when the daemon cannot be read (measuring here instead)."""
        from .daemon import DaemonClient

        global _tags
        _tags += 1
        self._tag = f"jpu-measure-{os.getpid()}-{_tags}"
        client = DaemonClient(self.daemon_socket, wait=3.0)
        try:
            client.track(self.pid, self._tag)
            self._t0 = time.monotonic()
            first = client.tracked_sample(self._tag) or {}
        except OSError as e:
            client.close()
            # name the daemon: a bare "timed out" or "refused" says nothing of it
            detail = str(e) if "jpud" in str(e) else f"jpud ({self.daemon_socket}): {e}"
            self.fallback = f"{detail}; measuring in this process instead"
            self.messages.append(self.fallback)
            return False
        self.daemon = client
        self.settings_origin = "daemon"
        self._e0 = dict(first.get("energy_j") or {})
        self._g0 = (first.get("emissions") or {}).get("g") or 0.0
        return True

    def _start_engine(self) -> Measurement:
        from . import Engine

        self._capture = _Capture(self.messages)
        logging.getLogger("jpu").addHandler(self._capture)
        try:
            self.engine = Engine(
                scope="process",
                pid=self.pid,
                interval=self.interval,
                carbon=self.carbon,
                **self.engine_options,
            )
        except BaseException:
            self._release_log()
            raise
        try:
            # The background thread also fetches live intensities (rte, gb, emaps).
            self.engine.start()
            self.engine.sample()
            self._t0 = time.monotonic()
            snap = self.engine.snapshot() or {}
            self._e0 = dict(snap.get("energy_j") or {})
            self._g0 = (snap.get("emissions") or {}).get("g") or 0.0
        except BaseException:
            self.engine.close()
            self.engine = None
            self._release_log()
            raise
        return self

    def _release_log(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            logging.getLogger("jpu").removeHandler(capture)

    def _stop_daemon(self) -> Measurement:
        client, self.daemon = self.daemon, None
        self.duration_s = time.monotonic() - self._t0
        end = time.time()
        snap: dict = {}
        try:
            # jpud samples at its own interval (1 s or more): its next sample after the block
            # holds the block's last CPU time; waited for up to three seconds
            deadline = time.monotonic() + 3.0
            while True:
                snap = client.tracked_sample(self._tag) or {}
                if _unix_time(snap.get("time")) > end or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        except OSError as e:
            self.messages.append(f"{e}: the block's last interval is not counted")
        finally:
            try:
                client.untrack(self._tag)
            except OSError:
                pass
            client.close()
        self._finish(snap)
        return self

    def stop(self) -> Measurement:
        if self.daemon is not None:
            return self._stop_daemon()
        engine, self.engine = self.engine, None
        if engine is None:
            return self
        try:
            engine.sample()  # the last partial interval
            self.duration_s = time.monotonic() - self._t0
            snap = engine.snapshot() or {}
        finally:
            engine.close()
            self._release_log()
        self._finish(snap)
        return self

    def _finish(self, snap: dict) -> None:
        energy = snap.get("energy_j") or {}
        self.energy_parts_j = {
            part: max(0.0, float(value) - float(self._e0.get(part, 0.0)))
            for part, value in energy.items()
        }
        self.energy_j = self.energy_parts_j.get("total", 0.0)
        self.power_w = self.energy_j / self.duration_s if self.duration_s else None
        emissions = snap.get("emissions")
        if emissions:
            self.co2_g = max(0.0, float(emissions.get("g") or 0.0) - self._g0)
            self.intensity_g_per_kwh = emissions.get("intensity_g_per_kwh")
            self.source = emissions.get("source")
            self.zone = emissions.get("zone")
            self.basis = emissions.get("basis")
        cpu = snap.get("cpu") or {}
        self.power_source = cpu.get("source")
        self.power_estimated = bool(cpu.get("estimated") or self.power_source == "estimate")
        self.intensity_estimated = bool((emissions or {}).get("estimated"))
        self.estimated = self.power_estimated or self.intensity_estimated

    def __enter__(self) -> Measurement:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- report ----------------------------------------------------------------------------

    def summary(self) -> str:
        """One line: energy, duration, average power, CO2 and where the intensity came from."""
        if self.energy_j is None:
            return "energy: not measured yet"
        power = f"{self.power_w:.3g} W" if self.power_w is not None else "unknown power"
        line = f"energy: {format_energy(self.energy_j)} in {self.duration_s:.3g} s ({power} avg"
        if self.power_estimated:
            line += ", estimated: no power sensor"
        if self.settings_origin == "daemon":
            line += f", {self.power_source or 'no source'} via jpud"
        line += ")"
        if self.co2_g is None or self.intensity_g_per_kwh is None:
            return line + " | CO2: no carbon intensity"
        where = [str(p) for p in (self.source, self.zone) if p]
        if self.intensity_estimated:
            where.append("estimated")
        return (
            f"{line} | CO2: {format_mass(self.co2_g)} at "
            f"{self.intensity_g_per_kwh:.4g} g/kWh ({', '.join(where)})"
        )

    def __repr__(self) -> str:
        return f"<jpu.Measurement {self.summary()}>"


_tags = 0  # tags made by this process, for unique ones


def _unix_time(iso: Any) -> float:
    """A sample's "time" (ISO 8601 UTC, as "2026-11-25T12:00:03.000Z") in Unix seconds."""
    from datetime import datetime, timezone

    try:
        t = datetime.strptime(str(iso), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return 0.0
    return t.replace(tzinfo=timezone.utc).timestamp()


def measure(
    pid: int | None = None,
    interval: float = 0.1,
    country: str | None = None,
    provider: str | None = None,
    intensity: float | None = None,
    pue: float | None = None,
    **engine_options: Any,
) -> Measurement:
    """Measure a block: ``with jpu.measure() as m: work()``, then ``m.energy_j``, ``m.power_w``,
    ``m.co2_g``, ``m.source`` (see Measurement).

    pid: root of the measured tree (default this process); interval: background sampling
    period in seconds (default 0.1). Carbon: country, provider, intensity (g/kWh, constant),
    pue, else the environment (JPU_COUNTRY, JPU_CARBON_PROVIDER, JPU_CARBON_INTENSITY, JPU_PUE,
    JPU_EMAPS_TOKEN). In a kernel of a Jupyter server with jupyter-power-usage, the server's
    settings in force replace that environment (the arguments still win), and sysfs, procfs and
    nvml default to the server's. engine_options go to jpu.Engine (sysfs, procfs, nvml,
    sensors...).
    """
    return Measurement(pid, interval, country, provider, intensity, pue, **engine_options)
