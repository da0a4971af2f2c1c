#!/usr/bin/env bash
# Latency of /api/metrics/v1/power_usage against the server's own /api/status,
# measured by wrk (a C load generator, so the client's own cost does not mix
# into the figures), with 1 and 10 connections and N extra sleeping
# processes on the machine. Prints wrk's latency distribution for each.
#   bash jupyter/bench/bench_wrk.sh [N_PROCS] [SECONDS]
set -euo pipefail
n="${1:-1000}"; secs="${2:-10}"
command -v wrk >/dev/null || { echo "bench_wrk: apt-get install wrk" >&2; exit 2; }
port=$((20000 + RANDOM % 20000)); token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
dir=$(mktemp -d)
cleanup() { kill "$srv" 2>/dev/null || true; pkill -P $$ sleep 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq "$n"); do sleep 3600 & done
python3 -m jupyter_server --no-browser --allow-root --port "$port" --IdentityProvider.token="$token" \
  --ServerApp.root_dir="$dir" >"$dir/server.log" 2>&1 &
srv=$!
for _ in $(seq 60); do curl -sf -H "Authorization: token $token" "http://127.0.0.1:$port/api/status" >/dev/null && break; sleep 0.5; done
sleep 2 # the engine's first samples
echo "extra processes: $n; server pid $srv"
for c in 1 10; do
  for path in /api/metrics/v1/power_usage /api/status; do
    echo "== $path, $c connection(s), ${secs}s"
    wrk -t1 -c"$c" -d"${secs}s" --latency -H "Authorization: token $token" \
      "http://127.0.0.1:$port$path" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx"
  done
done
