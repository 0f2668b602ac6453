"""Result images kept in the store itself, for a queue that Forges on several machines share.

A finished task's images are files in the outputs folder of the Forge that ran it. With a
server store (PostgreSQL) the tab and the REST API of every other machine must show them too,
so each is also stored here when the task completes (core/result_copies.py), keyed by the task
and the image's place in its `result_images`; a row goes with its task (ON DELETE CASCADE).
The SQL is standard (`?` placeholders); only a server store uses the table.
"""

from __future__ import annotations

from typing import Any


class StoredResults:
    """The `result_files` verbs, bound to one store of the contract (store/contract.py)."""

    def __init__(self, store: Any):
        self.store = store

    def keep(self, task_id: str, index: int, data: bytes) -> None:
        """Store image `index` of a task (an image already stored there is left as it is)."""
        self.store.conn.execute(
            "INSERT INTO result_files (task_id, idx, content) VALUES (?, ?, ?) "
            "ON CONFLICT (task_id, idx) DO NOTHING",
            (task_id, index, data),
        )

    def read(self, task_id: str, index: int) -> bytes | None:
        """Image `index` of a task as stored, or None."""
        row = self.store.conn.execute(
            "SELECT content FROM result_files WHERE task_id = ? AND idx = ?", (task_id, index)
        ).fetchone()
        return bytes(row[0]) if row else None
