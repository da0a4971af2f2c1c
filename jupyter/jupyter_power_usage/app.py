"""The server extension: one engine per server, started when the extension loads."""

from __future__ import annotations

import sys

from jupyter_server.extension.application import ExtensionApp
from traitlets import TraitError

from . import metrics
from .config import PowerUsageDisplay
from .handlers import CONFIG_KEY, SERVICE_KEY, handlers
from .kernels import KernelWatcher
from .migrate import migrate_settings, user_settings_dir
from .service import PowerService


class PowerUsageApp(ExtensionApp):
    """Samples power in the background and serves it under /api/metrics/v1/."""

    name = "jupyter_power_usage"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        try:
            display = PowerUsageDisplay(parent=self)
        except TraitError as exc:
            # jupyter_server logs and ignores exceptions raised by extensions; a wrong setting
            # must stop the server instead, with a message that names the trait.
            self.serverapp.log.critical("jupyter_power_usage: invalid configuration: %s", exc)
            print(f"jupyter_power_usage: invalid configuration: {exc}", file=sys.stderr)
            self.serverapp.exit(1)
        self.display = display
        # Users of the original extension keep their saved front-end settings.
        try:
            migrate_settings(user_settings_dir(self.serverapp), self.serverapp.log)
        except Exception as exc:  # noqa: BLE001 - never stop the server for a settings copy
            self.serverapp.log.warning("jupyter_power_usage: settings migration failed: %s", exc)
        self.service = PowerService(display, self.serverapp.log)
        self.service.start()
        self.watcher = KernelWatcher(self.service, self.serverapp)
        self.watcher.register()
        metrics.install(self.service)
        self.settings.update({SERVICE_KEY: self.service, CONFIG_KEY: display})

    def initialize_handlers(self) -> None:
        # Absolute API paths (the original extension's): _prepare_handlers adds base_url.
        self.handlers.extend(handlers("/"))

    async def stop_extension(self) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.unregister()
        service = getattr(self, "service", None)
        if service is not None:
            metrics.uninstall(service)
            service.stop()
