"""Where the figures come from, and for an estimate the one action that would measure here."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ..service import PowerService

RAPL_DENIED = {"sensor": "rapl", "reason": "permission", "message": "rapl: root-only"}
PERF_DENIED = {"sensor": "perf", "reason": "permission", "message": "perf: needs CAP_PERFMON"}
ABSENT = {"sensor": "hwmon", "reason": "absent", "message": "hwmon: none"}


def service(on_daemon=False, seen=False, path="/run/jpu/jpud.sock", explicit=False, reason=None):
    svc = PowerService.__new__(PowerService)
    svc.on_daemon = on_daemon
    svc.daemon_seen = seen
    svc.daemon_path = path
    svc.daemon_reason = reason
    svc.config = SimpleNamespace(explicitly_set=lambda trait: explicit)
    return svc


def estimate(*diagnostics):
    return {"cpu": {"source": "estimate"}, "diagnostics": list(diagnostics)}


def test_measured_needs_no_action():
    o = service(on_daemon=True).origin({"cpu": {"source": "rapl"}, "diagnostics": []})
    assert o == {
        "kind": "daemon",
        "label": "the node daemon jpud",
        "socket": "/run/jpu/jpud.sock",
        "reason": None,
        "action": None,
        "note": None,
    }


def test_root_only_counters_point_to_jpud():
    o = service(reason="no jpud socket at /run/jpu/jpud.sock").origin(estimate(RAPL_DENIED, ABSENT))
    assert o["kind"] == "server" and "run jpud" in o["action"] and o["note"] is None
    # the default socket, never seen: its absence is no problem to report
    assert o["reason"] is None


def test_perf_alone_gets_its_own_remedy_not_jpud():
    o = service().origin(estimate(PERF_DENIED, ABSENT))
    assert o["action"] == "perf: needs CAP_PERFMON"


def test_nothing_to_read_is_a_note_not_an_action():
    o = service().origin(estimate(ABSENT))
    assert o["action"] is None and "no power sensor" in o["note"]


def test_a_jpud_that_stopped_is_to_be_started_again():
    o = service(seen=True, reason="jpud (/s): refused").origin(estimate(RAPL_DENIED))
    assert o["reason"] == "jpud (/s): refused" and "start jpud again" in o["action"]


@pytest.mark.parametrize("diag", [RAPL_DENIED, ABSENT])
def test_the_daemon_estimating_says_why(diag):
    o = service(on_daemon=True).origin(estimate(diag))
    if diag is ABSENT:
        assert o["action"] is None and "node daemon is" in o["note"]
    else:
        assert "jpud cannot read rapl either" in o["action"]


def test_an_explicit_socket_that_is_absent_is_reported():
    o = service(explicit=True, reason="no jpud socket at /x").origin(estimate(ABSENT))
    assert o["reason"] == "no jpud socket at /x"
