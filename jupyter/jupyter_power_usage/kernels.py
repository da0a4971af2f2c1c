"""Per-kernel energy: follow each kernel's process tree in the engine from the moment it starts.

Start, restart and shutdown are taken from jupyter_server's event bus (the kernel_actions
schema, emitted by ``ServerKernelManager`` after each action, automatic restarts included).
Listeners run as tasks after the action returns, so the kernels endpoint also reconciles the
kernel manager with the engine before answering: O(kernels), no process scan.
"""

from __future__ import annotations

from typing import Any

from .service import REMOTE_KERNEL_NOTE, PowerService

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


def local_pid(kernel_manager: Any, kernel_id: str) -> int | None:
    """The kernel's local process id, or None for a kernel without one (remote provisioners:
    Enterprise Gateway, kubernetes...; or a kernel whose process is not running)."""
    try:
        km = kernel_manager.get_kernel(kernel_id)
    except KeyError:
        return None
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    if process is None:
        return None
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) and pid > 0 else None


def _is_local(kernel_manager: Any, kernel_id: str) -> bool:
    try:
        km = kernel_manager.get_kernel(kernel_id)
    except KeyError:
        return False
    from jupyter_client.provisioning import LocalProvisioner

    return isinstance(getattr(km, "provisioner", None), LocalProvisioner)


def sync_kernel(service: PowerService, kernel_manager: Any, kernel_id: str) -> None:
    service.track_kernel(kernel_id, local_pid(kernel_manager, kernel_id))


def reconcile(service: PowerService, kernel_manager: Any) -> None:
    """Make the engine's tracked set match the running kernels."""
    running = set(kernel_manager.list_kernel_ids())
    for kernel_id in running:
        sync_kernel(service, kernel_manager, kernel_id)
    for kernel_id in list(service.kernels):
        if kernel_id not in running:
            service.untrack_kernel(kernel_id)


class KernelWatcher:
    """Event-bus listener that tracks kernels as they start, restart and stop."""

    def __init__(self, service: PowerService, serverapp: Any):
        self.service = service
        self.serverapp = serverapp
        self._registered = False

    def register(self) -> None:
        logger = getattr(self.serverapp, "event_logger", None)
        if logger is None:
            self.service.log.warning(
                "jupyter_power_usage: no event bus; kernels are tracked when listed"
            )
            return
        logger.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_action)
        self._registered = True

    def unregister(self) -> None:
        if self._registered:
            try:
                self.serverapp.event_logger.remove_listener(
                    schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_action
                )
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
            self._registered = False

    async def _on_action(self, logger: Any, schema_id: str, data: dict) -> None:
        if data.get("status") != "success":
            return
        kernel_id = data.get("kernel_id")
        if not kernel_id:
            return
        action = data.get("action")
        km = self.serverapp.kernel_manager
        if action in ("start", "restart"):
            sync_kernel(self.service, km, kernel_id)
        elif action == "shutdown":
            self.service.untrack_kernel(kernel_id)


async def kernel_report(service: PowerService, serverapp: Any) -> list[dict]:
    """[{kernel_id, name, path, pid, alive, power_w, energy_j, emissions_g, note}] for the
    running kernels, with notebook paths read from the session manager now (a renamed notebook
    shows its new path)."""
    km = serverapp.kernel_manager
    reconcile(service, km)
    paths: dict[str, dict] = {}
    session_manager = getattr(serverapp, "session_manager", None)
    if session_manager is not None:
        for session in await session_manager.list_sessions():
            kernel = session.get("kernel") or {}
            if kernel.get("id"):
                paths[kernel["id"]] = session
    tracked = service.tracked()
    out = []
    for kernel_id in sorted(km.list_kernel_ids()):
        try:
            name = km.get_kernel(kernel_id).kernel_name
        except KeyError:
            continue
        session = paths.get(kernel_id, {})
        pid = service.kernels.get(kernel_id)
        entry = tracked.get(kernel_id)
        note = service.kernel_notes.get(kernel_id)
        if pid is None and note is None:
            note = (
                REMOTE_KERNEL_NOTE if not _is_local(km, kernel_id) else "kernel process not running"
            )
        out.append(
            {
                "kernel_id": kernel_id,
                "name": name,
                "path": session.get("path"),
                "session_name": session.get("name"),
                "pid": pid,
                "alive": entry.get("alive") if entry else None,
                "power_w": entry.get("power_w") if entry else None,
                "energy_j": dict(entry.get("energy_j") or {}) if entry else {},
                "emissions_g": entry.get("emissions_g") if entry else None,
                "note": note,
            }
        )
    return out
