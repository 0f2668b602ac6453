"""The PostgreSQL task store: a server that Forges on several machines share (contract.py).

Same verbs and SQL as SQLite (sql.py); what differs lives here:
- connections: psycopg 3, one per thread, autocommit with explicit transactions (as SQLite);
  the driver is imported when the first store is opened, never by a SQLite set-up;
- placeholders: the store's statements are written with `?` (sql.py); `PgConnection` hands
  them to psycopg with `%s` (the store's own statements only, none of which holds a literal
  `?` or `%`);
- locking: a write transaction takes a transaction-scoped advisory lock on the queue (what
  SQLite's BEGIN IMMEDIATE gives: writers wait for each other) and locks the task rows it
  reads for a change (`FOR UPDATE`). A claim takes no queue lock: it locks its candidates with
  `FOR UPDATE SKIP LOCKED`, so concurrent claims take different tasks and never wait;
- a snapshot is a REPEATABLE READ, READ ONLY transaction;
- wake-ups: every change to tasks or meta notifies `task_scheduler_<schema>` (a trigger,
  postgres_schema.py); `wait_for_change` LISTENs on a connection of its own;
- the schema version lives in `task_scheduler_schema` (postgres_schema.py).

The location is a `postgresql://` URL; the tables go to the first schema of its search_path
(e.g. `?options=-csearch_path%3Dqueue` keeps them apart from other tables).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from ..core.models import SchemaVersionError
from .faults import GuardedOpen
from .postgres_schema import MIGRATIONS, VERSION_TABLE
from .sql import SqlStore

log = logging.getLogger("task_scheduler")

CONNECT_TIMEOUT_SECONDS = 5
# The queue's write lock: one advisory lock per schema, so queues in other schemas don't share it.
_QUEUE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('task_scheduler.' || current_schema()))"


def redacted(url: str) -> str:
    """The URL as messages show it: scheme, user, host, port and database, no password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "postgresql://(unreadable URL)"
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


