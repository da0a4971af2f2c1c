"""Where a Jupyter server's figures come from, and the kernels it follows.

Two sources. The node daemon jpud (``PowerUsageDisplay.daemon_socket``): it reads the node's
sensors with privileges this server lacks and computes every user's share in one tick, so an
account that cannot read the root-only energy counters still gets measured figures. Otherwise
an engine in this process (libjpu through the ``jpu`` binding) sampling on its own thread.

Requests only read the latest figures, whatever the source, so a request costs the same whatever
the number of processes or browser tabs. While no jpud socket has ever been seen the engine's
snapshot is served directly. Once one has, a relay thread reads the source once per interval:
jpud's sample and this account's tracked kernels, or the fallback engine's while jpud does not
answer (with the reason), trying jpud again every few seconds. It keeps totals continuous across
changes of source (continuity.Ledger) and the history from what it served. When nothing can
sample, the server still runs and every endpoint answers 503 with the reason
(``PowerService.error``).
"""

from __future__ import annotations

import collections
import errno
import json
import logging
import os
import stat
import threading
import time
from datetime import datetime
from typing import Any

from . import carbon
from .continuity import (
    Ledger,
    history_entry,
    sample_totals,
    tracked_entry,
    tracked_totals,
    with_sample_totals,
    with_tracked_totals,
)
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

