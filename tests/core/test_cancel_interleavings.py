"""A cancel at any moment of a task's life stops it: the interleavings, one by one.

Each test holds the worker thread at a named point (a `Pause`: the worker waits there until
the test releases it), cancels from the test thread, releases, and checks what a user sees:
the task ends cancelled; when the cancel came before the generation, none started; when it
came during the steps, the steps stopped. The next task then runs normally (the cancel does
not leak into it). No sleeps: every wait is on an event.
"""

from __future__ import annotations

import os
import threading

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.models import TaskStatus
from tests.fakes import FakeHost, Pause, api_params

pytestmark = pytest.mark.backends  # every test here runs on SQLite and on PostgreSQL

WAIT = 30  # upper bound for a condition, never a timing assertion
STEPS = 4


class Finished:
    def __init__(self, queue):
        self.ids: list[str] = []
        self._cond = threading.Condition()
        queue.subscribe(self._on_event)

    def _on_event(self, event: str, task_id: str) -> None:
        if event == "finished":
            with self._cond:
                self.ids.append(task_id)
                self._cond.notify_all()

    def wait_for(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.ids) >= count, WAIT), self.ids


@pytest.fixture
def worker(queue, tmp_path):
    host = FakeHost(output_dir=str(tmp_path / "out"))
    executor = TaskExecutor(queue, host)
    yield executor, host
    for pause in host.pauses.values():
        pause.release.set()
    executor.shutdown(timeout=WAIT)


def two_tasks(queue):
    doomed = queue.add_task("txt2img", api_params("doomed", steps=STEPS, seed=1))
    after = queue.add_task("txt2img", api_params("after", steps=STEPS, seed=2))
    return doomed, after


def cancel_at(queue, executor, pause: Pause, task_id: str) -> None:
    """Start the worker, wait until it holds at `pause`, cancel, let it go on."""
    finished = Finished(queue)
    executor.start()
    assert pause.reached.wait(WAIT)
    queue.cancel_task(task_id)
    pause.release.set()
    finished.wait_for(2)


def assert_the_next_task_ran_in_full(queue, host, after) -> None:
    done = queue.get_task(after.id)
    assert done.status is TaskStatus.COMPLETED
    assert host.steps_run[after.id] == STEPS
    assert all(os.path.isfile(path) for path in done.result_images)


def test_cancel_before_the_claim(queue, worker):
    executor, host = worker
    doomed, after = two_tasks(queue)
    queue.cancel_task(doomed.id)
    finished = Finished(queue)
    executor.start()
    finished.wait_for(1)
    assert queue.get_task(doomed.id).status is TaskStatus.CANCELLED
    assert doomed.id not in host.ran
    assert_the_next_task_ran_in_full(queue, host, after)


def test_cancel_after_the_claim_before_the_host_is_called(queue, worker):
    executor, host = worker
    doomed, after = two_tasks(queue)
    pause = Pause()

    def hold_after_claim(event: str, task_id: str) -> None:
        if event == "claimed" and task_id == doomed.id:  # on the worker thread, claim done
            pause.hold()

    queue.subscribe(hold_after_claim)
    cancel_at(queue, executor, pause, doomed.id)
    assert queue.get_task(doomed.id).status is TaskStatus.CANCELLED
    assert doomed.id not in host.generations
    assert_the_next_task_ran_in_full(queue, host, after)


def test_cancel_inside_the_host_before_its_generation_starts(queue, worker):
    """The gap of old: the worker had looked, the host had not begun, the cancel was lost."""
    executor, host = worker
    doomed, after = two_tasks(queue)
    pause = host.pause_at("entered")
    cancel_at(queue, executor, pause, doomed.id)
    assert queue.get_task(doomed.id).status is TaskStatus.CANCELLED
    assert doomed.id not in host.generations  # no generation started at all
    assert_the_next_task_ran_in_full(queue, host, after)


def test_cancel_when_the_generation_started_before_the_first_step(queue, worker):
    executor, host = worker
    doomed, after = two_tasks(queue)
    pause = host.pause_at("generating")
    cancel_at(queue, executor, pause, doomed.id)
    task = queue.get_task(doomed.id)
    assert task.status is TaskStatus.CANCELLED
    assert host.steps_run[doomed.id] == 0
    assert task.result_images == []
    assert_the_next_task_ran_in_full(queue, host, after)


def test_cancel_during_the_steps_stops_at_the_next_step(queue, worker):
    executor, host = worker
    doomed, after = two_tasks(queue)
    pause = host.pause_at("step 1")
    cancel_at(queue, executor, pause, doomed.id)
    task = queue.get_task(doomed.id)
    assert task.status is TaskStatus.CANCELLED
    assert host.steps_run[doomed.id] == 1  # step 2 never ran
    assert task.result_images == []
    assert_the_next_task_ran_in_full(queue, host, after)


def test_cancel_after_the_last_step_still_ends_cancelled(queue, worker):
    executor, host = worker
    doomed, after = two_tasks(queue)
    pause = host.pause_at("stepped")
    cancel_at(queue, executor, pause, doomed.id)
    task = queue.get_task(doomed.id)
    assert task.status is TaskStatus.CANCELLED  # what the user asked for, though all ran
    assert host.steps_run[doomed.id] == STEPS
    assert_the_next_task_ran_in_full(queue, host, after)
