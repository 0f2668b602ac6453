"""The queue's verb for tasks brought over from another queue extension (see peers/importer.py).

Mixed into QueueManager. Each imported task is remembered by a *source key* (the other
extension's kind and its task id) in the `meta` table, in the same transaction as the task, so
importing the same source again adds nothing twice and no schema change was needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .files import check_file_name
from .models import TASK_TYPES, Task, TaskStatus
from .run_order import place_new

if TYPE_CHECKING:
    from ..store.contract import Store

IMPORTED_PREFIX = "imported:"  # meta key: "imported:<source key>" -> our task id


class ImportVerbs:
    """Adding tasks that already have a status and history (imports from other queues)."""

    store: Store

    def _notify(self, event: str, task_id: str) -> None:  # provided by QueueManager
        raise NotImplementedError

    def check_free_space(self, file_contents: Mapping[str, bytes] | None = None) -> None:
        raise NotImplementedError  # provided by QueueManager

    def imported_keys(self, prefix: str) -> dict[str, str]:
        """Source keys starting with `prefix` imported so far -> the task id they became."""
        rows = self.store.meta_with_prefix(IMPORTED_PREFIX + prefix)
        return {key[len(IMPORTED_PREFIX) :]: value for key, value in rows.items()}

    def file_in_use(self, name: str) -> bool:
        """Whether any task lists this input file."""
        return self.store.file_in_use(name)

    def add_imported(
        self,
        entries: Sequence[tuple[str, Task]],
        file_contents: Mapping[str, bytes] | None = None,
    ) -> list[Task]:
        """Insert `(source key, task)` pairs in one transaction: all of them, or none.

        Each task's input files are checked inside that transaction, as an enqueue does: one
        removed meanwhile (a delete of another task sharing it) is written again from
        `file_contents`; one missing without its bytes refuses the whole import.

        A key recorded by an earlier import is skipped (its task is not added again); the
        tasks actually added are returned. Pending tasks go last in their priority, in the
        given order; finished tasks keep their status, times and results.
        """
        for key, task in entries:
            if not key or task.task_type not in TASK_TYPES or task.status == TaskStatus.RUNNING:
                raise ValueError(f"{key}: not an importable task")
            if isinstance(task.priority, bool) or not isinstance(task.priority, int):
                raise ValueError(f"{key}: priority must be an integer")
            for name in task.files:
                check_file_name(name)
        added: list[Task] = []
        self.check_free_space(file_contents)
        with self.store.transaction() as conn:
            for key, task in entries:
                meta_key = IMPORTED_PREFIX + key
                if self.store.get_meta(meta_key, conn=conn) is not None:
                    continue
                self._require_files(task.files, file_contents)
                place_new(self.store, conn, task, front=False)
                self.store.insert(conn, task)
                self.store.set_meta(meta_key, task.id, conn)
                added.append(task)
        for task in added:
            self._notify("added", task.id)
        return added
