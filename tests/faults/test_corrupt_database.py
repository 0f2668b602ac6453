"""A damaged database file at start-up (truncated, its header or a page overwritten): the
service starts with the store unavailable, the API and the tab say what is wrong and where the
file is, the file is never written, renamed or deleted by us, and the documented recovery
(rename the file, start afresh, import an export) brings the pending tasks back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from task_scheduler.api import app as api_module
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params
from tests.ui.app import TabApp

PAGE = 4096
DAMAGE = {
    "truncated": lambda path: os.truncate(path, path.stat().st_size // 2),
    "header overwritten": lambda path: _overwrite(path, 0, b"\x00" * 16),
    "page overwritten": lambda path: _overwrite(path, PAGE, b"\xff" * PAGE),  # page 2
}


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def a_queue_file(folder: Path, tasks: int = 300) -> Path:
    """A database of several hundred pages, closed cleanly (no -wal file left)."""
    queue = QueueManager(folder / "tasks.sqlite3", files_dir=folder / "inputs")
    specs = [
        {"task_type": "txt2img", "params": api_params(f"{n} " + "a misty harbour " * 120)}
        for n in range(tasks)
    ]
    queue.add_tasks(specs)
    queue.close()
    return folder / "tasks.sqlite3"


def fingerprint(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_database_leaves_the_store_unavailable_saying_where_and_untouched(
    make_api, tmp_path, damage
):
    db_file = a_queue_file(tmp_path)
    DAMAGE[damage](db_file)
    before = fingerprint(tmp_path)

    api = make_api(root=tmp_path)  # the service starts
    for method, url in (
        ("GET", "/task-scheduler/queue"),
        ("GET", "/task-scheduler/tasks"),
        ("POST", "/task-scheduler/queue/txt2img"),
        ("POST", "/task-scheduler/start"),
        ("DELETE", "/task-scheduler/tasks/some-task"),
        ("POST", "/task-scheduler/clear-completed"),
    ):
        body = {"prompt": "x"} if url.endswith("txt2img") else None
        response = api.client.request(method, url, json=body)
        assert response.status_code == 503, (method, url, response.text)
        detail = response.json()["detail"]
        assert f"The task database {db_file} is damaged" in detail
        assert "left exactly as it is" in detail
        assert "Reliability" in detail  # where the way to recover is written
    assert api.queue.store.fault.kind == "damaged"

    api.services.executor.shutdown()
    api_module.shutdown(api.services)
    api.queue.close()
    assert fingerprint(tmp_path) == before  # same files, same bytes, same times


def test_the_tab_shows_the_damaged_file_in_place_of_the_status(browser, tmp_path):
    db_file = a_queue_file(tmp_path, tasks=40)
    DAMAGE["header overwritten"](db_file)
    before = fingerprint(tmp_path)
    app = TabApp(tmp_path)
    app.launch()
    try:
        page = browser.new_page()
        page.goto(app.url)
        state = page.locator("#task_scheduler_app .ts-state")
        # the first call into Gradio is slow (it imports plotting libraries)
        expect(state).to_contain_text(f"The task database {db_file} is damaged", timeout=60_000)
        expect(state).to_contain_text("Reliability")
        page.close()
    finally:
        app.close()
    assert fingerprint(tmp_path) == before


def test_renaming_the_damaged_file_and_importing_an_export_brings_the_tasks_back(
    make_api, tmp_path
):
    """The recovery the README documents, through the API only."""
    data = tmp_path / "data"
    first = make_api(root=data)
    for n in range(3):
        assert first.client.post(
            "/task-scheduler/queue/txt2img", json={"prompt": f"p{n}"}
        ).is_success
    export = first.client.get("/task-scheduler/export").json()
    first.services.executor.shutdown()
    api_module.shutdown(first.services)
    first.queue.close()
    db_file = data / "tasks.sqlite3"
    DAMAGE["header overwritten"](db_file)
    assert make_api(root=data).client.get("/task-scheduler/queue").status_code == 503

    db_file.rename(data / "tasks.sqlite3.damaged")  # 1. keep the damaged file aside
    fresh = make_api(root=data)  # 2. start again: a new, empty file
    assert fresh.client.get("/task-scheduler/queue").json()["pending"]["total"] == 0
    imported = fresh.client.post("/task-scheduler/import", json=export)  # 3. import
    assert imported.status_code == 201
    prompts = [t.params["payload"]["prompt"] for t in fresh.queue.get_pending_tasks()]
    assert prompts == ["p0", "p1", "p2"]
