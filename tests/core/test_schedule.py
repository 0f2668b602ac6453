"""Run windows, a scheduled start, "Run now anyway" and tasks for later, on a fake clock.

Nothing sleeps: the clock is moved by hand and the worker is woken; a test waits only for
the worker to have looked (an event) or for tasks to finish.
"""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.run_schedule import RunSchedule
from task_scheduler.core.schedule import Schedule, Window, format_wait, gate, parse_when
from tests.core.test_executor import WAIT, Finished
from tests.fakes import FakeHost, api_params

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = (Window.parse("01:00", "07:00"),)


def at(text: str) -> float:
    """Unix time of a Berlin wall-clock time 'YYYY-MM-DD HH:MM' (first one if repeated)."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Worker:
    """The real worker thread on a fake clock; `look()` wakes it and waits until it looked."""

    def __init__(self, queue: QueueManager, host: FakeHost):
        self.executor = TaskExecutor(queue, host)
        self.executor.schedule = RunSchedule(queue, zone=BERLIN)
        self._looked = threading.Event()
        decide = self.executor.schedule.decide

        def watched():
            try:
                return decide()
            finally:
                self._looked.set()

        self.executor.schedule.decide = watched

    def look(self) -> None:
        self._looked.clear()
        self.executor.wake()
        assert self._looked.wait(WAIT)
        self._looked.clear()  # the look after a change the worker itself made (e.g. a start)
        self.executor.wake()
        assert self._looked.wait(WAIT)


@pytest.fixture
def clock(queue):
    clock = Clock(at("2026-12-01 21:48"))
    queue.clock = clock
    return clock


@pytest.fixture
def worker(queue, clock):
    worker = Worker(queue, FakeHost())
    worker.executor.launch()
    yield worker
    worker.executor.shutdown(timeout=WAIT, interrupt=True)


# -- the gate --------------------------------------------------------------------------------


def test_outside_the_window_the_gate_says_which_window_and_how_long():
    state = gate(Schedule(None, NIGHT), at("2026-12-01 21:48"), BERLIN)
    assert not state.open
    assert state.reason == "Waiting for the run window 01:00\u201307:00, starts in 3 h 12 min"
    assert state.opens_at == at("2026-12-02 01:00")
    assert gate(Schedule(None, NIGHT), at("2026-12-02 06:59"), BERLIN).open
    assert not gate(Schedule(None, NIGHT), at("2026-12-02 07:00"), BERLIN).open


def test_a_window_may_cross_midnight_and_several_windows_are_allowed():
    late = Window.parse("22:00", "02:00")
    lunch = Window.parse("12:00", "13:30")
    schedule = Schedule(None, (late, lunch))
    assert gate(schedule, at("2026-12-01 23:30"), BERLIN).open
    assert gate(schedule, at("2026-12-02 01:59"), BERLIN).open
    waiting = gate(schedule, at("2026-12-02 02:00"), BERLIN)
    assert "12:00\u201313:30" in waiting.reason
    assert waiting.opens_at == at("2026-12-02 12:00")
    assert gate(schedule, at("2026-12-02 12:30"), BERLIN).open


def test_spring_forward_shortens_a_window_and_a_skipped_start_comes_after_the_jump():
    # 2026-03-29: clocks go from 02:00 to 03:00 in Berlin
    night = Schedule(None, NIGHT)
    assert gate(night, at("2026-03-29 06:59"), BERLIN).open  # 5 real hours, still to 07:00
    assert not gate(night, at("2026-03-29 07:00"), BERLIN).open
    skipped = Schedule(None, (Window.parse("02:30", "05:00"),))
    state = gate(skipped, at("2026-03-29 01:00"), BERLIN)
    assert datetime.fromtimestamp(state.opens_at, BERLIN).strftime("%H:%M") == "03:30"
    assert state.reason.endswith("starts in 1 h 30 min")  # 01:00 CET -> 03:30 CEST


def test_fall_back_keeps_one_window_through_the_repeated_hour():
    # 2026-10-25: clocks go from 03:00 back to 02:00 in Berlin; 02:30 happens twice
    schedule = Schedule(None, (Window.parse("02:30", "03:00"),))
    first = at("2026-10-25 02:30")  # the first 02:30 (summer time)
    assert gate(schedule, first, BERLIN).opened_at == first
    assert gate(schedule, first + 45 * 60, BERLIN).open  # the repeated 02:15: same window
    assert gate(schedule, first + 85 * 60, BERLIN).opened_at == first  # the second 02:55
    assert not gate(schedule, first + 90 * 60, BERLIN).open  # 03:00 winter time


def test_times_without_a_zone_are_server_local_and_z_means_utc():
    assert parse_when("2026-12-02T01:00", BERLIN) == at("2026-12-02 01:00")
    assert parse_when("2026-12-02T00:00Z", BERLIN) == at("2026-12-02 01:00")
    assert parse_when("2026-12-02T01:00+01:00", BERLIN) == at("2026-12-02 01:00")
    assert parse_when(1_800_000_000, BERLIN) == 1_800_000_000.0
    with pytest.raises(ValueError, match="run_after: not an ISO 8601"):
        parse_when("tomorrow", BERLIN)
    assert format_wait(3 * 3600 + 12 * 60 + 59) == "3 h 12 min"


# -- the worker ------------------------------------------------------------------------------


def test_outside_the_window_nothing_starts_and_at_its_start_the_queue_starts_itself(
    queue, clock, worker
):
    worker.executor.schedule.set(Schedule(None, NIGHT))
    tasks = [queue.add_task("txt2img", api_params(f"t{i}")) for i in range(3)]
    worker.executor.start()
    worker.look()
    assert queue.counts()["pending"] == 3
    status = worker.executor.schedule.status(worker.executor.is_running)
    assert status["waiting"]
    assert status["reason"].startswith("Waiting for the run window")
    worker.executor.stop()  # stopped by the user: the window still starts it
    finished = Finished(queue)
    clock.now = at("2026-12-02 01:00")
    worker.look()
    assert finished.wait_for(3) == [t.id for t in tasks]
    assert queue.worker_state == "running"


def test_at_the_window_end_the_running_task_finishes_and_no_new_one_starts(queue, clock):
    clock.now = at("2026-12-02 06:50")
    host = FakeHost(gate=threading.Event())
    worker = Worker(queue, host)
    worker.executor.schedule.set(Schedule(None, NIGHT))
    first = queue.add_task("txt2img", api_params("first"))
    second = queue.add_task("txt2img", api_params("second"))
    finished = Finished(queue)
    worker.executor.start()
    try:
        assert host.started.wait(WAIT)
        clock.now = at("2026-12-02 07:05")
        host.gate.set()
        assert finished.wait_for(1) == [first.id]
        worker.look()
        assert queue.get_task(second.id).status == "pending"
        assert worker.executor.is_running  # still started: it waits for the next window
    finally:
        worker.executor.shutdown(timeout=WAIT, interrupt=True)


def test_a_scheduled_start_starts_the_queue_once_and_survives_a_restart(queue, clock, db_path):
    RunSchedule(queue, zone=BERLIN).set(Schedule(at("2026-12-02 03:00")))
    task = queue.add_task("txt2img", api_params("at three"))
    again = QueueManager(db_path)  # Forge restarted: the schedule is in the file
    again.clock = clock
    worker = Worker(again, FakeHost())
    worker.executor.launch()
    try:
        worker.look()
        assert (
            "scheduled start at 2026-12-02 03:00"
            in worker.executor.schedule.status(False)["reason"]
        )
        finished = Finished(again)
        clock.now = at("2026-12-02 03:00")
        worker.look()
        assert finished.wait_for(1) == [task.id]
        assert worker.executor.schedule.get().empty  # once
    finally:
        worker.executor.shutdown(timeout=WAIT, interrupt=True)
        again.close()


def test_run_now_anyway_runs_outside_the_window_until_stop(queue, clock, worker):
    worker.executor.schedule.set(Schedule(None, NIGHT))
    finished = Finished(queue)
    first = queue.add_task("txt2img", api_params("now"))
    worker.executor.run_now()
    assert finished.wait_for(1) == [first.id]
    assert worker.executor.schedule.status(True)["run_anyway"]
    worker.executor.stop()
    assert not worker.executor.schedule.status(False)["run_anyway"]
    queue.add_task("txt2img", api_params("waits"))
    worker.executor.start()
    worker.look()
    assert queue.counts()["pending"] == 1


def test_a_task_for_later_is_not_claimed_before_its_time_and_shown_last(queue, clock):
    later = queue.add_task("txt2img", api_params("later"), run_after=clock.now + 3600)
    now = queue.add_task("txt2img", api_params("now"))
    assert [t.id for t in queue.get_pending_tasks()] == [now.id, later.id]
    assert queue.position(later.id) == 2
    assert queue.claim_next().id == now.id
    assert queue.claim_next() is None
    clock.now += 3600
    assert queue.position(later.id) == 1
    assert queue.claim_next().id == later.id


def test_patch_moves_a_task_for_later_to_now_and_back(queue, clock):
    task = queue.add_task("txt2img", api_params("x"), run_after=clock.now + 60)
    assert queue.claim_next() is None
    queue.edit_task(task.id, run_after=None)
    assert queue.get_task(task.id).run_after is None
    queue.edit_task(task.id, run_after=clock.now + 60)
    assert queue.claim_next() is None
    queue.edit_task(task.id, run_after=clock.now - 1)
    assert queue.claim_next().id == task.id


def test_an_opening_waits_while_forge_is_still_starting(queue, clock, worker):
    worker.executor.schedule.set(Schedule(None, NIGHT))
    task = queue.add_task("txt2img", api_params("after start-up"))
    clock.now = at("2026-12-02 01:30")  # Forge comes up inside the window
    worker.executor.schedule.hold_openings = True
    worker.look()
    assert queue.worker_state == "stopped"
    finished = Finished(queue)
    worker.executor.schedule.hold_openings = False  # on_app_started
    worker.look()
    assert finished.wait_for(1) == [task.id]
