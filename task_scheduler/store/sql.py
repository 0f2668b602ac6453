"""The queue's SQL verbs, written once for both back-ends (sqlite.py, postgres.py).

Statements use `?` placeholders and standard SQL that SQLite and PostgreSQL both run
(`ON CONFLICT`, row values, `COALESCE`). What does differ is a named fragment each back-end
sets (the table at the top of `SqlStore`); a back-end whose statement differs as a whole
overrides that verb. Each verb given `conn` runs inside the caller's transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..core.affinity import CANDIDATE_COLUMNS, Candidate, candidate, setup_key
from ..core.models import Task, TaskStatus
from ..core.params import search_text
from .sql_outbox import OutboxSql
from .task_rows import TASK_COLUMNS, encode, row_to_task

FINISHED = ("completed", "failed", "cancelled")
ORDERS = {"started": "t.started_at", "finished": "t.completed_at DESC, t.created_at DESC"}


class SqlStore(OutboxSql):
    """The verbs of the store contract (contract.py) that are plain SQL (the callback outbox's
    and a move's: sql_outbox.py)."""

    # -- what differs between back-ends (each sets all of these) -----------------------------
    FILES_AGG = ""  # a task's input file names, one per line, from task_files f
    INDEX: dict[str, str] = {}  # index hint by index name, written after "FROM tasks t"
    NO_LIMIT: int | None = -1  # the LIMIT value that means "all rows"
    ROW_LOCK = ""  # after a read of rows the write transaction will change
    CLAIM_LOCK = ""  # after the claim's read of its candidates

    conn: Any  # this thread's connection (each back-end)
    clock: Callable[[], float] = staticmethod(time.time)  # the queue sets its own (tests: fake)

    def _hint(self, index: str) -> str:
        return self.INDEX.get(index, "")

    @property
    def _select(self) -> str:
        return (
            "SELECT "
            + ", ".join(f"t.{c}" for c in TASK_COLUMNS)
            + f", (SELECT {self.FILES_AGG} FROM task_files f WHERE f.task_id = t.id)"
            + " FROM tasks t"
        )

    def _pending(self) -> str:
        return f"{self._hint('tasks_pending_order')} WHERE t.status = 'pending'"

    def _ready(self) -> str:
        return f"{self._hint('tasks_ready')} WHERE t.status = 'pending' AND t.held = 0"

    def _limit(self, limit: int) -> int | None:
        return self.NO_LIMIT if limit is None or limit < 0 else limit

    # -- tasks -------------------------------------------------------------------------------

    def insert(self, conn: Any, task: Task) -> None:
        values = [encode(c, getattr(task, c)) for c in TASK_COLUMNS]
        placeholders = ", ".join("?" for _ in TASK_COLUMNS)
        conn.execute(
            f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}, search_text, setup, held) "
            f"VALUES ({placeholders}, ?, ?, ?)",
            [
                *values,
                _search_text(task),
                setup_key(task.checkpoint, task.params),
                self._held(task.run_after),
            ],
        )
        self.add_files(conn, task.id, task.files)

    def get(self, task_id: str, conn: Any = None) -> Task | None:
        lock = self.ROW_LOCK if conn is not None else ""
        row = (conn or self.conn).execute(f"{self._select} WHERE t.id = ? {lock}", (task_id,))
        found = row.fetchone()
        return row_to_task(found) if found else None

    def get_many(self, ids: Sequence[str]) -> list[Task]:
        """The tasks with these ids, in this order (those still there)."""
        found: dict[str, Task] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = self.conn.execute(f"{self._select} WHERE t.id IN ({marks})", chunk)
            found.update((t.id, t) for t in map(row_to_task, rows.fetchall()))
        return [found[i] for i in ids if i in found]

    def update(self, conn: Any, task_id: str, fields: dict[str, Any]) -> None:
        if not fields:
            return
        unknown = set(fields) - set(TASK_COLUMNS) - {"claimed_by"}
        if unknown:
            raise ValueError(f"unknown task fields: {', '.join(sorted(unknown))}")
        derived = dict(fields)
        if "run_after" in fields:
            derived["held"] = self._held(fields["run_after"])
        assignments = ", ".join(f"{c} = ?" for c in derived)
        values = [encode(c, v) for c, v in derived.items()]
        conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", [*values, task_id])
        if {"name", "params", "script_args", "checkpoint"} & set(fields):
            task = self.get(task_id, conn)
            if task is not None:
                conn.execute(
                    "UPDATE tasks SET search_text = ?, setup = ? WHERE id = ?",
                    (_search_text(task), setup_key(task.checkpoint, task.params), task_id),
                )

    def _held(self, run_after: float | None) -> int:
        """1 while a task's "not before" lies ahead (the claim then passes it by)."""
        return int(run_after is not None and run_after > self.clock())

    def delete(self, conn: Any, task_ids: Iterable[str]) -> list[str]:
        """Delete tasks; return the input file names no remaining task refers to."""
        orphans: set[str] = set()
        for chunk in _chunks(list(task_ids), 500):
            marks = ", ".join("?" for _ in chunk)
            names = conn.execute(
                f"SELECT DISTINCT name FROM task_files WHERE task_id IN ({marks})", chunk
            ).fetchall()
            conn.execute(f"DELETE FROM tasks WHERE id IN ({marks})", chunk)
            orphans.update(name for (name,) in names)
        return self.unreferenced(conn, orphans) if orphans else []

    def unreferenced(self, conn: Any, names: Iterable[str]) -> list[str]:
        """The names among `names` that no task lists."""
        names = set(names)
        still_used = set()
        for chunk in _chunks(sorted(names), 500):
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                f"SELECT DISTINCT name FROM task_files WHERE name IN ({marks})", chunk
            ).fetchall()
            still_used.update(name for (name,) in rows)
        return sorted(names - still_used)

    def add_files(self, conn: Any, task_id: str, names: Iterable[str]) -> None:
        rows = [(task_id, name) for name in names]
        if rows:
            conn.executemany(
                "INSERT INTO task_files (task_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                rows,
            )

    def file_in_use(self, name: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM task_files WHERE name = ?", (name,))
        return row.fetchone() is not None

    # -- run order ---------------------------------------------------------------------------

    def release_due(self, conn: Any, now: float) -> int:
        """Make tasks whose "not before" has come claimable (through tasks_held)."""
        return conn.execute(
            f"UPDATE tasks {self._hint('tasks_held')} SET held = 0 "
            "WHERE status = 'pending' AND held = 1 AND run_after <= ?",
            (now,),
        ).rowcount

    def ready_candidates(self, limit: int, conn: Any = None) -> list[Candidate]:
        """Ready pending tasks (no "not before" ahead) in base order, the first `limit`.

        Given `conn` (the claim's transaction), the rows are locked for the claim."""
        lock = self.CLAIM_LOCK if conn is not None else ""
        rows = (conn or self.conn).execute(
            f"SELECT {CANDIDATE_COLUMNS} FROM tasks t {self._ready()} "
            f"ORDER BY t.priority, t.position LIMIT ? {lock}",
            (self._limit(limit),),
        )
        return [candidate(r) for r in rows.fetchall()]

    def held_candidates(self) -> list[Candidate]:
        """Pending tasks whose "not before" lay ahead when last looked at, soonest first."""
        rows = self.conn.execute(
            f"SELECT {CANDIDATE_COLUMNS} FROM tasks t {self._hint('tasks_held')} "
            "WHERE t.status = 'pending' AND t.held = 1 ORDER BY t.run_after"
        )
        return [candidate(r) for r in rows.fetchall()]

    def ready_ahead(self, task_id: str) -> int | None:
        """How many ready tasks come before a ready task in base order; None when held."""
        row = self.conn.execute(
            "SELECT priority, position, held FROM tasks WHERE id = ? AND status = 'pending'",
            (task_id,),
        ).fetchone()
        if row is None or row[2]:
            return None
        return self.conn.execute(
            f"SELECT COUNT(*) FROM tasks t {self._ready()} AND (t.priority, t.position) < (?, ?)",
            (row[0], row[1]),
        ).fetchone()[0]

    def running_setup(self, conn: Any = None) -> str | None:
        """The setup of the task running now (loaded once it ends), or None."""
        row = (
            (conn or self.conn)
            .execute(
                "SELECT setup FROM tasks WHERE status = 'running' ORDER BY started_at DESC LIMIT 1"
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def neighbour(
        self,
        conn: Any,
        anchor: tuple[str, int, float] | None,
        before: bool,
        exclude: str | None = None,
    ) -> tuple[str, int, float] | None:
        """The pending task right before/after `anchor` in run order (or the last/first)."""
        where, args = f"{self._pending()} AND t.id != ?", [exclude or ""]
        if anchor is not None:
            where += f" AND (t.priority, t.position) {'<' if before else '>'} (?, ?)"
            args += [anchor[1], anchor[2]]
        order = "t.priority DESC, t.position DESC" if before else "t.priority, t.position"
        row = conn.execute(
            f"SELECT t.id, t.priority, t.position FROM tasks t {where} ORDER BY {order} LIMIT 1",
            args,
        ).fetchone()
        return None if row is None else tuple(row)

    def respace(self, conn: Any, priority: int) -> None:
        """Give one priority's pending tasks evenly spaced positions, their order unchanged."""
        rows = conn.execute(
            f"SELECT t.id FROM tasks t {self._pending()} AND t.priority = ? ORDER BY t.position",
            (priority,),
        ).fetchall()
        start = self.max_position(conn) + 1
        conn.executemany(
            "UPDATE tasks SET position = ? WHERE id = ?",
            [(start + index, task_id) for index, (task_id,) in enumerate(rows)],
        )

    def max_position(self, conn: Any) -> float:
        return conn.execute("SELECT COALESCE(MAX(position), 0) FROM tasks").fetchone()[0]

    # -- listings ----------------------------------------------------------------------------

    def _where(
        self, statuses: Sequence[str], search: str | None, owner: str | None = None
    ) -> tuple[str, list[Any]]:
        """The condition for tasks of these statuses matching `search` (and queued by `owner`,
        if given), with its index."""
        statuses = [TaskStatus(s).value for s in statuses]
        if statuses == ["pending"]:
            where = self._pending()
        elif sorted(statuses) == sorted(FINISHED):
            where = f"{self._hint('tasks_history')} WHERE t.status IN {_literal(FINISHED)}"
        else:
            where = f"WHERE t.status IN {_literal(statuses)}"
        args: list[Any] = []
        if owner is not None:
            where, args = f"{where} AND t.owner = ?", [owner]
        if not search:
            return where, args
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%") + "%"
        return f"{where} AND t.search_text LIKE ? ESCAPE '\\'", [*args, pattern.replace("_", "\\_")]

    def count_tasks(
        self, statuses: Sequence[str], search: str | None = None, owner: str | None = None
    ) -> int:
        where, args = self._where(statuses, search, owner)
        return self.conn.execute(f"SELECT COUNT(*) FROM tasks t {where}", args).fetchone()[0]

    def select_tasks(
        self,
        statuses: Sequence[str],
        search: str | None,
        order: str,
        limit: int,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[Task]:
        where, args = self._where(statuses, search, owner)
        rows = self.conn.execute(
            f"{self._select} {where} ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
            [*args, self._limit(limit), offset],
        )
        return [row_to_task(row) for row in rows.fetchall()]

    def matching_ids(
        self, statuses: Sequence[str], search: str | None, owner: str | None = None
    ) -> set[str]:
        where, args = self._where(statuses, search, owner)
        return {i for (i,) in self.conn.execute(f"SELECT t.id FROM tasks t {where}", args)}

    def counts_by_status(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall()
        counts = {s.value: 0 for s in TaskStatus}
        counts.update(dict(rows))
        return counts

    def recent_run_seconds(self, limit: int) -> list[float]:
        rows = self.conn.execute(
            "SELECT completed_at - started_at FROM tasks WHERE status = 'completed' "
            "AND started_at IS NOT NULL AND completed_at IS NOT NULL "
            "ORDER BY completed_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [seconds for (seconds,) in rows]

    def running_claims(self, conn: Any) -> list[tuple[Any, ...]]:
        """(id, claimed_by, started_at, lease_until) of every running task, locked for the
        change."""
        return [
            tuple(row)
            for row in conn.execute(
                f"SELECT t.id, t.claimed_by, t.started_at, t.lease_until FROM tasks t "
                f"WHERE t.status = 'running' {self.ROW_LOCK}"
            ).fetchall()
        ]

    def failed_not_retried(self, conn: Any = None) -> list[str]:
        """Failed tasks that no task was retried from (what "Retry failed" queues again)."""
        rows = (conn or self.conn).execute(
            "SELECT id FROM tasks WHERE status = 'failed' AND id NOT IN "
            "(SELECT retried_from FROM tasks WHERE retried_from IS NOT NULL)"
        )
        return [i for (i,) in rows.fetchall()]

    def finished_ids(
        self,
        conn: Any,
        statuses: Sequence[str],
        completed_before: float | None = None,
        unnamed_only: bool = False,
    ) -> list[str]:
        """Unbookmarked finished tasks of these statuses (older than, unnamed: optional)."""
        where, args = f"status IN {_literal(statuses)} AND bookmarked = 0", []
        if completed_before is not None:
            where, args = f"{where} AND completed_at < ?", [completed_before]
        if unnamed_only:
            where += " AND name = ''"
        return [i for (i,) in conn.execute(f"SELECT id FROM tasks WHERE {where}", args)]

    def unsettled_callbacks(self, finished_since: float) -> list[str]:
        """Finished tasks with no callback outcome yet that owe one (a callback URL, or
        finished since `finished_since`: the default receiver), oldest first."""
        rows = self.conn.execute(
            f"SELECT id FROM tasks WHERE status IN {_literal(FINISHED)} "
            "AND callback_status IS NULL AND ((callback_url IS NOT NULL AND callback_url != '') "
            "OR completed_at >= ?) ORDER BY completed_at",
            (finished_since,),
        )
        return [i for (i,) in rows.fetchall()]

    # -- groups ------------------------------------------------------------------------------

    def group_ids(self, group_id: str, conn: Any = None) -> list[str]:
        """The ids of a group's tasks, oldest first."""
        rows = (conn or self.conn).execute(
            f"SELECT t.id FROM tasks t {self._hint('tasks_group')} WHERE t.group_id = ? "
            "ORDER BY t.created_at, t.position",
            (group_id,),
        )
        return [i for (i,) in rows.fetchall()]

    def group_sizes(self, group_ids: Sequence[str]) -> dict[str, int]:
        marks = ", ".join("?" for _ in group_ids)
        rows = self.conn.execute(
            f"SELECT t.group_id, COUNT(*) FROM tasks t {self._hint('tasks_group')} "
            f"WHERE t.group_id IN ({marks}) GROUP BY t.group_id",
            list(group_ids),
        )
        return dict(rows.fetchall())

    # -- meta --------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None, conn: Any = None) -> str | None:
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key = ?", (key,))
        found = row.fetchone()
        return found[0] if found else default

    def set_meta(self, key: str, value: str, conn: Any = None) -> None:
        (conn or self.conn).execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return dict(rows.fetchall())


def _literal(statuses: Sequence[str]) -> str:
    """Statuses as an SQL list (they are TaskStatus values: never user text)."""
    return "(" + ", ".join(f"'{TaskStatus(s).value}'" for s in statuses) + ")"


def _search_text(task: Task) -> str:
    return search_text(task.name, task.params, task.script_args)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
