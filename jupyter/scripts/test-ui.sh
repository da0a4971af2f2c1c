#!/usr/bin/env bash
# Galata UI tests of jupyter-power-usage, headless in Debian's Chromium.
#
# Needs: the engine and this extension installed (`pip install . ./jupyter` from
# the repository root), node + jlpm, and /usr/bin/chromium (apt-get install chromium;
# another binary with JPU_CHROMIUM=...). Playwright's own browser download is skipped.
# The "jpud" project (tests/jpud.spec.ts, server ui-tests/jpud_server.py) also needs root and
# a built build/daemon/jpud (or JPUD_BIN), and a Python another account can run: its tests
# skip, saying why, without them.
# Screenshots are kept under jupyter/ui-tests/test-results/, the HTML report under
# jupyter/ui-tests/playwright-report/. Ends with a plain "N passed, N failed" line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../ui-tests"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
chromium="${JPU_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    echo "test-ui: no Chromium at $chromium: apt-get install chromium, or set JPU_CHROMIUM" >&2
    exit 1
fi
if ! jupyter labextension list 2>&1 | grep -q 'jupyter-power-usage.*enabled.*OK'; then
    echo "test-ui: the labextension jupyter-power-usage is not installed: pip install . ./jupyter" >&2
    exit 1
fi

jlpm install
rm -rf test-results
export PLAYWRIGHT_JSON_OUTPUT_NAME=test-results/results.json
rc=0
jlpm playwright test --reporter=list,json "$@" || rc=$?

# One closing line any CI can read.
if [ -f "$PLAYWRIGHT_JSON_OUTPUT_NAME" ]; then
    python3 - "$PLAYWRIGHT_JSON_OUTPUT_NAME" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1])).get("stats", {})
passed = stats.get("expected", 0) + stats.get("flaky", 0)
failed = stats.get("unexpected", 0)
print(f"ui-tests: {passed} passed, {failed} failed, {stats.get('skipped', 0)} skipped")
PY
fi
exit "$rc"
