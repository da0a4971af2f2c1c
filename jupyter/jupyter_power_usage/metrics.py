"""Prometheus metrics on jupyter_server's own ``/metrics``: the engine's, by the engine's names.

jupyter_server serves ``prometheus_client.REGISTRY``; one collector is registered there once per
process and reads the current server's engine at scrape time (nothing is updated per sample).
Every ``jpu_*`` series comes from the engine's own Prometheus writer (``Engine.prometheus()``,
written from the one metric table that jpu and jpud also use), per-kernel series included: the
server tracks each kernel under its kernel id, which the engine writes as the ``tag`` label. The
collector only hands that text to the registry; it declares no metric of its own except
``jpu_engine_up``, which says whether this server has an engine at all (when it has none, there
is no engine text to carry), and ``jpu_daemon_up``, 1 while the figures come from jpud, whose
own ``/metrics`` (scraped from the node) carries them.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

_lock = threading.Lock()
_collector: PowerCollector | None = None


class PowerCollector:
    """Custom collector: no describe(), so registration does not sample the engine."""

    def __init__(self) -> None:
        self.service: Any = None
        self._warned = False

    def describe(self) -> list:
        return []

    def collect(self):
        svc = self.service
        if svc is None:
            return
        up = GaugeMetricFamily(
            "jpu_engine_up", "1 when the power engine of this Jupyter server is sampling"
        )
        up.add_metric([], 0.0 if svc.engine is None else 1.0)
        yield up
        daemon = GaugeMetricFamily(
            "jpu_daemon_up",
            "1 when this Jupyter server's figures come from the node daemon jpud (whose own "
            "/metrics carries them)",
        )
        daemon.add_metric([], 1.0 if svc.on_daemon else 0.0)
        yield daemon
        if svc.engine is not None:
            yield from self._engine_families(svc)

    def _engine_families(self, svc: Any) -> list:
        """The engine's text as metric families; nothing (and one warning) if it is unusable.

        Unknown is not zero: a series the engine cannot give is left out rather than rebuilt
        here under a name of this module's own.
        """
        try:
            families = list(text_string_to_metric_families(svc.engine.prometheus()))
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail the server
            if not self._warned:
                svc.log.warning(
                    "jupyter_power_usage: the engine's Prometheus text is unusable, "
                    "/metrics carries jpu_engine_up only: %s",
                    exc,
                )
                self._warned = True
            return []
        self._warned = False
        return families


def install(service: Any) -> None:
    """Point the process-wide collector at this server's service (registering it once)."""
    global _collector
    with _lock:
        if _collector is None:
            _collector = PowerCollector()
            REGISTRY.register(_collector)
        _collector.service = service


def uninstall(service: Any) -> None:
    with _lock:
        if _collector is not None and _collector.service is service:
            _collector.service = None
