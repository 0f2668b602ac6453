"""The SQLite schema, version by version, and the migrations that bring a file up to date.

A file's `PRAGMA user_version` says how many of MIGRATIONS it has had (TaskStore.migrate).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from ..core.affinity import setup_key


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:  # a damaged row: TaskStore loads it as text, the views show it broken
        return text


def run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT our transaction; run statement by statement instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


SCHEMA_V1 = """
CREATE TABLE tasks (
    id              TEXT PRIMARY KEY,
    task_type       TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    position        REAL NOT NULL,
    name            TEXT NOT NULL DEFAULT '',
    checkpoint      TEXT NOT NULL DEFAULT '',
    params          TEXT NOT NULL,
    script_args     TEXT NOT NULL DEFAULT '{}',
    search_text     TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    started_at      REAL,
    completed_at    REAL,
    result_images   TEXT NOT NULL DEFAULT '[]',
    result_info     TEXT NOT NULL DEFAULT '',
    result_seeds    TEXT NOT NULL DEFAULT '[]',
    error           TEXT,
    warnings        TEXT NOT NULL DEFAULT '[]',
    retried_from    TEXT,
    bookmarked      INTEGER NOT NULL DEFAULT 0,
    callback_url    TEXT,
    callback_status TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT
);
-- the claim and the queue listing read only this: finished history is never scanned
CREATE INDEX tasks_pending_order ON tasks(priority, position) WHERE status = 'pending';
CREATE INDEX tasks_status_finished ON tasks(status, completed_at);
CREATE INDEX tasks_history ON tasks(completed_at, created_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX tasks_position ON tasks(position);
CREATE TABLE task_files (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    PRIMARY KEY (task_id, name)
);
CREATE INDEX task_files_name ON task_files(name);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Callbacks owed to receivers (callback_outbox.py): kept until delivered or given up, so they
# survive a stop of Forge. One row per task and event; the key is also the idempotency key.
SCHEMA_V2 = """
CREATE TABLE callback_outbox (
    task_id         TEXT NOT NULL,
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    PRIMARY KEY (task_id, event)
);
CREATE INDEX callback_outbox_due ON callback_outbox(next_attempt_at);
"""

# Scheduling (issue 11): tasks for later, checkpoint affinity, groups of tasks.
# run_after: "not before" (unix time; NULL = at once), kept for display; held: 1 while run_after
# lies ahead (the claim releases due ones through tasks_held, then reads tasks_ready only).
# setup: what loading the task's model needs (affinity.setup_key; '' = whatever is loaded).
# placed_by_hand: moved / dragged / given a priority by the user (affinity leaves it in place).
# passed_over / passed_over_since: how often and since when affinity let later tasks go first.
# group_id: tasks queued together on several checkpoints (NULL: no group).
SCHEMA_V3 = """
ALTER TABLE tasks ADD COLUMN run_after REAL;
ALTER TABLE tasks ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN setup TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN placed_by_hand INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN passed_over INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN passed_over_since REAL;
ALTER TABLE tasks ADD COLUMN group_id TEXT;
CREATE INDEX tasks_ready ON tasks(priority, position) WHERE status = 'pending' AND held = 0;
CREATE INDEX tasks_held ON tasks(run_after) WHERE status = 'pending' AND held = 1;
CREATE INDEX tasks_group ON tasks(group_id) WHERE group_id IS NOT NULL
"""


def _migrate_v3(conn: sqlite3.Connection) -> None:
    run_script(conn, SCHEMA_V3)
    rows = conn.execute("SELECT id, checkpoint, params FROM tasks WHERE status = 'pending'")
    conn.executemany(
        "UPDATE tasks SET setup = ? WHERE id = ?",
        [(setup_key(ckpt, _json_or_text(params)), task_id) for task_id, ckpt, params in rows],
    )


# Several Forge instances on one queue (issue 12).
# instance: the name of the instance that claimed the task (setting "Instance name"; NULL:
# never claimed, or claimed before v4). lease_until: while running, the time (unix seconds)
# until which its instance vouches for it; the instance renews it while the task runs, and
# any live instance fails a running task whose lease passed (tasks_lease finds those).
# instances: one row per instance that serves this queue, renewed while it runs.
#   claimed_by: its process (process_liveness claim string); seen_at / lease_until: its last
#   heartbeat and until when it counts as live; resources: JSON of what it can run
#   ({"checkpoints": [...], "lora": [...], "controlnet": [...]}, names as tasks record them);
#   address: where its web server answers, if known ('' otherwise).
SCHEMA_V4 = """
ALTER TABLE tasks ADD COLUMN instance TEXT;
ALTER TABLE tasks ADD COLUMN lease_until REAL;
CREATE INDEX tasks_lease ON tasks(lease_until) WHERE status = 'running';
CREATE TABLE instances (
    name        TEXT PRIMARY KEY,
    claimed_by  TEXT NOT NULL DEFAULT '',
    started_at  REAL NOT NULL,
    seen_at     REAL NOT NULL,
    lease_until REAL NOT NULL,
    resources   TEXT NOT NULL DEFAULT '{}',
    address     TEXT NOT NULL DEFAULT ''
)
"""

# Owners (issue 13): owner, the user who queued the task (the Gradio login, or the REST API's
# HTTP Basic user; NULL without auth, and for tasks queued before v5). tasks_owner serves the
# tab's "Mine" filter and `GET /tasks?owner=`.
SCHEMA_V5 = """
ALTER TABLE tasks ADD COLUMN owner TEXT;
CREATE INDEX tasks_owner ON tasks(owner, status) WHERE owner IS NOT NULL
"""

# Input files kept in the store (issue 12): on a server store (PostgreSQL) the Forges on other
# machines read a task's init images, masks and ControlNet images from here (core/files.py);
# SQLite keeps the table, empty, so both schemas stay in step (the data folder is on one disk).
SCHEMA_V6 = """
CREATE TABLE input_files (
    name      TEXT PRIMARY KEY,
    content   BLOB NOT NULL,
    stored_at REAL NOT NULL
)
"""

# Result images kept in the store (issue 12): on a server store every machine's tab and API show
# a task's images from here (core/result_copies.py); empty on SQLite, kept in step.
SCHEMA_V7 = """
CREATE TABLE result_files (
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (task_id, idx)
)
"""

# MIGRATIONS[i] brings a file from user_version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda conn: run_script(conn, SCHEMA_V1),
    lambda conn: run_script(conn, SCHEMA_V2),
    _migrate_v3,
    lambda conn: run_script(conn, SCHEMA_V4),
    lambda conn: run_script(conn, SCHEMA_V5),
    lambda conn: run_script(conn, SCHEMA_V6),
    lambda conn: run_script(conn, SCHEMA_V7),
]
SCHEMA_VERSION = len(MIGRATIONS)
