"""Fixtures shared by every test folder."""

from __future__ import annotations

import os

import pytest

from task_scheduler.core.queue_manager import QueueManager


def pytest_configure(config):
    # `@pytest.mark.fidelity(extension, mode)`: recorded for the README's fidelity table.
    from tests import fidelity_record

    if not config.pluginmanager.has_plugin("fidelity_record"):
        config.pluginmanager.register(fidelity_record, "fidelity_record")


# `db_path`: a SQLite file, or also a PostgreSQL schema for tests marked `backends`
pytest_plugins = ("tests.backends",)


@pytest.fixture
def queue(db_path, tmp_path):
    manager = QueueManager(db_path, files_dir=tmp_path / "inputs")
    yield manager
    manager.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    """One Debian Chromium for the whole run (Playwright allows one sync driver per thread)."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Debian's Chromium is required at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
