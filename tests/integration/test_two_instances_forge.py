"""Two real Forges on one SQLite data folder share one queue (issue 12): every task runs exactly
once, both run some, each image equals what sdapi gives; a SIGKILLed instance's running task is
failed with the shutdown error by the survivor, which runs the rest.

Holds two Forges at once (about 14 GB with both models loaded): run it holding both Forge
slots, e.g. `/work/notes/with_forge_slot.sh /work/notes/with_forge_slot.sh env FORGE_DIR=...`.
"""

from __future__ import annotations

import socket
import time

from task_scheduler.core.models import SHUTDOWN_ERROR, TaskStatus

from .conftest import on_checkpoint
from .forge_process import wait_until
from .test_fidelity_api import decoded, fetched, sdapi

FIRST_PHASE = 8


def body(index: int, steps: int = 3) -> dict:
    return {
        "prompt": f"two instances {index}, a small blue boat",
        "steps": steps,
        "sampler_name": "Euler",
        "scheduler": "Automatic",
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "seed": 4200 + index,
    }


def _queue(forge, task_body: dict) -> str:
    reply = forge.api("POST", "/task-scheduler/queue/txt2img", json=task_body)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _saved_pngs(forge) -> list:
    return sorted(forge.outputs.rglob("*.png")) if forge.outputs.exists() else []


def test_two_forges_on_one_data_folder_share_the_queue_and_survive_a_killed_instance(
    forge_factory, tmp_path
):
    shared = tmp_path / "shared-data"
    settings = {
        **on_checkpoint("randA"),
        "task_scheduler_start_on_launch": False,
        "task_scheduler_data_dir": str(shared),
        "task_scheduler_group_by_checkpoint": False,
    }
    alpha = forge_factory(dict(settings), [])
    beta = forge_factory({**settings, "task_scheduler_instance_name": "beta"}, [])
    for forge in (alpha, beta):
        forge.data_dir = shared  # read the shared database from the test too
    alpha.start()
    beta.start()
    alpha_name = f"{socket.gethostname()}:{alpha.port}"  # the default: host name:port

    # -- eight tasks queued on one instance, both started ---------------------------------------
    ids = [_queue(alpha, body(index)) for index in range(FIRST_PHASE)]
    live = alpha.api("GET", "/task-scheduler/queue").json()
    assert sorted(i["name"] for i in live["instances"]) == sorted([alpha_name, "beta"])
    assert live["instance"] == alpha_name
    started = time.monotonic()
    for forge in (alpha, beta):
        assert forge.api("POST", "/task-scheduler/start").status_code == 200
    tasks = [alpha.wait_finished(task_id) for task_id in ids]
    first_phase_seconds = time.monotonic() - started
    assert [t.status for t in tasks] == [TaskStatus.COMPLETED] * FIRST_PHASE
    by_instance = {t.id: t.instance for t in tasks}
    assert set(by_instance.values()) == {alpha_name, "beta"}, by_instance  # both ran some
    # exactly once: one saved image per task over both Forges' output folders
    assert len(_saved_pngs(alpha)) + len(_saved_pngs(beta)) == FIRST_PHASE
    for index, task_id in enumerate(ids):
        view = beta.api("GET", f"/task-scheduler/tasks/{task_id}").json()
        assert view["instance"] == by_instance[task_id]
        expected = decoded(sdapi(alpha, body(index))["images"])
        assert [pixels for _, pixels in fetched(beta, view)] == expected, index

    # -- SIGKILL one instance mid-task ------------------------------------------------------------
    slow = [_queue(beta, body(100 + index, steps=40)) for index in range(3)]

    def running_on_beta() -> str | None:
        for task_id in slow:
            task = alpha.task(task_id)
            if task.status == TaskStatus.RUNNING and task.instance == "beta":
                return task_id
        return None

    victim = wait_until(running_on_beta, 600, "a slow task running on beta", interval=0.2)
    beta.kill()
    killed_at = time.monotonic()
    failed = wait_until(
        lambda: alpha.task(victim).is_finished and alpha.task(victim), 120, "the victim to fail"
    )
    noticed_seconds = time.monotonic() - killed_at
    assert failed.status == TaskStatus.FAILED
    assert failed.error == SHUTDOWN_ERROR
    assert failed.instance == "beta"
    rest = [alpha.wait_finished(task_id) for task_id in slow if task_id != victim]
    assert [t.status for t in rest] == [TaskStatus.COMPLETED] * 2
    assert {t.instance for t in rest} == {alpha_name}

    def only_alpha_live() -> bool:  # beta's process is gone: alpha's heartbeat notices
        live = alpha.api("GET", "/task-scheduler/queue").json()["instances"]
        return [i["name"] for i in live] == [alpha_name]

    wait_until(only_alpha_live, 90, "beta to leave the live instances")
    print(
        f"\nfirst phase: {FIRST_PHASE} tasks in {first_phase_seconds:.1f} s, "
        f"{sum(v == 'beta' for v in by_instance.values())} on beta; "
        f"killed instance's task failed after {noticed_seconds:.1f} s"
    )