ORIGIN_LABELS = {"daemon": "the node daemon jpud", "server": "this Jupyter server"}
DAEMON_RETRY_S = 2.0  # how often a jpud that stopped answering is tried again
DAEMON_TIMEOUT_S = 2.0  # one request to jpud; a hung daemon costs the relay this much
BUSY_STATUSES = (429, 503)  # jpud's rate limit, and no sample yet: it is there, ask again
DOCS_DEPLOY = "docs/jpud-deploy.md"
NO_SENSOR_NOTE = (
    "this machine has no power sensor that software can read (a virtual machine?): "
    "the figures stay estimated"
)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _epoch(iso: Any) -> float | None:
    """Seconds since the epoch of the sample's ISO time ("...Z"), None if it is not one."""
    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


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
    """Owns the source of one server's figures and the kernel_id -> pid map of its kernels."""

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
        # kernel_id -> why the source does not follow it (pid gone, no local process...).
        self.kernel_notes: dict[str, str] = {}
        self._lock = threading.Lock()
        # The state file in use (None: not persisted); the engine holds its lock.
        self.state_file: str | None = None
        # Carbon: the front end's settings in force (None: the server's), and the merge result.
        self.client_carbon: dict | None = None
        self.carbon_settings, self.carbon_ignored, self.token_origin = carbon.merge(config, None)
        # What this server's kernels measure with (handoff.py): the same roots and carbon.
        self.handoff = KernelHandoff(config, log, self.pid)
        # ---- jpud: the socket configured, whether it is read now, and why not
        self.daemon_path: str | None = config.daemon_socket or None
        self.client: Any = None  # the DaemonClient, used by the relay thread only
        self.on_daemon = False
        self.daemon_reason: str | None = None
        self.daemon_seen = False  # jpud answered at least once in this server's life
        # Served from the relay's figures (True once a jpud socket has been seen) rather than
        # from the engine directly.
        self.relayed = False
        self._generation = 0
        self._ledger = Ledger()
        self._kernel_ledgers: dict[str, Ledger] = {}
        self._served: dict | None = None
        self._served_text: str | None = None
        self._served_tracked: dict[str, dict] = {}
        self._history: collections.deque = collections.deque(maxlen=config.history_length)
        self._interval = float(config.sample_interval)
        self._ops: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._direct_memo: tuple[str | None, str | None] = (None, None)

    # ---- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Read jpud when it answers at the configured socket, else start an engine here; on
        failure of both record why instead of raising."""
        self.handoff.start(self.carbon_settings)
        path = self.daemon_path
        if path is None:
            pass
        elif not _is_socket(path):
            self.daemon_reason = f"no jpud socket at {path}"
            self.log.info("jupyter_power_usage: %s; sampling in-process", self.daemon_reason)
        elif self._connect_daemon():
            self._start_relay()
            return
        self._start_engine()
        if path is not None:
            self._start_relay()

    def _start_engine(self) -> None:
        """Build and start the in-process engine; on failure record why instead of raising."""
        cfg = self.config
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
            message = (
                f"the power engine failed to start (sysfs {cfg.sysfs_path}, procfs "
                f"{cfg.procfs_path}): {reasons}"
            )
            if self.daemon_reason and self.daemon_path:
                message += f"; and jpud cannot be read: {self.daemon_reason}"
            self._fail(message, diagnostics)
            self._release_log()
            return
        with self._lock:
            self.engine = engine
            self.error = None
            for kernel_id, pid in self.kernels.items():
                if pid is not None:
                    self._track_in_engine(kernel_id, pid)
        self.log.info(
            "jupyter_power_usage: sampling every %gs, scope %s, sysfs %s, procfs %s",
            cfg.sample_interval,
            cfg.measurement_scope,
            cfg.sysfs_path,
            cfg.procfs_path,
        )

    def _stop_engine(self) -> None:
        with self._lock:
            engine, self.engine = self.engine, None
        self._release_log()
        if engine is None:
            return
        try:
            engine.stop()
        finally:
            engine.close()  # releases the state file's lock

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

    # ---- jpud -------------------------------------------------------------------------------

    def _scope_query(self) -> dict[str, Any]:
        scope = self.config.measurement_scope
        return {"scope": scope, "pid": self.pid if scope == "process" else None}

    def _connect_daemon(self) -> bool:
        """Read jpud at the configured socket; on success it becomes the source (the fallback
        engine, if any, is stopped and kernels are tracked in jpud). False, with the reason in
        daemon_reason, when it does not answer or refuses."""
        from jpu.daemon import DaemonClient  # pure Python: works without the C binding

        client = DaemonClient(self.daemon_path, timeout=DAEMON_TIMEOUT_S, wait=DAEMON_TIMEOUT_S)
        try:
            sample = client.snapshot(**self._scope_query())
            scope = self._scope_query()["scope"]
            # jpud keeps no history for a process scope: the relay's begins now
            history = None if self.relayed or scope == "process" else client.history(scope)
        except (OSError, ValueError) as exc:
            client.close()
            reason = self._reason_of(exc)
            if reason != self.daemon_reason:
                self.log.warning(
                    "jupyter_power_usage: %s; sampling in-process until it answers", reason
                )
            self.daemon_reason = reason
            return False
        if not isinstance(sample, dict) or "energy_j" not in sample:
            client.close()
            self.daemon_reason = f"jpud ({self.daemon_path}) answered without a sample"
            return False
        self._stop_engine()
        with self._lock:
            self.client = client
            self.on_daemon = True
            self.daemon_seen = True
            self.daemon_reason = None
            self.error = None
            self._generation += 1
            if isinstance(history, dict):
                for entry in history.get("samples") or []:
                    if isinstance(entry, dict) and isinstance(entry.get("t"), (int, float)):
                        self._history.append(entry)
            # every kernel again, by the relay (a jpud restarted without its trees knows none)
            self._ops.clear()
            self._ops.extend(("track", k, p) for k, p in self.kernels.items() if p is not None)
        self._record(sample, [])
        self._wake.set()
        self.relayed = True
        self.handoff.set_daemon(self.daemon_path)
        self.log.info(
            "jupyter_power_usage: reading the node daemon jpud at %s (scope %s)",
            self.daemon_path,
            self.config.measurement_scope,
        )
        return True

    def _lose_daemon(self, exc: BaseException) -> None:
        """jpud stopped answering: sample in-process (the estimate, when this account cannot
        read the sensors), with the reason, until it answers again."""
        reason = self._reason_of(exc)
        self.log.warning("jupyter_power_usage: %s; sampling in-process until it answers", reason)
        with self._lock:
            client, self.client = self.client, None
            self.on_daemon = False
            self.daemon_reason = reason
            self._generation += 1
            if self._served is not None:
                # until the engine's first sample: the last figures, with their own time
                self._publish(self._served)
        if client is not None:
            client.close()
        self.handoff.set_daemon(None)
        self._start_engine()

    def _reason_of(self, exc: BaseException) -> str:
        """Why jpud cannot be read, in words: naming the daemon, without Python's "[Errno N]"."""
        text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        return text if "jpud" in text else f"jpud ({self.daemon_path}): {text}"

    def _daemon_tracked(self) -> list[dict]:
        items = self.client.tracked() if self.client is not None else []
        return [e for e in (tracked_entry(i) for i in items or []) if e is not None]

    def _track_in_daemon(self, kernel_id: str, pid: int) -> None:
        """Track in jpud under this account's tags; OSError when jpud does not answer,
        DaemonError when it is busy (BUSY_STATUSES)."""
        from jpu.daemon import DaemonError

        try:
            self.client.track(pid, kernel_id)
        except DaemonError as exc:
            if exc.status in BUSY_STATUSES:
                raise  # asked again next interval
            note = (
                f"kernel process {pid} has exited"
                if exc.status == 404
                else f"jpud does not follow pid {pid}: {exc.reason}"
            )
            with self._lock:
                self.kernel_notes[kernel_id] = note
            return
        with self._lock:
            self.kernel_notes.pop(kernel_id, None)

    # ---- the relay thread -------------------------------------------------------------------

    def _start_relay(self) -> None:
        self._thread = threading.Thread(
            target=self._relay, name="jupyter_power_usage-relay", daemon=True
        )
        self._thread.start()

    def _relay(self) -> None:
        next_try = 0.0
        while not self._stopping.is_set():
            try:
                if self.on_daemon:
                    self._relay_daemon()
                else:
                    now = time.monotonic()
                    if not self.relayed and _is_socket(self.daemon_path):
                        # a jpud started after this server: from now on, figures go through here
                        self._engage()
                    if self.relayed:
                        self._relay_engine()
                        if now >= next_try and _is_socket(self.daemon_path):
                            next_try = now + DAEMON_RETRY_S
                            self._connect_daemon()
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any one failure
                self.log.error("jupyter_power_usage: relay: %s", _describe_error(exc))
            self._wake.wait(self._interval)
            self._wake.clear()

    def _engage(self) -> None:
        """From direct serving to relayed: the engine's figures and history so far first, so
        that totals carry on from them."""
        with self._lock:
            engine = self.engine
            self._generation += 1
        if engine is not None:
            try:
                for entry in engine.history(0).get("samples") or []:
                    self._history.append(entry)
            except Exception:  # noqa: BLE001 - a history the engine cannot give is left out
                pass
        self.relayed = True
        self._relay_engine()

    def _relay_engine(self) -> None:
        with self._lock:
            engine = self.engine
        if engine is None:
            return
        try:
            sample = engine.snapshot()
            tracked = list(engine.tracked()) if self.kernels else []
        except ValueError:  # closed meanwhile by a switch to jpud
            return
        if sample is not None:
            self._record(sample, tracked)

    def _relay_daemon(self) -> None:
        from jpu.daemon import DaemonError

        try:
            while self._ops:
                op, kernel_id, pid = self._ops[0]
                try:
                    if op == "track":
                        self._track_in_daemon(kernel_id, pid)
                    else:
                        self.client.untrack(kernel_id)
                except DaemonError as exc:
                    if exc.status in BUSY_STATUSES:
                        break  # the rest next interval
                    # untrack: a tag jpud no longer has, nothing to remove
                self._ops.popleft()
            sample = self.client.snapshot(**self._scope_query())
            tracked = self._daemon_tracked() if self.kernels else []
        except DaemonError as exc:
            if exc.status in BUSY_STATUSES:
                # jpud is there and busy (its rate limit, no sample yet): keep the last figures
                # for this interval rather than leave a daemon that answers
                self.log.debug("jupyter_power_usage: %s; polling again next interval", exc)
                return
            self._ops.clear()  # the fallback engine tracks every kernel afresh
            self._lose_daemon(exc)
            return
        except (OSError, ValueError) as exc:
            self._ops.clear()
            self._lose_daemon(exc)
            return
        interval = sample.get("interval_s") if isinstance(sample, dict) else None
        if isinstance(interval, (int, float)) and interval > 0:
            self._interval = max(float(interval), float(self.config.sample_interval))
        self._record(sample, tracked)

    def _record(self, sample: dict, tracked: list[dict]) -> None:
        """Serve this reading of the current source: totals carried on, history appended."""
        with self._lock:
            generation = (self.on_daemon, self._generation)
            served = with_sample_totals(
                sample, self._ledger.apply(generation, sample_totals(sample))
            )
            t = _epoch(served.get("time"))
            last_t = self._history[-1].get("t") if self._history else None
            if t is not None and (last_t is None or t > last_t + 1e-3):
                self._history.append(history_entry(served, t))
            out = {}
            for entry in tracked:
                tag = entry.get("tag")
                if tag not in self.kernels:
                    continue  # another server's or a %%energy block's tag
                ledger = self._kernel_ledgers.setdefault(tag, Ledger())
                out[tag] = with_tracked_totals(
                    entry, ledger.apply(generation, tracked_totals(entry))
                )
            self._served_tracked = out
            for tag in list(self._kernel_ledgers):
                if tag not in self.kernels:
                    del self._kernel_ledgers[tag]
            self._publish(served)

    def _publish(self, sample: dict) -> None:
        """Set the served sample and its JSON text, with where it comes from (lock held)."""
        served = dict(sample)
        served["origin"] = self.origin(served)
        self._served = served
        self._served_text = json.dumps(served, allow_nan=False, separators=(",", ":"))

    # ---- where the figures come from --------------------------------------------------------

    def origin(self, sample: dict | None) -> dict:
        """{"kind", "label", "socket", "reason", "action", "note"}: the node daemon or this
        server; while a configured jpud is not used, why; for an estimate, the one action that
        would give measured figures here (or a note that nothing would)."""
        kind = "daemon" if self.on_daemon else "server"
        action = note = None
        cpu = (sample or {}).get("cpu") or {}
        if cpu.get("source") == "estimate":
            action, note = self._estimate_action(kind, (sample or {}).get("diagnostics") or [])
        show_reason = (
            kind == "server"
            and self.daemon_path
            and (self.daemon_seen or self.config.explicitly_set("daemon_socket"))
        )
        return {
            "kind": kind,
            "label": ORIGIN_LABELS[kind],
            "socket": self.daemon_path,
            "reason": self.daemon_reason if show_reason else None,
            "action": action,
            "note": note,
        }

    def _estimate_action(self, kind: str, diagnostics: list) -> tuple[str | None, str | None]:
        blocked = [
            d
            for d in diagnostics
            if isinstance(d, dict)
            and d.get("sensor") in ("rapl", "hwmon", "perf")
            and d.get("reason") not in (None, "none", "absent")
        ]
        if kind == "daemon":
            if blocked:
                d = blocked[0]
                return (
                    f"the node daemon jpud cannot read {d.get('sensor')} either "
                    f"({d.get('message')}): its administrator can fix that (docs/jpud.8.md)",
                    None,
                )
            return None, NO_SENSOR_NOTE.replace("the figures stay", "the node daemon is")
        if self.daemon_seen:
            return (
                f"start jpud again (as root: systemctl restart jpud): it answered at "
                f"{self.daemon_path} before and reads this machine's sensors",
                None,
            )
        # jpud reads files with CAP_DAC_READ_SEARCH (RAPL, hwmon); perf needs CAP_PERFMON,
        # which it does not hold: for perf alone, the diagnostic's own remedy
        if any(d.get("reason") == "permission" and d.get("sensor") != "perf" for d in blocked):
            return (
                "ask the administrator to run jpud, the node daemon "
                f"({DOCS_DEPLOY}): it reads the root-only energy counters for every user",
                None,
            )
        if blocked:
            return str(blocked[0].get("message") or blocked[0].get("sensor")), None
        return None, NO_SENSOR_NOTE

    # ---- carbon -----------------------------------------------------------------------------

    def set_client_carbon(self, client: dict | None) -> None:
        """Apply the front end's settings (None: back to the server's). Raises
        carbon.FieldError naming the field when they cannot be used. On jpud the node's
        intensity is in force; these apply to this server's own sampling."""
        settings, ignored, token_origin = carbon.merge(self.config, client)
        engine = self.engine
        if engine is not None:
            try:
                engine.set_carbon(**settings)
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
        body = carbon.describe(
            self.carbon_settings,
            self.config,
            self.client_carbon,
            self.carbon_ignored,
            self.token_origin,
        )
        # on jpud the emissions are the daemon's, with the node's grid intensity
        body["inForce"] = "daemon" if self.on_daemon else "server"
        return body

    def _fail(self, message: str, diagnostics: list[dict] | None = None) -> None:
        self.error = message
        self._error_diagnostics = diagnostics or []
        self.log.error(
            "jupyter_power_usage: %s; the endpoints answer 503 with this reason", message
        )

    def _release_log(self) -> None:
        capture = getattr(self, "_capture", None)
        if capture is not None:
            logging.getLogger("jpu").removeHandler(capture)
            self._capture = None

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * DAEMON_TIMEOUT_S + 1)
            self._thread = None
        client, self.client = self.client, None
        if client is not None:
            client.close()
        self.handoff.stop()
        self._stop_engine()

    # ---- readers (cheap: the latest figures) ------------------------------------------------

    def unavailable(self) -> dict | None:
        """The 503 body when nothing samples, else None. While the source changes (the
        fallback engine starting) the relay's last figures are served, with their own time."""
        if self.on_daemon or (self.relayed and self._served is not None and self.error is None):
            return None
        if self.error is not None or self.engine is None:
            body = {
                "error": self.error,
                "diagnostics": list(self._error_diagnostics),
                "origin": self.origin(None),
            }
            if body["error"] is None:
                body["error"] = "the power engine is not running"
            return body
        return None

    def error_body(self) -> dict:
        return {"error": self.error, "diagnostics": list(self._error_diagnostics)}

    def snapshot(self) -> dict | None:
        if self.relayed:
            return self._served
        return self.engine.snapshot()

    def snapshot_text(self) -> str | None:
        """The sample as JSON, with "origin": the engine's integers-printed text, or the relay's
        served figures."""
        if self.relayed:
            return self._served_text
        text = self.engine.snapshot_json()
        if text is None:
            return None
        memo_in, memo_out = self._direct_memo
        if text != memo_in:
            origin = json.dumps(self.origin(json.loads(text)), separators=(",", ":"))
            memo_out = text[: text.rindex("}")] + ',"origin":' + origin + "}"
            self._direct_memo = (text, memo_out)
        return memo_out

    def diagnostics(self) -> list[dict]:
        if self.relayed:
            return list((self._served or {}).get("diagnostics") or [])
        return list(self.engine.diagnostics())

    def history(self, since: float) -> dict:
        if not self.relayed:
            return self.engine.history(since)
        with self._lock:
            samples = [e for e in self._history if e.get("t", 0) > since]
        return {"interval_s": self._interval, "samples": samples}

    def tracked(self) -> dict[str, dict]:
        """The tracked sub-trees by tag (kernel_id)."""
        if self.relayed:
            with self._lock:
                return dict(self._served_tracked)
        return {t["tag"]: t for t in self.engine.tracked()}

    # ---- kernels ----------------------------------------------------------------------------

    def _track_in_engine(self, kernel_id: str, pid: int) -> None:
        """engine.track, the outcome in kernel_notes (lock held)."""
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

    def track_kernel(self, kernel_id: str, pid: int | None) -> None:
        """Follow kernel_id's process tree from pid; a new pid (restart) re-tracks the same tag,
        whose total the source keeps. Runs on the event loop: the engine's track() is one stat
        of /proc/PID and a lock; jpud's is a request, made by the relay thread."""
        with self._lock:
            if kernel_id in self.kernels and self.kernels[kernel_id] == pid:
                return
            self.kernels[kernel_id] = pid
            if pid is None:
                self.kernel_notes[kernel_id] = REMOTE_KERNEL_NOTE
                return
            if self.on_daemon:
                self._ops.append(("track", kernel_id, pid))
                self._wake.set()
            elif self.engine is not None:
                self._track_in_engine(kernel_id, pid)
        self.log.debug("jupyter_power_usage: tracking kernel %s (pid %s)", kernel_id, pid)

    def untrack_kernel(self, kernel_id: str) -> None:
        with self._lock:
            pid = self.kernels.pop(kernel_id, None)
            self.kernel_notes.pop(kernel_id, None)
            self._served_tracked.pop(kernel_id, None)
            if pid is None:
                return
            if self.on_daemon:
                self._ops.append(("untrack", kernel_id, None))
                self._wake.set()
            elif self.engine is not None:
                try:
                    self.engine.untrack(kernel_id)
                except KeyError:
                    pass
