"""The SQLite task store: connections and the queue's SQL verbs (schema and migrations: schema.py).

One file, opened by any number of threads and processes. Connection policy lives in
`TaskStore._connect` only: WAL journal, a busy timeout, autocommit with explicit
`BEGIN IMMEDIATE` transactions, so every read-modify-write (the claim above all) is atomic.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..core.affinity import setup_key
from ..core.models import SchemaVersionError, Task, TaskStatus
from ..core.params import search_text
from .faults import GuardedOpen
from .schema import MIGRATIONS, SCHEMA_VERSION  # noqa: F401 (SCHEMA_VERSION: re-exported)

log = logging.getLogger("task_scheduler")


_JSON_COLUMNS = ("params", "script_args", "result_images", "result_seeds", "warnings")
_BOOL_COLUMNS = ("bookmarked", "cancel_requested", "placed_by_hand")
TASK_COLUMNS = (
    "id task_type status priority position name checkpoint params script_args created_at "
    "started_at completed_at result_images result_info result_seeds error warnings retried_from "
    "bookmarked callback_url callback_status cancel_requested run_after placed_by_hand "
    "passed_over passed_over_since group_id"
).split()
_SELECT = (
    "SELECT "
    + ", ".join(f"t.{c}" for c in TASK_COLUMNS)
    + ", (SELECT group_concat(name, char(10)) FROM task_files f WHERE f.task_id = t.id)"
    + " FROM tasks t"
)
# Pending-only queries name their index: the planner would otherwise pick the status index
# and sort the whole queue in a temporary B-tree.
PENDING = "INDEXED BY tasks_pending_order WHERE t.status = 'pending'"
HISTORY = "INDEXED BY tasks_history WHERE t.status IN ('completed', 'failed', 'cancelled')"
# Pending tasks the claim may take now (no "not before" ahead), in run order.
READY = "INDEXED BY tasks_ready WHERE t.status = 'pending' AND t.held = 0"
# The claim first releases the tasks whose "not before" came: only those rows are read.
RELEASE_DUE = (
    "UPDATE tasks INDEXED BY tasks_held SET held = 0 "
    "WHERE status = 'pending' AND held = 1 AND run_after <= ?"
)


def row_to_task(row: tuple[Any, ...]) -> Task:
    data = dict(zip(TASK_COLUMNS, row[: len(TASK_COLUMNS)], strict=True))
    for column in _JSON_COLUMNS:
        data[column] = _decode_json(data[column])
    for column in _BOOL_COLUMNS:
        data[column] = bool(data[column])
    data["status"] = TaskStatus(data["status"])
    files = row[len(TASK_COLUMNS)]
    data["files"] = sorted(files.split("\n")) if files else []
    return Task(**data)


def _decode_json(text: Any) -> Any:
    """A JSON column's value, or the raw value when it is not JSON: a damaged row still loads
    (the views show it as broken, and it can be deleted) instead of failing every listing."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column == "status":
        return TaskStatus(value).value
    if column in _BOOL_COLUMNS:
        return int(bool(value))
    return value


