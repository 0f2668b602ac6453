"""The queue's read-only verbs: one task, the run order, counts and paged listings.

A base of QueueManager (queue_manager.py), kept apart so the queue's rules read on one screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from ..store.contract import Store
from .models import TERMINAL_STATUSES, Task, TaskNotFoundError, TaskPage, TaskStatus

RUN_ORDER = "run order"  # the pending group's order: the claim's rule, not an SQL ORDER BY


class TaskReads:
    """Reading the queue; needs only `self.store`."""

    store: Store
    run_order: Callable[..., list[str]]  # queue_claim.ClaimVerbs

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read of this thread inside sees one state of the store (store.snapshot).

        A page's total and its rows, or the counts and the pending list, come from separate
        statements; without this a write between them makes them disagree. Nested use joins
        the outer snapshot. Writers are not blocked; keep the block short.
        """
        plans = self.snapshot_plans  # the run order, worked out once per snapshot
        if getattr(plans, "active", False):
            yield
            return
        with self.store.snapshot() as fresh:
            if not fresh:  # inside a write transaction: its own changes may follow
                yield
                return
            plans.full = None
            plans.active = True
            try:
                yield
            finally:
                plans.active = False
                plans.full = None

    @property
    def snapshot_plans(self) -> threading.local:
        """This thread's run order of the current snapshot (queue_claim.run_order fills it)."""
        plans = self.__dict__.get("_snapshot_plans")
        if plans is None:
            plans = self.__dict__.setdefault("_snapshot_plans", threading.local())
        return plans

    def get_task(self, task_id: str) -> Task | None:
        return self.store.get(task_id)

    def require_task(self, task_id: str) -> Task:
        task = self.store.get(task_id)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    def get_pending_tasks(self, limit: int = -1, offset: int = 0) -> list[Task]:
        """Pending tasks in the order they will run (the claim's rule: queue_claim.py)."""
        with self.snapshot():
            count = None if limit < 0 else offset + limit
            return self._tasks_in_order(self.run_order(count=count)[offset:])

    def position(self, task_id: str) -> int | None:
        """1-based place of a pending task in the run order; None when it is not pending."""
        with self.snapshot():
            task = self.store.get(task_id)
            if task is None or task.status != TaskStatus.PENDING:
                return None
            order = self.run_order(until=task_id)
        return order.index(task_id) + 1 if order and order[-1] == task_id else None

    def _tasks_in_order(self, ids: list[str]) -> list[Task]:
        """The tasks with these ids, in this order (those still there)."""
        return self.store.get_many(ids)

    def counts(self) -> dict[str, int]:
        return self.store.counts_by_status()

    def list_tasks(
        self,
        statuses: Iterable[str] | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
        owner: str | None = None,
    ) -> TaskPage:
        """A page of tasks: running, then pending in run order, then finished newest first;
        with `owner`, only the tasks that user queued (the tab's "Mine").

        Each group is read through its own index, so a first page stays fast however large
        the history grows. The total and the rows are read in one snapshot: they agree.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit/offset: must not be negative")
        wanted = [TaskStatus(s) for s in statuses] if statuses else list(TaskStatus)
        groups: list[tuple[list[str], str]] = []
        if TaskStatus.RUNNING in wanted:
            groups.append((["running"], "started"))
        if TaskStatus.PENDING in wanted:
            groups.append((["pending"], RUN_ORDER))
        finished = [s.value for s in wanted if s in TERMINAL_STATUSES]
        if finished:
            groups.append((finished, "finished"))
        tasks: list[Task] = []
        total = 0
        with self.snapshot():
            for group, order in groups:
                size = self.store.count_tasks(group, search, owner)
                start = max(0, offset - total)
                room = limit - len(tasks)
                if room > 0 and start < size and order == RUN_ORDER:
                    tasks += self._pending_page(search, room, start, owner)
                elif room > 0 and start < size:
                    tasks += self.store.select_tasks(group, search, order, room, start, owner)
                total += size
        return TaskPage(tasks=tasks, total=total, limit=limit, offset=offset)

    def _pending_page(
        self, search: str | None, limit: int, offset: int, owner: str | None = None
    ) -> list[Task]:
        """Pending tasks matching `search` (and `owner`), in run order (a search or an owner:
        over the whole order)."""
        if not search and owner is None:
            return self._tasks_in_order(self.run_order(count=offset + limit)[offset:])
        wanted = self.store.matching_ids(["pending"], search, owner)
        ids = [i for i in self.run_order() if i in wanted]
        return self._tasks_in_order(ids[offset : offset + limit])

    def recent_run_seconds(self, limit: int = 10) -> list[float]:
        """How long the last `limit` completed tasks ran, newest first (no history count)."""
        return self.store.recent_run_seconds(limit)
