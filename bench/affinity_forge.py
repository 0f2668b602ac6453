"""Checkpoint grouping in a real Forge: model loads and total time for 12 tasks alternating
between two checkpoints, with "Group tasks by checkpoint" off and then on.

Run from the repository root (it starts a Forge: on a shared machine, inside the slot wrapper):

    /work/notes/with_forge_slot.sh env FORGE_DIR=/work/forge .venv/bin/python \\
        bench/affinity_forge.py [--tasks 12] [--steps 2]

One Forge (tests/forge_env/launch_forge.sh, checkpoints randA and randB, its own settings, data
and output folders). For each mode: set the option through /sdapi/v1/options, queue the tasks
A, B, A, B ... through the REST API with the worker stopped, read the order GET /queue shows,
start, wait until all are done, and count the model loads Forge itself logged ("Loading Model:"
lines of sd_models.forge_model_reload) while they ran. Reports loads, the time from the first
start to the last end, whether the order run is the order shown, and that every task completed
with one image. Exits 1 when a task fails or the run order differs from the shown one.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.forge_process import (  # noqa: E402
    DEFAULT_FORGE_DIR,
    ForgeProcess,
    install_extension,
    wait_until,
)

CHECKPOINTS = ("randA.safetensors", "randB.safetensors")
LOAD_LINE = "Loading Model:"


def body(index: int, steps: int) -> dict:
    return {
        "prompt": f"affinity bench {index}, a small red house",
        "steps": steps,
        "sampler_name": "Euler",
        "scheduler": "Automatic",
        "cfg_scale": 7,
        "width": 64,
        "height": 64,
        "seed": 500 + index,
        "checkpoint": CHECKPOINTS[index % 2],
        "name": f"affinity-{index:02d}",
    }


def rows(forge: ForgeProcess, ids: list[str]) -> list[tuple]:
    marks = ", ".join("?" for _ in ids)
    with closing(sqlite3.connect(f"file:{forge.db_path}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        return db.execute(
            "SELECT id, status, started_at, completed_at, result_images, error, checkpoint "
            f"FROM tasks WHERE id IN ({marks})",
            ids,
        ).fetchall()


def run_mode(forge: ForgeProcess, grouped: bool, tasks: int, steps: int) -> dict:
    reply = forge.api(
        "POST", "/sdapi/v1/options", json={"task_scheduler_group_by_checkpoint": grouped}
    )
    reply.raise_for_status()
    ids = []
    for index in range(tasks):
        reply = forge.api("POST", "/task-scheduler/queue/txt2img", json=body(index, steps))
        if reply.status_code != 201:
            raise RuntimeError(f"enqueue {index}: {reply.status_code} {reply.text}")
        ids.append(reply.json()["id"])
    shown = forge.api("GET", "/task-scheduler/queue", params={"limit": 500}).json()
    shown_ids = [t["id"] for t in shown["pending"]["tasks"] if t["id"] in ids]
    log_offset = forge.log_path.stat().st_size
    forge.api("POST", "/task-scheduler/start").raise_for_status()

    def all_done() -> bool:
        return all(r[1] in ("completed", "failed", "cancelled") for r in rows(forge, ids))

    wait_until(all_done, 120 * tasks + 600, "the bench tasks to finish", 1.0)
    forge.api("POST", "/task-scheduler/stop").raise_for_status()
    with open(forge.log_path, errors="replace") as log:
        log.seek(log_offset)
        loads = log.read().count(LOAD_LINE)
    done = rows(forge, ids)
    bad = [r for r in done if r[1] != "completed" or len(json.loads(r[4])) != 1]
    by_start = [r[0] for r in sorted(done, key=lambda r: r[2])]
    order = [CHECKPOINTS.index(r[6].split(" [")[0]) for r in sorted(done, key=lambda r: r[2])]
    return {
        "grouped": grouped,
        "loads": loads,
        "seconds": max(r[3] for r in done) - min(r[2] for r in done),
        "order": "".join("AB"[i] for i in order),
        "run_as_shown": by_start == shown_ids,
        "failed": [(r[0], r[1], r[5]) for r in bad],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2)
    options = parser.parse_args()
    forge_root = Path(os.environ.get("FORGE_DIR") or DEFAULT_FORGE_DIR).resolve()
    os.environ["FORGE_DIR"] = str(forge_root)
    install_extension(forge_root)
    root = Path(tempfile.mkdtemp(prefix="affinity-forge-"))
    forge = ForgeProcess(forge_root, root, {"sd_model_checkpoint": CHECKPOINTS[0]}, [])
    results = []
    try:
        forge.start()
        print(f"Forge up (log {forge.log_path})", flush=True)
        # A first generation loads the start-up checkpoint, so both modes start from randA.
        warm = forge.api(
            "POST", "/task-scheduler/queue/txt2img", json={**body(0, 1), "name": "warm"}
        )
        forge.api("POST", "/task-scheduler/start").raise_for_status()
        forge.wait_finished(warm.json()["id"])
        forge.api("POST", "/task-scheduler/stop").raise_for_status()
        for grouped in (False, True):
            if grouped:  # start from randA again, as the other mode did
                warm = forge.api(
                    "POST", "/task-scheduler/queue/txt2img", json={**body(0, 1), "name": "warm"}
                )
                forge.api("POST", "/task-scheduler/start").raise_for_status()
                forge.wait_finished(warm.json()["id"])
                forge.api("POST", "/task-scheduler/stop").raise_for_status()
            result = run_mode(forge, grouped, options.tasks, options.steps)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        forge.stop()
    print(f"\n{options.tasks} tasks alternating randA / randB, {options.steps} steps, 64x64, CPU:")
    for r in results:
        mode = "on " if r["grouped"] else "off"
        print(
            f"  grouping {mode}: {r['loads']:2d} model loads, {r['seconds']:6.1f} s, "
            f"order {r['order']}, run as shown: {r['run_as_shown']}"
        )
    failed = [r for r in results if r["failed"] or not r["run_as_shown"]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
