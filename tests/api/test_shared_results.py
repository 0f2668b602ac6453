"""Result images on a queue that several machines share (PostgreSQL): a task finished on one
machine shows its images in another machine's REST API and tab, where the file does not exist
(store/result_files.py, core/result_copies.py). On SQLite nothing is copied."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI
from fastapi.testclient import TestClient

from task_scheduler.api import app as api
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Services
from task_scheduler.ui import commands
from tests.fakes import FakeHost, api_params

from .conftest import CATALOG

IMAGE = b"\x89PNG\r\n\x1a\n" + b"result bytes " * 500


def _finish_on_this_machine(queue: QueueManager, outputs) -> tuple[str, str]:
    """Queue a task, run it 'here': its image is a file in this machine's outputs."""
    task = queue.add_task("txt2img", api_params("a lighthouse"))
    queue.claim_next()
    outputs.mkdir(parents=True)
    image = outputs / "00001-7.png"
    image.write_bytes(IMAGE)
    queue.update_task_status(task.id, "completed", result_images=[str(image)], result_seeds=[7])
    return task.id, str(image)


def _services(queue: QueueManager, tmp_path) -> Services:
    return Services(
        queue=queue,
        executor=TaskExecutor(queue, FakeHost(output_dir=str(tmp_path / "b-out"))),
        files=queue.files,
        catalog=lambda: CATALOG,
    )


def test_another_machine_serves_a_finished_tasks_images_from_the_store(pg_url, tmp_path):
    here = QueueManager(pg_url, files_dir=tmp_path / "a" / "inputs")
    there = QueueManager(pg_url, files_dir=tmp_path / "b" / "inputs")
    try:
        task_id, image = _finish_on_this_machine(here, tmp_path / "a" / "outputs")
        os.remove(image)  # the other machine has no such file
        services = _services(there, tmp_path)
        app = FastAPI()
        api.mount(app, services, None)
        client = TestClient(app)
        response = client.get(f"/task-scheduler/tasks/{task_id}/images/0")
        assert response.status_code == 200, response.text
        assert response.content == IMAGE
        assert response.headers["content-type"] == "image/png"
        reply, gallery = commands.open_task(services, json.dumps({"id": task_id}))
        assert json.loads(reply)["images_missing"] == 0
        ((path, caption),) = gallery
        assert caption == "Seed 7"
        with open(path, "rb") as handle:
            assert handle.read() == IMAGE  # a local copy Gradio may serve
        # the stored copy goes with its task
        there.delete_task(task_id)
        assert here.results.read(task_id, 0) is None
        api.shutdown(services)
    finally:
        here.close()
        there.close()


def test_a_sqlite_queue_copies_nothing(tmp_path):
    queue = QueueManager(tmp_path / "tasks.sqlite3", files_dir=tmp_path / "inputs")
    try:
        assert queue.results is None
        task_id, image = _finish_on_this_machine(queue, tmp_path / "outputs")
        os.remove(image)
        reply, gallery = commands.open_task(_services(queue, tmp_path), json.dumps({"id": task_id}))
        assert gallery == []
        assert json.loads(reply)["images_missing"] == 1
    finally:
        queue.close()
