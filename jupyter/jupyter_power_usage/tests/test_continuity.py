"""The ledger that keeps served totals continuous when the figures change source."""

from __future__ import annotations

from ..continuity import Ledger, history_entry, tracked_entry


def test_first_source_is_served_as_is_and_a_new_one_carries_on():
    ledger = Ledger()
    assert ledger.apply("daemon-1", {"e": 100.0}) == {"e": 100.0}
    assert ledger.apply("daemon-1", {"e": 130.0}) == {"e": 130.0}
    # the fallback engine counts from its own total (5 J): carry on from 130
    assert ledger.apply("server-2", {"e": 5.0}) == {"e": 130.0}
    assert ledger.apply("server-2", {"e": 12.0}) == {"e": 137.0}
    # jpud again, its total persisted (160 J): carry on from 137
    assert ledger.apply("daemon-3", {"e": 160.0}) == {"e": 137.0}
    assert ledger.apply("daemon-3", {"e": 171.0}) == {"e": 148.0}


def test_a_total_that_goes_back_within_a_run_never_shows_less():
    ledger = Ledger()
    ledger.apply(1, {"e": 50.0})
    assert ledger.apply(1, {"e": 2.0}) == {"e": 50.0}
    assert ledger.apply(1, {"e": 7.0}) == {"e": 55.0}


def test_a_field_new_to_a_source_starts_at_its_own_value():
    ledger = Ledger()
    ledger.apply(1, {"e": 10.0})
    assert ledger.apply(2, {"e": 1.0, "g": 3.0}) == {"e": 10.0, "g": 3.0}


def test_history_entry_has_the_engines_keys_and_leaves_unknown_out():
    sample = {
        "time": "2026-01-01T00:00:00.000Z",
        "cpu": {"usage": 2.0, "total": 40.0, "source": "rapl"},
        "energy_j": {"cpu": 9.0, "total": 9.0},
        "emissions": {"g": 0.5, "intensity_g_per_kwh": 56.0},
    }
    entry = history_entry(sample, 1.0)
    assert entry == {
        "time": "2026-01-01T00:00:00.000Z",
        "t": 1.0,
        "cpu": 2.0,
        "cpu_total": 40.0,
        "energy_j": 9.0,
        "emissions_g": 0.5,
        "intensity_g_per_kwh": 56.0,
    }


def test_tracked_entry_from_jpud_adds_the_parts_power():
    item = {
        "tag": "k",
        "pid": 7,
        "sample": {
            "alive": True,
            "cpu": {"usage": 1.5},
            "dram": {"usage": 0.25},
            "energy_j": {"cpu": 3.0, "total": 3.5},
            "emissions": {"g": 0.1},
        },
    }
    assert tracked_entry(item) == {
        "tag": "k",
        "pid": 7,
        "alive": True,
        "power_w": 1.75,
        "energy_j": {"cpu": 3.0, "total": 3.5},
        "emissions_g": 0.1,
    }
    assert tracked_entry({"tag": "k", "pid": 7, "sample": None})["power_w"] is None
    assert tracked_entry({"pid": 7}) is None
