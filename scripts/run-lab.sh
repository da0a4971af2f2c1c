#!/usr/bin/env bash
# Set up and start JupyterLab with the extension on this machine's sensors
# (RAPL, hwmon, perf, NVML where readable; the estimate otherwise).
# Everything goes into the virtual environment scripts/setup.sh makes (.venv
# in this checkout, or JPU_VENV). Extra arguments go to `jupyter lab`.
set -euo pipefail
caller_dir="$PWD"
cd "$(dirname "$0")/.."
venv="${JPU_VENV:-$PWD/.venv}"
case "$venv" in /*) ;; *) venv="$caller_dir/$venv" ;; esac
# setup.sh remakes a broken default environment, never one the user named
if [ -n "${JPU_VENV:-}" ]; then export JPU_VENV="$venv"; fi

JPU_SETUP_TESTS=0 bash scripts/setup.sh
# kernels, terminals and `jpu` in them find this environment first
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
"$venv/bin/jpu" --json --count 1 --interval 0.5 | "$venv/bin/python" -c 'import json,sys; s=json.loads(sys.stdin.read()); c=s.get("cpu",{}); print("jpu: CPU %s W (%s)" % (c.get("total"), c.get("source")))' || true
exec "$venv/bin/jupyter" lab "${args[@]}" "$@"
