"""Checkpoint grouping in a real Forge: a queue alternating between two checkpoints loads each
checkpoint once, runs in the order it showed, and every image is still the one sdapi gives."""

from __future__ import annotations

import json
import re

from .conftest import on_checkpoint
from .test_fidelity_api import decoded, fetched, sdapi

CHECKPOINTS = ("randA.safetensors", "randB.safetensors")
TASKS = 6  # A, B, A, B, A, B
LOAD_LINE = re.compile(r"^Loading Model: .*?(rand[AB])\.safetensors", re.MULTILINE)


def body(index: int) -> dict:
    return {
        "prompt": f"grouped by checkpoint {index}, a small red house",
        "steps": 1,
        "sampler_name": "Euler",
        "scheduler": "Automatic",
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "seed": 1100 + index,
    }


def test_alternating_checkpoints_load_once_each_and_images_equal_sdapi(forge_factory):
    # A fresh Forge has loaded no model yet (it loads lazily at the first generation), so
    # both checkpoints must be loaded during the run: grouped, each exactly once.
    forge = forge_factory(
        {
            **on_checkpoint("randA"),
            "task_scheduler_start_on_launch": False,
            "task_scheduler_group_by_checkpoint": True,
        },
        [],
    ).start()
    ids = []
    for index in range(TASKS):
        queued = {**body(index), "checkpoint": CHECKPOINTS[index % 2]}
        reply = forge.api("POST", "/task-scheduler/queue/txt2img", json=queued)
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    shown = forge.api("GET", "/task-scheduler/queue", params={"limit": 100}).json()
    shown_ids = [t["id"] for t in shown["pending"]["tasks"]]
    assert sorted(shown_ids) == sorted(ids)
    log_offset = forge.log_path.stat().st_size

    assert forge.api("POST", "/task-scheduler/start").status_code == 200
    for task_id in ids:
        forge.wait_finished(task_id)
    assert forge.api("POST", "/task-scheduler/stop").status_code == 200

    with open(forge.log_path, errors="replace") as log:
        log.seek(log_offset)
        loads = LOAD_LINE.findall(log.read())
    tasks = {i: forge.api("GET", f"/task-scheduler/tasks/{i}").json() for i in ids}
    assert [t["status"] for t in tasks.values()] == ["completed"] * TASKS, [
        t["error"] for t in tasks.values()
    ]
    run_order = sorted(ids, key=lambda i: tasks[i]["started_at"])
    assert run_order == shown_ids  # the order shown beforehand is the order run
    run_checkpoints = "".join(tasks[i]["checkpoint"][4] for i in run_order)
    assert run_checkpoints == "AAABBB"
    assert loads == ["randA", "randB"]

    # The same parameters through sdapi, on the same checkpoint (B is loaded now: B first, so
    # the references cost two more loads, not six).
    for index in sorted(range(TASKS), key=lambda n: (n + 1) % 2):
        task = tasks[ids[index]]
        reference = {
            **body(index),
            "override_settings": {"sd_model_checkpoint": CHECKPOINTS[index % 2]},
        }
        direct = sdapi(forge, reference)
        info = json.loads(direct["info"])
        assert f"Model: {CHECKPOINTS[index % 2].split('.')[0]}," in task["infotext"]
        assert task["infotext"] == info["infotexts"][0]
        assert task["seeds"] == info["all_seeds"]
        assert [data for _size, data in fetched(forge, task)] == decoded(direct["images"])
