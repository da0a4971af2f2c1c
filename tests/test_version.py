# SPDX-License-Identifier: BSD-3-Clause
"""The version is kept in one place, VERSION at the repository root.

meson.build reads it (and so the C library, the `jpu` command, the binding and
the `jpu` wheel's metadata through meson-python); jupyter/package.json, which
the extension's wheel and labextension take their version from, repeats it;
the extension's dependency on `jpu` is pinned to the releases compatible with
it. scripts/set-version.py writes all three; these tests catch a hand edit
that forgets one. The installed packages' own figures (`jpu --version`,
`jpu.__version__`, `jupyter_power_usage.__version__`) must agree with their
metadata.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli", reason="Python < 3.11 needs tomli")

ROOT = Path(__file__).resolve().parent.parent
VERSION_RE = r"(\d+)\.(\d+)\.(\d+)((?:a|b|rc)\d+|\.dev\d+)?"


def source_version():
    text = (ROOT / "VERSION").read_text()
    assert text.endswith("\n") and text.count("\n") == 1, "VERSION: one line"
    v = text.strip()
    assert re.fullmatch(VERSION_RE, v), f"VERSION {v!r} is not X.Y.Z[aN|bN|rcN|.devN]"
    return v


def compatible_pin(v):
    """`jpu>=v,<next`: same minor while the major is 0, same major after (SemVer)."""
    major, minor = (int(x) for x in re.match(VERSION_RE, v).groups()[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"jpu>={v},<{upper}"


def test_compatible_pin_rule():
    assert compatible_pin("0.1.0") == "jpu>=0.1.0,<0.2"
    assert compatible_pin("0.12.3rc1") == "jpu>=0.12.3rc1,<0.13"
    assert compatible_pin("2.0.1") == "jpu>=2.0.1,<3"


def test_meson_reads_version_file():
    meson_build = (ROOT / "meson.build").read_text()
    assert re.search(r"version\s*:\s*files\('VERSION'\)", meson_build), (
        "meson.build must take its version from files('VERSION')"
    )


def test_pyproject_version_is_meson_s():
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert "version" not in project, "the jpu wheel's version comes from meson.build"
    assert "version" in project.get("dynamic", [])


def test_extension_version_and_pin():
    v = source_version()
    package = json.loads((ROOT / "jupyter" / "package.json").read_text())
    assert package["version"] == v, "jupyter/package.json: run scripts/set-version.py"
    with open(ROOT / "jupyter" / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert "version" in project["dynamic"]
    jpu_deps = [d for d in project["dependencies"] if re.match(r"jpu\b", d)]
    assert jpu_deps == [compatible_pin(v)], "jupyter/pyproject.toml: run scripts/set-version.py"


def test_set_version_script(tmp_path):
    """The script rewrites the three places in a copy of the tree, and nothing else."""
    files = ["VERSION", "jupyter/package.json", "jupyter/pyproject.toml"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "set-version.py"),
            "--root",
            str(tmp_path),
            "1.4.0rc2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "VERSION").read_text() == "1.4.0rc2\n"
    assert json.loads((tmp_path / "jupyter/package.json").read_text())["version"] == "1.4.0rc2"
    with open(tmp_path / "jupyter/pyproject.toml", "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    assert "jpu>=1.4.0rc2,<2" in deps
    # only the version lines changed
    for name in files[1:]:
        old = (ROOT / name).read_text().splitlines()
        new = (tmp_path / name).read_text().splitlines()
        assert len(old) == len(new)
        assert sum(a != b for a, b in zip(old, new)) == 1, name
    bad = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "set-version.py"), "--root", str(tmp_path), "1.4"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "1.4" in bad.stderr
    assert (tmp_path / "VERSION").read_text() == "1.4.0rc2\n"


def test_built_version():
    """The configured build (as CI makes it) and its jpu command carry VERSION."""
    build = Path(os.environ.get("JPU_BUILD_DIR") or ROOT / "build")
    info = build / "meson-info" / "intro-projectinfo.json"
    jpu_bin = build / "cli" / "jpu"
    if not (info.is_file() and jpu_bin.is_file()):
        pytest.skip(f"no configured and built meson project in {build}")
    assert json.loads(info.read_text())["version"] == source_version()
    r = subprocess.run([str(jpu_bin), "--version"], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == f"jpu {source_version()}"


def test_installed_versions_agree_with_metadata():
    """What pip installed: each package's own figure is its metadata's."""
    jpu = pytest.importorskip("jpu", reason="pip install . first")
    jpu_meta = metadata.version("jpu")
    assert jpu.__version__ == jpu_meta
    script = Path(sys.executable).parent / "jpu"
    if not script.is_file():
        pytest.skip(f"no jpu command beside {sys.executable}")
    r = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == f"jpu {jpu_meta}"
    ext = pytest.importorskip("jupyter_power_usage", reason="pip install ./jupyter first")
    assert ext.__version__ == metadata.version("jupyter-power-usage")
