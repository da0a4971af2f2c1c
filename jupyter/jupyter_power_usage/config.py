"""Server-side configuration: the ``PowerUsageDisplay`` traitlets class.

The class name and the names ``measurement_scope`` and ``emaps_access_token`` are the original
jupyter-power-usage extension's, so existing ``jupyter_server_config`` files keep working.
Every validator raises a ``TraitError`` that names the trait, and the extension turns that into
a refusal to start (see ``app.py``): a typo in a config file must not silently give wrong figures.
"""

from __future__ import annotations

import math
import os
import re

from traitlets import Bool, Dict, Float, Integer, TraitError, Unicode, default, validate
from traitlets.config import Configurable

SCOPES = ("process", "user", "system")
SCOPE_ALIASES = {"sys": "system"}
IDLE_POLICIES = ("none", "busy", "even")

CARBON_PROVIDERS = ("auto", "rte", "gb", "emaps", "table", "constant")
CARBON_URL_NAMES = ("rte", "gb", "emaps")
# ISO 3166-1 alpha-2 has no "UK"; the original extension's docs used it, so accept it for GB.
COUNTRY_ALIASES = {"UK": "GB"}
MAX_INTENSITY_G_PER_KWH = 3000.0
EMAPS_TOKEN_ENV = "JPU_EMAPS_TOKEN"
DAEMON_SOCKET_ENV = "JPU_DAEMON_SOCKET"
DEFAULT_DAEMON_SOCKET = "/run/jpu/jpud.sock"

MAX_SAMPLE_INTERVAL_S = 3600.0
MAX_HISTORY_LENGTH = 1_000_000


def _name(trait: str) -> str:
    return f"PowerUsageDisplay.{trait}"


def normalise_country(value: str) -> str:
    """ "fr" -> "FR", "uk" -> "GB", "" -> ""; ValueError for anything but two ASCII letters."""
    text = str(value).strip().upper()
    if text and not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code (two letters: FR, GB, DE...)"
        )
    return COUNTRY_ALIASES.get(text, text)


def normalise_provider(value: str) -> str:
    """A provider name or a comma chain ("gb,table"), lower case; ValueError when unknown."""
    text = str(value).strip().lower()
    names = [n.strip() for n in text.split(",")]
    if not text or any(n not in CARBON_PROVIDERS for n in names):
        raise ValueError(
            f"{value!r} is not a carbon intensity provider; use one of "
            f"{', '.join(CARBON_PROVIDERS)} or a comma chain such as 'gb,table'"
        )
    if "auto" in names and len(names) > 1:
        raise ValueError(f"{value!r}: 'auto' builds the chain itself and cannot be chained")
    return ",".join(names)


