"""Concurrent claims never take a task twice and never lose one."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

from task_scheduler.core.models import TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params

pytestmark = pytest.mark.backends  # every test here runs on SQLite and on PostgreSQL


def _drain(queue: QueueManager, barrier, claimed: list[str]) -> None:
    barrier.wait()
    while (task := queue.claim_next()) is not None:
        claimed.append(task.id)


def test_concurrent_claims_by_8_threads_take_each_of_500_tasks_exactly_once(db_path):
    queue = QueueManager(db_path)
    ids = {task.id for task in queue.add_tasks(_specs(500))}
    barrier = threading.Barrier(8)
    claimed: list[str] = []
    threads = [threading.Thread(target=_drain, args=(queue, barrier, claimed)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(claimed).most_common(1)[0][1] == 1  # none twice
    assert set(claimed) == ids  # none lost
    assert queue.counts()["running"] == 500


def _claim_in_process(db_path: str, barrier, results) -> None:
    queue = QueueManager(db_path, recover=False)
    claimed: list[str] = []
    _drain(queue, barrier, claimed)
    results.put(claimed)


def test_concurrent_claims_by_4_processes_take_each_of_500_tasks_exactly_once(db_path):
    queue = QueueManager(db_path)
    ids = {task.id for task in queue.add_tasks(_specs(500))}
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_claim_in_process, args=(str(db_path), barrier, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    claimed = [task_id for _ in workers for task_id in results.get(timeout=120)]
    for worker in workers:
        worker.join(60)
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(claimed) == ids
    assert all(t.status is TaskStatus.RUNNING for t in queue.list_tasks(limit=500).tasks)


def _specs(count: int) -> list[dict]:
    return [{"task_type": "txt2img", "params": api_params(str(i))} for i in range(count)]
