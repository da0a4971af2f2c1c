"""Carbon settings: the server's configuration, the front end's settings, and which wins.

The server's ``PowerUsageDisplay`` traits are the default. The front end may hand its
``emissions`` settings (the original extension's names: ``source``, ``countryCode``, ``factor``,
``emapsAccessToken``) to ``PUT /api/metrics/v1/power_usage/carbon``; they apply unless
``allow_client_carbon_settings`` is False, except for the settings the administrator gave
explicitly (``carbon_provider``, ``country_code``, ``carbon_intensity``), which always win. A
token configured on the server wins over one from the browser; a token from the browser is kept
on the server only and never written back to any client.
"""

from __future__ import annotations

import math
from typing import Any

from .config import check_intensity, normalise_country

DEFAULT_EMAPS_BASE_URL = "https://api.electricitymaps.com"

# The original extension's `emissions.source` values were "rte" (its default) and "emaps";
# the constant factor was its fallback. Our front end adds "" (use the server's settings).
CLIENT_SOURCES = ("", "auto", "rte", "gb", "emaps", "table", "constant")
# Sources that only make sense for one country: the zone follows the source.
SOURCE_COUNTRY = {"rte": "FR", "gb": "GB"}
# Which browser field each explicitly-set server trait locks.
LOCKS = {"source": "carbon_provider", "countryCode": "country_code", "factor": "carbon_intensity"}
MAX_TOKEN_LENGTH = 512


class FieldError(ValueError):
    """A front-end setting that cannot be used; .field names it (the original's name)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_client_settings(body: Any) -> dict:
    """Validate the PUT body; return {source, countryCode, factor, emapsAccessToken} with None for
    what the body leaves out. Unknown keys (refreshRate...) are ignored so the front end can send
    its whole `emissions` object."""
    if not isinstance(body, dict):
        raise FieldError("body", "expected a JSON object with the emissions settings")
    out: dict[str, Any] = {}

    source = body.get("source")
    if source is not None:
        if not isinstance(source, str) or source.strip().lower() not in CLIENT_SOURCES:
            raise FieldError(
                "source",
                f"{source!r} is not a carbon intensity source; use one of "
                + ", ".join(repr(s) for s in CLIENT_SOURCES)
                + " ('' for the server's settings)",
            )
        source = source.strip().lower()
    out["source"] = source

    country = body.get("countryCode")
    if country is not None:
        if not isinstance(country, str):
            raise FieldError("countryCode", f"{country!r} is not a string")
        try:
            country = normalise_country(country)
        except ValueError as exc:
            raise FieldError("countryCode", str(exc)) from None
    out["countryCode"] = country

    factor = body.get("factor")
    if factor is not None:
        try:
            factor = check_intensity(factor)
        except ValueError as exc:
            raise FieldError("factor", str(exc)) from None
    out["factor"] = factor

    token = body.get("emapsAccessToken")
    if token is not None:
        if not isinstance(token, str):
            raise FieldError("emapsAccessToken", "expected a string")
        token = token.strip()
        # A header value: printable ASCII without spaces (no header injection).
        if len(token) > MAX_TOKEN_LENGTH or any(not (32 < ord(c) < 127) for c in token):
            raise FieldError(
                "emapsAccessToken",
                f"not a token (printable ASCII without spaces, at most {MAX_TOKEN_LENGTH})",
            )
    out["emapsAccessToken"] = token
    return out


def server_settings(cfg: Any) -> dict:
    """Engine.set_carbon() keywords from the server's configuration."""
    urls = dict(cfg.carbon_urls)
    if "emaps" not in urls and cfg.emaps_base_url != DEFAULT_EMAPS_BASE_URL:
        # One Electricity Maps mirror for the proxy and the engine alike.
        urls["emaps"] = cfg.emaps_base_url
    return {
        "provider": cfg.carbon_provider,
        "country": cfg.country_code or None,
        "postcode": cfg.postcode or None,
        "intensity": cfg.carbon_intensity,
        "pue": cfg.pue,
        "emaps_token": cfg.emaps_access_token or None,
        "urls": urls,
        "timeout": cfg.carbon_timeout,
    }


def merge(cfg: Any, client: dict | None) -> tuple[dict, list[str], str | None]:
    """The settings in force: the server's, overridden by the client's where allowed.

    Returns (set_carbon keywords, browser fields ignored because the administrator set the
    matching trait, where the token comes from: "server", "browser" or None)."""
    settings = server_settings(cfg)
    token_origin = "server" if settings["emaps_token"] else None
    ignored: list[str] = []
    if not client:
        return settings, ignored, token_origin

    def allowed(field: str) -> bool:
        if cfg.explicitly_set(LOCKS[field]):
            ignored.append(field)
            return False
        return True

    source = client.get("source")
    if source and allowed("source"):
        forced = SOURCE_COUNTRY.get(source)
        if forced and cfg.explicitly_set("country_code") and cfg.country_code != forced:
            # rte is France's grid, gb Great Britain's: not the administrator's country.
            ignored.append("source")
        else:
            settings["provider"] = source
            if forced:
                settings["country"] = forced
    factor = client.get("factor")
    if factor is not None and settings["provider"] == "constant" and allowed("factor"):
        settings["intensity"] = factor
    country = client.get("countryCode")
    if country and settings["provider"] not in SOURCE_COUNTRY and allowed("countryCode"):
        settings["country"] = country
    if settings["country"] != "GB":
        settings["postcode"] = None  # a postcode belongs to a GB zone only
    if not settings["emaps_token"] and client.get("emapsAccessToken"):
        settings["emaps_token"] = client["emapsAccessToken"]
        token_origin = "browser"
    if "emaps" in settings["provider"].split(","):
        if not settings["emaps_token"]:
            raise FieldError(
                "emapsAccessToken",
                "source 'emaps' needs an Electricity Maps token; prefer setting it on the "
                "server (c.PowerUsageDisplay.emaps_access_token or JPU_EMAPS_TOKEN)",
            )
        if not settings["country"]:
            raise FieldError("countryCode", "source 'emaps' needs a country code (a zone)")
    return settings, sorted(set(ignored)), token_origin


def field_of_engine_error(message: str) -> str:
    """Which front-end field an engine refusal is about, from its message."""
    text = message.lower()
    if "token" in text:
        return "emapsAccessToken"
    if "country" in text or "zone" in text:
        return "countryCode"
    if "intensity" in text:
        return "factor"
    return "source"


def describe(
    settings: dict, cfg: Any, client: dict | None, ignored: list[str], token_origin: str | None
) -> dict:
    """The GET/PUT answer: the settings in force, in the front end's names, the token only as
    "set" or null."""
    intensity = settings.get("intensity")
    return {
        "source": settings["provider"],
        "countryCode": settings.get("country") or "",
        "postcode": settings.get("postcode") or "",
        "factor": intensity if intensity is None or math.isfinite(intensity) else None,
        "pue": settings["pue"],
        "emapsAccessToken": "set" if settings.get("emaps_token") else None,
        "tokenOrigin": token_origin,
        "fromBrowser": bool(client),
        "allowBrowserSettings": bool(cfg.allow_client_carbon_settings),
        "locked": sorted(f for f, trait in LOCKS.items() if cfg.explicitly_set(trait)),
        "ignored": list(ignored),
    }
