"""The worker runs tasks one at a time, survives failures, stops and cancels when asked."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.host import Progress, RunResult
from task_scheduler.core.models import TaskStatus
from tests.fakes import FakeHost, api_params

WAIT = 30  # generous upper bound for conditions; never a timing assertion


class Finished:
    """Collects finished-task events from the queue so tests can wait on them."""

    def __init__(self, queue):
        self.ids: list[str] = []
        self._cond = threading.Condition()
        queue.subscribe(self._on_event)

    def _on_event(self, event: str, task_id: str) -> None:
        if event == "finished":
            with self._cond:
                self.ids.append(task_id)
                self._cond.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.ids) >= count, WAIT), self.ids
            return list(self.ids)


@pytest.fixture
def run(queue):
    executors = []

    def make(host):
        executor = TaskExecutor(queue, host)
        executors.append(executor)
        return executor

    yield make
    for executor in executors:
        executor.shutdown(timeout=WAIT, interrupt=True)


def test_the_worker_runs_tasks_in_order_and_records_results(queue, run, tmp_path):
    host = FakeHost(output_dir=str(tmp_path / "out"))
    tasks = [queue.add_task("txt2img", api_params(f"p{i}", seed=i)) for i in range(3)]
    finished = Finished(queue)
    run(host).start()
    finished.wait_for(3)
    assert host.ran == [t.id for t in tasks]
    done = queue.get_task(tasks[1].id)
    assert done.status is TaskStatus.COMPLETED
    assert done.result_seeds == [1]
    assert done.result_info.startswith("p1\nSteps: 2, Seed: 1")
    assert done.result_images
    assert all(p.endswith(".png") for p in done.result_images)


def test_a_failing_task_fails_with_its_error_and_the_worker_goes_on(queue, run):
    bad = queue.add_task("txt2img", api_params("please FAIL"))
    good = queue.add_task("txt2img", api_params("fine"))
    finished = Finished(queue)
    run(FakeHost()).start()
    finished.wait_for(2)
    failed = queue.get_task(bad.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error == "RuntimeError: generation failed: please FAIL"
    assert queue.get_task(good.id).status is TaskStatus.COMPLETED


class UnstorableResultHost(FakeHost):
    """Returns a result the store cannot hold (a seed that is not JSON) for the first task."""

    def run(self, task, on_progress, cancel):
        result = super().run(task, on_progress, cancel)
        if len(self.ran) == 1:
            result.seeds = [object()]
        return result


def test_a_result_that_cannot_be_recorded_fails_the_task_instead_of_leaving_it_running(queue, run):
    odd = queue.add_task("txt2img", api_params("odd result"))
    good = queue.add_task("txt2img", api_params("fine"))
    finished = Finished(queue)
    run(UnstorableResultHost()).start()
    finished.wait_for(2)
    failed = queue.get_task(odd.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error.startswith("The result could not be recorded: TypeError")
    assert queue.get_task(good.id).status is TaskStatus.COMPLETED


def test_stop_lets_the_current_task_finish_then_idles(queue, run):
    gate = threading.Event()
    host = FakeHost(gate=gate)
    first = queue.add_task("txt2img", api_params("first"))
    second = queue.add_task("txt2img", api_params("second"))
    finished = Finished(queue)
    executor = run(host)
    executor.start()
    assert host.started.wait(WAIT)
    executor.stop()
    assert queue.worker_state == "stopped"
    gate.set()
    finished.wait_for(1)
    assert queue.get_task(first.id).status is TaskStatus.COMPLETED
    assert queue.get_task(second.id).status is TaskStatus.PENDING
    executor.start()  # and it picks up again where it stopped
    finished.wait_for(2)
    assert queue.get_task(second.id).status is TaskStatus.COMPLETED


def test_cancelling_the_running_task_interrupts_it_and_ends_it_cancelled(queue, run):
    host = FakeHost(gate=threading.Event())  # never opens: only an interrupt ends the task
    task = queue.add_task("txt2img", api_params("long"))
    after = queue.add_task("txt2img", api_params("after"))
    finished = Finished(queue)
    executor = run(host)
    executor.start()
    assert host.started.wait(WAIT)
    executor.cancel(task.id)
    finished.wait_for(1)
    assert queue.get_task(task.id).status is TaskStatus.CANCELLED
    host.gate.set()
    finished.wait_for(2)
    assert queue.get_task(after.id).status is TaskStatus.COMPLETED


def test_an_interrupt_from_elsewhere_ends_the_task_cancelled(queue, run):
    """Forge's own Interrupt button stops a queue task: the host reports interrupted."""
    host = FakeHost(gate=threading.Event())
    task = queue.add_task("txt2img", api_params("x"))
    finished = Finished(queue)
    run(host).start()
    assert host.started.wait(WAIT)
    host.interrupt()
    finished.wait_for(1)
    assert queue.get_task(task.id).status is TaskStatus.CANCELLED


