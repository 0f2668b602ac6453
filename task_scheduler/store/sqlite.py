"""The SQLite task store: one file, its connections and transactions (the store contract,
contract.py; the SQL verbs: sql.py; schema and migrations: schema.py).

One file, opened by any number of threads and processes. Connection policy lives in
`TaskStore._connect` only: WAL journal, a busy timeout, autocommit with explicit
`BEGIN IMMEDIATE` transactions, so every read-modify-write (the claim above all) is atomic.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..core.models import SchemaVersionError
from .faults import GuardedOpen, check_database_file
from .schema import MIGRATIONS, SCHEMA_VERSION  # noqa: F401 (SCHEMA_VERSION: re-exported)
from .sql import TASK_COLUMNS, SqlStore, row_to_task  # noqa: F401 (re-exported)
from .sqlite_changes import DataVersionWatch

log = logging.getLogger("task_scheduler")
_INDEXES = ("tasks_pending_order", "tasks_history", "tasks_ready", "tasks_held", "tasks_group")


class TaskStore(GuardedOpen, SqlStore):
    """A SQLite file holding tasks. Thread-safe: each thread gets its own connection."""

    FILES_AGG = "group_concat(name, char(10))"
    # Pending-only queries name their index: the planner would otherwise pick the status index
    # and sort the whole queue in a temporary B-tree.
    INDEX = {name: f"INDEXED BY {name}" for name in _INDEXES}
    NO_LIMIT = -1
    # BEGIN IMMEDIATE already excludes every other writer: no row locks.
    ROW_LOCK = CLAIM_LOCK = ""

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = 30.0):
        self.path = os.fspath(path)
        self.local_file = self.path
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        # Each thread's connection, so those of finished threads can be closed: Forge's
        # request threads come and go, and every connection holds three file descriptors.
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._pid = os.getpid()
        self._changes = DataVersionWatch(self.path)  # wait_for_change
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
        except BaseException:  # e.g. a read-only folder: no -shm file (store/faults.py)
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

    @contextmanager
    def claiming(self) -> Iterator[sqlite3.Connection]:
        """The claim's transaction: the same exclusive one (SQLite locks the whole file)."""
        with self.transaction() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[bool]:
        """Every read of this thread inside sees one state of the file (a read transaction);
        inside a transaction already open it joins that one (yields False). Writers are not
        blocked (WAL)."""
        conn = self.conn
        if conn.in_transaction:
            yield False
            return
        conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
        try:
            yield True
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        self._changes.close()

    def wait_for_change(self, timeout: float) -> bool:
        """Sleep until another connection (any process) commits a change, at most `timeout`
        s; True when one did (PRAGMA data_version, read every 0.25 s: sqlite_changes.py)."""
        if self.fault is not None:
            self._raise_unless_reopened()
        return self._changes.wait(timeout)

    # -- schema ------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Check the file read-only, then bring it to the newest schema (GuardedOpen)."""
        check_database_file(self.path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.migrate()

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
