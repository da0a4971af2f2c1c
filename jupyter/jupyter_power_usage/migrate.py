"""Carry the original extension's saved front-end settings over to ours.

The original jupyter-power-usage (npm ``@mahendrapaipuri/jupyter-power-usage``) kept its
settings under the plugin id ``@mahendrapaipuri/jupyter-power-usage:plugin``; ours is
``jupyter-power-usage:plugin``. JupyterLab (and Notebook 7) store a plugin's user settings in
``<user settings dir>/<package>/<plugin>.jupyterlab-settings``, so the users of the original
would find ours at their defaults. On server start, if the original's file exists and ours does
not, it is copied; ours is never overwritten (a user who already set ours keeps them).

The keys keep their meaning (DESIGN.md section 3). Older releases of the original had
``countryCode``, ``emissionsFactor`` and ``emissionsRefreshRate`` at the top level: they are
moved under ``emissions`` where ours reads them. Our schema allows no other top-level key
(a single unknown one would make JupyterLab refuse the whole file), so anything else is dropped
and named in the log. A file that needs no change is copied byte for byte, comments included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ORIGINAL_PACKAGE = "@mahendrapaipuri/jupyter-power-usage"
OUR_PACKAGE = "jupyter-power-usage"
SETTINGS_FILE = "plugin.jupyterlab-settings"

# Top-level keys of our schema (schema/plugin.json), the same names as the original's.
KNOWN_KEYS = ("refreshRate", "indicatorBarDisabled", "cpu", "gpu", "emissions")
# The original's older top-level emissions keys -> their place under `emissions`.
MOVED_KEYS = {
    "countryCode": "countryCode",
    "emissionsFactor": "factor",
    "emissionsRefreshRate": "refreshRate",
}
# emissions.source values our schema accepts (an enum: another value invalidates the file).
SOURCES = ("", "rte", "gb", "emaps", "table", "constant")


def user_settings_dir(serverapp: Any = None) -> Path:
    """Where JupyterLab keeps user settings, found as JupyterLab finds it.

    A running JupyterLab or Notebook 7 app's ``user_settings_dir`` (which honours
    ``c.LabApp.user_settings_dir``) wins; else ``jupyterlab.commands.get_user_settings_dir()``;
    else its rule: ``$JUPYTERLAB_SETTINGS_DIR`` or ``<jupyter config dir>/lab/user-settings``.
    """
    manager = getattr(serverapp, "extension_manager", None)
    if manager is not None:
        try:
            apps = manager.extension_apps
        except Exception:  # noqa: BLE001 - an older server: fall back to the rule
            apps = {}
        for name in ("jupyterlab", "notebook"):
            for app in apps.get(name, ()):
                folder = getattr(app, "user_settings_dir", None)
                if isinstance(folder, str) and folder:
                    return Path(folder)
    try:
        from jupyterlab.commands import get_user_settings_dir
    except ImportError:
        from jupyter_core.paths import jupyter_config_dir

        folder = os.environ.get("JUPYTERLAB_SETTINGS_DIR") or os.path.join(
            jupyter_config_dir(), "lab", "user-settings"
        )
        return Path(folder).absolute()
    return Path(get_user_settings_dir())


def _parse(text: str) -> Any:
    """The settings file is JSON5 (JupyterLab writes comments into it)."""
    try:
        import json5
    except ImportError:
        return json.loads(text)
    return json5.loads(text)


def convert(settings: dict) -> tuple[dict, list[str], list[str]]:
    """The original's settings in our schema: (settings, keys moved, keys dropped)."""
    out: dict[str, Any] = {}
    moved: list[str] = []
    dropped: list[str] = []
    emissions = settings.get("emissions")
    emissions = dict(emissions) if isinstance(emissions, dict) else None
    if "emissions" in settings and emissions is None:
        dropped.append("emissions")
    for key, value in settings.items():
        if key in KNOWN_KEYS:
            if key != "emissions":
                out[key] = value
        elif key in MOVED_KEYS:
            target = MOVED_KEYS[key]
            emissions = emissions if emissions is not None else {}
            # A value already under `emissions` is the newer one.
            if target not in emissions:
                emissions[target] = value
                moved.append(f"{key} -> emissions.{target}")
            else:
                dropped.append(key)
        else:
            dropped.append(key)
    if emissions is not None:
        source = emissions.get("source")
        if source is not None and source not in SOURCES:
            del emissions["source"]
            dropped.append(f"emissions.source ({source!r})")
        out["emissions"] = emissions
    return out, moved, dropped


def migrate_settings(settings_dir: str | os.PathLike | None = None, log: Any = None) -> Path | None:
    """Copy the original extension's saved settings to ours when ours do not exist yet.

    Returns the path written, or None when there was nothing to do. Never raises for a file it
    cannot read or parse: it logs why and leaves everything as it was.
    """
    folder = Path(settings_dir) if settings_dir is not None else user_settings_dir()
    source = folder / ORIGINAL_PACKAGE / SETTINGS_FILE
    target = folder / OUR_PACKAGE / SETTINGS_FILE
    if not source.is_file() or target.exists():
        return None
    try:
        text = source.read_text(encoding="utf-8")
        parsed = _parse(text) if text.strip() else {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if log is not None:
            log.warning(
                "jupyter_power_usage: not migrating the settings of %s (%s): %s",
                ORIGINAL_PACKAGE,
                source,
                exc,
            )
        return None
    if not isinstance(parsed, dict):
        if log is not None:
            log.warning("jupyter_power_usage: not migrating %s: not a settings object", source)
        return None
    converted, moved, dropped = convert(parsed)
    if converted == parsed and text.strip():
        data = text  # nothing to change: keep the user's comments and layout
    else:
        data = (
            f"// Migrated by jupyter-power-usage from {ORIGINAL_PACKAGE}:plugin\n"
            + json.dumps(converted, indent=2)
            + "\n"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a server killed half-way leaves no half file, and a
        # settings file another process created meanwhile is not replaced (link fails).
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        try:
            os.link(tmp, target)
        except FileExistsError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        if log is not None:
            log.warning("jupyter_power_usage: could not write %s: %s", target, exc)
        return None
    if log is not None:
        log.info(
            "jupyter_power_usage: migrated the saved settings of %s (%s) to %s: %s%s%s",
            ORIGINAL_PACKAGE,
            source,
            target,
            ", ".join(sorted(converted)) or "no keys",
            f"; moved {', '.join(moved)}" if moved else "",
            f"; dropped (unknown to this version) {', '.join(dropped)}" if dropped else "",
        )
    return target
