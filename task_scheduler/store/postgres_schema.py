"""The PostgreSQL schema, version by version, numbered as SQLite's (schema.py).

The version lives in the one-row table `task_scheduler_schema` (SQLite keeps it in `PRAGMA
user_version`); PostgresStore.migrate applies MIGRATIONS[i] to bring it from i to i + 1, each in
one transaction. Same tables and columns as SQLite, in PostgreSQL's types (REAL is DOUBLE
PRECISION; flags stay 0/1 integers so both back-ends run the same SQL). Every change to `tasks`
or `meta` notifies the channel `task_scheduler_<schema>` (PostgresStore.wait_for_change).
Each step is a list of statements (a function body holds semicolons: no script splitting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VERSION_TABLE = "task_scheduler_schema"

V1 = [
    """CREATE TABLE tasks (
        id              TEXT PRIMARY KEY,
        task_type       TEXT NOT NULL,
        status          TEXT NOT NULL,
        priority        INTEGER NOT NULL DEFAULT 0,
        position        DOUBLE PRECISION NOT NULL,
        name            TEXT NOT NULL DEFAULT '',
        checkpoint      TEXT NOT NULL DEFAULT '',
        params          TEXT NOT NULL,
        script_args     TEXT NOT NULL DEFAULT '{}',
        search_text     TEXT NOT NULL DEFAULT '',
        created_at      DOUBLE PRECISION NOT NULL,
        started_at      DOUBLE PRECISION,
        completed_at    DOUBLE PRECISION,
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
    )""",
    "CREATE INDEX tasks_pending_order ON tasks(priority, position) WHERE status = 'pending'",
    "CREATE INDEX tasks_status_finished ON tasks(status, completed_at)",
    """CREATE INDEX tasks_history ON tasks(completed_at, created_at)
        WHERE status IN ('completed', 'failed', 'cancelled')""",
    "CREATE INDEX tasks_position ON tasks(position)",
    """CREATE TABLE task_files (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        name    TEXT NOT NULL,
        PRIMARY KEY (task_id, name)
    )""",
    "CREATE INDEX task_files_name ON task_files(name)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # One notification per changing statement, sent at commit (duplicates folded by the server).
    """CREATE FUNCTION task_scheduler_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('task_scheduler_' || TG_TABLE_SCHEMA, '');
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tasks_changed AFTER INSERT OR UPDATE OR DELETE ON tasks
        FOR EACH STATEMENT EXECUTE FUNCTION task_scheduler_changed()""",
    """CREATE TRIGGER meta_changed AFTER INSERT OR UPDATE OR DELETE ON meta
        FOR EACH STATEMENT EXECUTE FUNCTION task_scheduler_changed()""",
]

V2 = [
    """CREATE TABLE callback_outbox (
        task_id         TEXT NOT NULL,
        event           TEXT NOT NULL,
        url             TEXT NOT NULL,
        body            TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        last_error      TEXT NOT NULL DEFAULT '',
        created_at      DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (task_id, event)
    )""",
    "CREATE INDEX callback_outbox_due ON callback_outbox(next_attempt_at)",
]

# A PostgreSQL store starts at the newest version, so SQLite's v3 data step (setup keys of
# pending tasks written before v3) has nothing to do here.
V3 = [
    "ALTER TABLE tasks ADD COLUMN run_after DOUBLE PRECISION",
    "ALTER TABLE tasks ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tasks ADD COLUMN setup TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE tasks ADD COLUMN placed_by_hand INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tasks ADD COLUMN passed_over INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE tasks ADD COLUMN passed_over_since DOUBLE PRECISION",
    "ALTER TABLE tasks ADD COLUMN group_id TEXT",
    """CREATE INDEX tasks_ready ON tasks(priority, position)
        WHERE status = 'pending' AND held = 0""",
    "CREATE INDEX tasks_held ON tasks(run_after) WHERE status = 'pending' AND held = 1",
    "CREATE INDEX tasks_group ON tasks(group_id) WHERE group_id IS NOT NULL",
]


# Several instances (issue 12): who runs a task and until when its lease holds; the
# instances serving the queue (core/instances.py, store/instance_verbs.py).
V4 = [
    "ALTER TABLE tasks ADD COLUMN instance TEXT",
    "ALTER TABLE tasks ADD COLUMN lease_until DOUBLE PRECISION",
    "CREATE INDEX tasks_lease ON tasks(lease_until) WHERE status = 'running'",
    """CREATE TABLE instances (
        name        TEXT PRIMARY KEY,
        claimed_by  TEXT NOT NULL DEFAULT '',
        started_at  DOUBLE PRECISION NOT NULL,
        seen_at     DOUBLE PRECISION NOT NULL,
        lease_until DOUBLE PRECISION NOT NULL,
        resources   TEXT NOT NULL DEFAULT '{}',
        address     TEXT NOT NULL DEFAULT ''
    )""",
]

# Owners (issue 13): the user who queued the task (schema.py SCHEMA_V5).
V5 = [
    "ALTER TABLE tasks ADD COLUMN owner TEXT",
    "CREATE INDEX tasks_owner ON tasks(owner, status) WHERE owner IS NOT NULL",
]


# Input files in the store (schema.py SCHEMA_V6): any machine's Forge reads them from here.
V6 = [
    """CREATE TABLE input_files (
        name      TEXT PRIMARY KEY,
        content   BYTEA NOT NULL,
        stored_at DOUBLE PRECISION NOT NULL
    )""",
]

# Result images in the store (schema.py SCHEMA_V7): every machine's tab and API read them here.
V7 = [
    """CREATE TABLE result_files (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        idx     INTEGER NOT NULL,
        content BYTEA NOT NULL,
        PRIMARY KEY (task_id, idx)
    )""",
]


def _steps(statements: list[str]) -> Callable[[Any], None]:
    def migrate(conn: Any) -> None:
        for statement in statements:
            conn.execute(statement)

    return migrate


# MIGRATIONS[i] brings a database from version i to i + 1. Append only, in step with schema.py.
MIGRATIONS: list[Callable[[Any], None]] = [
    _steps(V1),
    _steps(V2),
    _steps(V3),
    _steps(V4),
    _steps(V5),
    _steps(V6),
    _steps(V7),
]
SCHEMA_VERSION = len(MIGRATIONS)
