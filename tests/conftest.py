"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from task_scheduler.queue_manager import QueueManager


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "tasks.sqlite3"


@pytest.fixture
def queue(db_path, tmp_path):
    manager = QueueManager(db_path, files_dir=tmp_path / "inputs")
    yield manager
    manager.close()