class TaskStore(GuardedOpen):
    """A SQLite file holding tasks. Thread-safe: each thread gets its own connection."""

    clock: Callable[[], float] = staticmethod(time.time)  # the queue sets its own (tests: fake)

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = 30.0):
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        # Each thread's connection, so those of finished threads can be closed: Forge's
        # request threads come and go, and every connection holds three file descriptors.
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._pid = os.getpid()
        self._open()  # checks the file first; a fault leaves the store unavailable (`fault`)

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # an acknowledged enqueue survives power loss
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:  # e.g. a read-only folder: no -shm file (store_faults.py)
            conn.close()
            raise
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (a forked child never reuses its parent's).

        Opening one closes those of threads that have ended, so a process holds at most one
        connection per live thread however many threads come and go. Raises the store's
        StoreFault while it is unavailable (store_faults.GuardedOpen).
        """
        if self.fault is not None:
            self._raise_unless_reopened()
        if os.getpid() != self._pid:
            self._local = threading.local()
            self._connections = {}
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._close_finished_threads()
                self._connections[threading.current_thread()] = conn
        return conn

    def _close_finished_threads(self) -> None:
        for thread in [t for t in self._connections if not t.is_alive()]:
            self._connections.pop(thread).close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An exclusive write transaction: nobody else writes until it ends."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT must not leave this thread's txn open
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- schema ------------------------------------------------------------------------------

    def migrate(self, migrations: list[Callable[[sqlite3.Connection], None]] | None = None) -> int:
        """Bring the file to the newest schema, one transaction per step; return the version.

        A step that fails rolls back completely. A file from a newer version is refused.
        """
        migrations = MIGRATIONS if migrations is None else migrations
        target = len(migrations)
        if self.schema_version() == target:  # no write lock: another program may hold it
            return target
        while True:
            with self.transaction() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > target:
                    raise SchemaVersionError(
                        f"{self.path} has schema version {version}, but this version of the "
                        f"task scheduler only knows up to {target}. Update the extension, or "
                        "point it at another database file."
                    )
                if version == target:
                    return version
                migrations[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                log.info("task database %s migrated to schema %d", self.path, version + 1)

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- verbs (each runs inside the caller's transaction when given `conn`) ------------------

    def insert(self, conn: sqlite3.Connection, task: Task) -> None:
        values = [_encode(c, getattr(task, c)) for c in TASK_COLUMNS]
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
        conn.executemany(
            "INSERT OR IGNORE INTO task_files (task_id, name) VALUES (?, ?)",
            [(task.id, name) for name in task.files],
        )

    def get(self, task_id: str, conn: sqlite3.Connection | None = None) -> Task | None:
        row = (conn or self.conn).execute(f"{_SELECT} WHERE t.id = ?", (task_id,)).fetchone()
        return row_to_task(row) if row else None

    def update(self, conn: sqlite3.Connection, task_id: str, fields: dict[str, Any]) -> None:
        if not fields:
            return
        unknown = set(fields) - set(TASK_COLUMNS) - {"claimed_by"}
        if unknown:
            raise ValueError(f"unknown task fields: {', '.join(sorted(unknown))}")
        derived = dict(fields)
        if "run_after" in fields:
            derived["held"] = self._held(fields["run_after"])
        assignments = ", ".join(f"{c} = ?" for c in derived)
        values = [_encode(c, v) for c, v in derived.items()]
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

    def release_due(self, conn: sqlite3.Connection, now: float) -> int:
        """Make tasks whose "not before" has come claimable (through tasks_held)."""
        return conn.execute(RELEASE_DUE, (now,)).rowcount

    def delete(self, conn: sqlite3.Connection, task_ids: Iterable[str]) -> list[str]:
        """Delete tasks; return the input file names no remaining task refers to."""
        ids = list(task_ids)
        if not ids:
            return []
        orphans: set[str] = set()
        for chunk in _chunks(ids, 500):
            marks = ", ".join("?" for _ in chunk)
            names = conn.execute(
                f"SELECT DISTINCT name FROM task_files WHERE task_id IN ({marks})", chunk
            ).fetchall()
            conn.execute(f"DELETE FROM tasks WHERE id IN ({marks})", chunk)
            orphans.update(name for (name,) in names)
        return self.unreferenced(conn, orphans)

    def unreferenced(self, conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
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

    def add_files(self, conn: sqlite3.Connection, task_id: str, names: Iterable[str]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO task_files (task_id, name) VALUES (?, ?)",
            [(task_id, name) for name in names],
        )

    def next_pending(self, conn: sqlite3.Connection) -> Task | None:
        """The task that runs next (the claim's query: served by tasks_pending_order)."""
        row = conn.execute(
            f"{_SELECT} {PENDING} ORDER BY t.priority, t.position LIMIT 1"
        ).fetchone()
        return row_to_task(row) if row else None

    def pending_order(
        self, conn: sqlite3.Connection | None = None, limit: int = -1, offset: int = 0
    ) -> list[tuple[str, int, float]]:
        """(id, priority, position) of pending tasks in run order."""
        return (
            (conn or self.conn)
            .execute(
                f"SELECT id, priority, position FROM tasks t {PENDING} "
                "ORDER BY priority, position LIMIT ? OFFSET ?",
                (limit, offset),
            )
            .fetchall()
        )

    def max_position(self, conn: sqlite3.Connection) -> float:
        return conn.execute("SELECT COALESCE(MAX(position), 0) FROM tasks").fetchone()[0]

    def select(
        self, where: str, args: Iterable[Any], order: str, limit: int, offset: int
    ) -> list[Task]:
        """Tasks matching `where` (which starts with PENDING or with a plain condition)."""
        where = where if where.startswith("INDEXED BY") else f"WHERE {where}"
        rows = self.conn.execute(
            f"{_SELECT} {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [row_to_task(row) for row in rows]

    def count(self, where: str = "1", args: Iterable[Any] = ()) -> int:
        where = where if where.startswith("INDEXED BY") else f"WHERE {where}"
        sql = f"SELECT COUNT(*) FROM tasks t {where}"
        return self.conn.execute(sql, list(args)).fetchone()[0]

    def counts_by_status(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall()
        counts = {s.value: 0 for s in TaskStatus}
        counts.update(dict(rows))
        return counts

    def ids_where(
        self, conn: sqlite3.Connection, where: str, args: Iterable[Any] = ()
    ) -> list[str]:
        return [r[0] for r in conn.execute(f"SELECT id FROM tasks WHERE {where}", list(args))]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _search_text(task: Task) -> str:
    return search_text(task.name, task.params, task.script_args)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
