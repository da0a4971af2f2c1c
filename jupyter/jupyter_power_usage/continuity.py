"""Totals that stay continuous when the figures change source.

A server on the node daemon jpud shows the daemon's totals for its scope; when jpud stops it
samples in-process, and when jpud comes back it reads the daemon again. Each source counts from
its own zero (the daemon's state file, this server's state file), so the raw totals jump at each
change. A ``Ledger`` keeps what is served continuous: within one run of a source ("generation")
it adds the source's increase to what was served; at a change of generation it carries on from
the last value served. What is lost is the energy between the last reading of one source and the
first of the next: at most one interval.

Also here: the sample's fields the ledger carries, a history entry made from a sample (the
engine's history keys), and a tracked-tree entry made from jpud's /v1/tracked (the keys of
``jpu.Engine.tracked()``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


class Ledger:
    """Served totals per field name, continuous across generations."""

    def __init__(self) -> None:
        self.generation: Hashable = None
        self.offsets: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def apply(self, generation: Hashable, raw: dict[str, float]) -> dict[str, float]:
        """The served values for this reading of ``generation``'s raw totals."""
        if generation != self.generation:
            if self.generation is not None:
                # carry on from what was served; a field new to this source starts at its own
                self.offsets = {k: self.last[k] - v for k, v in raw.items() if k in self.last}
            else:
                self.offsets = {}
            self.generation = generation
        served = {}
        for name, value in raw.items():
            total = value + self.offsets.get(name, 0.0)
            last = self.last.get(name)
            if last is not None and total < last:
                # a source whose total went back within a run (a reset it did not carry over):
                # never serve less than before
                self.offsets[name] = last - value
                total = last
            served[name] = total
        self.last.update(served)
        return served


def sample_totals(sample: dict) -> dict[str, float]:
    """The cumulative fields of a sample: energy_j.<part> and emissions.g."""
    out = {}
    for part, value in (sample.get("energy_j") or {}).items():
        v = _number(value)
        if v is not None:
            out[f"energy_j.{part}"] = v
    g = _number((sample.get("emissions") or {}).get("g"))
    if g is not None:
        out["emissions.g"] = g
    return out


def with_sample_totals(sample: dict, served: dict[str, float]) -> dict:
    """A copy of sample with the served totals in place of its own."""
    out = dict(sample)
    energy = dict(sample.get("energy_j") or {})
    for name, value in served.items():
        if name.startswith("energy_j."):
            energy[name[len("energy_j.") :]] = round(value, 6)
    if energy:
        out["energy_j"] = energy
    if "emissions.g" in served and isinstance(sample.get("emissions"), dict):
        out["emissions"] = {**sample["emissions"], "g": round(served["emissions.g"], 6)}
    return out


def _usage(sample: dict, part: str) -> float | None:
    return _number((sample.get(part) or {}).get("usage"))


def history_entry(sample: dict, t: float) -> dict:
    """One entry of /history made from a sample, with the engine's keys (lib/export: cpu,
    cpu_total, dram, gpu, energy_j, emissions_g, intensity_g_per_kwh); unknown is absent."""
    entry: dict[str, Any] = {"time": sample.get("time"), "t": t}
    cpu = sample.get("cpu") or {}
    if _number(cpu.get("usage")) is not None:
        entry["cpu"] = cpu["usage"]
        if _number(cpu.get("total")) is not None:
            entry["cpu_total"] = cpu["total"]
    for part in ("dram", "gpu"):
        if _usage(sample, part) is not None:
            entry[part] = sample[part]["usage"]
    entry["energy_j"] = (sample.get("energy_j") or {}).get("total", 0.0)
    emissions = sample.get("emissions") or {}
    if _number(emissions.get("g")) is not None:
        entry["emissions_g"] = emissions["g"]
        entry["intensity_g_per_kwh"] = emissions.get("intensity_g_per_kwh")
    return entry


def tracked_entry(item: dict) -> dict | None:
    """jpud's {"tag", "pid", "sample"} as an Engine.tracked() entry (tag, pid, alive, power_w,
    energy_j, emissions_g); None for an item that is not one."""
    tag = item.get("tag")
    if not isinstance(tag, str):
        return None
    sample = item.get("sample") if isinstance(item.get("sample"), dict) else {}
    parts = [_usage(sample, p) for p in ("cpu", "dram", "gpu")]
    known = [p for p in parts if p is not None]
    energy = {k: v for k, v in (sample.get("energy_j") or {}).items() if _number(v) is not None}
    return {
        "tag": tag,
        "pid": item.get("pid"),
        "alive": sample.get("alive") if sample else None,
        "power_w": sum(known) if known else None,
        "energy_j": energy,
        "emissions_g": _number((sample.get("emissions") or {}).get("g")),
    }


def tracked_totals(entry: dict) -> dict[str, float]:
    out = {f"energy_j.{k}": float(v) for k, v in (entry.get("energy_j") or {}).items()}
    g = _number(entry.get("emissions_g"))
    if g is not None:
        out["emissions_g"] = g
    return out


def with_tracked_totals(entry: dict, served: dict[str, float]) -> dict:
    out = dict(entry)
    out["energy_j"] = {
        name[len("energy_j.") :]: round(v, 6)
        for name, v in served.items()
        if name.startswith("energy_j.")
    }
    if "emissions_g" in served:
        out["emissions_g"] = round(served["emissions_g"], 6)
    return out
