# SPDX-License-Identifier: BSD-3-Clause
"""jpu.measure() and the %%energy cell magic, in this process (a real IPython
InteractiveShell) and in a real kernel started with jupyter_client."""

import os
import re
import shutil
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RAPL = os.path.join(HERE, "fixtures", "intel-2s-dram", "sys")

jpu = pytest.importorskip("jpu")
pytest.importorskip("IPython")

SUMMARY = re.compile(
    r"^energy: [0-9.e+-]+ (J|Wh|kWh) in [0-9.e+-]+ s \([0-9.e+-]+ W avg(, estimated: no power "
    r"sensor)?\) \| CO2: [0-9.e+-]+ (µg|mg|g|kg) at [0-9.e+-]+ g/kWh \(([^)]*)\)$"
)


def burn(seconds):
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        pass


class TickingRapl:
    """A copy of the RAPL fixture whose counters advance in place every 20 ms."""

    def __init__(self, root, watts_per_zone=10.0):
        shutil.copytree(RAPL, root, symlinks=True)
        self.root = root
        self.files = [
            os.path.join(d, "energy_uj")
            for d, _, files in os.walk(root)
            if "energy_uj" in files and not os.path.islink(os.path.join(d, "energy_uj"))
        ]
        self.step = int(watts_per_zone * 1e6 * 0.02)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.02):
            for path in self.files:
                with open(path, "r+") as f:
                    value = int(f.read().strip() or 0) + self.step
                    f.seek(0)
                    f.write(f"{value}\n")
                    f.truncate()


@pytest.fixture
def rapl(tmp_path):
    # a committed fixture: its absence is a failure, never a skip
    assert os.path.isdir(RAPL), f"committed fixture tree {RAPL} is missing"
    tree = TickingRapl(str(tmp_path / "sys"))
    yield tree
    tree.stop.set()
    tree.thread.join()


@pytest.fixture
def no_carbon_env(monkeypatch):
    for name in (
        "JPU_COUNTRY",
        "JPU_CARBON_PROVIDER",
        "JPU_CARBON_INTENSITY",
        "JPU_PUE",
        "JPU_EMAPS_TOKEN",
        # What a Jupyter server hands to its kernels and terminals (running these tests
        # in one must not measure with its settings).
        "JPU_SETTINGS_FILE",
        "JPU_SYSFS",
        "JPU_PROCFS",
        "JPU_NVML",
        "JPU_DAEMON_SOCKET",
    ):
        monkeypatch.delenv(name, raising=False)


def test_measure_busy_block_with_rapl(rapl, no_carbon_env):
    with jpu.measure(provider="constant", intensity=300, sysfs=rapl.root, nvml="") as m:
        assert m.energy_j is None  # figures come after the block
        burn(0.6)
    assert m.power_source == "rapl" and not m.power_estimated
    assert m.duration_s == pytest.approx(0.6, abs=0.3)
    assert m.energy_j > 0
    assert m.power_w == pytest.approx(m.energy_j / m.duration_s)
    # A busy process gets at most the machine's power (4 zones at 10 W here, + slack).
    assert m.power_w < 4 * 10.0 * 1.5
    # CO2 = J x g/kWh / 3.6e6, integrated sample by sample in whole micrograms.
    assert m.co2_g == pytest.approx(m.energy_j * 300 / 3.6e6, rel=0.05, abs=2e-6)
    assert (m.source, m.intensity_g_per_kwh, m.intensity_estimated) == ("constant", 300, True)
    assert SUMMARY.match(m.summary()), m.summary()
    assert "(constant, World, estimated)" in m.summary()


def test_measure_idle_is_less_than_busy(rapl, no_carbon_env):
    """The share follows this process's CPU time. Other work on the machine (parallel test
    runs) changes the busy block's share, so only the order is asserted."""
    with jpu.measure(sysfs=rapl.root, nvml="") as busy:
        burn(1.0)
    with jpu.measure(sysfs=rapl.root, nvml="") as idle:
        time.sleep(1.0)
    assert busy.energy_j > idle.energy_j


