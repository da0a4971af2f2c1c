# SPDX-License-Identifier: BSD-3-Clause
"""The carbon providers over real HTTP: tests/carbon_probe (lib/carbon)
against tests/replay_server.py replaying fixtures/provider-responses.

The probe is found through $JPU_CARBON_PROBE (set by `meson test`), else
$JPU_BUILD_DIR/tests/carbon_probe (or $JPU_BUILD_DIR/carbon_probe), else
build*/tests/carbon_probe. Without a probe, or with one built without the
providers, the tests skip, except where $CI is set: CI builds with
-Dcarbon=enabled, so there it is a failure.
"""

import errno
import glob
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from replay_server import Replay  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures", "provider-responses")
RTE = "/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records"
EMAPS = "/v4/carbon-intensity/latest"
EMAPS_V3 = "/v3/carbon-intensity/latest"  # legacy: only where v4 refuses
TOKEN = "test-token-4f9c2a"


def unavailable(reason):
    """Skip, or in CI fail: there the providers are built (-Dcarbon=enabled), so a
    probe that is missing or has no live providers is a broken build."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set: the carbon providers must be built and tested)")
    pytest.skip(reason)


def find_probe():
    cand = [os.environ.get("JPU_CARBON_PROBE")]
    if os.environ.get("JPU_BUILD_DIR"):
        build = os.environ["JPU_BUILD_DIR"]
        cand += [os.path.join(build, "tests", "carbon_probe"), os.path.join(build, "carbon_probe")]
    cand += sorted(
        glob.glob(os.path.join(HERE, "..", "build*", "tests", "carbon_probe")),
        key=os.path.getmtime,
        reverse=True,
    )
    for c in cand:
        if c and os.access(c, os.X_OK):
            feat = json.loads(
                subprocess.run([c, "--features"], capture_output=True, text=True, check=True).stdout
            )
            if not feat["net"]:
                unavailable(f"{c} built without libcurl/jansson: no live providers to test")
            return c
    unavailable("carbon_probe not built: run `ninja -C BUILD` or set JPU_CARBON_PROBE")


@pytest.fixture
def replay():
    r = Replay(FIXTURES)
    r.start()
    yield r
    r.stop()


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.out = [json.loads(line) for line in proc.stdout.splitlines()]

    def refreshes(self):
        return [o["refresh"] for o in self.out if "refresh" in o]

    def currents(self):
        return [o for o in self.out if "mg_per_kwh" in o or set(o) == {"rc"}]


def probe(*args, timeout=60):
    proc = subprocess.run([find_probe(), *args], capture_output=True, text=True, timeout=timeout)
    return Run(proc)


def test_rte_value_and_query(replay):
    replay.route(RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"})
    run = probe("--country", "FR", "--url", "rte=" + replay.url, "refresh", "current")
    assert run.rc == 0, run.stderr
    assert run.out[0] == {"chain": "rte,table"}
    assert run.refreshes() == [1]
    cur = run.currents()[0]
    assert cur["mg_per_kwh"] == 47000
    assert (cur["source"], cur["zone"], cur["basis"]) == ("rte", "FR", "direct")
    assert cur["data_t_usec"] == 1694535300 * 10**6  # 2023-09-12T16:15:00Z
    assert not cur["stale"]
    (req,) = replay.hits(RTE)
    # the ODRE Explore v2.1 query of shared/data/README.md
    assert req["query"]["select"] == ["date_heure,taux_co2"]
    assert req["query"]["where"] == ["taux_co2 is not null"]
    assert req["query"]["order_by"] == ["date_heure desc"]
    assert req["query"]["limit"] == ["1"]
    assert "auth-token" not in req["headers"]


def test_rte_null_row_is_never_zero(replay):
    replay.route(
        RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_forecast_only_row.json"}
    )
    run = probe("--country", "FR", "--url", "rte=" + replay.url, "refresh", "current")
    assert run.refreshes() == [-errno.ENODATA]
    cur = run.currents()[0]
    assert cur["source"] == "table" and cur["mg_per_kwh"] == 44180


def test_gb_national_and_regional(replay):
    replay.route("/intensity", {"status": 200, "file": "uk_intensity.json"})
    replay.route("/regional/postcode/RG10", {"status": 200, "file": "uk_regional_postcode.json"})
    run = probe("--country", "GB", "--url", "gb=" + replay.url + "/", "refresh", "current")
    cur = run.currents()[0]
    assert (cur["mg_per_kwh"], cur["source"], cur["zone"], cur["estimated"]) == (
        263000,
        "gb",
        "GB",
        False,
    )
    run = probe(
        "--provider", "gb", "--postcode", "rg10", "--url", "gb=" + replay.url, "refresh", "current"
    )
    cur = run.currents()[0]
    assert (cur["mg_per_kwh"], cur["zone"], cur["estimated"], cur["basis"]) == (
        266000,
        "GB-RG10",
        True,
        "direct",
    )
    assert len(replay.hits("/intensity")) == 1
    assert len(replay.hits("/regional/postcode/RG10")) == 1


def test_token_only_to_emaps_and_fallback_on_500(replay):
    replay.route(RTE, {"status": 500, "body": "internal error"})
    replay.route(EMAPS, {"status": 200, "file": "emaps_v4_carbon_intensity_latest.json"})
    run = probe(
        "--provider",
        "rte,emaps,table",
        "--country",
        "FR",
        "--token",
        TOKEN,
        "--url",
        "rte=" + replay.url,
        "--url",
        "emaps=" + replay.url,
        "refresh",
        "current",
    )
    assert run.refreshes() == [1]  # rte failed, emaps answered
    cur = run.currents()[0]
    assert (cur["mg_per_kwh"], cur["source"], cur["zone"], cur["basis"], cur["estimated"]) == (
        41000,
        "emaps",
        "FR",
        "lifecycle",
        False,
    )
    (rte,) = replay.hits(RTE)
    (em,) = replay.hits(EMAPS)
    assert replay.hits(EMAPS_V3) == []  # v4 answered: the legacy API is not asked
    assert "auth-token" not in rte["headers"]
    assert em["headers"]["auth-token"] == TOKEN
    assert em["query"]["zone"] == ["FR"]
    assert em["query"]["shouldUseFallbackCallerLookup"] == ["false"]
    assert TOKEN not in run.stderr  # the token is never logged
    assert "HTTP 500" in run.stderr


def test_fallback_to_table_on_500_and_backoff(replay):
    replay.route("/intensity", {"status": 503, "body": ""})
    run = probe(
        "--country", "GB", "--url", "gb=" + replay.url, "refresh", "current", "refresh", "refresh"
    )
    assert run.refreshes() == [-errno.EAGAIN, 0, 0]  # then backing off: nothing due
    cur = run.currents()[0]
    assert (cur["source"], cur["zone"], cur["mg_per_kwh"]) == ("table", "GB", 210890)
    assert len(replay.hits("/intensity")) == 1
    assert "retrying in 30 s" in run.stderr


def test_timeout_falls_down_the_chain(replay):
    replay.route("/intensity", {"hang": 3.0, "status": 200, "file": "uk_intensity.json"})
    t0 = time.monotonic()
    run = probe(
        "--country", "GB", "--timeout-ms", "400", "--url", "gb=" + replay.url, "refresh", "current"
    )
    elapsed = time.monotonic() - t0
    assert run.refreshes() == [-errno.ETIMEDOUT]
    assert run.currents()[0]["source"] == "table"
    assert elapsed < 2.5, elapsed


def test_connection_refused(replay):
    url = replay.url
    replay.stop()
    run = probe("--country", "FR", "--url", "rte=" + url, "refresh", "current")
    assert run.refreshes() == [-errno.ECONNREFUSED]
    assert run.currents()[0]["source"] == "table"


def test_retry_after_is_honoured_then_cadence(replay):
    replay.route(
        RTE,
        {"status": 429, "retry_after": "2"},
        {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"},
    )
    run = probe(
        "--country",
        "FR",
        "--url",
        "rte=" + replay.url,
        "refresh",
        "refresh",
        "sleep:1",
        "refresh",
        "sleep:1.3",
        "refresh",
        "current",
        "refresh",
        "refresh",
    )
    # 429 -> wait Retry-After (2 s, not the 30 s default, not sooner), then
    # the 15 min cadence: callers asking more often cause no request
    assert run.refreshes() == [-errno.EAGAIN, 0, 0, 1, 0, 0]
    hits = replay.hits(RTE)
    assert len(hits) == 2
    assert 1.9 <= hits[1]["t"] - hits[0]["t"] < 3.5
    assert run.currents()[0]["source"] == "rte"


def test_401_no_retry_until_token_changes(replay):
    # v4 refuses the token and the legacy v3 has no such route (404): the
    # token's refusal is what counts
    replay.route(
        EMAPS,
        {"status": 401, "file": "emaps_error_401.json"},
        {"status": 200, "file": "emaps_v4_carbon_intensity_latest.json"},
    )
    run = probe(
        "--provider",
        "emaps",
        "--country",
        "FR",
        "--token",
        TOKEN,
        "--url",
        "emaps=" + replay.url,
        "refresh",
        "current",
        "refresh",
        "refresh",
        "set-token:new-token-77",
        "refresh",
        "current",
    )
    assert run.refreshes() == [-errno.EACCES, 0, 0, 1]
    cur = run.currents()
    assert cur[0]["source"] == "table"
    assert cur[1]["source"] == "emaps" and cur[1]["mg_per_kwh"] == 41000
    hits = replay.hits(EMAPS)
    assert [h["headers"]["auth-token"] for h in hits] == [TOKEN, "new-token-77"]
    # v3 was asked once, with the first token, when v4 refused it
    assert [h["headers"]["auth-token"] for h in replay.hits(EMAPS_V3)] == [TOKEN]
    assert run.stderr.count("not retrying until the token changes") == 1
    assert "You do not have access" in run.stderr
    assert TOKEN not in run.stderr and "new-token-77" not in run.stderr


def emaps_probe(replay, *cmds):
    return probe(
        "--provider",
        "emaps",
        "--country",
        "FR",
        "--token",
        TOKEN,
        "--url",
        "emaps=" + replay.url,
        *cmds,
    )


@pytest.mark.parametrize("status", [404, 410, 401, 403])
def test_emaps_falls_back_to_v3_where_v4_refuses(replay, status):
    replay.route(EMAPS, {"status": status, "body": '{"error":"not here","message":"refused"}'})
    replay.route(EMAPS_V3, {"status": 200, "file": "emaps_v3_carbon_intensity_latest.json"})
    run = emaps_probe(replay, "refresh", "current")
    assert run.refreshes() == [1]
    cur = run.currents()[0]
    assert (cur["source"], cur["mg_per_kwh"], cur["estimated"]) == ("emaps", 83000, True)
    (v4,) = replay.hits(EMAPS)
    (v3,) = replay.hits(EMAPS_V3)
    for h in (v4, v3):
        assert h["headers"]["auth-token"] == TOKEN
        assert h["query"]["zone"] == ["FR"]
        assert h["query"]["shouldUseFallbackCallerLookup"] == ["false"]
    assert v4["t"] < v3["t"]
    # said once, with the refusal, without the token
    assert run.stderr.count("which the provider is retiring") == 1
    assert f"HTTP {status}" in run.stderr and "refused" in run.stderr
    assert TOKEN not in run.stderr


@pytest.mark.parametrize(
    "status,err", [(500, errno.EAGAIN), (429, errno.EAGAIN), (400, errno.EPROTO)]
)
def test_emaps_no_fallback_when_v4_fails_otherwise(replay, status, err):
    # a transient or request error of v4 is not a refusal of the version
    replay.route(EMAPS, {"status": status, "body": "{}"})
    replay.route(EMAPS_V3, {"status": 200, "file": "emaps_v3_carbon_intensity_latest.json"})
    run = emaps_probe(replay, "refresh", "current")
    assert run.refreshes() == [-err]
    assert run.currents()[0]["source"] == "table"
    assert len(replay.hits(EMAPS)) == 1
    assert replay.hits(EMAPS_V3) == []


def test_emaps_v4_asked_again_after_a_legacy_failure(replay):
    # v4 refuses (404), v3 fails once (503, Retry-After 1 s) then answers:
    # the retry starts from v4 again; the error is v3's, not the refusal
    replay.route(EMAPS, {"status": 404, "body": "{}"})
    replay.route(
        EMAPS_V3,
        {"status": 503, "body": "oops", "retry_after": "1"},
        {"status": 200, "file": "emaps_v3_carbon_intensity_latest.json"},
    )
    run = emaps_probe(replay, "refresh", "sleep:1.5", "refresh", "current")
    assert run.refreshes() == [-errno.EAGAIN, 1]
    assert run.currents()[0]["mg_per_kwh"] == 83000
    assert len(replay.hits(EMAPS)) == 2
    assert len(replay.hits(EMAPS_V3)) == 2


def test_stale_then_next_provider(replay):
    replay.route(RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"})
    run = probe(
        "--country",
        "FR",
        "--url",
        "rte=" + replay.url,
        "refresh",
        "current+600",
        "current+1200",
        "current+21000",
        "current+25200",
    )
    c = run.currents()
    assert [(x["source"], x["stale"]) for x in c] == [
        ("rte", False),
        ("rte", True),
        ("rte", True),
        ("table", False),
    ]


def test_fetch_thread(replay):
    replay.route(RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"})
    run = probe("--country", "FR", "--url", "rte=" + replay.url, "start", "sleep:1", "current")
    assert {"start": 0} in run.out
    assert run.currents()[0]["source"] == "rte"
    assert len(replay.hits(RTE)) == 1


def test_fetch_thread_stops_promptly_during_a_hang(replay):
    replay.route(RTE, {"hang": 20, "status": 200, "body": "{}"})
    t0 = time.monotonic()
    run = probe("--country", "FR", "--url", "rte=" + replay.url, "start", "sleep:0.3", "current")
    assert run.rc == 0
    assert run.currents()[0]["source"] == "table"
    assert time.monotonic() - t0 < 5  # free() aborts the fetch in flight


def test_body_cap_and_garbage(replay):
    replay.route(RTE, {"status": 200, "size": 2 * 1024 * 1024})
    run = probe("--country", "FR", "--url", "rte=" + replay.url, "refresh", "current")
    assert run.refreshes() == [-errno.EFBIG]
    assert run.currents()[0]["source"] == "table"
    replay.route("/intensity", {"status": 200, "body": "<html>gateway</html>"})
    run = probe("--country", "GB", "--url", "gb=" + replay.url, "refresh", "current")
    assert run.refreshes() == [-errno.EBADMSG]
    assert run.currents()[0]["source"] == "table"


def test_400_message_logged(replay):
    replay.route("/regional/postcode/ZZ9", {"status": 400, "file": "uk_error_400.json"})
    run = probe(
        "--country", "GB", "--postcode", "ZZ9", "--url", "gb=" + replay.url, "refresh", "current"
    )
    assert run.refreshes() == [-errno.EPROTO]
    assert "HTTP 400" in run.stderr and "400 Bad Request: string" in run.stderr
    assert run.currents()[0]["zone"] == "GB"


@pytest.mark.parametrize(
    "args,word",
    [
        (["--url", "bogus=http://127.0.0.1:1"], "bogus="),
        (["--provider", "nope"], "nope"),
        (["--provider", "emaps", "--country", "FR"], "token"),
        (["--provider", "rte", "--country", "DE"], "France"),
    ],
)
def test_bad_options(args, word):
    run = probe(*args)
    assert run.rc == 2
    assert run.out == [{"new": -errno.EINVAL}]
    assert word in run.stderr
