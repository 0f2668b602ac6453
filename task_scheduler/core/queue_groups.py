"""Groups of tasks: the same settings queued together, e.g. once per checkpoint.

Mixed into QueueManager. A group is the tasks sharing a `group_id` (indexed: tasks_group). Its
verbs act on the whole group in one transaction, so the worker never takes a task of a group
half-cancelled or half-deleted; a task retried alone stays in its group.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .models import Task, TaskStatus

if TYPE_CHECKING:
    from ..store.contract import Connection, Store

MAX_GROUP_ID = 100  # characters; ours are 32 hex digits


class GroupNotFoundError(LookupError):
    """No task carries this group id."""

    def __init__(self, group_id: str):
        super().__init__(f"group {group_id} not found")
        self.group_id = group_id


class GroupStateError(Exception):
    """The statuses of the group's tasks forbid the action; `reason` says why."""

    def __init__(self, group_id: str, reason: str):
        super().__init__(f"group {group_id} {reason}")
        self.group_id = group_id
        self.reason = reason


def new_group_id() -> str:
    return uuid.uuid4().hex


class GroupVerbs:
    """Group verbs; need `store`, `add_tasks`, `_retry`, `_notify`, `_remove_unused_files`,
    `check_free_space` (QueueManager)."""

    store: Store

    def add_tasks(
        self, specs: Iterable[dict[str, Any]], file_contents: Mapping[str, bytes] | None = None
    ) -> list[Task]:
        raise NotImplementedError

    def _retry(self, conn: Connection, task_id: str) -> Task:
        raise NotImplementedError

    def _notify(self, event: str, task_id: str) -> None:
        raise NotImplementedError

    def _remove_unused_files(self, names: list[str]) -> None:
        raise NotImplementedError

    def check_free_space(self, file_contents: Mapping[str, bytes] | None = None) -> None:
        raise NotImplementedError

    # -- adding and reading ------------------------------------------------------------------

    def add_group(
        self,
        task_type: str,
        params: dict[str, Any],
        checkpoints: list[str],
        file_contents: Mapping[str, bytes] | None = None,
        **fields: Any,
    ) -> list[Task]:
        """Queue the same task once per checkpoint, as one new group: all or none."""
        if not checkpoints:
            raise ValueError("checkpoints: give at least one checkpoint")
        group_id = new_group_id()
        specs = [
            {
                **fields,
                "task_type": task_type,
                "params": params,
                "checkpoint": checkpoint,
                "group_id": group_id,
            }
            for checkpoint in checkpoints
        ]
        return self.add_tasks(specs, file_contents)

    def group_tasks(self, group_id: str, conn: Connection | None = None) -> list[Task]:
        """The group's tasks, oldest first (GroupNotFoundError when there are none)."""
        tasks = self._group(conn, group_id)
        if not tasks:
            raise GroupNotFoundError(group_id)
        return tasks

    def group_sizes(self, group_ids: Iterable[str]) -> dict[str, int]:
        """How many tasks each of these groups has (for list rows: one query per page)."""
        ids = sorted({g for g in group_ids if g})
        if not ids:
            return {}
        return self.store.group_sizes(ids)

    # -- acting on a whole group ---------------------------------------------------------------

    def cancel_group(self, group_id: str) -> list[Task]:
        """Cancel the group's pending tasks and interrupt its running one, at once.

        GroupStateError when none is pending or running. Returns the group afterwards.
        """
        events: list[tuple[str, str]] = []
        with self.store.transaction() as conn:
            tasks = self.group_tasks(group_id, conn)
            now = time.time()
            for task in tasks:
                if task.status == TaskStatus.PENDING:
                    self.store.update(conn, task.id, {"status": "cancelled", "completed_at": now})
                    events.append(("finished", task.id))
                elif task.status == TaskStatus.RUNNING and not task.cancel_requested:
                    self.store.update(conn, task.id, {"cancel_requested": True})
                    events.append(("cancel_requested", task.id))
            if not events and not any(t.status == TaskStatus.RUNNING for t in tasks):
                raise GroupStateError(group_id, "has no pending or running task to cancel")
            tasks = self._group(conn, group_id)
        for event, task_id in events:
            self._notify(event, task_id)
        return tasks

    def retry_group(self, group_id: str) -> list[Task]:
        """Queue again each of the group's failed or cancelled tasks that was not retried yet;
        the new tasks join the group. GroupStateError when there is none. Returns the new
        tasks."""
        self.check_free_space()
        with self.store.transaction() as conn:
            tasks = self.group_tasks(group_id, conn)
            retried = {task.retried_from for task in tasks if task.retried_from}
            todo = [
                task.id
                for task in tasks
                if task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)
                and task.id not in retried
            ]
            if not todo:
                raise GroupStateError(group_id, "has no failed or cancelled task left to retry")
            new = [self._retry(conn, task_id) for task_id in todo]
        for task in new:
            self._notify("added", task.id)
        return new

    def delete_group(self, group_id: str) -> int:
        """Delete every task of the group, with the input files only they used; refused
        (GroupStateError, nothing deleted) while one of them runs. Returns how many."""
        with self.store.transaction() as conn:
            tasks = self.group_tasks(group_id, conn)
            running = [task.id for task in tasks if task.status == TaskStatus.RUNNING]
            if running:
                raise GroupStateError(
                    group_id, f"has a running task ({running[0]}); cancel the group first"
                )
            orphans = self.store.delete(conn, [task.id for task in tasks])
        self._remove_unused_files(orphans)
        self._notify("deleted", "*")
        return len(tasks)

    def _group(self, conn: Connection | None, group_id: str) -> list[Task]:
        """The group's tasks (inside a write transaction: locked for the change)."""
        if not isinstance(group_id, str) or not group_id or len(group_id) > MAX_GROUP_ID:
            return []
        ids = self.store.group_ids(group_id, conn)
        return [task for task in (self.store.get(task_id, conn) for task_id in ids) if task]
