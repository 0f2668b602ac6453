"""Finding and opening the databases of other queue extensions, strictly read-only.

Two kinds are known (see README, "Moving from another queue extension"):

* ``forge-task-scheduler`` — SachiraChin's sd-webui-forge-task-scheduler: ``task_queue.db`` in
  its extension folder, table ``tasks`` (raw sqlite3 DDL in its task_scheduler/store/sqlite.py);
* ``agent-scheduler`` — ArtVentureX's sd-webui-agent-scheduler: ``task_scheduler.sqlite3`` in
  its extension folder (or the file given by its ``--agent-scheduler-sqlite-file`` option),
  table ``task`` (SQLAlchemy model in agent_scheduler/db/task.py).

A file is opened with SQLite's ``mode=ro`` URI (never created, never written) and recognised by
its columns; anything else is refused. Nothing here imports Forge.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import urllib.parse
from dataclasses import dataclass

log = logging.getLogger("task_scheduler")

SACHIRA = "forge-task-scheduler"
AGENT = "agent-scheduler"
LABELS = {
    SACHIRA: "sd-webui-forge-task-scheduler (SachiraChin)",
    AGENT: "Agent Scheduler (sd-webui-agent-scheduler)",
}
# The file each kind keeps in its own extension folder (their db.py / db/base.py).
DB_FILES = {SACHIRA: "task_queue.db", AGENT: "task_scheduler.sqlite3"}

# Columns a file must have to be taken for each kind (their CREATE TABLE; later ALTERs optional).
_SACHIRA_COLUMNS = {
    "id", "task_type", "status", "priority", "created_at", "params", "checkpoint",
    "script_args", "result_images", "completed_iterations",
}  # fmt: skip
_AGENT_COLUMNS = {"id", "type", "params", "script_params", "priority", "status", "created_at"}
_OUR_COLUMNS = {"position", "search_text"}  # our own tasks table looks like SachiraChin's
PENDING_STATUSES = {SACHIRA: ("pending", "paused"), AGENT: ("pending",)}


class PeerSourceError(ValueError):
    """The file is missing, unreadable, or not one of the known queue databases."""


@dataclass(frozen=True)
class PeerSource:
    """A database file of another queue extension, recognised and counted."""

    id: str  # stable handle for the API: kind + a digest of the path (no path in the id)
    kind: str
    path: str
    folder: str  # the extension folder it was found in ("" for an explicit path)
    pending: int
    history: int

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def open_readonly(path: str) -> sqlite3.Connection:
    """A read-only connection to an existing SQLite file (raises PeerSourceError otherwise).

    `mode=ro` makes SQLite refuse every write and never create the file; `query_only` is a
    second lock on the door.
    """
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise PeerSourceError(f"{path}: no such file")
    uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5.0)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error as error:
        raise PeerSourceError(f"{path}: not a readable SQLite database ({error})") from None
    return conn


def detect_kind(conn: sqlite3.Connection) -> str | None:
    """Which known queue database this is, by its tables and columns; None for anything else."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "tasks" in tables:
        columns = _columns(conn, "tasks")
        if columns >= _SACHIRA_COLUMNS and not columns & _OUR_COLUMNS:
            return SACHIRA
    if "task" in tables and _columns(conn, "task") >= _AGENT_COLUMNS:
        return AGENT
    return None


def inspect_file(path: str, folder: str = "") -> PeerSource:
    """Open `path` read-only, recognise it and count its tasks (PeerSourceError if unknown)."""
    path = os.path.abspath(path)
    conn = open_readonly(path)
    try:
        kind = detect_kind(conn)
        if kind is None:
            raise PeerSourceError(
                f"{path}: not a database of {LABELS[SACHIRA]} or {LABELS[AGENT]} "
                "(no matching task table)"
            )
        table = "tasks" if kind == SACHIRA else "task"
        waiting = PENDING_STATUSES[kind]
        marks = ", ".join("?" for _ in waiting)
        pending = conn.execute(
            f"SELECT COUNT(*) FROM {table} WHERE status IN ({marks})", waiting
        ).fetchone()[0]
        total = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error as error:
        raise PeerSourceError(f"{path}: cannot be read ({error})") from None
    finally:
        conn.close()
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return PeerSource(
        id=f"{kind}-{digest}",
        kind=kind,
        path=path,
        folder=folder,
        pending=pending,
        history=total - pending,
    )


def find_sources(extensions_dirs: list[str], agent_file: str | None = None) -> list[PeerSource]:
    """Known queue databases inside any extension folder of `extensions_dirs`.

    `agent_file` is Agent Scheduler's ``--agent-scheduler-sqlite-file`` option (a path
    relative to its extension folder, or absolute). Folder names are not trusted to tell the
    kind (ours and SachiraChin's share one); the file name says where to look, the columns
    decide. Only the server's own configuration chooses these paths, never a request.
    """
    found: dict[str, PeerSource] = {}
    names = list(DB_FILES.values())
    if agent_file and not os.path.isabs(agent_file) and agent_file not in names:
        names.append(agent_file)
    candidates: list[tuple[str, str]] = []
    for root in extensions_dirs:
        try:
            folders = sorted(os.listdir(root))
        except OSError:
            continue
        for folder in folders:
            candidates += [(os.path.join(root, folder, name), folder) for name in names]
    if agent_file and os.path.isabs(agent_file):
        candidates.append((agent_file, ""))
    for path, folder in candidates:
        if not os.path.isfile(path) or os.path.abspath(path) in found:
            continue
        try:
            source = inspect_file(path, folder or os.path.basename(os.path.dirname(path)))
        except PeerSourceError as error:
            log.info("task_scheduler: not importable: %s", error)
            continue
        found[source.path] = source
    return list(found.values())


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
