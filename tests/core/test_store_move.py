"""Moving a queue from its SQLite file to another store (task_scheduler/store/move.py): every
task with every field, the run order, the queue's meta and owed callbacks, the input files; all
or nothing; and the command's exit codes and messages. Tests marked `backends` move into a
SQLite file and into a throw-away PostgreSQL schema (tests/backends.py)."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from task_scheduler.core.files import FileStore
from task_scheduler.core.models import SHUTDOWN_ERROR, Task, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.store import open_store
from task_scheduler.store.move import (
    EXIT_DEST,
    EXIT_REFUSED,
    EXIT_SOURCE,
    EXIT_USAGE,
    MoveError,
    move_queue,
    run,
)
from tests.fakes import api_params

ROOT = Path(__file__).resolve().parents[2]
DEAD_CLAIM = "gone-host:4242:dead0000:1"  # another machine's claim whose lease ran out
FILE_A, FILE_B = b"\x89PNG init image", b"mask bytes"


def build_source(folder: Path) -> dict[str, str]:
    """A queue of every kind of task, with files, meta and an owed callback; its ids by role."""
    queue = QueueManager(folder / "tasks.sqlite3", files_dir=folder / "inputs")
    files = FileStore(folder / "inputs")
    png, mask = files.put(FILE_A, "png"), files.put(FILE_B, "png")
    ids: dict[str, str] = {}
    try:
        done = queue.add_task(
            "txt2img", api_params("done ✓"), name="done", owner="alice", files=[png],
            checkpoint="sd15.safetensors", warnings=["a warning"],
        )  # fmt: skip
        assert queue.claim_next().id == done.id
        queue.update_task_status(
            done.id, "completed", result_images=["/out/a.png"], result_seeds=[42, 43],
            result_info="Steps: 20",
        )  # fmt: skip
        queue.set_fields(done.id, bookmarked=True, callback_status="delivered")
        bad = queue.add_task("img2img", api_params("bad"), callback_url="http://cb.invalid/x")
        assert queue.claim_next().id == bad.id
        queue.update_task_status(bad.id, "failed", error="boom")
        assert queue.owe_callback(bad.id, "finished", "http://cb.invalid/x", {"id": bad.id})
        gone = queue.add_task("txt2img", api_params("cancelled"))
        queue.cancel_task(gone.id)
        running = queue.add_task("txt2img", api_params("killed"), files=[mask])
        assert queue.claim_next().id == running.id
        with queue.store.transaction() as conn:  # its Forge died on another machine
            queue.store.set_claim(conn, running.id, DEAD_CLAIM, time.time() - 100)
        retry = queue.retry_task(bad.id)
        group = queue.add_tasks(
            [
                {"task_type": "txt2img", "params": api_params(f"g{i}"), "group_id": "grp1",
                 "checkpoint": ckpt, "files": [png, mask], "owner": "bob"}
                for i, ckpt in enumerate(("a.safetensors", "b.safetensors"))
            ]
        )  # fmt: skip
        later = queue.add_task("txt2img", api_params("later"), run_after=time.time() + 3600)
        urgent = queue.add_task("txt2img", api_params("urgent"), priority=-1, name="urgent")
        top = queue.add_task("txt2img", api_params("moved"))
        queue.move_task(top.id, to="top")
        with queue.store.transaction() as conn:
            queue.store.update(conn, later.id, {"passed_over": 2, "passed_over_since": 5.5})
        imported = Task("txt2img", api_params("imported"), status=TaskStatus.COMPLETED)
        queue.add_imported([("agent-scheduler:abc", imported)])
        queue.worker_state = "running"
        queue.store.set_meta("schedule", '{"windows": [{"start": "01:00", "end": "07:00"}]}')
        ids.update(
            done=done.id, bad=bad.id, gone=gone.id, running=running.id, retry=retry.id,
            g0=group[0].id, g1=group[1].id, later=later.id, urgent=urgent.id, top=top.id,
            imported=imported.id, png=png, mask=mask,
        )  # fmt: skip
    finally:
        queue.close()
    return ids


def snapshot(location) -> dict:
    """Everything the move carries, read through the store's verbs."""
    store = open_store(location)
    try:
        tasks = store.get_many(sorted(store.matching_ids([s.value for s in TaskStatus], None)))
        order = [c.id for c in store.ready_candidates(-1)] + [c.id for c in store.held_candidates()]
        return {
            "tasks": {t.id: t for t in tasks},
            "order": order,
            "claims": store.claims(),
            "meta": store.meta_with_prefix(""),
            "outbox": store.outbox_export(),
        }
    finally:
        store.close()


