"""Several instances as real processes on one SQLite file (issue 12): a task queued by another
process is picked up within a second, two workers share the queue running each task exactly
once, and a killed worker's task is failed by the survivor while the rest run there."""

from __future__ import annotations

import multiprocessing
import os
import signal
import statistics
import time

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.models import SHUTDOWN_ERROR, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.store import open_store
from tests.fakes import FakeHost, api_params

CONTEXT = multiprocessing.get_context("spawn")
WAKE_UP_LIMIT_SECONDS = 1.0


def _wait_for(condition, timeout: float = 60.0, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def _add_spaced(db_path: str, count: int, gap: float, added) -> None:
    """Another process queues `count` tasks, `gap` s apart, reporting when each was stored."""
    queue = QueueManager(db_path, recover=False)
    for index in range(count):
        time.sleep(gap)
        task = queue.add_task("txt2img", api_params(f"from afar {index}"))
        added.put((task.id, time.time()))
    queue.close()


def test_a_task_queued_by_another_process_starts_within_a_second(db_path, capsys):
    queue = QueueManager(db_path)
    claims = []
    claim_next = queue.claim_next
    queue.claim_next = lambda: claims.append(time.monotonic()) or claim_next()
    executor = TaskExecutor(queue, FakeHost())
    executor.start()
    try:
        time.sleep(1.0)  # settle: the worker idles with nothing to do
        idle_cpu, idle_claims = time.process_time(), len(claims)
        time.sleep(3.0)
        idle_cpu, idle_claims = time.process_time() - idle_cpu, len(claims) - idle_claims
        added = CONTEXT.Queue()
        count = 8
        adder = CONTEXT.Process(target=_add_spaced, args=(str(db_path), count, 0.6, added))
        adder.start()
        stored = dict(added.get(timeout=60) for _ in range(count))
        adder.join(30)
        done = _wait_for(lambda: queue.counts()["completed"] == count and queue.counts())
        assert done["completed"] == count
        latencies = sorted(queue.get_task(i).started_at - at for i, at in stored.items())
    finally:
        executor.shutdown(timeout=10)
    with capsys.disabled():
        print(
            f"\nwake-up across processes, {count} tasks: median {statistics.median(latencies):.3f}"
            f" s, max {latencies[-1]:.3f} s; idle 3 s: {idle_claims} claim attempts, "
            f"{idle_cpu:.3f} s CPU"
        )
    assert latencies[-1] < WAKE_UP_LIMIT_SECONDS
    assert idle_claims <= 2  # no busy loop: only the heartbeat's own write wakes it
    assert idle_cpu < 0.3


def _work(db_path: str, name: str, step_seconds: float, results) -> None:
    """A worker process: runs the shared queue until it is empty, reports what it ran."""
    queue = QueueManager(db_path)
    queue.instance.name = name
    host = FakeHost(step_seconds=step_seconds)
    executor = TaskExecutor(queue, host)
    executor.start()
    _wait_for(lambda: sum(queue.counts()[s] for s in ("pending", "running")) == 0, 300)
    executor.shutdown(timeout=30)
    results.put((name, host.ran))


def test_two_worker_processes_share_the_queue_and_run_each_task_exactly_once(db_path):
    queue = QueueManager(db_path)
    ids = {queue.add_task("txt2img", api_params(f"shared {i}", steps=3)).id for i in range(40)}
    results = CONTEXT.Queue()
    workers = [
        CONTEXT.Process(target=_work, args=(str(db_path), name, 0.02, results))
        for name in ("gpu0", "gpu1")
    ]
    for worker in workers:
        worker.start()
    ran = dict(results.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(30)
    everything = ran["gpu0"] + ran["gpu1"]
    assert sorted(everything) == sorted(ids)  # each once, none lost
    assert ran["gpu0"]
    assert ran["gpu1"]
    for name, task_ids in ran.items():
        assert {queue.get_task(i).status for i in task_ids} == {TaskStatus.COMPLETED}
        assert {_instance(db_path, i) for i in task_ids} == {name}


def _instance(db_path, task_id: str) -> str:
    store = open_store(db_path)
    try:
        return store.get(task_id).instance
    finally:
        store.close()


def _hold_one(db_path: str, claimed) -> None:
    """A worker process whose task never ends (its generation waits forever)."""
    queue = QueueManager(db_path, recover=False)
    queue.instance.name = "doomed"
    host = FakeHost(on_start=lambda task: claimed.put(task.id) or time.sleep(3600))
    TaskExecutor(queue, host).start()
    time.sleep(3600)


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_killed_instances_task_is_failed_by_the_other_and_the_rest_run_there(db_path):
    queue = QueueManager(db_path)
    queue.instance.name = "survivor"
    ids = [queue.add_task("txt2img", api_params(f"task {i}")).id for i in range(4)]
    claimed = CONTEXT.Queue()
    doomed = CONTEXT.Process(target=_hold_one, args=(str(db_path), claimed))
    doomed.start()
    try:
        victim = claimed.get(timeout=60)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(30)
        executor = TaskExecutor(queue, FakeHost())
        started = time.monotonic()
        executor.start()  # its first heartbeat sweeps: the dead process's task fails at once
        _wait_for(lambda: queue.counts()["completed"] == 3 and queue.counts()["failed"] == 1)
        _wait_for(lambda: sorted(queue.instance.live()) == ["survivor"])  # no lease wait
        elapsed = time.monotonic() - started
        executor.shutdown(timeout=10)
    finally:
        if doomed.is_alive():
            doomed.kill()
    failed = queue.get_task(victim)
    assert failed.status is TaskStatus.FAILED
    assert failed.error == SHUTDOWN_ERROR
    assert _instance(db_path, victim) == "doomed"
    assert {_instance(db_path, i) for i in ids if i != victim} == {"survivor"}
    assert elapsed < 10  # the process check, not the 60 s lease
