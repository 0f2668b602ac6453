"""Reload UI hands the queue to a new worker only after the old one has finished its task, so a
process never runs two workers; history retention prunes what the setting says."""

from __future__ import annotations

import threading
import time

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.models import TaskStatus
from task_scheduler.forge.extension import apply_retention, launch_after
from tests.fakes import FakeHost

PARAMS = {"source": "ui", "inputs": {"prompt": "p"}}
SCRIPTS = {"selected": None, "scripts": {"Sampler": [2, "Euler", "Automatic"], "Seed": [1]}}


def wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_the_new_worker_starts_only_after_the_unloaded_one_finished_its_task(queue):
    gate = threading.Event()
    old_host = FakeHost(gate=gate)
    old = TaskExecutor(queue, old_host)
    old.start()
    first = queue.add_task("txt2img", PARAMS, script_args=SCRIPTS)
    assert old_host.started.wait(10)

    overlaps = []
    new_host = FakeHost(on_start=lambda _task: overlaps.append(old.is_alive))
    new = TaskExecutor(queue, new_host)
    old.shutdown(timeout=0)  # what Reload UI's on_script_unloaded does
    launch_after(old, new, start=True)
    second = queue.add_task("txt2img", PARAMS, script_args=SCRIPTS)

    assert not new.is_alive  # the old worker is still inside its task
    gate.set()
    wait_for(lambda: queue.get_task(second.id).status == TaskStatus.COMPLETED, "the second task")
    assert queue.get_task(first.id).status == TaskStatus.COMPLETED
    assert old_host.ran == [first.id]
    assert new_host.ran == [second.id]
    assert overlaps == [False]
    assert new.is_running
    new.shutdown()


def test_an_idle_old_worker_is_replaced_at_once_keeping_it_stopped(queue):
    old = TaskExecutor(queue, FakeHost())
    old.launch()
    old.shutdown(timeout=5)
    new = TaskExecutor(queue, FakeHost())
    launch_after(old, new, start=False)
    assert new.is_alive
    assert not new.is_running
    new.shutdown()


def test_retention_deletes_old_unnamed_history_only(queue):
    old, named, recent = (queue.add_task("txt2img", PARAMS, script_args=SCRIPTS) for _ in range(3))
    queue.edit_task(named.id, name="keep me")
    for task in (old, named, recent):
        queue.claim_next()
        queue.update_task_status(task.id, TaskStatus.COMPLETED)
    day = 86400
    queue.store.conn.execute(
        "UPDATE tasks SET completed_at = completed_at - ? WHERE id IN (?, ?)",
        (3 * day, old.id, named.id),
    )
    assert apply_retention(queue, 0) == 0
    assert apply_retention(queue, 2) == 1
    assert queue.get_task(old.id) is None
    assert queue.get_task(named.id) is not None
    assert queue.get_task(recent.id) is not None


def test_cancel_after_reload_ui_interrupts_the_unloaded_workers_running_task(queue):
    gate = threading.Event()  # never opened: the task only ends by being interrupted
    old_host = FakeHost(gate=gate)
    old = TaskExecutor(queue, old_host)
    old.start()
    task = queue.add_task("txt2img", PARAMS, script_args=SCRIPTS)
    assert old_host.started.wait(10)
    new_host = FakeHost()
    new = TaskExecutor(queue, new_host)
    try:
        old.shutdown(timeout=0)  # Reload UI: the old worker is still inside its task
        launch_after(old, new, start=True)
        queue.cancel_task(task.id)  # the user presses Cancel on the running task
        assert old_host._interrupt.is_set()  # delivered at once, to the worker that runs it
        old._thread.join(30)
        assert not old.is_alive
        cancelled = queue.get_task(task.id)
        assert cancelled.status == TaskStatus.CANCELLED
        assert cancelled.result_images == []
        assert old._on_queue_event not in queue._listeners  # it stopped listening once done
        assert new_host.ran == []
    finally:
        gate.set()
        new.shutdown()
