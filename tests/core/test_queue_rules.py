"""The queue's verbs keep their promises: run order, moves, guarded status changes, history."""

from __future__ import annotations

import os
import threading
import time

import pytest

from task_scheduler.core.files import FileStore
from task_scheduler.core.models import SHUTDOWN_ERROR, TaskNotFoundError, TaskStateError, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params

pytestmark = pytest.mark.backends  # every test here runs on SQLite and on PostgreSQL


def prompts(tasks) -> list[str]:
    return [t.params["payload"]["prompt"] for t in tasks]


def add(queue, *names, **fields):
    return [queue.add_task("txt2img", api_params(name), **fields) for name in names]


def test_pending_tasks_run_first_in_first_out(queue):
    add(queue, "a", "b", "c")
    assert prompts(queue.get_pending_tasks()) == ["a", "b", "c"]
    assert prompts([queue.claim_next(), queue.claim_next()]) == ["a", "b"]


def test_lower_priority_number_runs_first_and_keeps_fifo_within_a_priority(queue):
    add(queue, "late1", priority=5)
    add(queue, "urgent1", priority=-1)
    add(queue, "normal")
    add(queue, "urgent2", priority=-1)
    expected = ["urgent1", "urgent2", "normal", "late1"]
    assert prompts(queue.get_pending_tasks()) == expected


def test_add_to_front_runs_next(queue):
    add(queue, "a", "b")
    queue.add_task("txt2img", api_params("jump"), front=True)
    assert prompts(queue.get_pending_tasks()) == ["jump", "a", "b"]


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ({"to": "top"}, ["c", "a", "b", "d"]),
        ({"to": "bottom"}, ["a", "b", "d", "c"]),
        ({"to": "up"}, ["a", "c", "b", "d"]),
        ({"to": "down"}, ["a", "b", "d", "c"]),
        ({"before": "a"}, ["c", "a", "b", "d"]),
        ({"before": "b"}, ["a", "c", "b", "d"]),
        ({"before": "d"}, ["a", "b", "c", "d"]),
    ],
)
def test_moves_change_only_the_moved_tasks_place(queue, move, expected):
    tasks = dict(zip("abcd", add(queue, *"abcd"), strict=True))
    if "before" in move:
        move = {"before": tasks[move["before"]].id}
    queue.move_task(tasks["c"].id, **move)
    assert prompts(queue.get_pending_tasks()) == expected


def test_moving_across_priorities_takes_the_priority_of_the_new_place(queue):
    first = add(queue, "first", priority=-5)[0]
    last = add(queue, "last", priority=9)[0]
    queue.move_task(last.id, before=first.id)
    assert prompts(queue.get_pending_tasks()) == ["last", "first"]
    assert queue.get_task(last.id).priority == -5


def test_moves_at_the_edges_are_harmless(queue):
    a, b = add(queue, "a", "b")
    queue.move_task(a.id, to="up")
    queue.move_task(b.id, to="down")
    queue.move_task(a.id, to="top")
    queue.move_task(b.id, to="bottom")
    assert prompts(queue.get_pending_tasks()) == ["a", "b"]


def test_many_moves_into_the_same_gap_keep_a_correct_order(queue):
    a, b = add(queue, "a", "b")
    movers = add(queue, *[f"m{i}" for i in range(80)])
    for mover in movers:  # each lands right before b: the gap halves 80 times
        queue.move_task(mover.id, before=b.id)
    expected = ["a"] + [f"m{i}" for i in range(80)] + ["b"]
    assert prompts(queue.get_pending_tasks()) == expected


def test_reorder_sets_priority_and_queues_last_within_it(queue):
    a, _b, _c = add(queue, "a", "b", "c")
    queue.reorder_task(a.id, 0)
    assert prompts(queue.get_pending_tasks()) == ["b", "c", "a"]
    queue.reorder_task(a.id, -1)
    assert prompts(queue.get_pending_tasks()) == ["a", "b", "c"]


def test_position_counts_from_one_in_run_order(queue):
    a, b, c = add(queue, "a", "b", "c")
    assert [queue.position(t.id) for t in (a, b, c)] == [1, 2, 3]
    queue.claim_next()
    assert queue.position(a.id) is None
    assert queue.position(c.id) == 2


