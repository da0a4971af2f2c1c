"""Server configuration for the Galata UI tests.

Galata's helper sets a temporary root, no token and the galata test
extension. On top of it the power extension reads a fixture machine: a copy
of the two-socket Intel tree tests/fixtures/intel-2s-dram whose RAPL counters
a thread here advances (as the kernel would), so the engine measures real
watts against a real package limit. JPU_TEST_SYSFS names another sysfs root
instead (the tests start a second server on this VM's /sys to see the
estimated figures). The engine samples twice a second so the tests wait less.
"""
import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.allow_root = True  # noqa: F821  (CI runs the tests as root)
c.PowerUsageDisplay.sample_interval = 0.5  # noqa: F821

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


def _advance_counters(root: Path) -> None:
    """Add ZONE_WATTS × elapsed time to each energy_uj, wrapping at max_energy_range_uj.

    The engine keeps each counter open and preads it, so the file is rewritten in
    place (same inode): the new text is never shorter than the old except on a wrap,
    and is written before the tail is cut, so a reader never sees an empty file.
    """
    zones = []
    for rel, watts in ZONE_WATTS.items():
        zone = root / RAPL / rel
        limit = int((zone / "max_energy_range_uj").read_text().strip())
        value = int((zone / "energy_uj").read_text().strip())
        zones.append([zone / "energy_uj", watts, limit, value])
    last = time.monotonic()
    while True:
        time.sleep(TICK_S)
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


def _live_fixture() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="jpu-ui-sysfs-"))
    atexit.register(shutil.rmtree, tmp, True)
    root = tmp / "sys"
    shutil.copytree(FIXTURE, root, symlinks=True)
    threading.Thread(target=_advance_counters, args=(root,), daemon=True).start()
    return str(root)


if os.environ.get("JPU_TEST_SYSFS"):
    c.PowerUsageDisplay.sysfs_path = os.environ["JPU_TEST_SYSFS"]  # noqa: F821
elif FIXTURE.is_dir():
    c.PowerUsageDisplay.sysfs_path = _live_fixture()  # noqa: F821
else:
    # The fixture is not in this checkout: fall back to the machine itself.
    c.PowerUsageDisplay.sysfs_path = "/sys"  # noqa: F821

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