@lru_cache(maxsize=2048)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def _value(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL (SQLite's can): one in a name, a prompt's search text or
    an error is stored as U+FFFD instead of failing the whole statement."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


class PgConnection:
    """A psycopg connection running the store's statements (sql.py's `?` placeholders)."""

    def __init__(self, raw: Any):
        self.raw = raw

    def execute(self, sql: str, args: Any = None) -> Any:
        if not args:  # no placeholders: psycopg takes the text as it is
            return self.raw.execute(sql)
        return self.raw.execute(_pg_sql(sql), [_value(v) for v in args])

    def executemany(self, sql: str, rows: Any) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(_pg_sql(sql), [[_value(v) for v in row] for row in rows])
        return cursor

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def usable(self) -> bool:
        return not (self.raw.closed or self.raw.broken)

    def close(self) -> None:
        self.raw.close()


class PostgresStore(GuardedOpen, SqlStore):
    """Tasks in a PostgreSQL database. Thread-safe: each thread gets its own connection."""

    FILES_AGG = "string_agg(name, E'\\n')"
    INDEX: dict[str, str] = {}  # the planner picks the partial indexes by itself
    NO_LIMIT = None  # LIMIT NULL: all rows
    ROW_LOCK = "FOR UPDATE"
    CLAIM_LOCK = "FOR UPDATE SKIP LOCKED"
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, url: str, lock_timeout: float = 30.0):
        self.url = url
        self.path = redacted(url)
        self.local_file = None
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, PgConnection] = {}
        self._pid = os.getpid()
        self._listener: PgConnection | None = None
        self._listener_lock = threading.Lock()
        self._open()  # a fault (no driver, server unreachable) leaves the store unavailable

    # -- connections -------------------------------------------------------------------------

    def _connect(self, autocommit: bool = True) -> PgConnection:
        import psycopg  # only here: a SQLite set-up never imports it

        raw = psycopg.connect(
            self.url,
            autocommit=autocommit,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="task_scheduler",
        )
        # how long a write waits for the queue's lock or a task's row (SQLite's busy timeout)
        raw.execute("SELECT set_config('lock_timeout', %s, false)", [f"{self.lock_timeout}s"])
        return PgConnection(raw)

    @property
    def conn(self) -> PgConnection:
        """This thread's connection (a forked child never reuses its parent's); one broken
        by a server restart or a network fault is replaced."""
        if self.fault is not None:
            self._raise_unless_reopened()
        if os.getpid() != self._pid:
            self._local = threading.local()
            self._connections = {}
            self._listener = None
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.usable:
            conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                for thread in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(thread).close()
                old = self._connections.get(threading.current_thread())
                if old is not None:
                    old.close()
                self._connections[threading.current_thread()] = conn
        return conn

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[PgConnection]:
        conn = self.conn
        conn.execute(begin)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.usable and conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def transaction(self) -> Any:
        """A write transaction holding the queue's lock: writers wait for each other."""
        return self._transaction(f"BEGIN; {_QUEUE_LOCK}")  # one round trip

    def claiming(self) -> Any:
        """The claim's transaction: no queue lock; its candidates' rows are locked."""
        return self._transaction("BEGIN")

    @contextmanager
    def snapshot(self) -> Iterator[bool]:
        """Every read of this thread inside sees one committed state; inside a transaction
        already open it joins that one (yields False)."""
        if self.conn.in_transaction:
            yield False
            return
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"):
            yield True

    def wait_for_change(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a change to tasks or meta by any connection (a
        NOTIFY sent by the schema's trigger at commit); True when one came."""
        with self._listener_lock:
            try:
                listener = self._listening()
                changed = any(True for _ in listener.raw.notifies(timeout=timeout, stop_after=1))
                if changed:  # fold the notifications queued meanwhile into this one
                    for _ in listener.raw.notifies(timeout=0.01):
                        pass
                return changed
            except Exception as error:  # the next use of the store reports it
                log.debug("task_scheduler: LISTEN connection lost: %s", error)
                if self._listener is not None:
                    self._listener.close()
                self._listener = None
                time.sleep(min(max(timeout, 0.0), 1.0))
                return True

    def _listening(self) -> PgConnection:
        if self._listener is None or not self._listener.usable:
            from psycopg import sql

            listener = self._connect()
            schema = listener.execute("SELECT current_schema()").fetchone()[0]
            channel = sql.Identifier(f"task_scheduler_{schema}")
            listener.raw.execute(sql.SQL("LISTEN {}").format(channel))
            self._listener = listener
        return self._listener

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close()
            self._listener = None

    # -- what differs from SQLite's SQL ------------------------------------------------------

    def release_due(self, conn: Any, now: float) -> int:
        """Make due tasks claimable; rows another claim holds are left to it (no waiting)."""
        return conn.execute(
            "UPDATE tasks SET held = 0 WHERE id IN (SELECT id FROM tasks WHERE status = "
            "'pending' AND held = 1 AND run_after <= ? FOR UPDATE SKIP LOCKED)",
            (now,),
        ).rowcount

    # -- schema ------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Connect (psycopg imported now) and bring the database to the newest schema."""
        self.migrate()

    def migrate(self, migrations: list[Callable[[Any], None]] | None = None) -> int:
        """Bring the database to the newest schema, one transaction per step (under the
        queue's lock: instances starting together migrate once); return the version."""
        migrations = MIGRATIONS if migrations is None else migrations
        target = len(migrations)
        if self.schema_version() == target:
            return target
        while True:
            with self.transaction() as conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER)")
                version = self._version(conn)
                if version > target:
                    raise SchemaVersionError(
                        f"{self.path} has schema version {version}, but this version of the "
                        f"task scheduler only knows up to {target}. Update the extension, or "
                        "point it at another database."
                    )
                if version == target:
                    return version
                migrations[version](conn)
                conn.execute(f"DELETE FROM {VERSION_TABLE}")
                conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (version + 1,))
                log.info("task database %s migrated to schema %d", self.path, version + 1)

    def schema_version(self) -> int:
        conn = self.conn
        if conn.execute("SELECT to_regclass(?)", (VERSION_TABLE,)).fetchone()[0] is None:
            return 0
        return self._version(conn)

    @staticmethod
    def _version(conn: PgConnection) -> int:
        row = conn.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
        return 0 if row is None else row[0]
