"""The queue's read-only verbs: one task, the run order, counts and paged listings.

A base of QueueManager (queue_manager.py), kept apart so the queue's rules read on one screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from ..store.sqlite import HISTORY, PENDING, TaskStore
from .models import TERMINAL_STATUSES, Task, TaskNotFoundError, TaskPage, TaskStatus

RUN_ORDER = "run order"  # the pending group's order: the claim's rule, not an SQL ORDER BY


class TaskReads:
    """Reading the queue; needs only `self.store`."""

    store: TaskStore
    run_order: Callable[..., list[str]]  # queue_claim.ClaimVerbs

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read of this thread inside sees one state of the file (one read transaction).

        A page's total and its rows, or the counts and the pending list, come from separate
        statements; without this a write between them makes them disagree. Nested use joins
        the outer snapshot. Writers are not blocked (WAL); keep the block short.
        """
        conn = self.store.conn
        if conn.in_transaction:
            yield
            return
        plans = self.snapshot_plans  # the run order, worked out once per snapshot
        conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
        plans.full = None
        plans.active = True
        try:
            yield
        finally:
            plans.active = False
            plans.full = None
            if conn.in_transaction:
                conn.execute("COMMIT")

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
        found: dict[str, Task] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(
                (t.id, t) for t in self.store.select(f"t.id IN ({marks})", chunk, "1", -1, 0)
            )
        return [found[i] for i in ids if i in found]

    def counts(self) -> dict[str, int]:
        return self.store.counts_by_status()

    def list_tasks(
        self,
        statuses: Iterable[str] | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> TaskPage:
        """A page of tasks: running, then pending in run order, then finished newest first.

        Each group is read through its own index, so a first page stays fast however large
        the history grows. The total and the rows are read in one snapshot: they agree.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit/offset: must not be negative")
        wanted = [TaskStatus(s) for s in statuses] if statuses else list(TaskStatus)
        search_sql, search_args = "", []
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%") + "%"
            search_sql = " AND t.search_text LIKE ? ESCAPE '\\'"
            search_args = [pattern.replace("_", "\\_")]
        groups = []
        if TaskStatus.RUNNING in wanted:
            groups.append(("t.status = 'running'", "t.started_at"))
        if TaskStatus.PENDING in wanted:
            groups.append((PENDING, RUN_ORDER))
        finished = [s.value for s in wanted if s in TERMINAL_STATUSES]
        if finished:
            marks = ", ".join(f"'{s}'" for s in finished)
            where = HISTORY if len(finished) == 3 else f"t.status IN ({marks})"
            groups.append((where, "t.completed_at DESC, t.created_at DESC"))
        tasks: list[Task] = []
        total = 0
        with self.snapshot():
            for where, order in groups:
                where += search_sql
                size = self.store.count(where, search_args)
                start = max(0, offset - total)
                room = limit - len(tasks)
                if room > 0 and start < size and order == RUN_ORDER:
                    tasks += self._pending_page(where, search_args, room, start)
                elif room > 0 and start < size:
                    tasks += self.store.select(where, search_args, order, room, start)
                total += size
        return TaskPage(tasks=tasks, total=total, limit=limit, offset=offset)

    def _pending_page(self, where: str, args: list, limit: int, offset: int) -> list[Task]:
        """Pending tasks matching `where`, in run order (a search: over the whole order)."""
        if where == PENDING:
            return self._tasks_in_order(self.run_order(count=offset + limit)[offset:])
        rows = self.store.conn.execute(f"SELECT t.id FROM tasks t {where}", args)
        wanted = {task_id for (task_id,) in rows}
        ids = [i for i in self.run_order() if i in wanted]
        return self._tasks_in_order(ids[offset : offset + limit])

    def recent_run_seconds(self, limit: int = 10) -> list[float]:
        """How long the last `limit` completed tasks ran, newest first (no history count)."""
        rows = self.store.conn.execute(
            "SELECT completed_at - started_at FROM tasks WHERE status = 'completed' "
            "AND started_at IS NOT NULL AND completed_at IS NOT NULL "
            "ORDER BY completed_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [seconds for (seconds,) in rows]
