"""Energy, power and CO2 of a block of code: ``with jpu.measure() as m: ...``.

Measures this process and its children (scope ``process``, pid ``os.getpid()``): in a Jupyter
kernel, the kernel's own process tree. A sample is taken when the block starts and when it ends,
besides the background ones every ``interval`` seconds, so a block shorter than one interval
still gets a figure.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

ENV_COUNTRY = "JPU_COUNTRY"
ENV_PROVIDER = "JPU_CARBON_PROVIDER"
ENV_INTENSITY = "JPU_CARBON_INTENSITY"
ENV_PUE = "JPU_PUE"
ENV_TOKEN = "JPU_EMAPS_TOKEN"


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

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

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
        self.carbon = carbon_from_env(country, provider, intensity, pue)
        self.engine_options = engine_options
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
        self.messages: list[str] = []  # the engine's log lines (why a sensor is not used...)
        self._capture: _Capture | None = None
        self._t0 = 0.0
        self._e0: dict = {}
        self._g0 = 0.0

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> Measurement:
        from . import Engine

        self._capture = _Capture()
        self.messages = self._capture.messages
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

    def stop(self) -> Measurement:
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
    JPU_EMAPS_TOKEN). engine_options go to jpu.Engine (sysfs, procfs, nvml, sensors...).
    """
    return Measurement(pid, interval, country, provider, intensity, pue, **engine_options)
