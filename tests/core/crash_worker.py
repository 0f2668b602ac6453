"""A worker process for the crash test: runs the queue with a slow fake host until killed.

Usage: python -m tests.core.crash_worker LOCATION STARTED_LOG  (a SQLite path or a PostgreSQL URL)
Each task's id is appended to STARTED_LOG (flushed to disk) the moment the host starts it.
"""

from __future__ import annotations

import os
import sys
import threading

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import FakeHost


def main(db_path: str, started_log: str) -> None:
    log = open(started_log, "a", encoding="utf-8")  # noqa: SIM115 - lives until we are killed

    def record_start(task) -> None:
        log.write(task.id + "\n")
        log.flush()
        os.fsync(log.fileno())

    queue = QueueManager(db_path)
    executor = TaskExecutor(queue, FakeHost(step_seconds=0.05, on_start=record_start))
    executor.start()
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
