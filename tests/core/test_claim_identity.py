"""A running task is recovered once the very process that claimed it is gone, even when its pid
now belongs to another live process (pid reuse) or to us (a restarted container's pid 1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from task_scheduler.core.models import SHUTDOWN_ERROR, TaskStatus
from task_scheduler.core.queue_manager import QueueManager
from tests.fakes import api_params

pytestmark = pytest.mark.backends  # every test here runs on SQLite and on PostgreSQL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="start identities are checked via /proc here"
)


def claim_in_process(db_path, mode: str) -> tuple[subprocess.Popen, str]:
    """A real process claims the next task; `hold` keeps it running until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.core.claim_worker", str(db_path), mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    task_id = process.stdout.readline().strip()
    assert task_id, "the claiming process claimed nothing"
    if mode == "exit":
        assert process.wait(60) == 0
    return process, task_id


def end(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(60)


def claim_of(queue: QueueManager, task_id: str) -> str:
    return queue.store.conn.execute(
        "SELECT claimed_by FROM tasks WHERE id = ?", (task_id,)
    ).fetchone()[0]


def set_claim(queue: QueueManager, task_id: str, claim: str) -> None:
    queue.store.conn.execute("UPDATE tasks SET claimed_by = ? WHERE id = ?", (claim, task_id))


def with_pid(claim: str, pid: int) -> str:
    """The same claim, as if its process had had `pid` (what pid reuse looks like)."""
    parts = claim.split(":")
    parts[1] = str(pid)
    return ":".join(parts)


def assert_recovered(queue: QueueManager, task_id: str) -> None:
    task = queue.get_task(task_id)
    assert (task.status, task.error) == (TaskStatus.FAILED, SHUTDOWN_ERROR)


def test_a_claim_whose_pid_now_belongs_to_another_live_process_is_recovered(db_path):
    queue = QueueManager(db_path)
    for prompt in ("claimed by a process that ended", "claimed by a live process"):
        queue.add_task("txt2img", api_params(prompt))
    _, gone = claim_in_process(db_path, "exit")
    live, held = claim_in_process(db_path, "hold")
    try:
        # The ended process's pid is reused by the live one.
        set_claim(queue, gone, with_pid(claim_of(queue, gone), live.pid))
        assert queue.recover_interrupted() == [gone]
        assert_recovered(queue, gone)
        assert queue.get_task(held).status is TaskStatus.RUNNING  # its real claimant runs
    finally:
        end(live)
    assert QueueManager(db_path).get_task(held).status is TaskStatus.FAILED  # now it is gone


def test_a_claim_by_an_earlier_process_with_our_own_pid_is_recovered(db_path):
    """A restarted container: same host, Forge is pid 1 again; here, our pid plays pid 1."""
    queue = QueueManager(db_path)
    task = queue.add_task("txt2img", api_params("claimed before the restart"))
    _, task_id = claim_in_process(db_path, "exit")
    assert task_id == task.id
    set_claim(queue, task.id, with_pid(claim_of(queue, task.id), os.getpid()))
    restarted = QueueManager(db_path)  # start-up recovery
    assert_recovered(restarted, task.id)


@pytest.mark.parametrize("changed", ["boot id", "start ticks"])
def test_a_claim_with_our_pid_from_another_boot_or_start_is_recovered(db_path, changed):
    queue = QueueManager(db_path)
    queue.add_task("txt2img", api_params("claimed by an earlier incarnation"))
    task = queue.claim_next()
    host, pid, token, start = queue.owner.split(":", 3)
    boot, ticks = start.split("/")
    if changed == "boot id":
        boot = boot[::-1]  # another boot: ticks since boot mean nothing across boots
    else:
        ticks = str(int(ticks) - 1)
    set_claim(queue, task.id, f"{host}:{pid}:{token}x:{boot}/{ticks}")
    assert QueueManager(db_path).recover_interrupted() == []  # already done at start-up
    assert_recovered(queue, task.id)


def test_this_processs_own_claims_survive_another_managers_recovery(db_path):
    queue = QueueManager(db_path)
    queue.add_task("txt2img", api_params("ours"))
    task = queue.claim_next()
    other = QueueManager(db_path)  # a second manager in this very process
    assert other.recover_interrupted() == []
    assert queue.recover_interrupted() == []
    assert queue.get_task(task.id).status is TaskStatus.RUNNING
    assert queue.owner != other.owner  # the token tells the two managers apart


def test_claims_written_before_start_identities_stay_readable(db_path):
    """Old claims were 'host:pid:token': judged by whether the pid's process predates them."""
    queue = QueueManager(db_path)
    host = socket.gethostname()
    ours_before = queue.add_task("txt2img", api_params("our pid, older format"))
    live_after = queue.add_task("txt2img", api_params("live pid, claimed while it ran"))
    live_before = queue.add_task("txt2img", api_params("live pid, claimed before it started"))
    live = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True
    )
    try:
        for task, pid, started_at in (
            (ours_before, os.getpid(), None),
            (live_after, live.pid, None),
            (live_before, live.pid, 1.0),  # 1970: long before any running process started
        ):
            queue.claim_next()
            set_claim(queue, task.id, f"{host}:{pid}:deadbeef")
            if started_at is not None:
                queue.store.conn.execute(
                    "UPDATE tasks SET started_at = ? WHERE id = ?", (started_at, task.id)
                )
        assert sorted(QueueManager(db_path, recover=False).recover_interrupted()) == sorted(
            [ours_before.id, live_before.id]
        )
        assert queue.get_task(live_after.id).status is TaskStatus.RUNNING
    finally:
        live.stdin.close()
        live.wait(60)
