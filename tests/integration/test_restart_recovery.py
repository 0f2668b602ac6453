"""Killing Forge mid-task: the interrupted task fails with the shutdown error, never re-runs by
itself, and the tasks still pending run after Start."""

from __future__ import annotations

from task_scheduler.core.models import SHUTDOWN_ERROR, TaskStatus

from .conftest import on_checkpoint
from .forge_page import ForgePage
from .forge_process import wait_until

SETTINGS = "Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
SLOW = f"a long task\nSteps: 60, Seed: 1, {SETTINGS}"
QUICK = "a quick task {n}\nSteps: 2, Seed: {n}, " + SETTINGS


def test_killed_task_fails_with_the_shutdown_error_and_pending_tasks_run_after_start(
    forge_factory, browser
):
    forge = forge_factory({"task_scheduler_start_on_launch": True, **on_checkpoint("randA")}, [])
    forge.start()
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    forge_page = ForgePage(context.new_page(), forge).open()
    forge_page.paste_parameters("txt2img", SLOW)
    _, slow = forge_page.queue("txt2img")
    pending = []
    for n in (2, 3):
        forge_page.paste_parameters("txt2img", QUICK.format(n=n))
        pending.append(forge_page.queue("txt2img")[1])
    context.close()
    wait_until(lambda: forge.task(slow).status == TaskStatus.RUNNING, 600, "the slow task to run")
    assert all(forge.task(task_id).status == TaskStatus.PENDING for task_id in pending)

    forge.kill()
    forge.start(task_scheduler_start_on_launch=False)

    interrupted = forge.task(slow)
    assert interrupted.status == TaskStatus.FAILED
    assert interrupted.error == SHUTDOWN_ERROR
    assert [forge.task(task_id).status for task_id in pending] == [TaskStatus.PENDING] * 2

    assert forge.api("POST", "/task-scheduler/start").status_code == 200
    finished = [forge.wait_finished(task_id) for task_id in pending]
    assert [task.status for task in finished] == [TaskStatus.COMPLETED] * 2
    assert forge.task(slow).status == TaskStatus.FAILED  # never re-run
