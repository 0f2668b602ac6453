"""A read-only data folder (a real read-only mount) and a database another process keeps
locked beyond the busy timeout (a real second process holding BEGIN EXCLUSIVE): a clear 503
naming the cause and the place, no crash, the worker waits and carries on, nothing is lost.
"""

from __future__ import annotations

import threading

from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import FakeHost, api_params
from tests.faults.conftest import another_process_locking, short_busy_timeout

QUEUE = "/task-scheduler/queue"


def test_a_read_only_data_folder_is_reported_and_the_queue_comes_back_once_writable(
    small_disk, api_on
):
    disk = small_disk("48m")
    before = QueueManager(disk.path / "tasks.sqlite3", files_dir=disk.path / "inputs")
    ids = [before.add_task("txt2img", api_params(f"kept {n}")).id for n in range(3)]
    before.close()
    disk.read_only()  # e.g. a volume mounted read-only, or a data folder on read-only media

    api = api_on(disk.path)  # Forge starts: no crash
    for method, url in (
        ("GET", QUEUE),
        ("POST", f"{QUEUE}/txt2img"),
        ("POST", "/task-scheduler/start"),
    ):
        response = api.client.request(
            method, url, json={"prompt": "x"} if "txt2img" in url else None
        )
        assert response.status_code == 503, (method, url, response.text)
        detail = response.json()["detail"]
        assert f"The task data folder {disk.path} is read-only" in detail
        assert "nothing was stored" in detail

    disk.writable()  # the store is tried again by itself (every few seconds)
    api.wait_for(lambda: api.client.get(QUEUE).status_code == 200, "the store to come back")
    assert api.client.post("/task-scheduler/start").status_code == 200
    for task_id in ids:  # nothing lost: every task stored before runs
        assert api.wait_status(task_id, "completed")["status"] == "completed"
    added = api.client.post(f"{QUEUE}/txt2img", json={"prompt": "after"})
    assert added.status_code == 201


def test_a_lock_held_by_another_process_answers_503_and_the_worker_carries_on(api_on, tmp_path):
    gate = threading.Event()  # holds the first task mid-generation
    host = FakeHost(output_dir=str(tmp_path / "outputs"), gate=gate)
    api = api_on(tmp_path / "data", host=host)
    short_busy_timeout(api, 0.5)
    ids = [
        api.client.post(f"{QUEUE}/txt2img", json={"prompt": f"t{n}"}).json()["id"] for n in range(3)
    ]
    api.client.post("/task-scheduler/start")
    api.wait_for(lambda: host.generations, "the first task to be generating")

    with another_process_locking(api.queue.store.path):
        refused = api.client.post(f"{QUEUE}/txt2img", json={"prompt": "while locked"})
        assert refused.status_code == 503
        detail = refused.json()["detail"]
        assert f"The task database {api.queue.store.path} is locked by another program" in detail
        assert api.client.get(QUEUE).status_code == 200  # reading still works (WAL)
        gate.set()  # the task ends while its outcome cannot be written
        api.wait_for(
            lambda: api.services.executor.recording_fault is not None, "the outcome to wait"
        )
        assert api.services.executor.recording_fault.kind == "locked"
        assert api.services.executor.is_alive
        assert api.queue.get_task(ids[0]).status.value == "running"

    for task_id in ids:  # the outcome is written, and the worker goes on with the rest
        assert api.wait_status(task_id, "completed")["status"] == "completed"
    after = api.client.post(f"{QUEUE}/txt2img", json={"prompt": "after"})
    assert after.status_code == 201  # queueing works again, and the worker (still on) runs it
    assert api.wait_status(after.json()["id"], "completed")["status"] == "completed"
