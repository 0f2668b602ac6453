"""The store keeps every field, migrates safely and refuses data it does not understand (the
tests marked `backends` on SQLite and on PostgreSQL; the others are SQLite's own)."""

from __future__ import annotations

import sqlite3

import pytest

from task_scheduler.core.models import SchemaVersionError, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.store import postgres_schema
from task_scheduler.store import sqlite as db_module
from task_scheduler.store.contract import is_server_url
from task_scheduler.store.sqlite import TaskStore
from tests.fakes import api_params


@pytest.mark.backends
def test_every_field_round_trips_and_survives_reopening(db_path, tmp_path):
    prompt = "un chat 🐈 — 猫, «ü» \u200b" + "x" * 10
    big = {"source": "ui", "inputs": {"prompt": prompt, "blob": "y" * 2_000_000}}
    script_args = {"selected": "X/Y/Z plot", "scripts": {"Sampler": [20, "Euler a", "Karras"]}}
    queue = QueueManager(db_path, files_dir=tmp_path / "inputs")
    (tmp_path / "inputs" / ("a" * 64 + ".png")).write_bytes(b"an input file")
    task = queue.add_task(
        "img2img",
        big,
        name="ナイト",
        priority=3,
        checkpoint="model.safetensors [abc]",
        script_args=script_args,
        callback_url="http://127.0.0.1:9/cb",
        warnings=["script Foo is gone"],
        files=["a" * 64 + ".png"],
    )
    queue.update_task_status(task.id, "running")
    queue.update_task_status(
        task.id,
        "completed",
        result_images=["/out/1.png", "/out/2.png"],
        result_info="Steps: 20, Seed: 5",
        result_seeds=[5, 6],
    )
    queue.set_fields(task.id, bookmarked=True, callback_status="delivered")
    queue.close()

    reopened = QueueManager(db_path).get_task(task.id)
    assert reopened.params == big
    assert reopened.script_args == script_args
    assert (reopened.task_type, reopened.name, reopened.priority) == ("img2img", "ナイト", 3)
    assert reopened.checkpoint == "model.safetensors [abc]"
    assert reopened.status is TaskStatus.COMPLETED
    assert reopened.result_images == ["/out/1.png", "/out/2.png"]
    assert reopened.result_info == "Steps: 20, Seed: 5"
    assert reopened.result_seeds == [5, 6]
    assert reopened.warnings == ["script Foo is gone"]
    assert reopened.files == ["a" * 64 + ".png"]
    assert reopened.callback_url == "http://127.0.0.1:9/cb"
    assert reopened.callback_status == "delivered"
    assert reopened.bookmarked is True
    assert reopened.error is None
    assert reopened.created_at <= reopened.started_at <= reopened.completed_at


