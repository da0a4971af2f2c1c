"""One power engine per Jupyter server, and the kernels it follows.

The engine (libjpu through the ``jpu`` binding) samples on its own thread; everything here only
reads its latest snapshot, so a request costs the same whatever the number of processes on the
machine or of browser tabs polling. When the engine cannot start, the server still runs and
every endpoint answers 503 with the reason (``PowerService.error``).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from typing import Any

from . import carbon
from .handoff import KernelHandoff

try:  # the binding; a missing one is reported by the endpoints, not a crash of the server
    import jpu
except ImportError as exc:  # pragma: no cover - exercised only on broken installs
    jpu = None
    _JPU_IMPORT_ERROR: ImportError | None = exc
else:
    _JPU_IMPORT_ERROR = None

REMOTE_KERNEL_NOTE = "remote kernel: no local process"
STATE_DIR_NAME = "jupyter_power_usage"


def default_state_file(scope: str) -> str:
    """<Jupyter data dir>/jupyter_power_usage/state-<scope>: kept across restarts and reboots
    (the runtime dir may be a tmpfs), one file per scope since their totals differ."""
    from jupyter_core.paths import jupyter_data_dir

    return os.path.join(jupyter_data_dir(), STATE_DIR_NAME, f"state-{scope}")


def _describe_error(exc: BaseException) -> str:
    """A one-line reason for an engine failure, naming what failed."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


class _Capture(logging.Handler):
    """Keeps the engine's log messages (its reasons: which root, which file) and forwards them
    to the server's log."""

    def __init__(self, log: Any):
        super().__init__(logging.DEBUG)
        self.server_log = log
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.messages.append(message)
        self.server_log.log(record.levelno, "jpu: %s", message)


