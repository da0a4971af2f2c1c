#!/usr/bin/env bash
# Set up and start JupyterLab with the extension on this machine's sensors
# (RAPL, hwmon, perf, NVML where readable; the estimate otherwise).
# Extra arguments go to `jupyter lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
JPU_SETUP_TESTS=0 bash scripts/setup.sh
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
jpu --json --count 1 --interval 0.5 | python3 -c 'import json,sys; s=json.loads(sys.stdin.read()); c=s.get("cpu",{}); print("jpu: CPU %s W (%s)" % (c.get("total"), c.get("source")))' || true
exec jupyter lab "${args[@]}" "$@"
