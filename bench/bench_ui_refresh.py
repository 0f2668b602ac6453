"""Cost of one Task Queue tab refresh with 5,000 tasks in a real SQLite file.

Measures, server side, the tab's poll call (status + one list page, as after a change, and
status only, as on an idle tick), opening one task, and the same poll through Gradio over
HTTP on 127.0.0.1; prints timings (median and worst of N) and payload sizes.

    .venv/bin/python bench/bench_ui_refresh.py [--tasks 5000] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from task_scheduler.ui import commands
from tests.ui.app import TabApp, ui_params

WORDS = "castle forest neon city portrait cinematic lighting highly detailed misty river".split()


def fill(app: TabApp, total: int) -> None:
    """`total` tasks: 40% pending, the rest finished (completed, failed, cancelled)."""
    rng = random.Random(5)
    specs = []
    for n in range(total):
        prompt = f"task {n} " + " ".join(rng.choice(WORDS) for _ in range(30))
        params, script_args = ui_params(prompt, negative="lowres, bad anatomy", steps=20)
        script_args["scripts"]["ControlNet"] = [{"enabled": False, "module": "none"}] * 3
        specs.append({"task_type": "txt2img", "params": params, "script_args": script_args})
    tasks = app.queue.add_tasks(specs)
    now = time.time()
    with app.queue.store.transaction() as conn:
        for n, task in enumerate(tasks[: int(total * 0.6)]):
            status = ("completed", "completed", "failed", "cancelled")[n % 4]
            conn.execute(
                "UPDATE tasks SET status = ?, started_at = ?, completed_at = ?, "
                "result_images = ?, error = ? WHERE id = ?",
                (
                    status,
                    now - 3600 + n,
                    now - 3590 + n,
                    json.dumps([f"outputs/txt2img/{task.id}-{i}.png" for i in range(4)]),
                    "RuntimeError: out of memory" if status == "failed" else None,
                    task.id,
                ),
            )


def timed(call, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), result


def report(label: str, median: float, worst: float, size: int | None = None) -> None:
    size_text = f", {size / 1024:.1f} KB" if size is not None else ""
    sys.stdout.write(f"{label:<52} median {median:7.2f} ms, worst {worst:7.2f} ms{size_text}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = TabApp(Path(folder))
        fill(app, args.tasks)
        services = app.services
        counts = app.queue.counts()
        sys.stdout.write(f"{args.tasks} tasks: {counts}\n")
        version = commands.views.queue_version(services)
        cases = [
            ("poll, list changed (All, 50 rows)", {"filter": "all", "limit": 50}, True),
            ("poll, list changed (All, 200 rows)", {"filter": "all", "limit": 200}, True),
            (
                "poll, list changed (History, page 20 of 50)",
                {"filter": "history", "limit": 50, "offset": 950},
                True,
            ),
            (
                "poll, search 'misty' (All, 50 rows)",
                {"filter": "all", "search": "misty", "limit": 50},
                True,
            ),
            ("poll, nothing changed (status only)", {"filter": "all", "limit": 50}, False),
        ]
        for label, view, changed in cases:
            request = json.dumps({"seen": None if changed else version, "view": view})
            median, worst, reply = timed(lambda r=request: commands.poll(services, r), args.runs)
            report(label, median, worst, len(reply.encode()))
        task_id = app.queue.list_tasks(statuses=["completed"], limit=1).tasks[0].id
        open_request = json.dumps({"id": task_id})
        median, worst, (reply, _) = timed(
            lambda: commands.open_task(services, open_request), args.runs
        )
        report("open one finished task (panel data)", median, worst, len(reply.encode()))

        root = Path(__file__).resolve().parents[1]
        assets = [*sorted((root / "javascript").glob("task_scheduler*.js")), root / "style.css"]
        static = sum(path.stat().st_size for path in assets)
        sys.stdout.write(
            f"tab front end (JS + CSS, loaded once with the page): {static / 1024:.1f} KB\n"
        )

        url = app.launch()
        try:
            with httpx.Client() as client:
                body = {"data": [json.dumps({"seen": None, "view": {"limit": 50}})]}
                post = lambda: client.post(url + "run/task_scheduler_poll", json=body)  # noqa: E731
                post()
                median, worst, response = timed(post, args.runs)
                report(
                    "HTTP round trip through Gradio (All, 50 rows)",
                    median,
                    worst,
                    len(response.content),
                )
        finally:
            app.close()


if __name__ == "__main__":
    main()
