"""The queue's verbs that change a pending task in place: edit, new priority, move.

A base of QueueManager (queue_manager.py), which provides the store, `_locked` / `_pending`
(the task read and locked in the transaction), `_notify` and `check_run_after`.
"""

from __future__ import annotations

from typing import Any

from ..store.contract import Connection
from .models import Task, TaskStateError, TaskStatus
from .params import apply_edits
from .run_order import target_place

# What an edit may set on a pending task (the rest is the queue's business).
EDIT_FIELDS = frozenset(
    {"name", "priority", "checkpoint", "params", "script_args", "callback_url", "run_after"}
)
MOVES = ("top", "bottom", "up", "down")


class EditVerbs:
    store: Any
    check_run_after: Any  # ClaimVerbs's (no stub here: it would shadow it in QueueManager)

    def _locked(self, conn: Connection, task_id: str) -> Task:
        raise NotImplementedError

    def _pending(self, conn: Connection, task_id: str, action: str) -> Task:
        raise NotImplementedError

    def _notify(self, event: str, task_id: str) -> None:
        raise NotImplementedError

    def edit_task(
        self, task_id: str, generation: dict[str, Any] | None = None, **fields: Any
    ) -> Task:
        """Change a pending task's settings (name, priority, checkpoint, params, script args).

        `generation` edits common fields (prompt, steps, seed ... see params.EDITABLE_FIELDS)
        on the task as stored at that moment, so two concurrent edits never undo each other.
        """
        unknown = set(fields) - EDIT_FIELDS
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not an editable task field")
        if "priority" in fields:
            check_priority(fields["priority"])
        self.check_run_after(fields.get("run_after"))
        with self.store.transaction() as conn:
            task = self._locked(conn, task_id)
            if task.status != TaskStatus.PENDING:
                raise TaskStateError(task_id, task.status.value, "edited")
            if generation:
                fields["params"], fields["script_args"] = apply_edits(
                    fields.get("params", task.params),
                    fields.get("script_args", task.script_args),
                    generation,
                )
            if fields.get("priority", task.priority) != task.priority:
                fields["placed_by_hand"] = True  # the user's order: affinity leaves it there
            self.store.update(conn, task_id, fields)
            task = self.store.get(task_id, conn)
        self._notify("updated", task_id)
        return task

    def reorder_task(self, task_id: str, new_priority: int) -> Task:
        """Give a pending task a new priority; it goes last among tasks of that priority."""
        check_priority(new_priority)
        with self.store.transaction() as conn:
            task = self._pending(conn, task_id, "reordered")
            position = self.store.max_position(conn) + 1
            fields = {"priority": new_priority, "position": position, "placed_by_hand": True}
            self.store.update(conn, task_id, fields)
            task = self.store.get(task_id, conn)
        self._notify("updated", task_id)
        return task

    def move_task(self, task_id: str, to: str | None = None, before: str | None = None) -> Task:
        """Move a pending task to the top, bottom, one up, one down, or before another task.

        Only the moved task's place changes; it takes the priority of where it lands.
        """
        if (to is None) == (before is None):
            raise ValueError("to: give exactly one of 'to' or 'before'")
        if to is not None and to not in MOVES:
            raise ValueError(f"to: must be one of {', '.join(MOVES)}")
        with self.store.transaction() as conn:
            task = self._pending(conn, task_id, "moved")
            place = target_place(self.store, conn, task, to, before)
            if place is not None:
                fields = {"priority": place[0], "position": place[1], "placed_by_hand": True}
                self.store.update(conn, task_id, fields)
            task = self.store.get(task_id, conn)
        self._notify("updated", task_id)
        return task


def check_priority(priority: Any) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError("priority: must be an integer")
