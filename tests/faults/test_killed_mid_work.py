"""A process killed (SIGKILL) while an import or a retention pass is half done: after the
restart everything is consistent. An import is all or nothing; a retention pass never leaves a
task without its input files, and the files it had not removed yet are collected at start-up.

Each kill lands at a named point (tests/faults/killed_worker.py stops there and says so):
deterministic, no sleeps. Callbacks cut off by a kill are covered by
tests/core/test_callback_outbox.py (test_a_callback_cut_off_by_a_killed_process_...).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from task_scheduler.core.files import FileStore
from task_scheduler.core.queue_manager import QueueManager
from tests.api.conftest import png_base64
from tests.fakes import api_params

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")


def kill_at(mode: str, data: Path, document: dict | None = None) -> None:
    """Run killed_worker until it reports the point, then SIGKILL it there."""
    args = [sys.executable, "-m", "tests.faults.killed_worker", mode, str(data)]
    if document is not None:
        args.append(json.dumps(document))
    child = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == f"AT {mode}", f"the child never reached {mode}: {line!r}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def restart(data: Path) -> QueueManager:
    """Forge starting again on the folder (recovery and the start-up file collection)."""
    return QueueManager(data / "tasks.sqlite3", files_dir=data / "inputs")


def sound(data: Path) -> None:
    with sqlite3.connect(data / "tasks.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def every_task_has_its_files(queue: QueueManager) -> None:
    for task in queue.list_tasks(limit=1000).tasks:
        for name in task.files:
            assert queue.files.exists(name), f"task {task.id} lost its input file {name}"


def an_export(tmp_path: Path, count: int = 5) -> dict:
    """A real export document: img2img tasks, each with its own init image."""
    from fastapi.testclient import TestClient

    from tests.api.conftest import build_api

    app, services, _host = build_api(tmp_path / "source")
    client = TestClient(app)
    for n in range(count):
        body = {"prompt": f"imported {n}", "init_images": [png_base64((n * 40, 90, 20))]}
        assert client.post("/task-scheduler/queue/img2img", json=body).status_code == 201
    document = client.get("/task-scheduler/export").json()
    services.queue.close()
    return document


@pytest.mark.parametrize("point", ["import-files", "import-rows"])
def test_an_import_killed_half_way_stores_nothing_and_the_same_import_then_succeeds(
    tmp_path, point
):
    data = tmp_path / "data"
    queue = restart(data)
    kept = queue.add_task("txt2img", api_params("already queued")).id
    queue.close()
    document = an_export(tmp_path)

    kill_at(point, data, document)

    after = restart(data)
    sound(data)
    assert [t.id for t in after.list_tasks(limit=100).tasks] == [kept]  # nothing of the import
    after.close()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.faults.killed_worker",
            "import",
            str(data),
            json.dumps(document),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "DONE 201"
    again = restart(data)
    prompts = sorted(t.params["payload"]["prompt"] for t in again.get_pending_tasks())
    assert prompts == sorted(["already queued", *(f"imported {n}" for n in range(5))])
    every_task_has_its_files(again)
    again.close()


def old_finished_tasks_with_files(data: Path, count: int = 4) -> tuple[list[str], list[str]]:
    """`count` completed tasks from 10 days ago, each with an input file of its own, plus one
    pending task sharing the first one's file. Returns (old task ids, their file names)."""
    queue = restart(data)
    store = FileStore(data / "inputs")
    ids, names = [], []
    for n in range(count):
        data_bytes = f"image {n}".encode()
        name = store.put(data_bytes, "png")
        task = queue.add_task("txt2img", api_params(f"old {n}"), files=[name])
        queue.claim_next()
        queue.update_task_status(task.id, "completed")
        ids.append(task.id)
        names.append(name)
    queue.add_task("txt2img", api_params("pending, shares a file"), files=[names[0]])
    ten_days_ago = time.time() - 10 * 86400
    with queue.store.transaction() as conn:
        conn.execute(
            "UPDATE tasks SET completed_at = ? WHERE status = 'completed'", (ten_days_ago,)
        )
    for name in names:  # written long ago, as the files of old tasks are
        os.utime(store.path(name), (ten_days_ago, ten_days_ago))
    queue.close()
    return ids, names


def test_a_retention_pass_killed_before_its_commit_deletes_nothing(tmp_path):
    data = tmp_path / "data"
    ids, names = old_finished_tasks_with_files(data)

    kill_at("prune-rows", data)

    after = restart(data)
    sound(data)
    stored = {t.id for t in after.list_tasks(limit=100).tasks}
    assert set(ids) <= stored  # the pass had not committed: every task is still there
    every_task_has_its_files(after)
    assert all(after.files.exists(name) for name in names)
    assert after.prune_history(86400.0) == len(ids)  # the next pass does it whole
    assert [after.files.exists(name) for name in names] == [True, False, False, False]
    after.close()


def test_a_retention_pass_killed_while_removing_files_leaves_no_task_without_its_files(tmp_path):
    data = tmp_path / "data"
    ids, names = old_finished_tasks_with_files(data)

    kill_at("prune-files", data)

    after = restart(data)  # start-up: collects the files the killed pass had left
    sound(data)
    remaining = after.list_tasks(limit=100).tasks
    assert not {t.id for t in remaining} & set(ids)  # the deletion had committed
    every_task_has_its_files(after)  # the pending task keeps the file it shares
    assert after.files.exists(names[0])
    assert [after.files.exists(name) for name in names[1:]] == [False, False, False]
    assert sorted(os.listdir(data / "inputs")) == [names[0]]  # no file without its task
    after.close()
