"""Prometheus metrics on jupyter_server's own ``/metrics``.

jupyter_server serves ``prometheus_client.REGISTRY``; one collector is registered there once per
process and reads the current server's engine at scrape time (nothing is updated per sample).
The engine's own Prometheus writer (``Engine.prometheus()``, the one metric table shared with
jpu and jpud) provides the machine and scope series; the per-kernel series are added here from
``Engine.tracked()`` because only the server knows kernel ids. If the engine's text cannot be
parsed, the series are derived from the snapshot with the same names.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

PARTS = ("cpu", "dram", "gpu")

_lock = threading.Lock()
_collector: PowerCollector | None = None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


class PowerCollector:
    """Custom collector: no describe(), so registration does not sample the engine."""

    def __init__(self) -> None:
        self.service: Any = None

    def describe(self) -> list:
        return []

    def collect(self):
        svc = self.service
        if svc is None:
            return
        up = GaugeMetricFamily(
            "jpu_engine_up", "1 when the power engine of this Jupyter server is sampling"
        )
        up.add_metric([], 0.0 if svc.engine is None else 1.0)
        yield up
        if svc.engine is None:
            return
        seen: set[str] = set()
        for family in self._engine_families(svc):
            seen.add(family.name)
            yield family
        if not seen:
            for family in self._snapshot_families(svc):
                seen.add(family.name)
                yield family
        yield from self._kernel_families(svc, seen)

    def _engine_families(self, svc: Any) -> list:
        writer = getattr(svc.engine, "prometheus", None)
        if writer is None:
            return []
        try:
            return list(text_string_to_metric_families(writer()))
        except Exception as exc:  # noqa: BLE001 - fall back to the snapshot
            svc.log.debug("jupyter_power_usage: engine Prometheus text unusable: %s", exc)
            return []

    def _snapshot_families(self, svc: Any) -> list:
        snap = svc.snapshot()
        if not snap or snap.get("time") is None:
            return []
        scope = str(snap.get("scope", svc.config.measurement_scope))
        power = GaugeMetricFamily(
            "jpu_power_watts",
            "Power attributed to the measured scope, by part",
            labels=["part", "scope"],
        )
        machine = GaugeMetricFamily(
            "jpu_machine_power_watts", "Power of the whole machine, by part", labels=["part"]
        )
        idle = GaugeMetricFamily(
            "jpu_idle_power_watts",
            "Machine idle power not attributed to the scope under the idle policy",
            labels=["part"],
        )
        for part in PARTS + ("psys",):
            section = snap.get(part)
            if not isinstance(section, dict):
                continue  # unknown is absent, never 0
            usage = _num(section.get("usage"))
            if usage is not None:
                power.add_metric([part, scope], usage)
            total = _num(section.get("total"))
            if total is not None:
                machine.add_metric([part], total)
            idle_w = _num(section.get("idle"))
            if idle_w is not None:
                idle.add_metric([part], idle_w)
        energy = CounterMetricFamily(
            "jpu_energy_joules",
            "Cumulative energy attributed to the measured scope, by part",
            labels=["part", "scope"],
        )
        for part, value in (snap.get("energy_j") or {}).items():
            joules = _num(value)
            if joules is not None:
                energy.add_metric([str(part), scope], joules)
        families = [power, machine, idle, energy]
        grams = _num((snap.get("emissions") or {}).get("g"))
        if grams is not None:
            co2 = CounterMetricFamily(
                "jpu_emissions_grams",
                "Cumulative CO2-equivalent emissions of the measured scope",
                labels=["scope"],
            )
            co2.add_metric([scope], grams)
            families.append(co2)
        return families

    def _kernel_families(self, svc: Any, seen: set[str]):
        try:
            tracked = svc.tracked()
        except Exception:  # noqa: BLE001
            return
        if "jpu_kernel_power_watts" not in seen and "jpu_tracked_power_watts" not in seen:
            power = GaugeMetricFamily(
                "jpu_kernel_power_watts",
                "Power attributed to a Jupyter kernel's process tree",
                labels=["kernel_id"],
            )
            for tag, entry in sorted(tracked.items()):
                watts = _num(entry.get("power_w"))
                if watts is not None:
                    power.add_metric([tag], watts)
            yield power
        if "jpu_kernel_energy_joules" not in seen and "jpu_tracked_energy_joules" not in seen:
            energy = CounterMetricFamily(
                "jpu_kernel_energy_joules",
                "Cumulative energy attributed to a Jupyter kernel's process tree, by part",
                labels=["kernel_id", "part"],
            )
            for tag, entry in sorted(tracked.items()):
                for part, value in sorted((entry.get("energy_j") or {}).items()):
                    joules = _num(value)
                    if joules is not None:
                        energy.add_metric([tag, str(part)], joules)
            yield energy


def install(service: Any) -> None:
    """Point the process-wide collector at this server's service (registering it once)."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = PowerCollector()
            REGISTRY.register(_collector)
        _collector.service = service


def uninstall(service: Any) -> None:
    with _lock:
        if _collector is not None and _collector.service is service:
            _collector.service = None