def test_measure_short_block_gets_a_figure(no_carbon_env):
    """Shorter than one interval: the start and end samples still give a figure."""
    with jpu.measure(interval=1.0, nvml="") as m:
        burn(0.05)
    assert m.duration_s < 1.0
    assert m.energy_j is not None and m.energy_j >= 0
    assert m.co2_g is not None and m.source == "table" and m.zone == "World"


def test_measure_country_from_env(monkeypatch, no_carbon_env):
    monkeypatch.setenv("JPU_COUNTRY", "fr")
    monkeypatch.setenv("JPU_CARBON_PROVIDER", "table")
    with jpu.measure(nvml="") as m:
        burn(0.1)
    assert (m.source, m.zone, m.intensity_g_per_kwh) == ("table", "FR", pytest.approx(44.18))
    # An argument wins over the environment.
    with jpu.measure(country="DE", nvml="") as m:
        pass
    assert m.zone == "DE"


def test_measure_bad_settings(no_carbon_env):
    with pytest.raises(ValueError):
        with jpu.measure(pue=0.5):
            pass
    with pytest.raises(OSError, match="ISO 3166"):
        with jpu.measure(country="France"):
            pass


@pytest.fixture
def shell(no_carbon_env):
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jpu")
    yield ip
    InteractiveShell.clear_instance()


def test_energy_magic_in_shell(shell, capsys):
    capsys.readouterr()
    result = shell.run_cell(
        "%%energy --country FR --provider table\n"
        "import time\n"
        "t = time.monotonic()\n"
        "while time.monotonic() - t < 0.3:\n"
        "    pass\n"
        "print('cell output')\n"
    )
    assert result.success
    assert result.result is None  # the magic returns nothing
    out = capsys.readouterr().out.splitlines()
    # The cell's own output first, then one summary line.
    assert out[0] == "cell output"
    assert len(out) == 2
    match = SUMMARY.match(out[1])
    assert match, out[1]
    assert match.group(4) == "table, FR, estimated"
    magics = shell.magics_manager.registry["EnergyMagics"]
    assert magics.last.energy_j > 0
    assert magics.last.duration_s >= 0.3


def test_energy_magic_cell_error(shell, capsys):
    """A failing cell still gets its figure, and the error is the cell's."""
    capsys.readouterr()
    result = shell.run_cell("%%energy\nraise RuntimeError('boom')\n")
    out = capsys.readouterr().out
    assert "RuntimeError" in out and "boom" in out
    assert "| CO2:" in out.splitlines()[-1]
    assert result.result is None


def test_energy_magic_bad_country(shell, capsys):
    capsys.readouterr()
    shell.run_cell("%%energy --country France\nprint('still runs')\n")
    captured = capsys.readouterr()
    assert "still runs" in captured.out
    assert "cannot measure" in captured.err and "ISO 3166" in captured.err


def test_energy_magic_in_real_kernel():
    """%load_ext jpu and %%energy in an ipykernel started by jupyter_client."""
    manager_mod = pytest.importorskip("jupyter_client.manager")
    km, kc = manager_mod.start_new_kernel(kernel_name="python3")
    try:
        outputs = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                outputs.append(msg["content"]["text"])

        kc.execute_interactive("%load_ext jpu", timeout=30, output_hook=hook)
        reply = kc.execute_interactive(
            "%%energy --provider constant --intensity 100\n"
            "sum(i * i for i in range(300000))\n"
            "print('done')\n",
            timeout=60,
            output_hook=hook,
        )
        assert reply["content"]["status"] == "ok"
        text = "".join(outputs)
        lines = [line for line in text.splitlines() if line]
        assert lines[0] == "done"
        match = SUMMARY.match(lines[-1])
        assert match, text
        assert match.group(4).startswith("constant, World")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
