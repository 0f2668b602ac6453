"""A process that claims one task and then exits or holds on, for the claim identity tests.

Usage: python -m tests.core.claim_worker DB_PATH exit|hold
Prints the claimed task's id. With `hold` it then runs until its stdin closes.
"""

from __future__ import annotations

import sys

from task_scheduler.core.queue_manager import QueueManager


def main(db_path: str, mode: str) -> None:
    queue = QueueManager(db_path, recover=False)
    task = queue.claim_next()
    print(task.id if task else "", flush=True)
    if mode == "hold":
        sys.stdin.read()
    queue.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