def test_a_transaction_whose_commit_fails_is_rolled_back_and_the_next_one_works(db_path):
    store = TaskStore(db_path)
    store.conn.execute(
        "CREATE TABLE probe (task_id TEXT REFERENCES tasks(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("INSERT INTO probe VALUES ('no such task')")  # fails only at COMMIT
    assert not store.conn.in_transaction
    assert store.conn.execute("SELECT COUNT(*) FROM probe").fetchone()[0] == 0
    with store.transaction() as conn:
        store.set_meta("after", "ok")
    assert store.get_meta("after") == "ok"
    store.close()


def test_new_file_uses_wal_and_the_current_schema(db_path):
    store = TaskStore(db_path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version() == db_module.SCHEMA_VERSION


def test_migrations_are_idempotent(db_path):
    store = TaskStore(db_path)
    tables = store.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert store.migrate() == db_module.SCHEMA_VERSION
    assert store.migrate() == db_module.SCHEMA_VERSION
    assert TaskStore(db_path).schema_version() == db_module.SCHEMA_VERSION
    assert store.conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == tables


@pytest.mark.backends
def test_a_nul_character_in_a_name_or_prompt_is_stored_without_failing(db_path):
    queue = QueueManager(db_path)
    task = queue.add_task("txt2img", api_params("a\x00b"), name="n\x00m")
    stored = queue.get_task(task.id)
    assert stored.params == api_params("a\x00b")  # JSON keeps it (as \u0000)
    assert stored.name in ("n\x00m", "n\ufffdm")  # PostgreSQL text cannot hold NUL
    assert queue.list_tasks(search="n").total == 1


@pytest.mark.backends
def test_migrating_again_and_reopening_change_nothing(db_path):
    queue = QueueManager(db_path)
    before = _columns(queue)
    migrations = _migrations(db_path)
    assert queue.store.migrate() == len(migrations)
    assert queue.store.migrate() == len(migrations)
    reopened = QueueManager(db_path)
    assert reopened.store.schema_version() == len(migrations)
    assert _columns(reopened) == before


@pytest.mark.backends
def test_a_failing_migration_changes_nothing(db_path):
    queue = QueueManager(db_path)
    queue.add_task("txt2img", api_params("keep me"))
    before = _contents(queue)

    def broken(conn) -> None:
        conn.execute("ALTER TABLE tasks ADD COLUMN extra TEXT")
        conn.execute("UPDATE tasks SET name = 'half-migrated'")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        queue.store.migrate([*_migrations(db_path), broken])
    assert _contents(queue) == before
    assert queue.store.schema_version() == len(_migrations(db_path))
    if not is_server_url(db_path):
        assert _dump(db_path)[0] == f"version {db_module.SCHEMA_VERSION}"


@pytest.mark.backends
def test_a_later_migration_applies_once_and_keeps_data(db_path):
    queue = QueueManager(db_path)
    task = queue.add_task("txt2img", api_params("survivor"))
    added = [*_migrations(db_path), lambda c: c.execute("ALTER TABLE tasks ADD COLUMN note TEXT")]
    assert queue.store.migrate(added) == len(added)
    assert queue.store.migrate(added) == len(added)  # second run: nothing to do, no error
    assert queue.get_task(task.id).params["payload"]["prompt"] == "survivor"


def test_a_file_from_a_newer_version_is_refused_untouched(db_path):
    TaskStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {db_module.SCHEMA_VERSION + 1}")
    conn.close()
    before = _dump(db_path)
    with pytest.raises(SchemaVersionError, match="newer|only knows"):
        QueueManager(db_path)
    assert _dump(db_path) == before


def test_the_claim_query_reads_the_pending_index_not_history(queue):
    store = queue.store
    plan = _plan(
        queue, f"{store._select} {store._pending()} ORDER BY t.priority, t.position LIMIT 1"
    )
    assert "USING INDEX tasks_pending_order" in plan
    assert "TEMP B-TREE" not in plan


def test_the_claim_reads_a_bounded_window_of_the_ready_index_without_sorting(queue):
    plan = _plan_of_statement(queue, lambda: queue.store.ready_candidates(32))
    assert "USING INDEX tasks_ready" in plan
    assert "TEMP B-TREE" not in plan


def test_the_claim_releases_tasks_for_later_through_their_index(queue):
    plan = _plan_of_statement(queue, lambda: queue.store.release_due(queue.store.conn, 5))
    assert "USING INDEX tasks_held (run_after<?)" in plan
    assert "SCAN" not in plan


def test_the_history_listing_reads_its_index_without_sorting(queue):
    history = ["completed", "failed", "cancelled"]
    plan = _plan_of_statement(
        queue, lambda: queue.store.select_tasks(history, None, "finished", 50)
    )
    assert "USING INDEX tasks_history" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.backends
def test_a_store_of_a_newer_schema_version_is_refused(db_path):
    queue = QueueManager(db_path)
    task = queue.add_task("txt2img", api_params("from the future"))
    newer = [*_migrations(db_path), lambda c: c.execute("ALTER TABLE tasks ADD COLUMN x TEXT")]
    queue.store.migrate(newer)
    queue.close()
    with pytest.raises(SchemaVersionError, match="only knows up to"):
        QueueManager(db_path)
    assert queue.store.schema_version() == len(newer)  # left as it was: nothing undone
    assert queue.get_task(task.id).params == api_params("from the future")


def _migrations(location) -> list:
    return (postgres_schema if is_server_url(location) else db_module).MIGRATIONS


def _columns(queue: QueueManager) -> list[str]:
    cursor = queue.store.conn.execute("SELECT * FROM tasks LIMIT 0")
    return [column[0] for column in cursor.description]


def _contents(queue: QueueManager) -> tuple:
    tasks = queue.list_tasks(limit=1000).tasks
    return queue.store.schema_version(), _columns(queue), [(t.id, t.name) for t in tasks]


def _plan_of_statement(queue: QueueManager, verb) -> str:
    """The query plan of the statement `verb` runs (its bound values written in)."""
    statements: list[str] = []
    queue.store.conn.set_trace_callback(statements.append)
    try:
        verb()
    finally:
        queue.store.conn.set_trace_callback(None)
    return _plan(queue, statements[-1])


def _plan(queue: QueueManager, sql: str) -> str:
    rows = queue.store.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    return "\n".join(row[-1] for row in rows)


def _dump(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return [f"version {version}", *conn.iterdump()]
    finally:
        conn.close()
