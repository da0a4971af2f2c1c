"""A fixture machine for the UI tests' servers: a copy of the two-socket Intel tree
tests/fixtures/intel-2s-dram whose RAPL counters a thread advances, as the kernel would,
so the engine (or jpud) measures real watts against a real package limit."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "intel-2s-dram" / "sys"
RAPL = Path("devices") / "virtual" / "powercap" / "intel-rapl"

# Watts each zone draws in the simulated machine; DRAM and core are subzones of a package.
ZONE_WATTS = {
    "intel-rapl:0": 48.0,
    "intel-rapl:0/intel-rapl:0:0": 30.0,
    "intel-rapl:0/intel-rapl:0:1": 7.5,
    "intel-rapl:1": 36.0,
    "intel-rapl:1/intel-rapl:1:0": 20.0,
    "intel-rapl:1/intel-rapl:1:1": 6.0,
}
TICK_S = 0.1


def counters(root: Path) -> list[Path]:
    """The energy_uj files of the zones that tick."""
    return [root / RAPL / rel / "energy_uj" for rel in ZONE_WATTS]


def advance_counters(root: Path, stop: threading.Event | None = None) -> None:
    """Add ZONE_WATTS × elapsed time to each energy_uj, wrapping at max_energy_range_uj,
    until `stop` is set.

    The engine keeps each counter open and preads it, so the file is rewritten in
    place (same inode): the new text is never shorter than the old except on a wrap,
    and is written before the tail is cut, so a reader never sees an empty file.
    """
    stop = stop or threading.Event()
    zones = []
    for rel, watts in ZONE_WATTS.items():
        zone = root / RAPL / rel
        limit = int((zone / "max_energy_range_uj").read_text().strip())
        value = int((zone / "energy_uj").read_text().strip())
        zones.append([zone / "energy_uj", watts, limit, value])
    last = time.monotonic()
    while not stop.wait(TICK_S):
        now = time.monotonic()
        for z in zones:
            path, watts, limit, value = z
            value = (value + int(watts * (now - last) * 1e6)) % (limit + 1)
            z[3] = value
            data = f"{value}\n".encode()
            fd = os.open(path, os.O_WRONLY)
            try:
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)
        last = now


def copy_fixture(dest: Path) -> Path:
    """The fixture tree copied to dest/sys; its root."""
    root = dest / "sys"
    shutil.copytree(FIXTURE, root, symlinks=True)
    return root


def start_ticking(root: Path, stop: threading.Event | None = None) -> threading.Thread:
    thread = threading.Thread(target=advance_counters, args=(root, stop), daemon=True)
    thread.start()
    return thread
