"""The store's SQL verbs for the callback outbox and for moving a queue (store/move.py): a base of
SqlStore (sql.py), written once for both back-ends as the rest of sql.py is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_OUTBOX_KEYS = ("task_id", "event", "url", "attempts", "last_error", "next_attempt_at")
OUTBOX_COLUMNS = "task_id event url body attempts next_attempt_at last_error created_at".split()


class OutboxSql:
    ROW_LOCK = ""  # set by each back-end (sql.py SqlStore)
    conn: Any

    # -- callback outbox ---------------------------------------------------------------------

    def outbox_add(
        self, conn: Any, task_id: str, event: str, url: str, body: str, now: float
    ) -> bool:
        """Owe a callback, due `now`; False when the same one is owed already."""
        return (
            conn.execute(
                "INSERT INTO callback_outbox (task_id, event, url, body, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (task_id, event, url, body, now, now),
            ).rowcount
            == 1
        )

    def outbox_first_due(self, conn: Any, now: float) -> tuple[str, str, str, str, int] | None:
        """(task_id, event, url, body, attempts) of the callback due first, or None."""
        row = conn.execute(
            "SELECT task_id, event, url, body, attempts FROM callback_outbox "
            f"WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 1 {self.ROW_LOCK}",
            (now,),
        ).fetchone()
        return None if row is None else tuple(row)

    def outbox_set_due(
        self, conn: Any, task_id: str, event: str, due_at: float, failure: str | None = None
    ) -> None:
        """Due again at `due_at`; with `failure`, one more failed attempt is counted."""
        if failure is None:
            sql, args = "next_attempt_at = ?", [due_at]
        else:
            sql = "attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            args = [failure, due_at]
        conn.execute(
            f"UPDATE callback_outbox SET {sql} WHERE task_id = ? AND event = ?",
            [*args, task_id, event],
        )

    def outbox_remove(self, conn: Any, task_id: str, event: str) -> None:
        conn.execute(
            "DELETE FROM callback_outbox WHERE task_id = ? AND event = ?", (task_id, event)
        )

    def outbox_next_due(self) -> float | None:
        return self.conn.execute("SELECT MIN(next_attempt_at) FROM callback_outbox").fetchone()[0]

    def outbox_rows(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            f"SELECT {', '.join(_OUTBOX_KEYS)} FROM callback_outbox ORDER BY next_attempt_at"
        ).fetchall()
        return [dict(zip(_OUTBOX_KEYS, row, strict=True)) for row in rows]

    # -- moving a queue to another store (store/move.py) -------------------------------------

    def claims(self) -> dict[str, tuple[Any, Any]]:
        """(claimed_by, lease_until) of every task that has either (not part of Task)."""
        rows = self.conn.execute(
            "SELECT id, claimed_by, lease_until FROM tasks "
            "WHERE claimed_by IS NOT NULL OR lease_until IS NOT NULL"
        )
        return {task_id: (claimed_by, lease) for task_id, claimed_by, lease in rows.fetchall()}

    def set_claim(self, conn: Any, task_id: str, claimed_by: Any, lease_until: Any) -> None:
        """Give a task its claim and lease as another store had them."""
        conn.execute(
            "UPDATE tasks SET claimed_by = ?, lease_until = ? WHERE id = ?",
            (claimed_by, lease_until, task_id),
        )

    def outbox_export(self) -> list[tuple[Any, ...]]:
        """Every owed callback, every column (OUTBOX_COLUMNS), for `outbox_import`."""
        return [
            tuple(row)
            for row in self.conn.execute(
                f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM callback_outbox ORDER BY created_at"
            ).fetchall()
        ]

    def outbox_import(self, conn: Any, rows: Sequence[Sequence[Any]]) -> int:
        """Owe these callbacks as exported (one already owed is kept); how many were added."""
        added = 0
        for row in rows:
            added += conn.execute(
                f"INSERT INTO callback_outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in OUTBOX_COLUMNS)}) ON CONFLICT DO NOTHING",
                list(row),
            ).rowcount
        return added
