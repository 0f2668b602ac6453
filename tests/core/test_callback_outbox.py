"""Callbacks are kept in the store until delivered: a stop of Forge (clean, or a process
killed mid-POST) loses none, every POST of one callback carries the same idempotency key,
retries back off with jitter, and the task records the attempts and the outcome.

Real SQLite file, real local HTTP receivers, real processes for "Forge" that stops.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from task_scheduler.callbacks.delivery import IDEMPOTENCY_HEADER, CallbackSender
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Settings
from task_scheduler.store import schema
from tests.fakes import api_params

WAIT = 30
REPO = Path(__file__).resolve().parents[2]
LOCAL_OK = Settings(forbid_local_requests=False)


class Receiver:
    """A local server answering `statuses` in turn (the last one repeats); records the
    idempotency key and body of each POST. With `hold`, it keeps the first POST unanswered."""

    def __init__(self, statuses=(200,), hold_first: bool = False):
        self.posts: list[tuple[str | None, dict]] = []
        self.statuses = list(statuses)
        self.release = threading.Event()
        self.holding = threading.Event()
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.cond:
                    first = not receiver.posts and not receiver.holding.is_set()
                    if first and hold_first:
                        receiver.holding.set()
                if first and hold_first:
                    receiver.release.wait(WAIT)
                    return  # the sender is gone by now; nobody reads an answer
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else None
                self.send_response(status or receiver.statuses[0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.cond:
                    receiver.posts.append((self.headers.get(IDEMPOTENCY_HEADER), body))
                    receiver.cond.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int) -> list[tuple[str | None, dict]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.posts) >= count, WAIT), self.posts
            return list(self.posts)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def sender_for(queue: QueueManager, **options) -> CallbackSender:
    options = {"timeout": 5.0, "attempts": 3, "backoff": 0.05, **options}
    sender = CallbackSender(queue, lambda: LOCAL_OK, **options)
    sender.start()
    return sender


def finish(queue: QueueManager, url: str) -> str:
    task = queue.add_task("txt2img", api_params("x"), callback_url=url)
    assert queue.claim_next().id == task.id
    queue.update_task_status(task.id, "completed", result_info="done")
    return task.id


def wait_outcome(queue: QueueManager, task_id: str) -> str:
    """The task's callback outcome, once the sender (in this process) records it."""
    changed = threading.Condition()

    def on_event(_event: str, _task_id: str) -> None:
        with changed:
            changed.notify_all()

    queue.subscribe(on_event)
    try:
        with changed:
            assert changed.wait_for(
                lambda: queue.get_task(task_id).callback_status is not None, WAIT
            ), "no callback outcome recorded"
    finally:
        queue.unsubscribe(on_event)
    return queue.get_task(task_id).callback_status


def wait_owed(queue: QueueManager, attempts: int) -> dict:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        owed = queue.owed_callbacks()
        if owed and owed[0]["attempts"] >= attempts:
            return owed[0]
        time.sleep(0.02)
    raise AssertionError(f"no owed callback with {attempts} attempts: {queue.owed_callbacks()}")


def test_a_callback_waiting_for_its_retry_when_forge_stops_is_sent_after_the_restart(
    tmp_path, receivers
):
    receiver = Receiver(statuses=(503, 200))
    receivers.append(receiver)
    db_path = tmp_path / "tasks.sqlite3"
    queue = QueueManager(db_path)
    sender = sender_for(queue, backoff=3600.0)  # the retry would come in an hour
    task_id = finish(queue, receiver.url)
    owed = wait_owed(queue, attempts=1)
    assert owed["last_error"] == "HTTP 503"
    assert queue.get_task(task_id).callback_status is None  # no outcome yet: still owed
    sender.close()  # Forge stops
    queue.close()

    restarted = QueueManager(db_path)
    stale = restarted.owed_callbacks()
    assert len(stale) == 1  # kept in the file across the stop
    restarted.store.conn.execute("UPDATE callback_outbox SET next_attempt_at = 0")  # an hour on
    sender = sender_for(restarted)
    try:
        assert wait_outcome(restarted, task_id) == "delivered (HTTP 200, attempt 2)"
        posts = receiver.wait_for(2)
        assert [key for key, _ in posts] == [f"{task_id}:completed"] * 2
        assert posts[1][1]["task_id"] == task_id
        assert restarted.owed_callbacks() == []
    finally:
        sender.close()
        restarted.close()


