"""The two store back-ends side by side: claim-to-recorded throughput with 1, 2 and 4 worker
processes on SQLite and on PostgreSQL, and enqueue latency on PostgreSQL with 10,000 tasks
stored. Prints numbers; asserts nothing.

Run: python bench/bench_store.py [--server postgresql://root@127.0.0.1:5432/test] [--tasks 2000]
(from the repository root, with the test environment). Each PostgreSQL measurement gets a
fresh schema on that server, dropped afterwards.

A worker process here is the queue's own loop without a host: claim the next task, record it
completed with a result (two transactions, as the worker makes), until none is left. All the
processes start together behind a barrier; the time is from the barrier to the last record.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from task_scheduler.core.queue_manager import QueueManager

PARAMS = {
    "source": "api",
    "payload": {"prompt": "a lighthouse at dusk, volumetric light", "steps": 20, "seed": 1},
}


def _work(location: str, barrier, results) -> None:
    queue = QueueManager(location, recover=False)
    barrier.wait()
    done = 0
    while (task := queue.claim_next()) is not None:
        queue.update_task_status(
            task.id, "completed", result_images=[f"{task.id}.png"], result_info="", result_seeds=[1]
        )
        done += 1
    results.put((done, time.perf_counter()))
    queue.close()


def throughput(location: str, processes: int, tasks: int) -> float:
    queue = QueueManager(location)
    specs = [{"task_type": "txt2img", "params": PARAMS}] * tasks
    for start in range(0, tasks, 5000):
        queue.add_tasks(specs[start : start + 5000])
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    workers = [
        context.Process(target=_work, args=(location, barrier, results)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    began = time.perf_counter()
    finished = [results.get(timeout=900) for _ in workers]
    for worker in workers:
        worker.join()
    assert sum(done for done, _ in finished) == tasks, finished
    assert queue.counts()["completed"] == tasks
    queue.close()
    return tasks / (max(end for _, end in finished) - began)


def enqueue_p50(location: str) -> tuple[float, float]:
    queue = QueueManager(location)
    specs = [{"task_type": "txt2img", "params": PARAMS}] * 10_000
    for start in range(0, len(specs), 5000):
        queue.add_tasks(specs[start : start + 5000])
    times = []
    for _ in range(1000):
        start = time.perf_counter()
        queue.add_task("txt2img", PARAMS)
        times.append((time.perf_counter() - start) * 1000)
    queue.close()
    return statistics.median(times), sorted(times)[int(0.99 * len(times))]


@contextmanager
def fresh_schema(server: str):
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        joiner = "&" if "?" in server else "?"
        try:
            yield f"{server}{joiner}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def fresh_file():
    with tempfile.TemporaryDirectory() as folder:
        yield os.path.join(folder, "tasks.sqlite3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    for name, fresh in (("SQLite", fresh_file), ("PostgreSQL", lambda: fresh_schema(args.server))):
        for processes in (1, 2, 4):
            with fresh() as location:
                rate = throughput(location, processes, args.tasks)
            print(
                f"{name}: {processes} worker process(es), {args.tasks} tasks, claim to recorded: "
                f"{rate:.0f} tasks/s"
            )
    with fresh_schema(args.server) as location:
        p50, p99 = enqueue_p50(location)
    print(f"PostgreSQL: enqueue with 10,000 stored: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
