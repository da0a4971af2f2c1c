# SPDX-License-Identifier: BSD-3-Clause
"""The two wheels stand alone.

`python -m build --wheel` makes the `jpu` wheel (engine, CLI, binding; meson-python)
from the repository root and the `jupyter-power-usage` wheel (server extension and
prebuilt labextension; hatchling) from jupyter/, each in its own isolated build
environment as a release would. Both are installed with JupyterLab into a new
virtual environment in a temporary folder, and everything is run from there with
no source tree on any path and Jupyter's user folders pointed at empty ones: the
`jpu` command, `import jpu`, the server extension enabled and the labextension
listed, both from that environment, with the versions of VERSION.

It builds two wheels and installs JupyterLab (a few minutes, PyPI or a pip cache
needed), so it runs where CI=true (as .ci/run sets it) or JPU_TEST_WHEELS=1.
"""

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.wheels,
    pytest.mark.skipif(
        not (os.environ.get("CI") or os.environ.get("JPU_TEST_WHEELS")),
        reason="builds two wheels and a JupyterLab environment (minutes): "
        "set JPU_TEST_WHEELS=1 (CI=true does too)",
    ),
]


def run(cmd, timeout, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert r.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    )
    # the listings colour "enabled" and "OK" even into a pipe
    return re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)


def sections(listing, header):
    """Split a `jupyter ... list` output into {folder: [lines under it]}."""
    out, current = {}, None
    for line in listing.splitlines():
        m = re.match(header, line)
        if m:
            current = out.setdefault(m.group(1).strip(), [])
        elif current is not None:
            current.append(line.strip())
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("build", reason="the `build` package is needed (pip install build)")
    version = (ROOT / "VERSION").read_text().strip()
    base = tmp_path_factory.mktemp("wheels")
    assert not base.resolve().is_relative_to(ROOT), "the environment must be outside the checkout"
    dist = base / "dist"
    for src in (ROOT, ROOT / "jupyter"):
        run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src)], timeout=900
        )
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert len(wheels) == 2, wheels
    assert wheels[0].startswith(f"jpu-{version}-"), wheels
    assert wheels[1] == f"jupyter_power_usage-{version}-py3-none-any.whl", wheels

    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / "bin"
    home = base / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "JPU_"))
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(env_dir),
        # no user-level Jupyter config or extensions: only what the wheels installed counts
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PIP_ROOT_USER_ACTION="ignore",
    )
    run(
        [
            bin_dir / "python",
            "-m",
            "pip",
            "install",
            "-q",
            *(dist / w for w in wheels),
            "jupyterlab>=4,<5",
        ],
        timeout=900,
        cwd=base,
        env=env,
    )
    return {"bin": bin_dir, "env": env, "cwd": base, "prefix": env_dir, "version": version}


def run_there(installed, *cmd, timeout=120):
    return run(
        [str(installed["bin"] / cmd[0]), *cmd[1:]],
        timeout,
        cwd=installed["cwd"],
        env=installed["env"],
    )


def test_jpu_command(installed):
    out = run_there(installed, "jpu", "--json", "--count", "1", "--interval", "0.5")
    sample = json.loads(out.splitlines()[0])
    assert "cpu" in sample and sample["cpu"]["total"] >= 0, sample
    assert sample["cpu"]["source"], sample
    assert run_there(installed, "jpu", "--version").strip() == f"jpu {installed['version']}"


def test_import_jpu(installed):
    code = (
        "import importlib.metadata as m, json, jpu, jupyter_power_usage as ext\n"
        "print(json.dumps([jpu.__file__, jpu.__version__, m.version('jpu'),\n"
        "                  ext.__file__, ext.__version__, m.version('jupyter-power-usage')]))"
    )
    out = run_there(installed, "python", "-c", code)
    jpu_file, jpu_v, jpu_meta, ext_file, ext_v, ext_meta = json.loads(out)
    prefix = str(installed["prefix"])
    assert jpu_file.startswith(prefix) and ext_file.startswith(prefix), (jpu_file, ext_file)
    assert jpu_v == jpu_meta == installed["version"]
    assert ext_v == ext_meta == installed["version"]


def test_server_extension_enabled(installed):
    out = run_there(installed, "jupyter", "server", "extension", "list")
    found = sections(out, r"Config dir:\s*(.+)$")
    ours = found.get(str(installed["prefix"] / "etc" / "jupyter"), [])
    assert "jupyter_power_usage enabled" in ours, out
    assert f"jupyter_power_usage {installed['version']} OK" in ours, out


def test_labextension_listed(installed):
    out = run_there(installed, "jupyter", "labextension", "list")
    found = sections(out, r"(/\S+)\s*$")
    ours = found.get(str(installed["prefix"] / "share" / "jupyter" / "labextensions"), [])
    line = f"jupyter-power-usage v{installed['version']} enabled OK"
    assert any(x.startswith(line) for x in ours), out
