"""Server-side configuration: the ``PowerUsageDisplay`` traitlets class.

The class name and the names ``measurement_scope`` and ``emaps_access_token`` are the original
jupyter-power-usage extension's, so existing ``jupyter_server_config`` files keep working.
Every validator raises a ``TraitError`` that names the trait, and the extension turns that into
a refusal to start (see ``app.py``): a typo in a config file must not silently give wrong figures.
"""

from __future__ import annotations

import math

from traitlets import Float, Integer, TraitError, Unicode, validate
from traitlets.config import Configurable

SCOPES = ("process", "user", "system")
SCOPE_ALIASES = {"sys": "system"}
IDLE_POLICIES = ("none", "busy", "even")

MAX_SAMPLE_INTERVAL_S = 3600.0
MAX_HISTORY_LENGTH = 1_000_000


def _name(trait: str) -> str:
    return f"PowerUsageDisplay.{trait}"


class PowerUsageDisplay(Configurable):
    """Server-side configuration of jupyter-power-usage."""

    measurement_scope = Unicode(
        "process",
        help="""Whose power is reported as `cpu.usage` / `gpu.usage`.

        - `process` (default): the Jupyter server's own process tree, its kernels included;
        - `user`: every process of the user running the server;
        - `system` (`sys` is accepted, the original extension's spelling): the whole machine.
        """,
    ).tag(config=True)

    emaps_access_token = Unicode(
        "",
        help="""Electricity Maps API token, used only by the server-side proxy
        `/api/metrics/v1/emission_factor/emaps/<path>`; it is never sent to the browser.
        Default: "" (the proxy answers 400 until a token is set).""",
    ).tag(config=True)

    emaps_base_url = Unicode(
        "https://api.electricitymaps.com",
        help="""Base URL of the Electricity Maps API that the proxy forwards to
        (tests point it at a local server). Default: https://api.electricitymaps.com""",
    ).tag(config=True)

    emaps_timeout = Float(
        10.0,
        help="""Timeout of one proxied Electricity Maps request, in seconds. Default: 10.""",
    ).tag(config=True)

    sysfs_path = Unicode(
        "/sys",
        help="""Root of sysfs the engine reads counters from (powercap, hwmon), a directory.
        Point it at a host mount in a container or at a fixture tree in tests. Default: /sys""",
    ).tag(config=True)

    procfs_path = Unicode(
        "/proc",
        help="""Root of procfs the engine reads CPU times and process trees from, a directory.
        Default: /proc""",
    ).tag(config=True)

    nvml_library = Unicode(
        None,
        allow_none=True,
        help="""NVIDIA management library to load for GPU power, a file path or soname.
        Default: None (the system's libnvidia-ml.so.1); "" disables GPU measurement.""",
    ).tag(config=True)

    sample_interval = Float(
        1.0,
        help="""Seconds between two samples of the engine's background sampler, independent of
        how many browser tabs poll. Must be > 0 and <= 3600. Default: 1.0""",
    ).tag(config=True)

    idle_policy = Unicode(
        "none",
        help="""How the machine's idle power is shared with the measured scope:
        `none` (default: idle reported on its own as `cpu.idle`), `busy` (shared in proportion
        to CPU time, the original extension's arithmetic) or `even` (split evenly among active
        users).""",
    ).tag(config=True)

    history_length = Integer(
        3600,
        help="""Number of samples kept in memory for `/api/metrics/v1/power_usage/history`
        (at the default 1 s interval, one hour). Must be >= 1. Default: 3600""",
    ).tag(config=True)

    daemon_socket = Unicode(
        "",
        help="""Unix socket of the node daemon jpud. Default: "" (sample in this process).
        The daemon client is not implemented yet: when set, the server logs so and samples
        in-process.""",
    ).tag(config=True)

    state_file = Unicode(
        "",
        help="""File where cumulative energy is persisted (atomic writes) so a server restart
        loses at most one interval. Default: "" (not persisted).""",
    ).tag(config=True)

    @validate("measurement_scope")
    def _valid_scope(self, proposal):
        value = str(proposal["value"]).strip().lower()
        value = SCOPE_ALIASES.get(value, value)
        if value not in SCOPES:
            raise TraitError(
                f"{_name('measurement_scope')}: {proposal['value']!r} is not a scope; "
                f"use one of {', '.join(SCOPES)} (or 'sys')"
            )
        return value

    @validate("idle_policy")
    def _valid_idle_policy(self, proposal):
        value = str(proposal["value"]).strip().lower()
        if value not in IDLE_POLICIES:
            raise TraitError(
                f"{_name('idle_policy')}: {proposal['value']!r} is not an idle policy; "
                f"use one of {', '.join(IDLE_POLICIES)}"
            )
        return value

    @validate("sample_interval")
    def _valid_interval(self, proposal):
        value = proposal["value"]
        if not (math.isfinite(value) and 0 < value <= MAX_SAMPLE_INTERVAL_S):
            raise TraitError(
                f"{_name('sample_interval')}: {value!r} seconds is out of range; "
                f"it must be > 0 and <= {MAX_SAMPLE_INTERVAL_S:g}"
            )
        return float(value)

    @validate("emaps_timeout")
    def _valid_timeout(self, proposal):
        value = proposal["value"]
        if not (math.isfinite(value) and 0 < value <= 600):
            raise TraitError(
                f"{_name('emaps_timeout')}: {value!r} seconds is out of range; "
                "it must be > 0 and <= 600"
            )
        return float(value)

    @validate("history_length")
    def _valid_history(self, proposal):
        value = proposal["value"]
        if not 1 <= value <= MAX_HISTORY_LENGTH:
            raise TraitError(
                f"{_name('history_length')}: {value!r} samples is out of range; "
                f"it must be >= 1 and <= {MAX_HISTORY_LENGTH}"
            )
        return value

    @validate("sysfs_path", "procfs_path")
    def _valid_root(self, proposal):
        value = proposal["value"]
        if not value:
            raise TraitError(f"{_name(proposal['trait'].name)}: must be a directory, not empty")
        # Existence is checked by the engine at start: a missing root is a runtime
        # condition reported by the endpoints (503 with the reason), not a config typo.
        return value

    @validate("emaps_base_url")
    def _valid_base_url(self, proposal):
        value = proposal["value"].rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise TraitError(
                f"{_name('emaps_base_url')}: {proposal['value']!r} must start with "
                "http:// or https://"
            )
        return value
