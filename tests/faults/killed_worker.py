"""A process that stops at a named point of an import or a retention pass, says so on stdout
("AT <point>") and waits there to be killed (SIGKILL by the test): a deterministic kill point,
no sleeps. The hooks live here, in the test's child process, not in the product.

Usage: python -m tests.faults.killed_worker MODE DATA_DIR [DOCUMENT_JSON]
  import-files   the import has written its input files, its transaction has not begun
  import-rows    inside the import's transaction, after 2 tasks are inserted
  prune-rows     inside the retention pass's transaction, after its DELETE
  prune-files    the rows are deleted (committed), one of their files removed, not the rest
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from fastapi.testclient import TestClient

from task_scheduler.core import files
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.store import sqlite as db
from tests.api.conftest import build_api


def stop_here(point: str) -> None:
    print(f"AT {point}", flush=True)
    threading.Event().wait()  # until SIGKILL


def main(mode: str, data_dir: str, document: str | None = None) -> None:
    root = Path(data_dir)
    if mode == "import-files":
        original = QueueManager.add_tasks

        def add_tasks(self, *args, **kwargs):
            stop_here(mode)
            return original(self, *args, **kwargs)

        QueueManager.add_tasks = add_tasks
    elif mode == "import-rows":
        original_insert, inserted = db.TaskStore.insert, []

        def insert(self, conn, task):
            original_insert(self, conn, task)
            inserted.append(task.id)
            if len(inserted) == 2:
                stop_here(mode)

        db.TaskStore.insert = insert
    elif mode == "prune-rows":
        original_delete = db.TaskStore.delete

        def delete(self, conn, task_ids):
            orphans = original_delete(self, conn, task_ids)
            stop_here(mode)
            return orphans

        db.TaskStore.delete = delete
    elif mode == "prune-files":
        original_remove = files.FileStore.remove

        def remove(self, names):
            names = list(names)
            original_remove(self, names[:1])
            stop_here(mode)

        files.FileStore.remove = remove
    if mode.startswith("import"):
        app, _services, _host = build_api(root)
        response = TestClient(app).post("/task-scheduler/import", json=json.loads(document or ""))
        print(f"DONE {response.status_code}", flush=True)
    else:
        queue = QueueManager(root / "tasks.sqlite3", files_dir=root / "inputs")
        print(f"DONE {queue.prune_history(86400.0)}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
