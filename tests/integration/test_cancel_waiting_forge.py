"""In a real Forge, a queued task cancelled while it waits for the GPU (behind someone's
generation holding Forge's queue_lock) never generates: ForgeHost looks at the task's cancel
token right after taking the lock. The generation it waited for is not disturbed by the
cancel (Forge's interrupt is global, so ours must never reach someone else's)."""

from __future__ import annotations

import threading

from task_scheduler.core.models import TaskStatus

from .forge_process import wait_until

BASE = "/task-scheduler"


def test_a_task_cancelled_while_waiting_for_the_gpu_never_generates(running_forge):
    forge = running_forge
    answers: list = []
    theirs = threading.Thread(  # someone's sdapi generation: holds queue_lock throughout
        target=lambda: answers.append(
            forge.api(
                "POST",
                "/sdapi/v1/txt2img",
                json={"prompt": "someone else's", "steps": 12, "width": 64, "height": 64},
                timeout=600,
            )
        ),
        daemon=True,
    )
    theirs.start()

    def sampling() -> dict | None:
        state = forge.api("GET", "/sdapi/v1/progress?skip_current_image=true").json()["state"]
        return state if state["sampling_step"] > 0 else None

    wait_until(sampling, 600, "someone's generation to sample")
    queued = forge.api(
        "POST", f"{BASE}/queue/txt2img", json={"prompt": "mine", "steps": 2, "width": 64}
    )
    assert queued.status_code == 201, queued.text
    task_id = queued.json()["id"]
    wait_until(
        lambda: forge.task(task_id).status == TaskStatus.RUNNING,
        60,
        "the worker to claim the task (it then waits for queue_lock)",
    )
    cancelled = forge.api("POST", f"{BASE}/queue/{task_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    theirs.join(600)
    assert len(answers) == 1
    assert answers[0].status_code == 200
    assert len(answers[0].json()["images"]) == 1  # their generation ran to its end

    task = forge.wait_finished(task_id)
    assert task.status == TaskStatus.CANCELLED
    assert task.result_images == []  # no generation started for it
    assert task.result_info == ""
