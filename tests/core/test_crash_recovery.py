"""A worker process killed mid-task loses nothing and never re-runs the interrupted task."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from task_scheduler.core.models import SHUTDOWN_ERROR, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params

ROOT = Path(__file__).resolve().parents[2]


def _started(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _wait_for_new_start(log: Path, seen: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(_started(log)) <= seen:
        assert process.poll() is None, "the worker process died on its own"
        assert time.monotonic() < deadline, "the worker never started a task"
        time.sleep(0.01)


@pytest.mark.backends
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_mid_task_20_times_accounts_for_every_task(db_path, tmp_path):
    log = tmp_path / "started.log"
    queue = QueueManager(db_path)
    originals = [queue.add_task("txt2img", api_params(f"t{i}", steps=5)).id for i in range(60)]
    rng = random.Random(20)
    interrupted = 0
    for _ in range(20):
        seen = len(_started(log))
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.core.crash_worker", str(db_path), str(log)], cwd=ROOT
        )
        _wait_for_new_start(log, seen, worker)
        time.sleep(rng.uniform(0, 0.2))
        worker.send_signal(signal.SIGKILL)
        worker.wait()

        after = QueueManager(db_path)  # a new process would do exactly this at start-up
        started = _started(log)
        tasks = {t.id: t for t in after.list_tasks(limit=1000).tasks}
        assert sorted(tasks) == sorted(originals)  # nothing lost, nothing added
        assert len(started) == len(set(started))  # no task ever started twice
        finished = {i for i, t in tasks.items() if t.status is not TaskStatus.PENDING}
        assert finished == set(started)
        assert all(
            t.status is TaskStatus.COMPLETED
            or (t.status is TaskStatus.FAILED and t.error == SHUTDOWN_ERROR)
            for t in tasks.values()
            if t.id in finished
        )
        pending = [t.id for t in after.get_pending_tasks()]
        assert pending == [i for i in originals if i not in finished]  # order kept
        if tasks[started[-1]].status is TaskStatus.FAILED:
            interrupted += 1
        after.close()
    assert interrupted >= 10  # most kills landed mid-task, and each of those was accounted for
