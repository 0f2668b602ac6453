"""Deleting tasks, and the input files only they used, race-free with an enqueue.

Mixed into QueueManager. An input file is content-addressed, so a new task may reuse the file
of a task being deleted. Both sides decide under the store's write lock (one process or many):
the enqueue checks (and if need be writes again) its files inside its transaction, and a
delete removes a file only in a transaction of its own that finds no task listing it. Files
that no task ever listed (an insert that failed) are collected at start-up after a grace period.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .models import TERMINAL_STATUSES, Task, TaskStateError, TaskStatus

FINISHED = ("completed", "failed", "cancelled")

log = logging.getLogger("task_scheduler")

# Long enough that no enqueue is still between writing its files and storing its task.
UNUSED_FILE_GRACE_SECONDS = 3600.0

if TYPE_CHECKING:
    from ..store.contract import Connection, Store
    from .files import FileStore


class RemovalVerbs:
    """Deleting tasks; needs `store`, `files`, `_locked` and `_notify` (QueueManager)."""

    store: Store
    files: FileStore | None

    def _locked(self, conn: Connection, task_id: str) -> Task:
        raise NotImplementedError

    def _notify(self, event: str, task_id: str) -> None:
        raise NotImplementedError

    def delete_task(self, task_id: str) -> None:
        """Delete a task that is not running, with the input files only it used."""
        with self.store.transaction() as conn:
            task = self._locked(conn, task_id)
            if task.status == TaskStatus.RUNNING:
                raise TaskStateError(task_id, task.status.value, "deleted")
            orphans = self.store.delete(conn, [task_id])
        self._remove_unused_files(orphans)
        self._notify("deleted", task_id)

    def clear_completed(self, statuses: Iterable[str] = ("completed",)) -> int:
        """Delete finished tasks of the given statuses (bookmarked ones stay); return how many."""
        wanted = [TaskStatus(s) for s in statuses]
        if not wanted or any(s not in TERMINAL_STATUSES for s in wanted):
            raise ValueError("statuses: only completed, failed or cancelled tasks can be cleared")
        return self._delete_finished([s.value for s in wanted])

    def prune_history(self, older_than_seconds: float) -> int:
        """Delete finished tasks older than the limit, except bookmarked or named ones."""
        cutoff = time.time() - older_than_seconds
        return self._delete_finished(FINISHED, completed_before=cutoff, unnamed_only=True)

    def _delete_finished(self, statuses: Iterable[str], **which: Any) -> int:
        """Delete unbookmarked finished tasks (store.finished_ids chooses them)."""
        with self.store.transaction() as conn:
            ids = self.store.finished_ids(conn, list(statuses), **which)
            orphans = self.store.delete(conn, ids)
        self._remove_unused_files(orphans)
        if ids:
            self._notify("deleted", ids[0] if len(ids) == 1 else "*")
        return len(ids)

    def collect_unused_files(self, grace_seconds: float = UNUSED_FILE_GRACE_SECONDS) -> list[str]:
        """Remove input files no task lists and nobody wrote or reused for `grace_seconds`.

        Run at start-up: an enqueue whose insert failed, or a crash between writing a file and
        storing its task, leaves such files behind. An enqueue in flight (in this process or
        another) wrote or reused its files moments ago, so the grace period spares them; the
        check that no task lists a file, and its time, are made again under the write lock,
        so a task stored meanwhile keeps its file. Returns the removed names.
        """
        if self.files is None:
            return []
        cutoff = time.time() - grace_seconds
        if self.files.shared is not None:
            self.files.shared.forget_unused(cutoff)
        candidates = self.files.stale_names(cutoff)
        if not candidates:
            return []
        with self.store.transaction() as conn:
            removed = self.files.remove_stale(self.store.unreferenced(conn, candidates), cutoff)
        if removed:
            log.info("removed %d input files no task uses", len(removed))
        return removed

    def discard_unused_files(self, names: Iterable[str]) -> None:
        """After a failed enqueue or import: remove those of its input files that no task
        lists, under the write lock as a delete does (an enqueue of the same image in flight
        writes it again). Best effort: when the store cannot be locked (the failure itself
        may be why), the files stay until the start-up collection."""
        try:
            self._remove_unused_files(sorted(set(names)))
        except Exception as error:
            log.warning("input files of a failed enqueue stay until the next start: %s", error)

    def _require_files(self, names: list[str], contents: Mapping[str, bytes] | None) -> None:
        """Inside the enqueue's write transaction: no delete can remove a file meanwhile."""
        if names and self.files is not None:
            self.files.require(names, contents or {})

    def _remove_unused_files(self, names: list[str]) -> None:
        """Remove input files that no task lists, checked again under the write lock: an
        enqueue reusing one has either committed (the file stays) or comes after and writes
        it again. A separate transaction, so a failed delete never loses a file."""
        if names and self.files is not None:
            with self.store.transaction() as conn:
                self.files.remove(self.store.unreferenced(conn, names))
