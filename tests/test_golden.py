"""Golden JSON and Prometheus outputs of the engine over every fixture machine.

Each scenario under tests/fixtures/<name>/ with a sys/ tree is copied to a
temporary folder and replayed for 3 one-second steps by tests/replay.c (fixed
clock, counters advanced in place, wrapping at their range). The last sample
must equal tests/golden/<name>[-<scope>].json and .prom, and every .prom must
pass `promtool check metrics`.

Regenerate after an intended change:  python3 tests/test_golden.py --regen
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
STEPS = "3"

# (scenario, scope, pid): pid 100 is the root of a tree in proc-basic
CASES = [
    (d.name, "system", None)
    for d in sorted(FIXTURES.iterdir())
    if (d / "sys").is_dir() and (d / "proc").exists()
] + [("intel-2s-dram", "process", 100), ("replay-wrap", "user", None)]


def build_dir() -> Path:
    return Path(os.environ.get("JPU_BUILD_DIR", HERE.parent / "build"))


def replay_bin() -> Path:
    exe = build_dir() / "tests" / "replay"
    if not exe.exists():
        pytest.fail(
            f"{exe} is missing: build the C project first (meson setup build && ninja -C build)"
        )
    return exe


def run_case(tmp: Path, scenario: str, scope: str, pid: int | None) -> tuple[dict, str]:
    src = FIXTURES / scenario
    work = tmp / scenario
    shutil.copytree(src / "sys", work / "sys", symlinks=True)
    shutil.copytree((src / "proc").resolve(), work / "proc", symlinks=False)
    if (src / "replay").exists():
        shutil.copy(src / "replay", work / "replay")
    args = [str(replay_bin()), str(work / "sys"), str(work / "proc"), STEPS, scope]
    if pid:
        args.append(str(pid))
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text, prom = out.stdout.split("\n---\n", 1)
    return json.loads(text), prom


def golden_name(scenario: str, scope: str) -> str:
    return scenario if scope == "system" else f"{scenario}-{scope}"


@pytest.mark.parametrize("scenario,scope,pid", CASES, ids=[golden_name(c[0], c[1]) for c in CASES])
def test_golden(tmp_path, scenario, scope, pid):
    sample, prom = run_case(tmp_path, scenario, scope, pid)
    name = golden_name(scenario, scope)
    gj, gp = GOLDEN / f"{name}.json", GOLDEN / f"{name}.prom"
    assert gj.exists(), f"no golden output {gj}: run python3 tests/test_golden.py --regen"
    assert sample == json.loads(gj.read_text()), f"{name}: JSON differs from {gj}"
    assert prom == gp.read_text(), f"{name}: Prometheus text differs from {gp}"


@pytest.mark.parametrize("scenario,scope,pid", CASES, ids=[golden_name(c[0], c[1]) for c in CASES])
def test_promtool_accepts(tmp_path, scenario, scope, pid):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.fail("promtool is missing: apt-get install prometheus")
    _, prom = run_case(tmp_path, scenario, scope, pid)
    out = subprocess.run([promtool, "check", "metrics"], input=prom, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def regen() -> None:
    import tempfile

    GOLDEN.mkdir(exist_ok=True)
    for scenario, scope, pid in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            sample, prom = run_case(Path(tmp), scenario, scope, pid)
        name = golden_name(scenario, scope)
        (GOLDEN / f"{name}.json").write_text(json.dumps(sample, indent=1, sort_keys=True) + "\n")
        (GOLDEN / f"{name}.prom").write_text(prom)
        print(f"wrote {name}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        print(__doc__)