class PowerService:
    """Owns the engine of one server and the kernel_id -> pid map of the kernels it tracks."""

    def __init__(self, config: Any, log: Any, pid: int | None = None, uid: int | None = None):
        self.config = config
        self.log = log
        self.pid = os.getpid() if pid is None else pid
        self.uid = os.getuid() if uid is None else uid
        self.engine: Any = None
        self.error: str | None = None
        self._error_diagnostics: list[dict] = []
        # kernel_id -> local pid (None for a kernel without a local process).
        self.kernels: dict[str, int | None] = {}
        # kernel_id -> why the engine does not follow it (pid gone, no local process...).
        self.kernel_notes: dict[str, str] = {}
        self._lock = threading.Lock()
        # The state file in use (None: not persisted); the engine holds its lock.
        self.state_file: str | None = None
        # Carbon: the front end's settings in force (None: the server's), and the merge result.
        self.client_carbon: dict | None = None
        self.carbon_settings, self.carbon_ignored, self.token_origin = carbon.merge(config, None)
        # What this server's kernels measure with (handoff.py): the same roots and carbon.
        self.handoff = KernelHandoff(config, log, self.pid)

    # ---- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Build and start the engine; on failure record why instead of raising."""
        cfg = self.config
        self._check_daemon_socket()
        self.handoff.start(self.carbon_settings)
        if jpu is None:
            self._fail(f"the jpu engine binding is not importable: {_JPU_IMPORT_ERROR}")
            return
        kwargs: dict[str, Any] = {
            "scope": cfg.measurement_scope,
            "sysfs": cfg.sysfs_path,
            "procfs": cfg.procfs_path,
            "nvml": cfg.nvml_library,
            "interval": cfg.sample_interval,
            "idle_policy": cfg.idle_policy,
            "history": cfg.history_length,
            "state_file": self._claim_state_file(),
            "carbon": dict(self.carbon_settings),
        }
        if cfg.measurement_scope == "process":
            kwargs["pid"] = self.pid
        elif cfg.measurement_scope == "user":
            kwargs["uid"] = self.uid
        engine = None
        self._capture = _Capture(self.log)
        logging.getLogger("jpu").addHandler(self._capture)
        try:
            engine = self._new_engine(kwargs)
            engine.start()
        except Exception as exc:  # noqa: BLE001 - any engine failure is reported, not raised
            diagnostics: list[dict] = []
            if engine is not None:
                try:
                    diagnostics = list(engine.diagnostics())
                except Exception:  # noqa: BLE001
                    diagnostics = []
                try:
                    engine.close()
                except Exception:  # noqa: BLE001
                    pass
            reasons = "; ".join(self._capture.messages[-3:]) or _describe_error(exc)
            self._fail(
                f"the power engine failed to start (sysfs {cfg.sysfs_path}, procfs "
                f"{cfg.procfs_path}): {reasons}",
                diagnostics,
            )
            self._release_log()
            return
        self.engine = engine
        self.log.info(
            "jupyter_power_usage: sampling every %gs, scope %s, sysfs %s, procfs %s",
            cfg.sample_interval,
            cfg.measurement_scope,
            cfg.sysfs_path,
            cfg.procfs_path,
        )

    def _claim_state_file(self) -> str | None:
        """The state file this server asks the engine to use, or None. Its directory is made
        here; the lock is the engine's (an flock on <file>.lock, held for the engine's life and
        released by the kernel when the process dies, kill -9 included), so the CLI, the binding
        and Jupyter all exclude each other on one file."""
        cfg = self.config
        if not cfg.persist:
            return None
        path = cfg.state_file or default_state_file(cfg.measurement_scope)
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        except OSError as exc:
            self.log.warning(
                "jupyter_power_usage: not persisting totals to %s: %s", path, _describe_error(exc)
            )
            return None
        return path

    def _new_engine(self, kwargs: dict[str, Any]) -> Any:
        """jpu.Engine(**kwargs); when another engine (a second Jupyter server of this user, a
        `jpu --state-file` run) holds the state file, run without persisting rather than not
        at all: two engines on one file would each count the same energy."""
        path = kwargs.get("state_file")
        try:
            engine = jpu.Engine(**kwargs)
        except OSError as exc:
            if exc.errno != errno.EBUSY or not path:
                raise
            self.log.warning(
                "jupyter_power_usage: not persisting totals to %s: another Jupyter server of "
                "this user uses it; set PowerUsageDisplay.state_file to a file of its own",
                path,
            )
            engine = jpu.Engine(**{**kwargs, "state_file": None})
            path = None
        self.state_file = path
        return engine

    # ---- carbon -----------------------------------------------------------------------------

    def set_client_carbon(self, client: dict | None) -> None:
        """Apply the front end's settings (None: back to the server's). Raises
        carbon.FieldError naming the field when they cannot be used."""
        settings, ignored, token_origin = carbon.merge(self.config, client)
        try:
            self.engine.set_carbon(**settings)
        except (OSError, ValueError) as exc:
            message = _describe_error(exc)
            raise carbon.FieldError(carbon.field_of_engine_error(message), message) from None
        self.client_carbon = client
        self.carbon_settings, self.carbon_ignored, self.token_origin = (
            settings,
            ignored,
            token_origin,
        )
        self.handoff.update(settings)
        self.log.info(
            "jupyter_power_usage: carbon settings from %s: provider %s, country %s",
            "the browser" if client else "the server",
            settings["provider"],
            settings["country"] or "World",
        )

    def carbon_description(self) -> dict:
        return carbon.describe(
            self.carbon_settings,
            self.config,
            self.client_carbon,
            self.carbon_ignored,
            self.token_origin,
        )

    def _fail(self, message: str, diagnostics: list[dict] | None = None) -> None:
        self.error = message
        self._error_diagnostics = diagnostics or []
        self.log.error(
            "jupyter_power_usage: %s; the endpoints answer 503 with this reason", message
        )

    def _check_daemon_socket(self) -> None:
        path = self.config.daemon_socket
        if not path:
            return
        try:
            is_socket = stat.S_ISSOCK(os.stat(path).st_mode)
        except OSError:
            is_socket = False
        if is_socket:
            self.log.warning(
                "jupyter_power_usage: PowerUsageDisplay.daemon_socket %s exists, but the jpud "
                "client is not implemented yet; sampling in-process",
                path,
            )
        else:
            self.log.info("jupyter_power_usage: no jpud socket at %s; sampling in-process", path)

    def _release_log(self) -> None:
        capture = getattr(self, "_capture", None)
        if capture is not None:
            logging.getLogger("jpu").removeHandler(capture)
            self._capture = None

    def stop(self) -> None:
        self._release_log()
        self.handoff.stop()
        engine, self.engine = self.engine, None
        if engine is None:
            return
        try:
            engine.stop()
        finally:
            engine.close()  # releases the state file's lock

    # ---- readers (cheap: the engine's latest snapshot) -------------------------------------

    def error_body(self) -> dict:
        return {"error": self.error, "diagnostics": list(self._error_diagnostics)}

    def snapshot(self) -> dict | None:
        return self.engine.snapshot()

    def snapshot_text(self) -> str | None:
        """The sample as the engine wrote it: JSON printed from integers, never NaN."""
        return self.engine.snapshot_json()

    def diagnostics(self) -> list[dict]:
        return list(self.engine.diagnostics())

    def history(self, since: float) -> dict:
        return self.engine.history(since)

    def tracked(self) -> dict[str, dict]:
        """The engine's tracked sub-trees by tag (kernel_id)."""
        return {t["tag"]: t for t in self.engine.tracked()}

    # ---- kernels ----------------------------------------------------------------------------

    def track_kernel(self, kernel_id: str, pid: int | None) -> None:
        """Follow kernel_id's process tree from pid; a new pid (restart) re-tracks the same tag,
        whose total the engine keeps. Runs on the event loop: the engine's track() is one stat of
        /proc/PID and a lock, and the sampler thread builds the tree at its next sample."""
        with self._lock:
            if self.engine is None:
                return
            if kernel_id in self.kernels and self.kernels[kernel_id] == pid:
                return
            self.kernels[kernel_id] = pid
            if pid is None:
                self.kernel_notes[kernel_id] = REMOTE_KERNEL_NOTE
                return
            try:
                self.engine.track(pid, kernel_id)
            except ProcessLookupError:
                self.kernel_notes[kernel_id] = f"kernel process {pid} has exited"
                return
            except OSError as exc:
                self.kernel_notes[kernel_id] = f"cannot follow pid {pid}: {_describe_error(exc)}"
                self.log.warning("jupyter_power_usage: kernel %s: %s", kernel_id, exc)
                return
            self.kernel_notes.pop(kernel_id, None)
            self.log.debug("jupyter_power_usage: tracking kernel %s (pid %s)", kernel_id, pid)

    def untrack_kernel(self, kernel_id: str) -> None:
        with self._lock:
            pid = self.kernels.pop(kernel_id, None)
            self.kernel_notes.pop(kernel_id, None)
            if self.engine is None or pid is None:
                return
            try:
                self.engine.untrack(kernel_id)
            except KeyError:
                pass
