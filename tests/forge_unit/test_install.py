"""install.py installs PostgreSQL's driver only when a PostgreSQL URL is configured (environment
variable or Forge's config.json), through Forge's own launch.is_installed / launch.run_pip."""

from __future__ import annotations

import json
import runpy
import sys
import types
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[2] / "install.py"


def run_install(monkeypatch, tmp_path, env_url=None, setting_url=None, installed=False):
    """Run install.py against a stand-in for Forge's `launch`; the pip commands it asked for."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"task_scheduler_database_url": setting_url or ""}))
    pip: list[str] = []
    launch = types.SimpleNamespace(
        args=types.SimpleNamespace(ui_settings_file=str(config)),
        is_installed=lambda package: installed and package == "psycopg",
        run_pip=lambda command, desc=None: pip.append(command),
    )
    monkeypatch.setitem(sys.modules, "launch", launch)
    if env_url is None:
        monkeypatch.delenv("TASK_SCHEDULER_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TASK_SCHEDULER_DATABASE_URL", env_url)
    runpy.run_path(str(INSTALL), run_name="__main__")
    return pip


def test_without_a_postgresql_url_nothing_is_installed(monkeypatch, tmp_path):
    assert run_install(monkeypatch, tmp_path) == []


@pytest.mark.parametrize("where", ["environment", "setting"])
def test_a_postgresql_url_installs_psycopg_once(monkeypatch, tmp_path, where):
    url = "postgresql://forge@db.example:5432/queue"
    given = {"env_url": url} if where == "environment" else {"setting_url": url}
    assert run_install(monkeypatch, tmp_path, **given) == ['install "psycopg[binary]>=3.2"']
    assert run_install(monkeypatch, tmp_path, installed=True, **given) == []


def test_a_sqlite_path_in_the_variable_installs_nothing(monkeypatch, tmp_path):
    assert run_install(monkeypatch, tmp_path, env_url=str(tmp_path / "tasks.sqlite3")) == []
