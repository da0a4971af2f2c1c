"""Server configuration for the Galata UI tests.

Galata's helper sets a temporary root, no token and the galata test
extension. On top of it the power extension reads a fixture machine: a copy
of the two-socket Intel tree tests/fixtures/intel-2s-dram whose RAPL counters
a thread here advances (fixture_machine.py), so the engine measures real
watts against a real package limit. JPU_TEST_SYSFS names another sysfs root
instead (the tests start a second server on this VM's /sys to see the
estimated figures), and JPU_TEST_DAEMON_SOCKET the node daemon's socket (the
third server, started by jpud_server.py). The engine samples twice a second
so the tests wait less.
"""

import atexit
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_machine import FIXTURE, copy_fixture, start_ticking  # noqa: E402

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.allow_root = True  # noqa: F821  (CI runs the tests as root)
c.PowerUsageDisplay.sample_interval = 0.5  # noqa: F821


def _live_fixture() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="jpu-ui-sysfs-"))
    root = copy_fixture(tmp)
    stop = threading.Event()
    ticker = start_ticking(root, stop)

    def remove() -> None:
        # the ticker first: it would write into the removed tree
        stop.set()
        ticker.join()
        shutil.rmtree(tmp, True)

    atexit.register(remove)
    return str(root)


if os.environ.get("JPU_TEST_DAEMON_SOCKET"):
    # The jpud server (jpud_server.py): it runs as an account that cannot read the
    # root-only counters of JPU_TEST_SYSFS, and jpud serves them on this socket.
    c.PowerUsageDisplay.daemon_socket = os.environ["JPU_TEST_DAEMON_SOCKET"]  # noqa: F821
    c.PowerUsageDisplay.nvml_library = ""  # noqa: F821
if os.environ.get("JPU_TEST_SYSFS"):
    c.PowerUsageDisplay.sysfs_path = os.environ["JPU_TEST_SYSFS"]  # noqa: F821
elif FIXTURE.is_dir():
    c.PowerUsageDisplay.sysfs_path = _live_fixture()  # noqa: F821
else:
    # The fixture is not in this checkout: fall back to the machine itself.
    c.PowerUsageDisplay.sysfs_path = "/sys"  # noqa: F821

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
