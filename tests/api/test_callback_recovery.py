"""Callbacks owed from before delivery started are sent once it starts (issue 8, item 11).

Start-up recovery fails the tasks a dead process left running before the callback sender
exists; the sender, on start, picks up finished tasks whose callback has no outcome yet.
Real store file, a real process that claims a task and dies, then a restart.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from task_scheduler.api import app as api_module
from tests.api.test_callbacks import LOCAL_OK, Receiver, wait_callback_status

CLAIM_AND_DIE = textwrap.dedent(
    """
    import os, sys
    from task_scheduler.core.queue_manager import QueueManager
    queue = QueueManager(sys.argv[1])
    task = queue.add_task(
        "txt2img", {"source": "api", "payload": {"prompt": "x"}}, callback_url=sys.argv[2]
    )
    assert queue.claim_next().id == task.id
    print(task.id, flush=True)
    os._exit(0)  # dies with the task running: no clean-up of any kind
    """
)


def left_running_by_a_dead_process(root, callback_url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CLAIM_AND_DIE, str(root / "tasks.sqlite3"), callback_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_task_failed_by_recovery_sends_its_callback(make_api, tmp_path):
    receiver = Receiver()
    try:
        task_id = left_running_by_a_dead_process(tmp_path, receiver.url)
        api = make_api(root=tmp_path, settings=LOCAL_OK)  # recovery runs, then the sender
        body = receiver.wait_for(1)[0]
        assert (body["task_id"], body["status"]) == (task_id, "failed")
        assert body["error"]
        assert wait_callback_status(api, task_id).startswith("delivered (HTTP 200")
        api_module.shutdown(api.services)  # drains the sender: any duplicate is sent by now
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_a_delivered_callback_is_not_sent_again_after_a_restart(make_api, tmp_path):
    receiver = Receiver()
    try:
        task_id = left_running_by_a_dead_process(tmp_path, receiver.url)
        first = make_api(root=tmp_path, settings=LOCAL_OK)
        wait_callback_status(first, task_id)
        api_module.shutdown(first.services)
        first.services.queue.close()
        again = make_api(root=tmp_path, settings=LOCAL_OK)
        api_module.shutdown(again.services)  # the pick-up happened in start(): drained here
        assert [body["task_id"] for body in receiver.bodies] == [task_id]
    finally:
        receiver.close()


def test_a_callback_left_waiting_by_a_reload_is_sent_by_the_next_sender(make_api, tmp_path):
    """Reload UI closes the sender while the worker may still finish a task."""
    receiver = Receiver()
    try:
        api = make_api(root=tmp_path, settings=LOCAL_OK)
        api_module.shutdown(api.services)  # the unload: no sender from here on
        task = api.queue.add_task(
            "txt2img", {"source": "api", "payload": {"prompt": "x"}}, callback_url=receiver.url
        )
        api.services.executor.start()
        api.wait_status(task.id, "completed")
        assert api.queue.get_task(task.id).callback_status is None
        api_module.start_callbacks(api.services)  # the next load's on_app_started
        assert receiver.wait_for(1)[0]["task_id"] == task.id
    finally:
        receiver.close()
