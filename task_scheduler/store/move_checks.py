"""Checks before a queue move (store/move.py): the source is a queue's SQLite file this version
reads and nobody uses, the destination can be opened."""

from __future__ import annotations

import os
import sqlite3
import sys

from . import open_store
from .contract import Store, is_server_url
from .faults import SQLITE_HEADER
from .move_report import EXIT_DEST, EXIT_SOURCE, EXIT_USAGE, NOTHING_MOVED, MoveError
from .postgres import redacted
from .schema import SCHEMA_VERSION

# -- checks before the move --------------------------------------------------------------------


def check_source_file(path: str) -> None:
    """MoveError (EXIT_SOURCE) unless `path` is a task queue's SQLite file this version reads.

    Read-only (`mode=ro`): a wrong file is never given the queue's tables."""
    if not os.path.exists(path):
        raise MoveError(EXIT_SOURCE, f"{path}: no such file")
    if os.path.isdir(path):
        hint = os.path.join(path, "tasks.sqlite3")
        raise MoveError(EXIT_SOURCE, f"{path} is a folder; give the queue's file, e.g. {hint}")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise MoveError(EXIT_SOURCE, f"{path} cannot be read ({error.strerror})") from None
    if header != SQLITE_HEADER:
        raise MoveError(EXIT_SOURCE, f"{path} is not a SQLite database (so not a task queue)")
    quoted = os.path.abspath(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    try:
        conn = sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, isolation_level=None)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise MoveError(EXIT_SOURCE, f"{path} cannot be read ({error})") from None
    if version == 0 or not {"tasks", "task_files", "meta"} <= tables:
        raise MoveError(EXIT_SOURCE, f"{path} is not a task scheduler queue (no tasks table)")
    if version > SCHEMA_VERSION:
        raise MoveError(
            EXIT_SOURCE,
            f"{path} has schema version {version}, but this version of the task scheduler "
            f"only knows up to {SCHEMA_VERSION}: update the extension, then move.",
        )


def holders(path: str) -> list[str]:
    """Other processes holding the file (or its -wal / -shm) open: "pid (command)". Linux
    only (/proc); elsewhere, and for processes of other users, nothing is seen."""
    if not sys.platform.startswith("linux"):
        return []
    real = os.path.realpath(path)
    targets = {real, real + "-wal", real + "-shm"}
    found = []
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return []
    for pid in entries:
        if int(pid) == os.getpid():
            continue
        try:
            links = {os.readlink(fd.path) for fd in os.scandir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if links & targets:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                command = "?"
            found.append(f"{pid} ({command.strip()[:80]})")
    return found


def open_destination(location: str, dry_run: bool = False) -> Store | None:
    """DEST's store (its tables created or migrated); None for a dry run to a SQLite file not
    yet there (nothing is created). MoveError when it cannot be used."""
    if not is_server_url(location) and dry_run and not os.path.exists(location):
        return None
    shown = redacted(location) if is_server_url(location) else location
    try:
        store = open_store(location)
    except Exception as error:  # a URL the driver cannot parse, a newer schema
        text = str(error).replace(location, shown).strip().splitlines()
        detail = text[0] if text else type(error).__name__
        code = EXIT_USAGE if type(error).__name__ == "ProgrammingError" else EXIT_DEST
        raise MoveError(code, f"{shown} cannot be used as the destination ({detail})") from None
    if store.fault is not None:
        store.close()
        raise MoveError(EXIT_DEST, f"destination: {short_fault(store.fault)}; {NOTHING_MOVED}.")
    return store


def open_source(path: str) -> Store:
    store = open_store(path)
    if store.fault is not None:
        store.close()
        raise MoveError(EXIT_SOURCE, f"source: {short_fault(store.fault)}; {NOTHING_MOVED}.")
    return store


def short_fault(fault: Exception) -> str:
    """A store fault's message without the queue's advice (the queue retrying, Settings)."""
    text = str(fault).split("; the queue is unavailable")[0].split(" (nothing was stored)")[0]
    return text.rstrip(". ")