def check_intensity(value) -> float:
    """g/kWh of the constant provider: a finite number in 0..3000."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number of g/kWh")
    if not (math.isfinite(value) and 0 < value <= MAX_INTENSITY_G_PER_KWH):
        raise ValueError(
            f"{value!r} g/kWh is out of range; it must be > 0 and <= {MAX_INTENSITY_G_PER_KWH:g}"
        )
    return float(value)


class PowerUsageDisplay(Configurable):
    """Server-side configuration of jupyter-power-usage."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._check_carbon()

    def _check_carbon(self) -> None:
        """Checks that involve two traits (each validator sees only its own)."""
        chain = self.carbon_provider.split(",")
        if "emaps" in chain and not self.emaps_access_token:
            raise TraitError(
                f"{_name('carbon_provider')}: {self.carbon_provider!r} uses Electricity Maps, "
                f"which needs a token: set {_name('emaps_access_token')} or the environment "
                f"variable {EMAPS_TOKEN_ENV}"
            )
        if "emaps" in chain and not self.country_code:
            raise TraitError(
                f"{_name('carbon_provider')}: {self.carbon_provider!r} uses Electricity Maps, "
                f"which needs a zone: set {_name('country_code')}"
            )

    measurement_scope = Unicode(
        "process",
        help="""Whose power is reported as `cpu.usage` / `gpu.usage`.

        - `process` (default): the Jupyter server's own process tree, its kernels included;
        - `user`: every process of the user running the server;
        - `system` (`sys` is accepted, the original extension's spelling): the whole machine.
        """,
    ).tag(config=True)

    emaps_access_token = Unicode(
        help="""Electricity Maps API token, used on the server only: by the engine's `emaps`
        intensity provider and by the proxy `/api/metrics/v1/emission_factor/emaps/<path>`;
        it is never sent to the browser. Default: the environment variable JPU_EMAPS_TOKEN,
        else "" (no token: `emaps` is skipped by `auto` and the proxy answers 400).""",
    ).tag(config=True)

    @default("emaps_access_token")
    def _default_token(self):
        return os.environ.get(EMAPS_TOKEN_ENV, "")

    carbon_provider = Unicode(
        "auto",
        help="""Where grid carbon intensity comes from (docs/carbon.md): `auto` (default:
        `rte` for FR, `gb` for GB, `emaps` when a token is set, then the country table),
        `rte`, `gb`, `emaps`, `table`, `constant`, or a comma chain such as `gb,table`.""",
    ).tag(config=True)

    country_code = Unicode(
        "",
        help="""ISO 3166-1 alpha-2 code of the country whose grid powers the server (FR, GB,
        DE...; `UK` is read as GB). Default: "" (the World average of the country table).""",
    ).tag(config=True)

    postcode = Unicode(
        "",
        help="""GB outward postcode (the part before the space, e.g. RG10) for the regional
        NESO forecast. Default: "" (national figure).""",
    ).tag(config=True)

    carbon_intensity = Float(
        None,
        allow_none=True,
        help="""Fixed grid carbon intensity in gCO2/kWh for the `constant` provider (> 0 and
        <= 3000); setting it with `carbon_provider = "auto"` selects `constant`.
        Default: None (475 g/kWh when `constant` is chosen).""",
    ).tag(config=True)

    pue = Float(
        1.0,
        help="""Power usage effectiveness of the data centre, a factor applied to emissions
        (1.0 to 10.0). Default: 1.0""",
    ).tag(config=True)

    carbon_urls = Dict(
        value_trait=Unicode(),
        help="""Base URL overrides of the intensity providers, {name: URL} with name one of
        rte, gb, emaps (mirrors, proxies, tests). Default: {} (the providers' own URLs).""",
    ).tag(config=True)

    carbon_timeout = Float(
        10.0,
        help="""Timeout of one request to an intensity provider, in seconds (> 0 and <= 600).
        Default: 10.""",
    ).tag(config=True)

    allow_client_carbon_settings = Bool(
        True,
        help="""Whether the front end's emissions settings (PUT
        /api/metrics/v1/power_usage/carbon) may change the carbon settings of this server.
        Settings the administrator gave explicitly (carbon_provider, country_code,
        carbon_intensity) always win over the browser's. Default: True.""",
    ).tag(config=True)

    persist = Bool(
        True,
        help="""Keep cumulative energy and emissions (per scope and per kernel) in a state file
        so that they survive server restarts. Default: True.""",
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
        help="""Unix socket of the node daemon jpud. While jpud answers there, the figures are
        the daemon's (the node's sensors, read with privileges this server lacks: measured
        figures for an account that cannot read the root-only energy counters) and kernels are
        tracked through it; while it does not, this server samples in-process, says why, and
        goes back to jpud when it answers again, with totals kept continuous. "" never uses a
        daemon. Default: $JPU_DAEMON_SOCKET, else /run/jpu/jpud.sock (jpud's default).""",
    ).tag(config=True)

    @default("daemon_socket")
    def _default_daemon_socket(self):
        return os.environ.get(DAEMON_SOCKET_ENV, DEFAULT_DAEMON_SOCKET)

    state_file = Unicode(
        "",
        help="""File where cumulative energy and emissions are persisted (written durably
        after every sample) so a server restart loses at most one interval. One engine per file
        (a lock beside it): a second server on the same file runs without persisting. A file
        that cannot be loaded is moved to <file>.corrupt-<UTC time>, never overwritten.
        Default: "" (the Jupyter data directory's jupyter_power_usage/state-<scope>); unused
        when `persist` is False.""",
    ).tag(config=True)

    @validate("carbon_provider")
    def _valid_provider(self, proposal):
        try:
            return normalise_provider(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"{_name('carbon_provider')}: {exc}") from None

    @validate("country_code")
    def _valid_country(self, proposal):
        try:
            return normalise_country(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"{_name('country_code')}: {exc}") from None

    @validate("postcode")
    def _valid_postcode(self, proposal):
        value = str(proposal["value"]).strip().upper()
        # GB outward codes: A9, A99, AA9, AA99, A9A, AA9A.
        if value and not re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", value):
            raise TraitError(
                f"{_name('postcode')}: {proposal['value']!r} is not a GB outward postcode "
                "(the part before the space, e.g. RG10, SW1A)"
            )
        return value

    @validate("carbon_intensity")
    def _valid_intensity(self, proposal):
        value = proposal["value"]
        if value is None:
            return None
        try:
            return check_intensity(value)
        except ValueError as exc:
            raise TraitError(f"{_name('carbon_intensity')}: {exc}") from None

    @validate("pue")
    def _valid_pue(self, proposal):
        value = proposal["value"]
        if not (math.isfinite(value) and 1.0 <= value <= 10.0):
            raise TraitError(
                f"{_name('pue')}: {value!r} is out of range; it must be >= 1.0 and <= 10.0"
            )
        return float(value)

    @validate("carbon_urls")
    def _valid_urls(self, proposal):
        out = {}
        for name, url in dict(proposal["value"]).items():
            key = str(name).strip().lower()
            if key not in CARBON_URL_NAMES:
                raise TraitError(
                    f"{_name('carbon_urls')}: {name!r} is not a provider with a URL; "
                    f"use {', '.join(CARBON_URL_NAMES)}"
                )
            if not str(url).startswith(("http://", "https://")):
                raise TraitError(
                    f"{_name('carbon_urls')}[{key!r}]: {url!r} must start with http:// or https://"
                )
            out[key] = str(url).rstrip("/")
        return out

    @validate("carbon_timeout")
    def _valid_carbon_timeout(self, proposal):
        value = proposal["value"]
        if not (math.isfinite(value) and 0 < value <= 600):
            raise TraitError(
                f"{_name('carbon_timeout')}: {value!r} seconds is out of range; "
                "it must be > 0 and <= 600"
            )
        return float(value)

    def explicitly_set(self, trait: str) -> bool:
        """Whether the administrator gave trait in a config file or on the command line
        (a trait left at its default is not "set", even if its value happens to match)."""
        section = self.config.get("PowerUsageDisplay")
        return section is not None and trait in section

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

    @validate("daemon_socket")
    def _valid_daemon_socket(self, proposal):
        value = proposal["value"]
        if value and (not os.path.isabs(value) or len(os.fsencode(value)) > 107):
            raise TraitError(
                f"{_name('daemon_socket')}: {value!r} is not a usable socket path; it must be "
                'absolute and at most 107 bytes (a Unix socket\'s limit), or "" for no daemon'
            )
        return value

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
