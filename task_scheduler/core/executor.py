"""The worker: one daemon thread that runs pending tasks one at a time through a host."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from ..store.faults import StoreFault, fault_of
from .host import CancelToken, Host, Progress, RunResult
from .instances import RENEW_SECONDS
from .models import Task, TaskStateError, TaskStatus
from .queue_manager import QueueManager
from .run_schedule import RunSchedule

log = logging.getLogger("task_scheduler")

_WAKE_EVENTS = frozenset({"added", "updated", "worker", "deleted"})
_ERROR_BACKOFF_SECONDS = 1.0
_WATCH_SLICE_SECONDS = 1.0  # the instance thread's longest wait: how soon it sees a stop
RECORD_RETRY_SECONDS = 5.0  # a task's outcome the store could not take is written again


@dataclass(frozen=True)
class RunningTask:
    """A snapshot of the task the worker is running."""

    task_id: str
    started_at: float
    progress: Progress


class TaskExecutor:
    """Runs the queue on a daemon thread. `start()` / `stop()` decide whether it takes tasks.

    It sleeps until its QueueManager reports a change, or the store reports a write by any
    process (`wait_for_change`: a task another Forge queued is seen within about a quarter of
    a second). A second thread, the *instance* thread, watches the store for those writes and
    keeps this instance's heartbeat and its running task's lease (core/instances.py).
    """

    def __init__(self, queue: QueueManager, host: Host, thread_name: str = "task-scheduler"):
        self.queue = queue
        self.host = host
        self.thread_name = thread_name
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._accepting = False
        self._shutting_down = False
        self._current: RunningTask | None = None
        self._cancel_token: CancelToken | None = None  # the current task's
        self.session_done = 0  # tasks finished since the last start()
        self.tasks_finished = 0  # tasks finished by this worker, ever
        self._listening = False
        self.schedule = RunSchedule(queue)  # run windows / scheduled start (run_schedule.py)
        self._recheck_in: float | None = None  # when the schedule wants another look
        if callable(getattr(host, "loaded_setup", None)):  # what affinity compares tasks with
            queue.loaded_setup = host.loaded_setup
        self.instance = queue.instance
        self._watcher: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self._watch_fault: str | None = None  # the instance thread's last logged error
        # Set while a finished task's outcome waits for the store (see _finish); an
        # interrupting shutdown sets the event to stop waiting.
        self.recording_fault: StoreFault | None = None
        self._reported_fault: str | None = None  # the store fault the loop last logged
        self._wait_to_record = threading.Event()
        with self._lock:
            self._listen(True)

    # -- control -----------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the thread (idle until `start()`); calling it again does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._shutting_down = False
            self._wait_to_record.clear()
            self._listen(True)  # relaunched after shutdown(), which stopped listening
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._watch_stop.clear()
            self._watcher = threading.Thread(
                target=self._watch, name=f"{self.thread_name}-instance", daemon=True
            )
            self._thread.start()
            self._watcher.start()

    def start(self) -> None:
        """Take tasks from the queue until `stop()`. Remembered in the store."""
        self.launch()
        with self._lock:
            if not self._accepting:
                self.session_done = 0
            self._accepting = True
        self.queue.worker_state = "running"
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current task: it finishes, then the worker idles."""
        with self._lock:
            self._accepting = False
        self.schedule.end_run_anyway()
        self.queue.worker_state = "stopped"
        self._wake.set()

    def run_now(self) -> None:
        """Run now anyway: start, and start tasks outside the run windows too (until the
        next window opens, or Stop)."""
        self.schedule.run_anyway()
        self.start()

    def wake(self) -> None:
        """Look at the queue and the schedule again now (e.g. the clock moved)."""
        self._wake.set()

    @property
    def is_running(self) -> bool:
        """True while the worker takes tasks (it may be between tasks)."""
        return self._accepting and self.is_alive

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def cancel(self, task_id: str) -> Task:
        """Cancel a pending task, or interrupt the running one (it then ends cancelled)."""
        return self.queue.cancel_task(task_id)

    def shutdown(self, timeout: float | None = 30.0, interrupt: bool = False) -> bool:
        """End the thread (after the current task, or interrupting it); True when it ended.

        The stored started/stopped state is left alone: it is the user's choice, not ours.
        A worker still inside its task stays subscribed until the task ends, so a Cancel
        still interrupts it (e.g. after Reload UI, which shuts down without waiting).
        """
        with self._lock:
            self._shutting_down = True
            thread = self._thread
            token = self._cancel_token
            if thread is None or not thread.is_alive():
                self._listen(False)
        if interrupt and token is not None:
            token.cancel()
        self._wake.set()
        if interrupt:
            self._wait_to_record.set()
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def current(self) -> RunningTask | None:
        with self._lock:
            return self._current

    # -- the loop ----------------------------------------------------------------------------

    def _on_queue_event(self, event: str, task_id: str) -> None:
        if event == "cancel_requested":
            with self._lock:
                mine = self._current is not None and self._current.task_id == task_id
                token = self._cancel_token if mine else None
            if token is not None:
                token.cancel()
        elif event in _WAKE_EVENTS:
            self._wake.set()

    def _loop(self) -> None:
        log.info("task scheduler worker started")
        try:
            while True:
                self._wake.clear()  # before looking, so a wake-up during the look is not lost
                if self._shutting_down:
                    break
                try:
                    task = self._next_task()
                    if task is None:
                        self._wake.wait(self._recheck_in)
                        continue
                    self._execute(task)
                    del task  # keep nothing of a finished task alive between tasks
                except Exception as error:
                    fault = fault_of(error, self.queue.store.path)
                    if fault is None:
                        log.exception("task scheduler worker error; retrying shortly")
                    elif str(fault) != self._reported_fault:  # once, not every second
                        log.warning("task scheduler worker: %s; retrying shortly", fault)
                    self._reported_fault = None if fault is None else str(fault)
                    self._wake.wait(_ERROR_BACKOFF_SECONDS)
        finally:
            with self._lock:  # only now: a cancel must reach the task until it ends
                self._listen(False)
                watcher = self._watcher
            self._watch_stop.set()
            if watcher is not None:  # gone before a next worker of this process registers
                watcher.join(_WATCH_SLICE_SECONDS + 5.0)
        log.info("task scheduler worker stopped")

    # -- the instance thread: heartbeat, leases, other processes' writes ----------------------

    def _watch(self) -> None:
        next_beat = 0.0
        while not self._watch_stop.is_set():
            try:
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + RENEW_SECONDS
                slice_ = min(_WATCH_SLICE_SECONDS, max(next_beat - time.monotonic(), 0.0))
                if self.instance.wait_for_change(slice_):
                    self._wake.set()
                self._watch_fault = None
            except Exception as error:  # a store fault: the worker's loop reports it too
                if str(error) != self._watch_fault:
                    log.warning("task scheduler instance heartbeat: %s", error)
                self._watch_fault = str(error)
                self._watch_stop.wait(_ERROR_BACKOFF_SECONDS)
        try:
            self.instance.leave()
        except Exception as error:
            log.warning(
                "task scheduler: could not mark instance %s gone: %s", self.instance.name, error
            )

    def _beat(self) -> None:
        """Renew this instance and its running task's lease; stop a task whose lease is lost."""
        refresh = getattr(self.host, "capabilities", None)
        if callable(refresh):
            try:
                self.instance.capabilities = refresh()
            except Exception:  # keep what was known; never stop the heartbeat for it
                log.exception("task scheduler: could not read what this Forge can run")
        with self._lock:
            current, token = self._current, self._cancel_token
        kept = self.instance.beat(current.task_id if current is not None else None)
        if kept is False and token is not None and not token.cancelled:
            log.warning(
                "task %s: its lease was lost (another instance failed it as abandoned); "
                "stopping it",
                current.task_id if current is not None else "?",
            )
            token.cancel()

    def _next_task(self) -> Task | None:
        """Claim the next task if the worker takes tasks and the schedule lets one start; an
        opening of the schedule (a window's start, the start moment) starts the worker."""
        decision = self.schedule.decide()
        self._recheck_in = decision.wake_in
        if decision.start_worker and not self._accepting:
            with self._lock:
                self.session_done = 0
                self._accepting = True
            self.queue.worker_state = "running"
        if not (self._accepting and decision.may_start_tasks):
            return None
        return self.queue.claim_next()

    def _listen(self, wanted: bool) -> None:
        """Subscribe to the queue's events or unsubscribe, at most once each (lock held)."""
        if self._listening == wanted:
            return
        self._listening = wanted
        if wanted:
            self.queue.subscribe(self._on_queue_event)
        else:
            self.queue.unsubscribe(self._on_queue_event)

    def _execute(self, task: Task) -> None:
        # The token exists before the store is read: a cancel stored before this point is
        # read below, one arriving after it sets the token (see _on_queue_event). No gap.
        token = CancelToken()
        with self._lock:
            self._current = RunningTask(task.id, time.time(), Progress())
            self._cancel_token = token
        try:
            self._finish(task.id, token, *self._run(task, token))
        finally:
            with self._lock:
                self._current = None
                self._cancel_token = None
                self.session_done += 1
                self.tasks_finished += 1

    def _run(self, task: Task, token: CancelToken) -> tuple[RunResult | None, str | None]:
        if self._cancel_requested(task.id, token):
            return None, None
        try:
            return self.host.run(task, self._on_progress, token), None
        except Exception as error:
            log.exception("task %s failed", task.id)
            return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

    def _finish(
        self, task_id: str, token: CancelToken, result: RunResult | None, error: str | None
    ) -> None:
        fields: dict = {}
        if result is not None:
            fields = {
                "result_images": list(result.images),
                "result_info": result.info,
                "result_seeds": list(result.seeds),
            }
            if result.warnings:
                fields["warnings"] = list(result.warnings)
        interrupted = result is not None and result.interrupted
        cancelled = self._cancel_requested(task_id, token) or interrupted
        if cancelled:
            status = TaskStatus.CANCELLED
        elif error is not None:
            status, fields["error"] = TaskStatus.FAILED, error
        else:
            status = TaskStatus.COMPLETED
        while not self._record(task_id, status, fields):
            # The store cannot take it now (a full disk, a read-only folder, a lock held by
            # another program): the outcome is kept and written once it can, so nothing is
            # lost (a Reload UI waits for it); only an interrupting shutdown (Forge exiting)
            # gives up, leaving the task to start-up recovery (failed).
            if self._wait_to_record.wait(RECORD_RETRY_SECONDS):
                log.error("task %s: shutting down before its outcome could be recorded", task_id)
                return

    def _record(self, task_id: str, status: TaskStatus, fields: dict) -> bool:
        """Write the task's outcome; False when a store fault stopped it (try again later)."""
        try:
            self.queue.update_task_status(task_id, status, **fields)
        except TaskStateError:
            log.warning("task %s changed state while running; result not recorded", task_id)
        except Exception as error:
            fault = fault_of(error, self.queue.store.path)
            if fault is not None:
                self.recording_fault = fault
                log.warning("task %s: outcome not recorded yet: %s", task_id, fault)
                return False
            if status is TaskStatus.FAILED and set(fields) == {"error"}:
                raise  # even the failure cannot be written: the loop logs it
            # e.g. a result the store cannot hold: never stay running
            log.exception("task %s: could not record its outcome", task_id)
            reason = f"The result could not be recorded: {type(error).__name__}: {error}"
            return self._record(task_id, TaskStatus.FAILED, {"error": reason})
        self.recording_fault = None
        return True

    def _cancel_requested(self, task_id: str, token: CancelToken) -> bool:
        """Whether the task's cancel came (token or store); a stored one sets the token."""
        if token.cancelled:
            return True
        task = self.queue.get_task(task_id)
        if task is not None and task.cancel_requested:
            token.cancel()
            return True
        return False

    def _on_progress(self, progress: Progress) -> None:
        with self._lock:
            current = self._current
            if current is None:
                return
            if progress.eta_seconds is None:
                progress = replace(progress, eta_seconds=_eta(current.started_at, progress))
            self._current = replace(current, progress=progress)


def _eta(started_at: float, progress: Progress) -> float | None:
    """Seconds left, from the time spent so far and the share of the work done."""
    if progress.total_steps <= 0:
        return None
    images = max(progress.total_images, 1)
    done = (min(progress.image, images) + progress.step / progress.total_steps) / images
    if done <= 0:
        return None
    elapsed = time.time() - started_at
    return max(0.0, elapsed / done - elapsed)
