"""HTTP endpoints. Each one authenticates, reads the engine's latest snapshot and serialises it:
no process scan and no blocking I/O on the event loop."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any
from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .carbon import FieldError, parse_client_settings
from .kernels import kernel_report

SERVICE_KEY = "jupyter_power_usage_service"
CONFIG_KEY = "jupyter_power_usage_display"

API_PREFIX = "api/metrics/v1"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class _BaseHandler(APIHandler):
    @property
    def service(self):
        return self.settings[SERVICE_KEY]

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        try:
            text = json.dumps(body, allow_nan=False, separators=(",", ":"))
        except ValueError:
            # NaN/inf would make invalid JSON for the browser: unknown is absent, not a number.
            text = json.dumps(_finite(body), separators=(",", ":"))
        self.finish(text)

    def json_error(self, status: int, message: str, **extra: Any) -> None:
        """A JSON error body that says what was wrong; the reason phrase stays fixed so no user
        input ever reaches the status line."""
        body = {"error": message, "message": message}
        body.update(extra)
        self.write_json(body, status)

    def engine_unavailable(self) -> bool:
        """Answer 503 with the reason when nothing samples (no jpud, and the engine failed to
        start); True when it did."""
        body = self.service.unavailable()
        if body is not None:
            self.write_json(body, 503)
            return True
        return False


class PowerUsageHandler(_BaseHandler):
    """GET /api/metrics/v1/power_usage: the sample of DESIGN section 3."""

    @web.authenticated
    def get(self) -> None:
        if self.engine_unavailable():
            return
        text = self.service.snapshot_text()
        if text is None:
            # Before the first sample: no "cpu" key, which the original front end reads as
            # "not available yet".
            self.write_json({"time": None, "diagnostics": self.service.diagnostics()})
            return
        # the source's JSON as served: polled by every tab, so no parse and re-encode per request
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


class HistoryHandler(_BaseHandler):
    """GET /api/metrics/v1/power_usage/history?since=<epoch seconds>."""

    @web.authenticated
    def get(self) -> None:
        raw = self.get_query_argument("since", "")
        since = 0.0
        if raw != "":
            try:
                since = float(raw)
            except ValueError:
                since = math.nan
            if not math.isfinite(since) or since < 0:
                self.json_error(
                    400,
                    f"since must be a time in seconds since the epoch (a number >= 0), "
                    f"got {raw[:64]!r}",
                )
                return
        if self.engine_unavailable():
            return
        self.write_json(self.service.history(since))


class KernelsHandler(_BaseHandler):
    """GET /api/metrics/v1/power_usage/kernels: energy per running kernel."""

    @web.authenticated
    async def get(self) -> None:
        if self.engine_unavailable():
            return
        report = await kernel_report(self.service, self.serverapp)
        self.write_json(report)


class CarbonHandler(_BaseHandler):
    """GET/PUT /api/metrics/v1/power_usage/carbon: the carbon settings in force, and the front
    end's `emissions` settings handed to the server (docs/carbon.md, "Jupyter"). The token is
    answered only as "set" or null."""

    @web.authenticated
    def get(self) -> None:
        if self.engine_unavailable():
            return
        self.write_json(self._answer())

    @web.authenticated
    async def put(self) -> None:
        cfg = self.settings[CONFIG_KEY]
        if not cfg.allow_client_carbon_settings:
            self.json_error(
                403,
                "this server does not take carbon settings from the browser "
                "(PowerUsageDisplay.allow_client_carbon_settings is False); "
                "its administrator sets them in the server configuration",
                field=None,
            )
            return
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            self.json_error(400, "body: not JSON", field="body")
            return
        try:
            client = parse_client_settings(body)
        except FieldError as exc:
            self.json_error(400, str(exc), field=exc.field)
            return
        if self.engine_unavailable():
            return
        # Only the original's fields that say something; "" source means the server's settings.
        client = {k: v for k, v in client.items() if v not in (None, "")} or None
        try:
            # Builds the provider chain (and may start its thread): off the event loop.
            await asyncio.get_running_loop().run_in_executor(
                None, self.service.set_client_carbon, client
            )
        except FieldError as exc:
            self.json_error(400, str(exc), field=exc.field)
            return
        self.write_json(self._answer())

    def _answer(self) -> dict:
        body = self.service.carbon_description()
        snap = self.service.snapshot() or {}
        body["current"] = snap.get("emissions")
        return body


class EmapsProxyHandler(_BaseHandler):
    """GET /api/metrics/v1/emission_factor/emaps/<path>: Electricity Maps through the server,
    with the token added here so that it never reaches the browser."""

    @web.authenticated
    async def get(self, path: str) -> None:
        cfg = self.settings[CONFIG_KEY]
        token = cfg.emaps_access_token
        if not token:
            self.json_error(
                400,
                "no Electricity Maps token is configured on the server: set "
                "c.PowerUsageDisplay.emaps_access_token in jupyter_server_config.py "
                "(or pass --PowerUsageDisplay.emaps_access_token=...)",
            )
            return
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments):
            self.json_error(400, f"invalid Electricity Maps path {path[:128]!r}")
            return
        url = cfg.emaps_base_url + "/" + "/".join(quote(s, safe="-_.~:@,") for s in segments)
        if self.request.query:
            url += "?" + self.request.query
        request = HTTPRequest(
            url,
            method="GET",
            headers={"auth-token": token, "Accept": "application/json"},
            connect_timeout=cfg.emaps_timeout,
            request_timeout=cfg.emaps_timeout,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            error = response.error if response.code == 599 else None
        except OSError as exc:  # connection refused, DNS failure...: raised, not a 599
            response, error = None, exc
        if response is None or error is not None:
            # No HTTP answer at all: timeout or connection failure.
            self.json_error(
                504 if "timeout" in str(error).lower() else 502,
                f"Electricity Maps at {cfg.emaps_base_url} did not answer: {error}",
            )
            return
        self.set_status(response.code)
        self.set_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        self.set_header("Cache-Control", "no-store")
        self.finish(response.body or b"")


def handlers(base_url: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    def url(*parts: str) -> str:
        return url_path_join(base_url, API_PREFIX, *parts)

    return [
        (url("power_usage"), PowerUsageHandler),
        (url("power_usage", "history"), HistoryHandler),
        (url("power_usage", "kernels"), KernelsHandler),
        (url("power_usage", "carbon"), CarbonHandler),
        (url("emission_factor", "emaps", "(.+)"), EmapsProxyHandler),
    ]
