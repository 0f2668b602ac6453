"""Speed and memory of the core queue. Prints numbers; asserts nothing.

Run: python bench/bench_core.py   (from the repository root, with the test environment)

Targets (issue "crash-safe core"): enqueue p50 < 2 ms with 10,000 tasks stored; first page of 50
with 100,000 tasks stored < 10 ms; worker throughput > 300 tasks/s with an instant host; memory
growth over 5,000 tasks < 10 MB.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.host import RunResult
from task_scheduler.core.queue_manager import QueueManager

PARAMS = {
    "source": "ui",
    "inputs": {
        "prompt": "a photograph of an astronaut riding a horse, highly detailed, 8k",
        "negative_prompt": "blurry, lowres",
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "batch_size": 1,
        "n_iter": 1,
    },
}
SCRIPT_ARGS = {"selected": None, "scripts": {"Sampler": [20, "Euler a", "Automatic"]}}


class InstantHost:
    def run(self, task, on_progress):
        return RunResult(images=[f"outputs/{task.id}.png"], info="Steps: 20", seeds=[1])

    def interrupt(self):
        pass


def fill(queue: QueueManager, count: int, finished_share: float = 0.0) -> None:
    """Insert `count` tasks directly in one transaction (fast set-up, same rows as add_task)."""
    specs = [{"task_type": "txt2img", "params": PARAMS, "script_args": SCRIPT_ARGS}] * count
    for start in range(0, count, 5000):
        queue.add_tasks(specs[start : start + 5000])
    if finished_share:
        with queue.store.transaction() as conn:
            conn.execute(
                "UPDATE tasks SET status = 'completed', completed_at = created_at "
                "WHERE rowid % ? = 0",
                (round(1 / finished_share),),
            )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_enqueue(directory: str) -> None:
    queue = QueueManager(os.path.join(directory, "enqueue.sqlite3"))
    fill(queue, 10_000)
    times = []
    for _ in range(1000):
        start = time.perf_counter()
        queue.add_task("txt2img", PARAMS, script_args=SCRIPT_ARGS)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"enqueue with 10,000 stored: p50 {statistics.median(times):.3f} ms, "
        f"p99 {percentile(times, 0.99):.3f} ms (target p50 < 2 ms)"
    )


def bench_listing(directory: str) -> None:
    queue = QueueManager(os.path.join(directory, "listing.sqlite3"))
    fill(queue, 100_000, finished_share=0.5)
    for label, statuses in (
        ("all", None),
        ("pending", ["pending"]),
        ("history", ["completed", "failed", "cancelled"]),
    ):
        times = []
        for _ in range(50):
            start = time.perf_counter()
            page = queue.list_tasks(statuses=statuses, limit=50)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"first page of 50 ({label}) with 100,000 stored: p50 {statistics.median(times):.2f}"
            f" ms, p99 {percentile(times, 0.99):.2f} ms, total {page.total} (target < 10 ms)"
        )
    start = time.perf_counter()
    counts = queue.counts()
    print(f"counts per status with 100,000 stored: {(time.perf_counter() - start) * 1000:.2f} ms")
    assert sum(counts.values()) >= 100_000


def run_tasks(queue: QueueManager, count: int) -> float:
    fill(queue, count)
    done = threading.Event()
    seen = [0]

    def on_event(event: str, _task_id: str) -> None:
        if event == "finished":
            seen[0] += 1
            if seen[0] == count:
                done.set()

    queue.subscribe(on_event)
    executor = TaskExecutor(queue, InstantHost())
    start = time.perf_counter()
    executor.start()
    done.wait(600)
    elapsed = time.perf_counter() - start
    executor.stop()
    executor.shutdown()
    queue.unsubscribe(on_event)
    return elapsed


def bench_throughput(directory: str) -> None:
    queue = QueueManager(os.path.join(directory, "throughput.sqlite3"))
    count = 3000
    elapsed = run_tasks(queue, count)
    print(
        f"worker throughput, instant host, claim to recorded result: "
        f"{count / elapsed:.0f} tasks/s (target > 300)"
    )


def bench_memory(directory: str) -> None:
    queue = QueueManager(os.path.join(directory, "memory.sqlite3"))
    run_tasks(queue, 500)  # warm-up: caches, statement cache, thread start
    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    run_tasks(queue, 5000)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"memory growth over 5,000 tasks: {(after - before) / 1e6:.3f} MB Python heap "
        f"(tracemalloc), {rss_mb() - rss_before:.1f} MB resident (target < 10 MB)"
    )


def rss_mb() -> float:
    """Resident set size from /proc (Linux); 0 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        bench_enqueue(directory)
        bench_listing(directory)
        bench_throughput(directory)
        bench_memory(directory)


if __name__ == "__main__":
    main()