KILLED_MID_POST = textwrap.dedent(
    """
    import sys, time
    from task_scheduler.callbacks.delivery import CallbackSender
    from task_scheduler.core.queue_manager import QueueManager
    from task_scheduler.core.services import Settings
    queue = QueueManager(sys.argv[1])
    sender = CallbackSender(
        queue, lambda: Settings(forbid_local_requests=False), timeout=60, lease_seconds=0.5
    )
    sender.start()
    task = queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "x"}},
                          callback_url=sys.argv[2])
    queue.claim_next()
    queue.update_task_status(task.id, "completed")
    print(task.id, flush=True)
    time.sleep(120)  # killed long before
    """
)


def test_a_callback_cut_off_by_a_killed_process_is_sent_again_after_the_restart(
    tmp_path, receivers
):
    receiver = Receiver(hold_first=True)
    receivers.append(receiver)
    db_path = tmp_path / "tasks.sqlite3"
    QueueManager(db_path).close()
    forge = subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_POST, str(db_path), receiver.url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        task_id = forge.stdout.readline().strip()
        assert receiver.holding.wait(WAIT)  # its POST is in flight...
        os.kill(forge.pid, signal.SIGKILL)  # ...when the process dies
        forge.wait(WAIT)
    finally:
        if forge.poll() is None:
            forge.kill()
        forge.stdout.close()

    queue = QueueManager(db_path)
    assert queue.get_task(task_id).callback_status is None
    sender = sender_for(queue)  # takes it once the dead sender's lease has run out
    try:
        assert wait_outcome(queue, task_id) == "delivered (HTTP 200, attempt 1)"
        [(key, body)] = receiver.wait_for(1)  # the answered one: the restart's
        assert key == f"{task_id}:completed"
        assert (body["task_id"], body["status"]) == (task_id, "completed")
    finally:
        sender.close()
        queue.close()


def test_retries_back_off_with_jitter_and_the_task_records_the_attempts(tmp_path, receivers):
    receiver = Receiver(statuses=(500,))
    receivers.append(receiver)
    queue = QueueManager(tmp_path / "tasks.sqlite3")
    backoff = 0.2
    sender = sender_for(queue, backoff=backoff, attempts=3, rng=random.Random(7))
    try:
        task_id = finish(queue, receiver.url)
        assert wait_outcome(queue, task_id) == "failed after 3 attempts: HTTP 500"
        assert [key for key, _ in receiver.wait_for(3)] == [f"{task_id}:completed"] * 3
        assert queue.owed_callbacks() == []
    finally:
        sender.close()
        queue.close()
    delays = [sender.retry_delay(attempt) for attempt in (1, 2, 3) for _ in range(50)]
    for attempt in (1, 2, 3):
        mine = delays[(attempt - 1) * 50 : attempt * 50]
        base = backoff * 2 ** (attempt - 1)
        assert all(0.5 * base <= delay <= 1.5 * base for delay in mine)
        assert len(set(mine)) > 40  # jitter: senders retrying together spread out


def test_an_event_and_the_start_up_pick_up_owe_a_callback_once(tmp_path, receivers):
    receiver = Receiver()
    receivers.append(receiver)
    queue = QueueManager(tmp_path / "tasks.sqlite3")
    task_id = finish(queue, receiver.url)  # no sender yet: nothing owed
    body = {"task_id": task_id}
    assert queue.owe_callback(task_id, "completed", receiver.url, body)
    assert not queue.owe_callback(task_id, "completed", receiver.url, body)
    sender = sender_for(queue)  # its pick-up finds it owed already
    try:
        assert wait_outcome(queue, task_id).startswith("delivered")
        assert not queue.owe_callback(task_id, "completed", receiver.url, body)  # has an outcome
    finally:
        sender.close()
        queue.close()
    assert len(receiver.posts) == 1


def test_a_file_of_the_first_schema_gains_the_outbox_and_keeps_its_tasks(tmp_path):
    db_path = tmp_path / "tasks.sqlite3"
    first = sqlite3.connect(db_path)  # a file of the first released schema
    schema.run_script(first, schema.SCHEMA_V1)
    first.execute(
        "INSERT INTO tasks (id, task_type, status, position, params, created_at) "
        "VALUES ('t1', 'txt2img', 'pending', 1, ?, 0)",
        (json.dumps(api_params("kept")),),
    )
    first.execute("PRAGMA user_version = 1")
    first.commit()
    first.close()
    again = QueueManager(db_path)
    assert again.store.schema_version() == schema.SCHEMA_VERSION >= 2
    assert again.get_task("t1").params["payload"]["prompt"] == "kept"
    assert again.owed_callbacks() == []
    again.close()