class RecordingEvent(threading.Event):
    """An Event that records how the worker waits on it."""

    def __init__(self):
        super().__init__()
        self.timeouts: list[float | None] = []
        self.waiting = threading.Event()

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        self.waiting.set()
        return super().wait(timeout)


def test_an_idle_worker_sleeps_until_woken_and_wakes_on_enqueue(queue, run):
    host = FakeHost()
    executor = run(host)
    wake = executor._wake = RecordingEvent()
    executor.start()
    assert wake.waiting.wait(WAIT)  # idle: blocked on the event, nothing to do
    finished = Finished(queue)
    task = queue.add_task("txt2img", api_params("wake up"))
    finished.wait_for(1)
    assert host.ran == [task.id]
    assert wake.timeouts
    assert all(t is None for t in wake.timeouts)  # no polling timeout, ever


def test_progress_of_the_running_task_is_visible_with_an_eta(queue, run):
    reported = threading.Event()
    release = threading.Event()

    class SlowHost(FakeHost):
        def run(self, task, on_progress, cancel):
            on_progress(Progress(step=1, total_steps=4, image=0, total_images=1))
            reported.set()
            release.wait(WAIT)
            return RunResult(images=[], info="done")

    task = queue.add_task("txt2img", api_params("x"))
    executor = run(SlowHost())
    executor.start()
    assert reported.wait(WAIT)
    current = executor.current()
    assert current.task_id == task.id
    assert (current.progress.step, current.progress.total_steps) == (1, 4)
    assert current.progress.eta_seconds is not None
    assert current.progress.eta_seconds >= 0
    release.set()


def test_the_worker_keeps_nothing_of_a_finished_task(queue, run):
    refs: list[weakref.ref] = []

    class TrackingHost(FakeHost):
        def run(self, task, on_progress, cancel):
            result = RunResult(images=["x.png"], info="i")
            refs.extend([weakref.ref(task), weakref.ref(result)])
            return result

    for i in range(3):
        queue.add_task("txt2img", api_params(f"p{i}", blob="z" * 100_000))
    finished = Finished(queue)
    executor = run(TrackingHost())
    executor.start()
    finished.wait_for(3)
    executor.stop()
    executor.shutdown(timeout=WAIT)
    gc.collect()
    assert len(refs) == 6
    assert all(ref() is None for ref in refs)


def test_start_and_stop_are_stored_for_the_next_start_up(queue, run):
    executor = run(FakeHost())
    executor.start()
    assert executor.is_running
    assert queue.worker_state == "running"
    executor.stop()
    assert not executor.is_running
    assert queue.worker_state == "stopped"


def test_shutdown_joins_the_thread_and_launch_is_idempotent(queue):
    executor = TaskExecutor(queue, FakeHost())
    executor.launch()
    thread = executor._thread
    executor.launch()
    assert executor._thread is thread
    assert executor.shutdown(timeout=WAIT)
    assert not thread.is_alive()


def test_a_worker_launched_again_after_shutdown_still_wakes_on_enqueue(queue, run):
    executor = run(FakeHost())
    executor.launch()
    assert executor.shutdown(timeout=WAIT)
    executor.start()  # launches a new thread
    finished = Finished(queue)
    task = queue.add_task("txt2img", api_params("after relaunch"))
    assert finished.wait_for(1) == [task.id]
