"""Input files kept in the store itself, for a queue that Forges on several machines share.

A task's init images, masks and ControlNet images are written to the data folder of the Forge
that queued it (core/files.py). With a server store (PostgreSQL) the task may run on another
machine, so each file also goes into the table `input_files` under its content address
(`<sha256>.<ext>`, the same name as on disk), once per content; a Forge that lacks a file reads
it from here into its own data folder before the task runs. The table's SQL is standard (`?`
placeholders), so both back-ends could run it; only a server store uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class StoredInputFiles:
    """The `input_files` verbs, bound to one store of the contract (store/contract.py)."""

    def __init__(self, store: Any):
        self.store = store

    def keep(self, name: str, data: bytes, conn: Any = None) -> None:
        """Store a file's bytes under its name (a name already there is left as it is); in the
        transaction of `conn` when given."""
        (conn or self.store.conn).execute(
            "INSERT INTO input_files (name, content, stored_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, data, self.store.clock()),
        )

    def read(self, name: str) -> bytes | None:
        """The bytes stored under `name`, or None."""
        row = self.store.conn.execute(
            "SELECT content FROM input_files WHERE name = ?", (name,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def forget(self, names: Iterable[str]) -> None:
        """Delete these files (no task lists them any more)."""
        names = sorted(set(names))
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            self.store.conn.execute(f"DELETE FROM input_files WHERE name IN ({marks})", chunk)

    def forget_unused(self, stored_before: float) -> int:
        """Delete files no task lists that were stored before `stored_before` (left by an
        enqueue whose insert failed); younger ones may belong to an enqueue under way."""
        cursor = self.store.conn.execute(
            "DELETE FROM input_files WHERE stored_at < ? "
            "AND name NOT IN (SELECT name FROM task_files)",
            (stored_before,),
        )
        return max(cursor.rowcount or 0, 0)
