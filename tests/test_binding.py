"""The CPython binding against the installed `jpu` wheel (or the build dir).

Runs the real engine: on this VM the estimate, and a copied fixture machine
whose RAPL counters the test advances between samples.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

jpu = pytest.importorskip("jpu", reason="pip install . first")

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_version_and_defaults():
    assert jpu.__version__.count(".") == 2
    with jpu.Engine(interval=0.05) as eng:
        assert eng.snapshot() is None  # before the first sample
        assert eng.sample() is False  # the first sample is the baseline
        time.sleep(0.06)
        assert eng.sample() is True
        s = eng.snapshot()
        assert s["scope"] == "system"
        assert s["cpu"]["total"] > 0
        assert isinstance(eng.diagnostics(), list)
        assert "jpu_cpu_power_watts" in eng.prometheus()


def test_bad_arguments_name_the_option():
    with pytest.raises(ValueError, match="scope"):
        jpu.Engine(scope="bogus")
    with pytest.raises(ValueError, match="interval"):
        jpu.Engine(interval=0)
    with pytest.raises(FileNotFoundError, match="sysfs root /nonexistent"):
        jpu.Engine(sysfs="/nonexistent")
    with pytest.raises(ProcessLookupError):
        jpu.Engine(scope="process", pid=2**22 - 3)
    with pytest.raises(OSError, match="unknown backend"):
        jpu.Engine(sensors="rapl,nope")
    eng = jpu.Engine()
    with pytest.raises(OSError, match="ISO 3166-1"):
        eng.set_carbon(country="France")
    with pytest.raises(ValueError, match="pue"):
        eng.set_carbon(pue=0.5)
    eng.close()
    with pytest.raises(ValueError, match="closed"):
        eng.snapshot()


def test_thread_history_and_tracking():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<1.5: pass"]
    )
    try:
        with jpu.Engine(interval=0.1, history=5) as eng:
            eng.track(child.pid, "busy")
            eng.start()
            seq = 0
            for _ in range(8):
                seq = eng.wait(seq, timeout=2)
                assert seq is not None
            hist = eng.history()
            assert len(hist["samples"]) == 5  # the ring keeps 5
            last_t = hist["samples"][-2]["t"]
            assert len(eng.history(since=last_t)["samples"]) == 1
            (tracked,) = eng.tracked()
            assert tracked["tag"] == "busy" and tracked["pid"] == child.pid
            assert tracked["energy_j"]["total"] > 0
            with pytest.raises(KeyError):
                eng.untrack("nobody")
            eng.untrack("busy")
            assert eng.tracked() == []
    finally:
        child.kill()
        child.wait()


def test_fixture_machine_and_state_file(tmp_path):
    sysfs = tmp_path / "sys"
    shutil.copytree(FIXTURES / "amd-epyc" / "sys", sysfs, symlinks=True)
    counters = sorted(sysfs.glob("devices/**/intel-rapl:?/energy_uj"))
    assert len(counters) == 2

    def advance(joules):
        for c in counters:
            c.write_text(str(int(c.read_text()) + int(joules * 1e6)) + "\n")

    state = tmp_path / "state"
    with jpu.Engine(sysfs=sysfs, interval=0.05, state_file=state, carbon={"country": "FR"}) as e:
        e.sample()
        time.sleep(0.1)
        advance(5)
        assert e.sample()
        s = e.snapshot()
    assert s["cpu"]["source"] == "rapl"
    assert s["energy_j"]["cpu"] == pytest.approx(10.0, rel=1e-6)
    assert s["emissions"]["zone"] == "FR" and s["emissions"]["source"] == "table"
    grams = s["emissions"]["g"]
    # integer micrograms: 10 J at 44.18 g/kWh = 122.7 µg
    assert grams == pytest.approx(10.0 / 3.6e6 * s["emissions"]["intensity_g_per_kwh"], abs=1e-6)
    # a new engine on the same state file carries the totals over
    with jpu.Engine(sysfs=sysfs, interval=0.05, state_file=state) as e:
        e.sample()
        time.sleep(0.1)
        advance(1)
        assert e.sample()
        s2 = e.snapshot()
    assert s2["energy_j"]["cpu"] == pytest.approx(12.0, rel=1e-6)
    assert s2["emissions"]["g"] > grams
    assert os.path.exists(state) and not os.path.exists(str(state) + ".tmp")


def test_state_file_corrupt_and_locked(tmp_path):
    """A corrupt state file is kept under a .corrupt- name, never overwritten; a second engine on
    a state file in use is refused with EBUSY."""
    state = tmp_path / "state"
    corrupt = b"jpu-state 3\nscope 1 2 3\n"
    state.write_bytes(corrupt)
    with jpu.Engine(sensors="estimate", interval=0.05, state_file=state) as e:
        e.sample()
        time.sleep(0.06)
        e.sample()
        (moved,) = tmp_path.glob("state.corrupt-*")
        assert moved.read_bytes() == corrupt
        assert state.read_text().startswith("jpu-state 3\nscope ")
        with pytest.raises(OSError) as busy:
            jpu.Engine(sensors="estimate", interval=0.05, state_file=state)
        assert busy.value.errno == errno.EBUSY
        assert "in use by another engine" in str(busy.value)
    # released with the engine
    with jpu.Engine(sensors="estimate", interval=0.05, state_file=state):
        pass
    assert moved.read_bytes() == corrupt


def test_estimate_overrides_reach_the_estimate(tmp_path):
    """ncpu and mem_bytes are the estimate's: 4 vCPUs in its basis, memory capped."""
    proc = tmp_path / "proc"
    (tmp_path / "sys").mkdir()
    proc.mkdir()
    shutil.copy(FIXTURES / "estimate-xeon-vm" / "proc" / "cpuinfo", proc / "cpuinfo")
    (proc / "meminfo").write_text("MemTotal: 4096 kB\nMemFree: 1 kB\nMemAvailable: 2048 kB\n")

    def sample(**kw):
        (proc / "stat").write_text("cpu  100 0 0 100 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n")
        eng = jpu.Engine(sysfs=tmp_path / "sys", procfs=proc, sensors="estimate", nvml="", **kw)
        eng.sample()
        (proc / "stat").write_text("cpu  200 0 0 200 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n")
        time.sleep(0.02)
        assert eng.sample()
        snap = eng.snapshot()
        eng.close()
        return snap

    plain, four, capped = sample(), sample(ncpu=4), sample(mem_bytes=1 << 20)
    assert plain["cpu"]["basis"].endswith("x 2 vCPU")
    assert four["cpu"]["basis"].endswith("x 4 vCPU")
    assert abs(capped["dram"]["total"] * 2 - plain["dram"]["total"]) < 1e-5
    with pytest.raises(ValueError, match="ncpu"):
        jpu.Engine(ncpu=0)
