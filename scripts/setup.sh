#!/usr/bin/env bash
# Install what jupyter-power-usage needs to build, run and test on Debian 12 or
# Ubuntu 24.04, make a Python virtual environment of its own, and build and
# install into it the engine (`jpu` wheel: libjpu, the jpu command, the Python
# binding) and the Jupyter extension from this checkout.
#
#   bash scripts/setup.sh                     # product and test dependencies
#   JPU_SETUP_TESTS=0 bash scripts/setup.sh   # product only
#   JPU_VENV=~/envs/jpu bash scripts/setup.sh # another environment (default: .venv here)
#
# The environment is made with the first `python3` on PATH (JPU_PYTHON names
# another interpreter). Nothing is installed into that interpreter itself: a
# distribution's Python (PEP 668, "externally-managed-environment") stays as it
# is. JPU_VENV may also name an existing venv or conda environment; it is then
# used as it is.
set -euo pipefail
caller_dir="$PWD"
cd "$(dirname "$0")/.."

venv="${JPU_VENV:-$PWD/.venv}"
case "$venv" in /*) ;; *) venv="$caller_dir/$venv" ;; esac
python="${JPU_PYTHON:-python3}"
tests="${JPU_SETUP_TESTS:-1}"

export DEBIAN_FRONTEND=noninteractive
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export YARN_ENABLE_IMMUTABLE_INSTALLS=0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

debs=(gcc pkg-config libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev nodejs npm)
# A distribution's Python splits `venv` (ensurepip) and the C headers the
# binding compiles against into packages of their own; a user-managed Python
# (pyenv, conda, python.org) carries both. No python3 at all: Debian's.
if ! command -v "$python" >/dev/null; then
  debs+=(python3 python3-venv python3-dev)
elif [ "$("$python" -c 'import sys; print(sys.base_prefix)')" = /usr ]; then
  debs+=(python3-venv python3-dev)
fi
if [ "$tests" = 1 ]; then
  debs+=(clang clang-format libclang-rt-14-dev chromium prometheus)
fi
if command -v dpkg-query >/dev/null && command -v apt-get >/dev/null; then
  missing=()
  for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
  done
  # node and npm may come from elsewhere than Debian (a newer Node is fine)
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
  fi
  read -r -a missing <<<"${missing[*]}"
  if [ "${#missing[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}"
  fi
else
  echo "setup: no apt-get here; make sure these (or your system's equivalents) are installed: ${debs[*]}" >&2
fi

command -v "$python" >/dev/null || {
  echo "setup: no $python on PATH: install Python 3.9 or newer" >&2
  exit 1
}

# The environment. A broken default one (its Python moved or was removed, or
# an earlier `venv` stopped half-way for want of python3-venv and left no pip)
# is made again; one the user named is never deleted.
if [ -e "$venv/bin/python" ] && ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  if [ -z "${JPU_VENV:-}" ]; then
    echo "setup: $venv has no working pip; making it again"
    rm -rf "$venv"
  else
    echo "setup: $venv/bin/python does not run pip; remove $venv or name another JPU_VENV" >&2
    exit 1
  fi
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: making a virtual environment in $venv with $(command -v "$python") ($("$python" -V 2>&1))"
  "$python" -m venv "$venv"
fi
# As `source $venv/bin/activate` would: the extension's build runs `jlpm` and
# `jupyter labextension build`, which must be this environment's.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
unset PYTHONHOME
py="$venv/bin/python"
pip=("$py" -m pip)
export PIP_ROOT_USER_ACTION=ignore

# A satisfied requirement is not fetched again, so a second run works offline.
"${pip[@]}" install -q "pip>=23"
"${pip[@]}" install -q "meson>=1.1" "meson-python>=0.15" ninja "jupyterlab>=4.2,<5" "notebook>=7.2,<8" \
  "hatchling>=1.5" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" prometheus_client ipykernel
if [ "$tests" = 1 ]; then
  "${pip[@]}" install -q pytest "pytest-jupyter[server]>=0.10" psutil ruff build
  "${pip[@]}" install -q jupyterhub requests playwright
  npm install -q --no-audit --no-fund --prefix .hubtools configurable-http-proxy
fi

# run-lab.sh runs this every time: the two builds are skipped when this
# environment holds them from the checkout as it is now (same commit, same
# changes, same untracked files). Outside a git checkout they always run;
# JPU_SETUP_REBUILD=1 forces them.
stamp_file="$venv/.jpu-source-stamp"
stamp=""
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$PWD" ]; then
  stamp="$({ git rev-parse HEAD && git diff HEAD --binary &&
    git ls-files -o --exclude-standard -z | xargs -0 -r sha256sum; } | sha256sum)" || stamp=""
fi
if [ -n "$stamp" ] && [ "${JPU_SETUP_REBUILD:-0}" != 1 ] && [ -f "$stamp_file" ] &&
  [ "$(cat "$stamp_file")" = "$stamp" ] && "$py" -c 'import jpu, jupyter_power_usage' 2>/dev/null; then
  echo "setup: jpu and the extension in $venv are this checkout's; not rebuilt (JPU_SETUP_REBUILD=1 rebuilds)"
else
  rm -f "$stamp_file"
  # the engine first: the extension depends on the `jpu` wheel. Without build
  # isolation the build uses the tools installed above (no second download).
  "${pip[@]}" install -q --no-build-isolation .
  "${pip[@]}" install -q --no-build-isolation ./jupyter
fi
# read the whole listing first: `grep -q` closing the pipe early would fail
# the pipeline under pipefail
exts="$("$venv/bin/jupyter" server extension list 2>&1)"
grep -q "jupyter_power_usage.*OK" <<<"$exts" || {
  echo "setup: the server extension is not enabled" >&2; echo "$exts" >&2; exit 1; }
labexts="$("$venv/bin/jupyter" labextension list 2>&1)"
grep -q "jupyter-power-usage.*OK" <<<"$labexts" || {
  echo "setup: the labextension is not installed" >&2; echo "$labexts" >&2; exit 1; }
if [ -n "$stamp" ]; then printf '%s\n' "$stamp" >"$stamp_file"; fi
echo "setup: jpu $("$py" -c 'import jpu; print(jpu.__version__)') and jupyter-power-usage installed in $venv"
echo "setup: use it with  source $venv/bin/activate  (or run $venv/bin/jupyter lab, $venv/bin/jpu)"