def test_a_finished_task_cannot_run_again(queue):
    (task,) = add(queue, "once")
    queue.claim_next()
    queue.update_task_status(task.id, "completed")
    with pytest.raises(TaskStateError) as caught:
        queue.update_task_status(task.id, "running")
    message = str(caught.value)
    assert task.id in message
    assert "completed" in message
    assert "running" in message


def test_a_running_task_cannot_be_deleted_edited_or_moved(queue):
    (task,) = add(queue, "busy")
    queue.claim_next()
    for action in (
        lambda: queue.delete_task(task.id),
        lambda: queue.edit_task(task.id, name="x"),
        lambda: queue.move_task(task.id, to="top"),
        lambda: queue.retry_task(task.id),
    ):
        with pytest.raises(TaskStateError, match="running"):
            action()
    assert queue.get_task(task.id).status is TaskStatus.RUNNING


def test_unknown_ids_raise_not_found(queue):
    for action in (queue.cancel_task, queue.delete_task, queue.retry_task, queue.require_task):
        with pytest.raises(TaskNotFoundError, match="nope"):
            action("nope")


def test_cancel_of_a_pending_task_is_final(queue):
    (task,) = add(queue, "x")
    assert queue.cancel_task(task.id).status is TaskStatus.CANCELLED
    assert queue.claim_next() is None
    with pytest.raises(TaskStateError):
        queue.cancel_task(task.id)


def test_cancel_of_the_running_task_asks_the_worker(queue):
    (task,) = add(queue, "x")
    events = []
    queue.subscribe(lambda event, task_id: events.append((event, task_id)))
    queue.claim_next()
    cancelled = queue.cancel_task(task.id)
    assert cancelled.status is TaskStatus.RUNNING
    assert cancelled.cancel_requested
    assert ("cancel_requested", task.id) in events


def test_retry_makes_a_linked_pending_copy_and_keeps_the_original(queue):
    (task,) = add(queue, "flaky", name="nightly", priority=2, checkpoint="a.safetensors")
    queue.claim_next()
    queue.update_task_status(task.id, "failed", error="boom")
    retry = queue.retry_task(task.id)
    assert retry.id != task.id
    assert retry.retried_from == task.id
    assert retry.status is TaskStatus.PENDING
    assert (retry.params, retry.name, retry.priority, retry.checkpoint) == (
        task.params,
        "nightly",
        2,
        "a.safetensors",
    )
    original = queue.get_task(task.id)
    assert (original.status, original.error) == (TaskStatus.FAILED, "boom")


def test_a_pending_task_cannot_be_retried(queue):
    (task,) = add(queue, "x")
    with pytest.raises(TaskStateError, match="pending"):
        queue.retry_task(task.id)


def test_retry_failed_retries_each_failure_once(queue):
    ok, bad1, bad2 = add(queue, "ok", "bad1", "bad2")
    for task, status in ((ok, "completed"), (bad1, "failed"), (bad2, "failed")):
        queue.update_task_status(task.id, "running")
        queue.update_task_status(task.id, status)
    first = queue.retry_failed()
    assert sorted(t.retried_from for t in first) == sorted([bad1.id, bad2.id])
    assert queue.retry_failed() == []  # already retried: no loop on a task that always fails


