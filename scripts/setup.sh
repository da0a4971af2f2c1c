#!/usr/bin/env bash
# Install what jupyter-power-usage needs to build, run and test on Debian 12,
# then build and install the engine (`jpu` wheel: libjpu, the jpu command,
# the Python binding) and the Jupyter extension from this checkout.
#   bash scripts/setup.sh            # product and test dependencies
#   JPU_SETUP_TESTS=0 bash scripts/setup.sh   # product only
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export YARN_ENABLE_IMMUTABLE_INSTALLS=0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

debs=(gcc pkg-config libcurl4-openssl-dev libjansson-dev nodejs npm)
if [ "${JPU_SETUP_TESTS:-1}" = 1 ]; then
  debs+=(clang clang-format libclang-rt-14-dev chromium prometheus)
fi
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

PIP="python3 -m pip"
export PIP_ROOT_USER_ACTION=ignore
$PIP install -q --upgrade "pip>=23" >/dev/null 2>&1 || true
$PIP install -q "meson>=1.1" "meson-python>=0.15" ninja "jupyterlab>=4.2,<5" "notebook>=7.2,<8" \
  "hatchling>=1.5" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" prometheus_client ipykernel
if [ "${JPU_SETUP_TESTS:-1}" = 1 ]; then
  $PIP install -q pytest "pytest-jupyter[server]>=0.10" psutil ipykernel
  $PIP install -q jupyterhub requests playwright && npm install -q --no-audit --no-fund --prefix .hubtools configurable-http-proxy
fi

# the engine first: the extension depends on the `jpu` wheel
$PIP install -q --no-build-isolation .
$PIP install -q --no-build-isolation ./jupyter
# read the whole listing first: `grep -q` closing the pipe early would fail
# the pipeline under pipefail
exts="$(jupyter server extension list 2>&1)"
grep -q "jupyter_power_usage.*OK" <<<"$exts" || {
  echo "setup: the server extension is not enabled" >&2; echo "$exts" >&2; exit 1; }
labexts="$(jupyter labextension list 2>&1)"
grep -q "jupyter-power-usage.*OK" <<<"$labexts" || {
  echo "setup: the labextension is not installed" >&2; echo "$labexts" >&2; exit 1; }
echo "setup: jpu $(python3 -c 'import jpu; print(jpu.__version__)') and jupyter-power-usage installed"
