"""The server's measuring settings, handed to every process it starts (kernels, terminals).

A kernel's ``jpu.measure()`` / ``%%energy`` opens an engine of its own. Unless it reads the
sensors from the same roots and takes its carbon intensity from the same provider as the
server, the cell and the top bar disagree ("rapl" above, "estimated" in the cell). So:

- settings fixed for the server's life go into the server's environment, which jupyter_server
  copies into each kernel (``SessionManager.get_kernel_env`` and jupyter_client's
  ``LocalProvisioner`` both start from ``os.environ``) and each terminal: ``JPU_SYSFS``,
  ``JPU_PROCFS``, ``JPU_NVML`` (unset: the system's library, "": no GPU) and
  ``JPU_DAEMON_SOCKET`` (set while the server reads jpud, for processes started meanwhile);
- the carbon settings in force (which the front end may change while kernels run, and which may
  hold the Electricity Maps token) go into a JSON file of mode 0600 in the Jupyter runtime
  directory, rewritten on every change; ``JPU_SETTINGS_FILE`` names it. A token in the
  environment would be printed by any ``%env`` or ``os.environ`` in a notebook and inherited by
  every child; the file is readable by this account only, like the server's own config, and is
  removed when the server stops. For the same reason ``JPU_EMAPS_TOKEN``, once the server has
  read it (``PowerUsageDisplay.emaps_access_token``), is taken out of the environment its
  kernels and terminals inherit. The file also says whether the server reads jpud now
  (``daemon_socket``, null when it samples in-process), so a cell measures where the top bar
  does.

The names are those ``jpu.measure`` reads (python/jpu/measure.py).
"""

from __future__ import annotations

import json
import os
from typing import Any

ENV_SYSFS = "JPU_SYSFS"
ENV_PROCFS = "JPU_PROCFS"
ENV_NVML = "JPU_NVML"
ENV_DAEMON_SOCKET = "JPU_DAEMON_SOCKET"
ENV_SETTINGS_FILE = "JPU_SETTINGS_FILE"
ENV_TOKEN = "JPU_EMAPS_TOKEN"
SETTINGS_VERSION = 1

HANDED_ENV = (ENV_SYSFS, ENV_PROCFS, ENV_NVML, ENV_DAEMON_SOCKET, ENV_SETTINGS_FILE, ENV_TOKEN)


def default_settings_file(pid: int) -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    return os.path.join(jupyter_runtime_dir(), f"jpu-server-{pid}.json")


def write_private_json(path: str, data: dict) -> None:
    """Write data to path atomically, mode 0600 from creation (never readable by others, not
    even for an instant), replacing a previous version; no link is followed."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class KernelHandoff:
    """Puts the server's settings where its kernels find them, and takes them back at stop."""

    def __init__(self, config: Any, log: Any, pid: int):
        self.config = config
        self.log = log
        self.path = default_settings_file(pid)
        self._saved_env: dict[str, str | None] | None = None
        # the jpud socket the server reads now (None: it samples in-process); kernels read it
        # from the file at each measurement, so a cell follows the server's source as it changes
        self.daemon_socket: str | None = None

    def environment(self) -> dict[str, str | None]:
        """The variables to set (None: to remove), from the server's configuration."""
        cfg = self.config
        return {
            ENV_SYSFS: cfg.sysfs_path,
            ENV_PROCFS: cfg.procfs_path,
            ENV_NVML: cfg.nvml_library,
            # only while the server reads jpud: `jpu` in a terminal or `!jpu` in a cell then
            # reads it too, and never a socket where no daemon answers
            ENV_DAEMON_SOCKET: self.daemon_socket,
            ENV_SETTINGS_FILE: self.path,
            ENV_TOKEN: None,  # read by the server already; kernels get it from the file
        }

    def start(self, carbon_settings: dict) -> None:
        try:
            self.write_carbon(carbon_settings)
        except OSError as exc:
            # Kernels then fall back on their own defaults; say so once, do not stop the server.
            self.log.warning(
                "jupyter_power_usage: cannot write the kernels' settings file %s: %s; "
                "%%energy in kernels will use its own carbon settings",
                self.path,
                exc,
            )
        self._saved_env = {}
        for name, value in self.environment().items():
            if name == ENV_SETTINGS_FILE and not os.path.exists(self.path):
                value = None
            self._saved_env[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def write_carbon(self, carbon_settings: dict) -> None:
        """(Re)write the carbon settings in force; kernels read them at each measurement."""
        self._carbon = carbon_settings
        write_private_json(
            self.path,
            {
                "version": SETTINGS_VERSION,
                "carbon": carbon_settings,
                "daemon_socket": self.daemon_socket,
            },
        )

    def update(self, carbon_settings: dict) -> None:
        if self._saved_env is None:
            return
        try:
            self.write_carbon(carbon_settings)
        except OSError as exc:
            self.log.warning(
                "jupyter_power_usage: cannot update the kernels' settings file %s: %s",
                self.path,
                exc,
            )

    def set_daemon(self, socket_path: str | None) -> None:
        """The server now reads jpud at socket_path (None: in-process): tell the kernels (the
        settings file, read at each measurement) and the processes started from now on (the
        environment)."""
        self.daemon_socket = socket_path
        if self._saved_env is None:
            return
        if socket_path is None:
            os.environ.pop(ENV_DAEMON_SOCKET, None)
        else:
            os.environ[ENV_DAEMON_SOCKET] = socket_path
        self.update(getattr(self, "_carbon", {}))

    def stop(self) -> None:
        saved, self._saved_env = self._saved_env, None
        if saved is None:
            return
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            self.log.warning("jupyter_power_usage: cannot remove %s: %s", self.path, exc)
