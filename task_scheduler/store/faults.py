"""Faults of the data folder and the task database, named for what the user must do.

A full disk, a read-only folder, a database another program keeps locked, or a damaged
database file surface deep inside SQLite or the file system as `sqlite3.OperationalError`,
`sqlite3.DatabaseError` or `OSError`. `fault_of` turns such an error into a `StoreFault` whose
message says what is wrong, where (the folder or file), and that nothing was stored; the REST
API answers it with its `status` (507 for a full disk, 503 otherwise), the tab and the Queue
button show its message. Nothing here retries or repairs: a transaction that failed rolled
back whole, and a damaged file is never touched (see `check_database_file`).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import time

FULL = "full"
READ_ONLY = "read-only"
LOCKED = "locked"
DAMAGED = "damaged"
UNREADABLE = "unreadable"
UNREACHABLE = "unreachable"  # a PostgreSQL server (or its driver) the store cannot use

_SQLITE_MESSAGES = (
    ("database or disk is full", FULL),
    ("readonly database", READ_ONLY),
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("database is busy", LOCKED),
    ("file is not a database", DAMAGED),
    ("database disk image is malformed", DAMAGED),
    ("malformed database schema", DAMAGED),
    ("disk i/o error", UNREADABLE),
    ("unable to open database file", UNREADABLE),
)
_OS_ERRNOS = {
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: READ_ONLY,
    errno.EPERM: READ_ONLY,
}
SQLITE_HEADER = b"SQLite format 3\x00"
log = logging.getLogger("task_scheduler")

RECOVERY_HINT = "see 'Reliability' in the extension's README to recover"


class StoreFault(RuntimeError):
    """The data folder or the database cannot do what was asked; nothing was stored.

    A RuntimeError, so callers that show runtime errors with their message (Forge's Queue
    button) show this one too, whichever of their steps met the store first."""

    def __init__(self, kind: str, message: str, path: str):
        super().__init__(message)
        self.kind = kind
        self.path = path

    @property
    def status(self) -> int:
        """The HTTP status the REST API answers: 507 for a full disk, else 503."""
        return 507 if self.kind == FULL else 503


def fault_of(error: BaseException, db_path: str) -> StoreFault | None:
    """The StoreFault `error` stands for, or None when it is not a fault of the store."""
    if isinstance(error, StoreFault):
        return error
    if db_path.lower().startswith(("postgresql://", "postgres://")):
        return _server_fault(error, db_path)
    kind = None
    if isinstance(error, sqlite3.DatabaseError):
        text = str(error).lower()
        kind = next((k for fragment, k in _SQLITE_MESSAGES if fragment in text), None)
    folder = os.path.dirname(os.path.abspath(db_path))
    if isinstance(error, OSError):
        named = error.filename
        if isinstance(named, str | os.PathLike) and not _inside(os.fspath(named), folder):
            return None  # another file (e.g. another extension's database): not our store
        kind = _OS_ERRNOS.get(error.errno or 0)
    if kind is None:
        return None
    if kind in (UNREADABLE, READ_ONLY) and not _writable(folder):
        kind = READ_ONLY  # SQLite cannot create its -shm / -wal files there
    return StoreFault(kind, describe(kind, db_path, folder, error), db_path)


# PostgreSQL error codes (SQLSTATE) that are faults of the store, not of the queue's code.
_SERVER_STATES = {"53100": FULL, "25006": READ_ONLY, "55P03": LOCKED, "57014": LOCKED}
_NO_CODE_FAULTS = {"OperationalError", "InterfaceError", "ConnectionTimeout"}


def _server_fault(error: BaseException, url: str) -> StoreFault | None:
    """A PostgreSQL store's fault: the driver missing, the server unreachable (bad URL, down,
    refused login, connection lost), or one of _SERVER_STATES. Told apart without importing
    psycopg, which may be absent."""
    if isinstance(error, ImportError) and (error.name or "").startswith("psycopg"):
        message = (
            f"The task queue is set to the PostgreSQL server {url}, but the psycopg driver is "
            "not installed; the queue is unavailable. Restart Forge so that the extension's "
            "install.py installs it, or run: pip install 'psycopg[binary]'."
        )
        return StoreFault(UNREACHABLE, message, url)
    if not type(error).__module__.startswith("psycopg"):
        return None
    state = getattr(error, "sqlstate", None) or ""
    kind = _SERVER_STATES.get(state)
    # connection, login, unknown database, shutdown; or a connection lost or refused (no code)
    lost = not state and type(error).__name__ in _NO_CODE_FAULTS
    if lost or state.startswith(("08", "28", "3D", "57P")):
        kind = UNREACHABLE
    if kind is None:
        return None
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if kind == UNREACHABLE:
        message = (
            f"The task database server {url} cannot be reached ({detail}); the queue is "
            "unavailable (nothing was stored). Check the server and the URL in Settings > "
            "Task Scheduler or TASK_SCHEDULER_DATABASE_URL; the queue reconnects by itself."
        )
    elif kind == FULL:
        message = f"The task database server {url} is out of disk space (nothing was stored)."
    elif kind == READ_ONLY:
        message = f"The task database server {url} accepts no writes now (nothing was stored)."
    else:
        message = (
            f"The task database {url} is busy: a lock was not granted in time (nothing was "
            "stored). Try again."
        )
    return StoreFault(kind, message, url)


def _inside(path: str, folder: str) -> bool:
    path = os.path.abspath(str(path))
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _writable(folder: str) -> bool:
    """Whether files can be created in `folder` (False on a read-only mount, even for root)."""
    return os.access(folder, os.W_OK) or not os.path.isdir(folder)


def describe(kind: str, db_path: str, folder: str, error: BaseException) -> str:
    """The user's message for a fault of `kind`."""
    if kind == FULL:
        return (
            f"Not enough disk space: the disk holding the task data folder {folder} is full "
            "(nothing was stored). Free some space and try again."
        )
    if kind == READ_ONLY:
        return (
            f"The task data folder {folder} is read-only (nothing was stored). Make it "
            "writable, or choose another data folder in Settings > Task Scheduler and restart."
        )
    if kind == LOCKED:
        return (
            f"The task database {db_path} is locked by another program (nothing was stored). "
            "Try again once it lets go of the file."
        )
    if kind == UNREACHABLE:
        return f"The task database {db_path} cannot be reached ({error})."
    if kind == DAMAGED:
        return (
            f"The task database {db_path} is damaged ({error}); the queue is unavailable. "
            f"The file is left exactly as it is; {RECOVERY_HINT}."
        )
    return (
        f"The task database {db_path} cannot be read or written ({error}); the queue is "
        f"unavailable. The file is left as it is; {RECOVERY_HINT}."
    )