def test_concurrent_retry_failed_calls_retry_each_failure_exactly_once(queue):
    failed = add(queue, *(f"bad{i}" for i in range(100)))
    for task in failed:
        queue.update_task_status(task.id, "running")
        queue.update_task_status(task.id, "failed")
    barrier = threading.Barrier(4)
    results: list[list] = []

    def retry_all():
        barrier.wait()
        results.append(queue.retry_failed())

    threads = [threading.Thread(target=retry_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    retried = [task.retried_from for batch in results for task in batch]
    assert sorted(retried) == sorted(task.id for task in failed)
    assert queue.counts()["pending"] == 100


def test_edit_changes_a_pending_task_only(queue):
    (task,) = add(queue, "old")
    edited = queue.edit_task(task.id, name="new name", params=api_params("new"), priority=4)
    assert (edited.name, edited.priority) == ("new name", 4)
    assert queue.list_tasks(search="new").total == 1
    with pytest.raises(ValueError, match="status"):
        queue.edit_task(task.id, status="completed")


def test_list_filters_by_status_searches_and_pages_with_a_total(queue):
    tasks = add(queue, *[f"cat {i}" for i in range(7)], *[f"dog {i}" for i in range(5)])
    queue.claim_next()
    queue.update_task_status(tasks[0].id, "completed")
    page = queue.list_tasks(search="CAT", limit=3, offset=0)
    assert page.total == 7
    assert prompts(page.tasks) == ["cat 1", "cat 2", "cat 3"]
    assert prompts(queue.list_tasks(search="cat", limit=3, offset=6).tasks) == ["cat 0"]
    assert queue.list_tasks(statuses=["completed"]).total == 1
    assert queue.list_tasks(statuses=["pending"], search="dog").total == 5
    assert queue.list_tasks(search="%").total == 0
    assert queue.list_tasks(search="_").total == 0


def test_listing_shows_running_then_pending_then_newest_history(queue):
    done1, done2, running, waiting = add(queue, "done1", "done2", "running", "waiting")
    for task in (done1, done2):
        queue.update_task_status(task.id, "running")
        queue.update_task_status(task.id, "completed")
    queue.claim_next()
    assert prompts(queue.list_tasks().tasks) == ["running", "waiting", "done2", "done1"]


def test_counts_per_status(queue):
    a, _b, c = add(queue, "a", "b", "c")
    queue.claim_next()
    queue.cancel_task(c.id)
    counts = queue.counts()
    assert counts == {"pending": 1, "running": 1, "completed": 0, "failed": 0, "cancelled": 1}
    assert queue.get_task(a.id).status is TaskStatus.RUNNING


def test_clear_completed_keeps_bookmarked_and_unfinished(queue):
    keep, gone, failed, pending = add(queue, "keep", "gone", "failed", "pending")
    for task, status in ((keep, "completed"), (gone, "completed"), (failed, "failed")):
        queue.update_task_status(task.id, "running")
        queue.update_task_status(task.id, status)
    queue.set_fields(keep.id, bookmarked=True)
    assert queue.clear_completed() == 1
    assert queue.get_task(gone.id) is None
    assert all(queue.get_task(t.id) for t in (keep, failed, pending))


def test_prune_history_keeps_named_and_bookmarked(queue):
    old, named, marked = add(queue, "old", "named", "marked")
    queue.edit_task(named.id, name="keeper")
    for task in (old, named, marked):
        queue.update_task_status(task.id, "running")
        queue.update_task_status(task.id, "completed", completed_at=time.time() - 10 * 86400)
    queue.set_fields(marked.id, bookmarked=True)
    assert queue.prune_history(older_than_seconds=7 * 86400) == 1
    assert queue.get_task(old.id) is None


def test_deleting_removes_input_files_no_other_task_uses(tmp_path):
    files = FileStore(tmp_path / "inputs")
    queue = QueueManager(tmp_path / "q.sqlite3", files_dir=files.root)
    shared, own = files.put(b"shared image", "png"), files.put(b"own image", "png")
    first = queue.add_task("img2img", api_params("1"), files=[shared, own])
    second = queue.add_task("img2img", api_params("2"), files=[shared])
    queue.delete_task(first.id)
    assert files.exists(shared)
    assert not files.exists(own)
    queue.cancel_task(second.id)
    retry = queue.retry_task(second.id)
    assert retry.files == [shared]
    queue.delete_task(second.id)
    assert files.exists(shared)  # the retry still needs it
    queue.delete_task(retry.id)
    assert not files.exists(shared)
    assert os.listdir(files.root) == []


@pytest.mark.parametrize("name", ["../evil.png", "/etc/passwd", "a/b.png", "..", "C:x.png", ""])
def test_input_file_names_cannot_point_outside_the_data_folder(queue, name):
    with pytest.raises(ValueError, match="files"):
        queue.add_task("img2img", api_params(), files=[name])
    assert queue.counts()["pending"] == 0


def test_invalid_new_tasks_are_rejected_and_nothing_is_stored(queue):
    with pytest.raises(ValueError, match="task_type"):
        queue.add_task("video", api_params())
    with pytest.raises(ValueError, match="priority"):
        queue.add_task("txt2img", api_params(), priority="high")
    with pytest.raises(ValueError, match="status"):
        queue.add_task("txt2img", api_params(), status="completed")
    assert queue.list_tasks().total == 0


def test_running_tasks_of_a_dead_process_fail_with_the_shutdown_error(db_path):
    queue = QueueManager(db_path)
    a, b, c = add(queue, "a", "b", "c")
    queue.claim_next()
    # Pretend the claim was made by a process that has since died.
    queue.store.conn.execute(
        "UPDATE tasks SET claimed_by = ? WHERE id = ?", (f"{queue.owner.split(':')[0]}:0:x", a.id)
    )
    reopened = QueueManager(db_path)
    failed = reopened.get_task(a.id)
    assert (failed.status, failed.error) == (TaskStatus.FAILED, SHUTDOWN_ERROR)
    assert prompts(reopened.get_pending_tasks()) == ["b", "c"]
    assert reopened.retry_task(a.id).status is TaskStatus.PENDING
    assert {b.id, c.id} <= {t.id for t in reopened.get_pending_tasks()}


def test_a_live_processs_running_task_is_left_alone(db_path):
    queue = QueueManager(db_path)
    (task,) = add(queue, "alive")
    queue.claim_next()  # claimed by this (live) process
    QueueManager(db_path)
    assert queue.get_task(task.id).status is TaskStatus.RUNNING


def test_another_machines_running_task_survives_a_start_while_its_lease_runs(db_path):
    queue = QueueManager(db_path)
    (task,) = add(queue, "on another machine")
    queue.claim_next()
    elsewhere = "gpu-box-2:4242:cafe0123:boot-1:99"  # a host this machine cannot look at
    queue.store.conn.execute(
        "UPDATE tasks SET claimed_by = ?, lease_until = ? WHERE id = ?",
        (elsewhere, time.time() + 60, task.id),
    )
    QueueManager(db_path)  # another instance starts
    assert queue.get_task(task.id).status is TaskStatus.RUNNING
    queue.store.conn.execute(
        "UPDATE tasks SET lease_until = ? WHERE id = ?", (time.time() - 1, task.id)
    )
    QueueManager(db_path)  # the lease ran out: that machine is gone
    failed = queue.get_task(task.id)
    assert (failed.status, failed.error) == (TaskStatus.FAILED, SHUTDOWN_ERROR)


def test_worker_state_is_remembered_across_reopening(db_path):
    queue = QueueManager(db_path)
    assert queue.worker_state == "stopped"
    queue.worker_state = "running"
    assert QueueManager(db_path).worker_state == "running"


def test_concurrent_edits_of_different_fields_both_survive(queue):
    task = queue.add_task("txt2img", api_params("old", steps=20))
    barrier = threading.Barrier(2)

    def edit(change):
        barrier.wait()
        queue.edit_task(task.id, generation=change)

    threads = [
        threading.Thread(target=edit, args=({"prompt": "new prompt"},)),
        threading.Thread(target=edit, args=({"steps": 7},)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    payload = queue.get_task(task.id).params["payload"]
    assert (payload["prompt"], payload["steps"]) == ("new prompt", 7)
    assert queue.list_tasks(search="new prompt").total == 1


def test_a_generation_edit_of_the_wrong_type_changes_nothing(queue):
    task = queue.add_task("txt2img", api_params("keep", steps=20))
    with pytest.raises(ValueError, match="steps"):
        queue.edit_task(task.id, generation={"steps": "many"}, name="renamed")
    stored = queue.get_task(task.id)
    assert (stored.name, stored.params["payload"]["steps"]) == ("", 20)


def test_recent_run_seconds_are_the_newest_completed_tasks_run_times(queue):
    tasks = add(queue, "a", "b", "c", "d")
    for seconds, task in zip((5, 7, 11), tasks, strict=False):
        queue.update_task_status(task.id, "running", started_at=1000.0)
        queue.update_task_status(task.id, "completed", completed_at=1000.0 + seconds)
    queue.update_task_status(tasks[3].id, "running", started_at=1000.0)
    queue.update_task_status(tasks[3].id, "failed", completed_at=2000.0)  # not a completed run
    assert queue.recent_run_seconds(2) == [11, 7]
