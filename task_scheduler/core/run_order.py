"""Where tasks sit in the run order: priority first, then a position within the priority.

Positions are floats, so a move writes one row: the moved task gets a position between its new
neighbours. When repeated moves into one gap exhaust float precision, that priority's pending
tasks are respaced (their order unchanged). All functions run inside the caller's transaction.
"""

from __future__ import annotations

from ..store.contract import Connection, Store
from .models import Task, TaskNotFoundError, TaskStateError, TaskStatus


def _pending_anchor(store: Store, conn: Connection, task_id: str) -> Task:
    task = store.get(task_id, conn)
    if task is None:
        raise TaskNotFoundError(task_id)
    if task.status != TaskStatus.PENDING:
        raise TaskStateError(task_id, task.status.value, "used as a move target")
    return task


def place_new(store: Store, conn: Connection, task: Task, front: bool) -> None:
    """Give a new task its place: last in its priority, or first in the queue with `front`."""
    head = store.neighbour(conn, None, before=False) if front else None
    if head is not None:
        task.priority, task.position = head[1], head[2] - 1
        task.placed_by_hand = True  # queued first: runs next, whatever affinity prefers
    else:
        task.position = store.max_position(conn) + 1


def target_place(
    store: Store, conn: Connection, task: Task, to: str | None, before: str | None
) -> tuple[int, float] | None:
    """(priority, position) where the move puts the task; None when it stays."""
    if before is not None:
        if before == task.id:
            return None
        anchor = _pending_anchor(store, conn, before)
        return _slot(store, conn, task.id, (anchor.id, anchor.priority, anchor.position), True)
    if to == "top":
        head = store.neighbour(conn, None, before=False, exclude=task.id)
        return None if head is None else (head[1], head[2] - 1)
    if to == "bottom":
        tail = store.neighbour(conn, None, before=True, exclude=task.id)
        return None if tail is None else (tail[1], tail[2] + 1)
    me = (task.id, task.priority, task.position)
    other = store.neighbour(conn, me, before=(to == "up"), exclude=task.id)
    if other is None:
        return None
    return _slot(store, conn, task.id, other, to == "up")


def _slot(
    store: Store,
    conn: Connection,
    task_id: str,
    anchor: tuple[str, int, float],
    before: bool,
) -> tuple[int, float]:
    """A position right before (or after) `anchor` within the anchor's priority."""
    _, priority, position = anchor
    other = store.neighbour(conn, anchor, before=before, exclude=task_id)
    if other is None or other[1] != priority:
        return priority, position - 1 if before else position + 1
    middle = (position + other[2]) / 2
    if middle in (position, other[2]):  # float precision exhausted: respace and retry
        store.respace(conn, priority)
        fresh = store.get(anchor[0], conn)
        return _slot(store, conn, task_id, (fresh.id, fresh.priority, fresh.position), before)
    return priority, middle