def check_database_file(db_path: str) -> None:
    """Raise StoreFault (DAMAGED) if an existing database file is not sound.

    Read-only: the file is opened with `mode=ro` and only read (its header, then SQLite's
    `quick_check`), so a damaged file is never written, rolled forward or replaced. A missing
    or empty file is fine: the store creates it.
    """
    try:
        size = os.path.getsize(db_path)
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(db_path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    folder = os.path.dirname(os.path.abspath(db_path))
    if header != SQLITE_HEADER:
        reason = sqlite3.DatabaseError("file is not a database: its header is not SQLite's")
        raise StoreFault(DAMAGED, describe(DAMAGED, db_path, folder, reason), db_path)
    problem = _quick_check(db_path)
    if problem:
        reason = sqlite3.DatabaseError(problem)
        raise StoreFault(DAMAGED, describe(DAMAGED, db_path, folder, reason), db_path)


def _quick_check(db_path: str) -> str | None:
    """SQLite's quick_check of the file, opened read-only; None when it is sound, or when it
    cannot even be opened that way (the store's own open then reports why)."""
    # immutable: no lock, no -shm or -wal file is created or read beside a damaged file (a
    # -wal left by a crash holds newer pages; the main file alone is still a sound snapshot)
    quoted = os.path.abspath(db_path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    uri = f"file:{quoted}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        fault = fault_of(error, db_path)
        return str(error) if fault is not None and fault.kind == DAMAGED else None
    lines = [line for row in rows for line in str(row[0]).splitlines() if line.strip()]
    if lines == ["ok"]:
        return None
    return "integrity check: " + "; ".join(lines[:3]) + (" …" if len(lines) > 3 else "")


class GuardedOpen:
    """How a store opens (`_prepare`: SQLite checks its file read-only, PostgreSQL connects;
    both then migrate). A fault leaves the
    store *unavailable* instead of failing Forge's start: `fault` says why, and each use of
    the store raises it. A damaged file stays so until Forge restarts (the user recovers it,
    see README); a full, read-only or locked one is tried again at most every
    `REOPEN_SECONDS`, so the queue comes back by itself once the cause is gone."""

    REOPEN_SECONDS = 5.0
    path: str
    fault: StoreFault | None = None
    _next_open = 0.0

    def _prepare(self) -> None:
        """Connect and bring the store to the newest schema (each back-end)."""
        raise NotImplementedError

    def _open(self) -> None:
        try:
            self._prepare()
        except Exception as error:
            fault = fault_of(error, self.path)
            if fault is None:
                raise
            self.fault = fault
            self._next_open = time.monotonic() + self.REOPEN_SECONDS
            log.error("task_scheduler: the task store is unavailable: %s", fault)

    def _raise_unless_reopened(self) -> None:
        """Called while `fault` is set: open again if it is time, else raise the fault."""
        fault = self.fault
        if fault is None:
            return
        if fault.kind == DAMAGED or time.monotonic() < self._next_open:
            raise fault
        self.fault = None
        self._open()
        if self.fault is not None:
            raise self.fault
        log.info("task_scheduler: the task store is available again")


# Free space a new task may not take: what the tasks already queued need to be claimed and
# their outcomes recorded (a few KB each) once the disk is nearly full, with a wide margin.
KEEP_FREE_BYTES = 16 * 2**20


def check_free_space(db_path: str, incoming: int = 0, keep_free: int = KEEP_FREE_BYTES) -> None:
    """Raise StoreFault (FULL) when storing `incoming` more bytes in the data folder would
    leave less than `keep_free` on its disk: a new task is refused before the disk is full,
    so the tasks already stored can still run and record their results."""
    folder = os.path.dirname(os.path.abspath(db_path))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # the store's own writes report what is wrong
    if free - incoming >= keep_free:
        return
    message = (
        f"Not enough disk space: the disk holding the task data folder {folder} has "
        f"{free / 2**20:.1f} MB free, and the queue keeps {keep_free / 2**20:g} MB free for "
        "the tasks already queued (nothing was stored). Free some space and try again."
    )
    raise StoreFault(FULL, message, db_path)
