"""The original extension's saved front-end settings carry over to ours (migrate.py), and the
server does it on start."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import json5
import pytest
from jupyter_core.paths import jupyter_config_dir

from jupyter_power_usage.migrate import (
    ORIGINAL_PACKAGE,
    OUR_PACKAGE,
    SETTINGS_FILE,
    convert,
    migrate_settings,
    user_settings_dir,
)

ORIGINAL_TEXT = """{
    // Power Usage Monitor
    // @mahendrapaipuri/jupyter-power-usage:plugin
    "refreshRate": 2000,
    "cpu": {"label": "Package: "},
    "emissions": {"source": "emaps", "countryCode": "DE", "factor": 300,
                  "refreshRate": 3600000, "emapsAccessToken": ""}
}
"""


def original_file(folder: Path, text: str = ORIGINAL_TEXT) -> Path:
    path = folder / ORIGINAL_PACKAGE / SETTINGS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def ours(folder: Path) -> Path:
    return folder / OUR_PACKAGE / SETTINGS_FILE


def test_copies_the_file_verbatim_and_logs_it(tmp_path, caplog):
    original_file(tmp_path)
    log = logging.getLogger("test-migrate")
    with caplog.at_level(logging.INFO, logger="test-migrate"):
        written = migrate_settings(tmp_path, log)
    assert written == ours(tmp_path)
    # Same keys, same meaning, and the user's comments kept.
    assert written.read_text() == ORIGINAL_TEXT
    assert "migrated the saved settings" in caplog.text
    assert "cpu, emissions, refreshRate" in caplog.text
    assert str(written) in caplog.text
    assert not list((tmp_path / OUR_PACKAGE).glob(".*tmp"))


def test_never_overwrites_our_settings(tmp_path):
    original_file(tmp_path)
    mine = ours(tmp_path)
    mine.parent.mkdir(parents=True)
    mine.write_text('{"refreshRate": 9000}')
    assert migrate_settings(tmp_path) is None
    assert mine.read_text() == '{"refreshRate": 9000}'


def test_nothing_to_migrate(tmp_path):
    assert migrate_settings(tmp_path) is None
    assert not ours(tmp_path).exists()


def test_second_start_does_nothing(tmp_path):
    original_file(tmp_path)
    assert migrate_settings(tmp_path) is not None
    ours(tmp_path).write_text('{"refreshRate": 7000}')  # the user changed ours since
    assert migrate_settings(tmp_path) is None
    assert ours(tmp_path).read_text() == '{"refreshRate": 7000}'


def test_older_top_level_keys_move_under_emissions(tmp_path, caplog):
    original_file(
        tmp_path,
        '{"refreshRate": 3000, "countryCode": "fr", "emissionsFactor": 56,'
        ' "emissionsRefreshRate": 900000, "someOldKey": true}',
    )
    log = logging.getLogger("test-migrate")
    with caplog.at_level(logging.INFO, logger="test-migrate"):
        written = migrate_settings(tmp_path, log)
    data = json5.loads(written.read_text())
    assert data == {
        "refreshRate": 3000,
        "emissions": {"countryCode": "fr", "factor": 56, "refreshRate": 900000},
    }
    assert "countryCode -> emissions.countryCode" in caplog.text
    assert "dropped (unknown to this version) someOldKey" in caplog.text


def test_convert_keeps_newer_emissions_values_and_drops_bad_source():
    out, moved, dropped = convert(
        {"countryCode": "fr", "emissions": {"countryCode": "DE", "source": "watttime"}}
    )
    assert out == {"emissions": {"countryCode": "DE"}}
    assert moved == []
    assert "countryCode" in dropped
    assert "emissions.source ('watttime')" in dropped


def test_unreadable_file_is_left_alone(tmp_path, caplog):
    original_file(tmp_path, "{ not json")
    log = logging.getLogger("test-migrate")
    with caplog.at_level(logging.WARNING, logger="test-migrate"):
        assert migrate_settings(tmp_path, log) is None
    assert not ours(tmp_path).exists()
    assert "not migrating" in caplog.text


def test_settings_dir_follows_jupyterlab(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTERLAB_SETTINGS_DIR", raising=False)
    assert user_settings_dir() == Path(jupyter_config_dir(), "lab", "user-settings").absolute()
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "env"))
    assert user_settings_dir() == tmp_path / "env"
    # A running JupyterLab's configured folder (c.LabApp.user_settings_dir) wins.
    lab = SimpleNamespace(user_settings_dir=str(tmp_path / "lab"))
    serverapp = SimpleNamespace(
        extension_manager=SimpleNamespace(extension_apps={"jupyterlab": [lab]})
    )
    assert user_settings_dir(serverapp) == tmp_path / "lab"


@pytest.fixture
def legacy_settings_dir(tmp_path, monkeypatch):
    folder = tmp_path / "user-settings"
    original_file(folder)
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture
def jp_server_config(legacy_settings_dir, jp_server_config):
    # Depends on legacy_settings_dir so the file is there before the server starts.
    return jp_server_config


async def test_server_start_migrates(legacy_settings_dir, jp_serverapp, jp_fetch):
    written = ours(legacy_settings_dir)
    assert written.is_file()
    assert json5.loads(written.read_text())["emissions"]["countryCode"] == "DE"
    # The server is up and serving as usual.
    response = await jp_fetch("api", "metrics", "v1", "power_usage", "carbon")
    assert json.loads(response.body)["allowBrowserSettings"] is True
    assert os.environ["JUPYTERLAB_SETTINGS_DIR"] == str(legacy_settings_dir)