@pytest.fixture
def source(tmp_path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "source"
    return folder / "tasks.sqlite3", build_source(folder)


@pytest.mark.backends
def test_every_task_field_the_run_order_meta_callbacks_and_files_are_moved(
    source, db_path, backend, tmp_path
):
    path, ids = source
    before = snapshot(path)
    report = run(str(path), str(db_path), data_dir=str(tmp_path / "data"))
    after = snapshot(db_path)

    assert snapshot(path) == before  # the source is only read
    assert len(before["tasks"]) == 11
    assert report.moved == 11
    assert report.statuses == {"pending": 6, "completed": 2, "failed": 2, "cancelled": 1}
    assert report.interrupted == [ids["running"]]
    for task_id, task in before["tasks"].items():
        if task_id == ids["running"]:  # its Forge is gone: failed as a restart would fail it
            moved = after["tasks"][task_id]
            assert moved.status == TaskStatus.FAILED
            assert moved.error == SHUTDOWN_ERROR
            assert moved.completed_at >= moved.started_at
            task = dataclasses.replace(
                task,
                status=TaskStatus.FAILED,
                error=SHUTDOWN_ERROR,
                completed_at=moved.completed_at,
            )
        assert after["tasks"][task_id] == task, task_id  # every field of the Task dataclass
    assert after["order"] == before["order"]
    assert before["order"][:2] == [ids["top"], ids["urgent"]]  # top: before the urgent one
    assert before["order"][-1] == ids["later"]  # held: "not before" an hour from now
    assert after["claims"] == before["claims"]
    assert before["claims"][ids["running"]][0] == DEAD_CLAIM
    assert after["meta"] == before["meta"]
    assert set(before["meta"]) == {"worker_state", "schedule", "imported:agent-scheduler:abc"}
    assert after["outbox"] == before["outbox"]
    assert len(before["outbox"]) == 1
    assert after["tasks"][ids["g1"]].group_id == "grp1"
    copied = tmp_path / "data" / "inputs"
    assert (copied / ids["png"]).read_bytes() == FILE_A
    assert (copied / ids["mask"]).read_bytes() == FILE_B
    assert sorted(os.listdir(copied)) == sorted([ids["png"], ids["mask"]])
    assert report.files == 2
    assert report.files_copied == 2
    # the moved queue works: the next task claimed from the destination is the first in order
    queue = QueueManager(db_path, files_dir=copied)
    try:
        assert queue.claim_next().id == ids["top"]
    finally:
        queue.close()
    if backend == "postgresql":  # a server also keeps the files, for Forges on other machines
        elsewhere = QueueManager(db_path, files_dir=tmp_path / "other-machine")
        try:
            assert elsewhere.files.read(ids["png"]) == FILE_A
            assert elsewhere.files.read(ids["mask"]) == FILE_B
        finally:
            elsewhere.close()


@pytest.mark.backends
def test_a_failure_midway_stores_nothing_and_removes_the_copied_files(source, db_path, tmp_path):
    path, ids = source
    src, dest = open_store(path), open_store(db_path)
    real_insert, calls = dest.insert, []

    def insert(conn, task):  # the 5th task: a duplicate id, refused by the database itself
        calls.append(task.id)
        if len(calls) == 5:
            real_insert(conn, dataclasses.replace(task, id=calls[0]))
        real_insert(conn, task)

    dest.insert = insert
    copied = tmp_path / "data" / "inputs"
    try:
        with pytest.raises(Exception) as raised:
            move_queue(src, dest, str(path.parent / "inputs"), str(copied))
        assert "duplicate" in str(raised.value).lower() or "unique" in str(raised.value).lower()
        assert len(calls) == 5
    finally:
        src.close()
        dest.close()
    after = snapshot(db_path)
    assert after["tasks"] == {}
    assert after["meta"] == {}
    assert after["outbox"] == []
    assert os.listdir(copied) == []  # the files this move wrote are gone again
    # nothing half-done: the same move then succeeds whole
    assert run(str(path), str(db_path)).moved == 11
    assert len(snapshot(db_path)["tasks"]) == 11


@pytest.mark.backends
def test_a_destination_with_tasks_is_refused_unless_merge(source, db_path, tmp_path):
    path, ids = source
    queue = QueueManager(db_path)
    try:
        own = queue.add_task("txt2img", api_params("already there"))
        queue.worker_state = "stopped"
    finally:
        queue.close()
    with pytest.raises(MoveError) as refused:
        run(str(path), str(db_path))
    assert refused.value.code == EXIT_REFUSED
    assert "already holds 1 task" in str(refused.value)
    assert set(snapshot(db_path)["tasks"]) == {own.id}

    report = run(str(path), str(db_path), merge=True)
    assert report.moved == 11
    assert report.skipped == []
    assert report.meta_kept == 1
    after = snapshot(db_path)
    assert after["meta"]["worker_state"] == "stopped"  # the destination's own setting stays
    # the moved pending tasks keep their order and priority, and queue after the destination's
    # own in each priority: the two of priority -1 first, then its own, then the moved rest
    moved_order = snapshot(path)["order"]
    assert after["order"] == [*moved_order[:2], own.id, *moved_order[2:]]
    again = run(str(path), str(db_path), merge=True)  # a second merge adds nothing twice
    assert again.moved == 0
    assert len(again.skipped) == 11


@pytest.mark.backends
def test_a_nul_in_a_name_is_moved_as_the_destination_stores_it(db_path, backend, tmp_path):
    source = tmp_path / "source" / "tasks.sqlite3"
    queue = QueueManager(source)
    try:
        task = queue.add_task("txt2img", api_params("a\x00b"), name="left\x00right")
    finally:
        queue.close()
    report = run(str(source), str(db_path))
    moved = snapshot(db_path)["tasks"][task.id]
    assert moved.params == task.params  # JSON keeps it as \u0000
    if backend == "sqlite":
        assert moved.name == "left\x00right"
        assert report.nul_replaced == []
    else:  # PostgreSQL text cannot hold NUL: stored as U+FFFD, said in the report
        assert moved.name == "left\ufffdright"
        assert report.nul_replaced == [task.id]
        assert "stored as U+FFFD" in "\n".join(report.lines())


def test_a_running_task_under_a_live_claim_refuses_the_move(tmp_path):
    folder = tmp_path / "live"
    queue = QueueManager(folder / "tasks.sqlite3")
    try:
        task = queue.add_task("txt2img", api_params())
        assert queue.claim_next().id == task.id  # this process runs it: alive
        with pytest.raises(MoveError) as refused:
            run(str(folder / "tasks.sqlite3"), str(tmp_path / "dest.sqlite3"))
    finally:
        queue.close()
    assert refused.value.code == EXIT_REFUSED
    assert f"task {task.id} is running" in str(refused.value)
    assert not (tmp_path / "dest.sqlite3").exists()  # refused before the destination is opened


# -- the command line --------------------------------------------------------------------------


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "task_scheduler.store.move", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.backends
def test_the_command_moves_and_reports(source, db_path, tmp_path):
    path, ids = source
    dry = command(path, db_path, "--dry-run", "--data-dir", tmp_path / "data")
    assert dry.returncode == 0, dry.stderr
    assert "would move 11 task(s) (6 pending, 2 completed, 2 failed, 1 cancelled)" in dry.stdout
    assert "would copy 2 to" in dry.stdout
    assert not (tmp_path / "data").exists()
    assert snapshot(db_path)["tasks"] == {}

    done = command(path, db_path)
    assert done.returncode == 0, done.stderr
    assert "moved 11 task(s) (6 pending, 2 completed, 2 failed, 1 cancelled)" in done.stdout
    assert "3 setting(s), 1 owed callback(s)" in done.stdout
    assert "1 task(s) were running when Forge stopped: moved as failed" in done.stdout
    assert f"left in {path.parent / 'inputs'}" in done.stdout
    assert "checked: every moved task reads back" in done.stdout
    assert len(snapshot(db_path)["tasks"]) == 11

    again = command(path, db_path)
    assert again.returncode == EXIT_REFUSED
    assert "already holds 11 task(s); nothing was moved" in again.stderr


def test_command_exit_codes_and_messages(tmp_path):
    dest = tmp_path / "dest.sqlite3"
    cases = []
    missing = command(tmp_path / "nope.sqlite3", dest)
    cases.append((missing, EXIT_SOURCE, "nope.sqlite3: no such file"))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cases.append((command(text, dest), EXIT_SOURCE, "is not a SQLite database"))
    other = tmp_path / "other.sqlite3"  # another program's database: never given our tables
    sqlite3.connect(other).execute("CREATE TABLE photos (id INTEGER)").connection.commit()
    cases.append((command(other, dest), EXIT_SOURCE, "is not a task scheduler queue"))
    cases.append((command(tmp_path, dest), EXIT_SOURCE, "is a folder"))
    QueueManager(tmp_path / "tasks.sqlite3").close()
    source = tmp_path / "tasks.sqlite3"
    cases.append((command(source, source), EXIT_USAGE, "SOURCE and DEST are the same file"))
    cases.append((command(source, "mysql://db/x"), EXIT_USAGE, "is not a postgresql:// URL"))
    bad_url = "postgresql://forge:s3cret@[broken/queue"
    cases.append((command(source, bad_url), EXIT_USAGE, "cannot be used as the destination"))
    refused = "postgresql://forge:s3cret@127.0.0.1:9/queue"  # port 9: nobody listens
    cases.append((command(source, refused), EXIT_DEST, "127.0.0.1:9/queue cannot be reached"))
    for result, code, message in cases:
        assert result.returncode == code, (result.args, result.stdout, result.stderr)
        assert message in result.stderr, (result.args, result.stderr)
        assert "s3cret" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [
        ("photos",)
    ]
    assert not dest.exists()


def test_a_source_another_process_holds_open_is_refused(tmp_path):
    source = tmp_path / "tasks.sqlite3"
    QueueManager(source).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('SELECT 1 FROM tasks').fetchall(); print('open', flush=True); time.sleep(60)",
         str(source)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        result = command(source, tmp_path / "dest.sqlite3")
    finally:
        holder.kill()
        holder.wait()
    if not sys.platform.startswith("linux"):
        pytest.skip("who holds a file open is seen on Linux only")
    assert result.returncode == EXIT_REFUSED, result.stderr
    assert f"is open in another process ({holder.pid} (" in result.stderr
    assert "stop every Forge using it" in result.stderr
