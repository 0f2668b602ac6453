"""ForgeHost: runs queued tasks inside Forge the way a Generate click runs.

For each task, on the worker thread: take Forge's `queue_lock` (a waiting Generate click goes
next, nothing races the GPU), `shared.state.begin` and `progress.start_task` (Forge's progress
API and live preview show the task), a last look at the task's cancel token (from then on a
cancel calls `shared.state.interrupt()`, which stops the steps), then on Forge's main thread:
switch to the task's top bar, run the task (UI tasks through Generate's own function, API
tasks through `replay_api.run_sdapi_task`), and restore the user's top bar. The lock is
released between tasks. Saved images are collected through `on_image_saved`, so they are
recorded even when "do not show images" is on; with "Always save images of queued tasks" on,
Forge saves them even when its own "Always save all generated images" is off
(sample_saving.py)."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from typing import Any

from ..core.can_run import Capabilities
from ..core.files import FileStore
from ..core.host import CancelToken, Progress, ProgressCallback, RunResult
from ..core.models import Task
from . import loaded_model, sample_saving, top_bar
from .capabilities import capabilities as forge_capabilities
from .main_thread_call import call_on_main_thread
from .outcome import ReplayOutcome
from .resource_lists import check_task
from .settings import read_settings

log = logging.getLogger("task_scheduler")

_PROGRESS_EVERY_SECONDS = 0.5
FORGE_TASK_ID = "forge_task_id"  # Services.extras key: the running task's Forge progress id


class ForgeHost:
    """The real host (task_scheduler.core.host.Host) for the worker."""

    def __init__(self, files: FileStore, work_dir: str, extras: dict[str, Any] | None = None):
        self.files = files
        self.work_dir = work_dir  # per-task scratch folders (uploads rebuilt for a replay)
        self.extras = extras if extras is not None else {}
        self.generate_inputs: dict[str, list[Any]] = {}  # set by the Queue buttons' binding
        self._saved: list[str] | None = None
        self._saved_lock = threading.Lock()

    # -- Host --------------------------------------------------------------------------------

    def run(self, task: Task, on_progress: ProgressCallback, cancel: CancelToken) -> RunResult:
        from modules import call_queue, progress, shared

        forge_id = progress.create_task_id("task_scheduler")
        progress.add_task_to_queue(forge_id)
        with call_queue.queue_lock:
            shared.state.begin(job=forge_id)  # resets state.interrupted: only the token counts
            progress.start_task(forge_id)
            self.extras[FORGE_TASK_ID] = forge_id
            # From here a cancel stops the steps (Forge's interrupt is global, so only while
            # our task holds the state); one that came earlier runs the action at once.
            stop_steps = cancel.on_cancel(shared.state.interrupt)
            with self._saved_lock:
                self._saved = []
            monitor = _ProgressMonitor(on_progress)
            try:
                if cancel.cancelled:  # cancelled before or while waiting for the GPU
                    outcome = None
                else:
                    monitor.start()
                    outcome = call_on_main_thread(self._replay, task, forge_id)
            except Exception:
                if shared.state.interrupted or cancel.cancelled:
                    log.info("task %s stopped by an interrupt", task.id)
                    outcome = None
                else:
                    raise
            finally:
                stop_steps()
                monitor.stop()
                interrupted = bool(shared.state.interrupted) or cancel.cancelled
                with self._saved_lock:
                    saved, self._saved = self._saved or [], None
                self.extras.pop(FORGE_TASK_ID, None)
                progress.finish_task(forge_id)
                shared.state.end()
                _reset_state(shared.state)
        if outcome is None:
            return RunResult(images=saved, interrupted=True)
        return RunResult(
            images=saved,
            info=outcome.infotexts[0] if outcome.infotexts else "",
            seeds=list(outcome.seeds),
            warnings=list(outcome.warnings),
            interrupted=interrupted,
        )

    def loaded_setup(self) -> str | None:
        """What Forge has in memory (checkpoint, VAE / text encoders, dtype): loaded_model.py."""
        return loaded_model.loaded_setup()

    def capabilities(self) -> Capabilities:
        """What this Forge can run: its checkpoint, LoRA and ControlNet lists (capabilities.py)."""
        return forge_capabilities()

    # -- on Forge's main thread ----------------------------------------------------------------

    def _replay(self, task: Task, forge_id: str) -> ReplayOutcome:
        always_save = read_settings().always_save_images
        if always_save:
            sample_saving.install()
        switch = top_bar.apply(task.checkpoint, task.params.get("top_bar") or {})
        upload_dir = os.path.join(self.work_dir, task.id)
        try:
            with sample_saving.force_saving(always_save):
                return self._run_replay(task, forge_id, upload_dir)
        finally:
            loaded_model.remember()  # before the user's top bar comes back (affinity)
            top_bar.restore(switch)
            shutil.rmtree(upload_dir, ignore_errors=True)

    def _run_replay(self, task: Task, forge_id: str, upload_dir: str) -> ReplayOutcome:
        # A LoRA / ControlNet model gone since queueing fails the task naming it; a style
        # or embedding gone or changed becomes a warning (task_scheduler/core/resources.py).
        findings = check_task(task)
        if findings.errors:
            raise RuntimeError(" ".join(findings.errors))
        if task.params.get("source") == "api":
            outcome = _run_api_task(task, self.files)
        else:
            from .replay_ui import run_ui_task

            outcome = run_ui_task(
                task, self.files, forge_id, upload_dir, self.generate_inputs.get(task.task_type)
            )
        outcome.warnings[:0] = findings.warnings
        return outcome

    # -- script_callbacks.on_image_saved ------------------------------------------------------

    def record_saved_image(self, params: Any) -> None:
        """Collect files Forge saves on its main thread while our task runs there."""
        if threading.current_thread() is not threading.main_thread():
            return
        with self._saved_lock:
            if self._saved is not None and getattr(params, "filename", None):
                self._saved.append(os.path.abspath(params.filename))


def _run_api_task(task: Task, files: FileStore) -> ReplayOutcome:
    from . import replay_api

    return replay_api.run_sdapi_task(task, files)


def _reset_state(state: Any) -> None:
    """What Forge resets after every Generate click (modules/call_queue.py)."""
    state.skipped = False
    state.interrupted = False
    state.stopping_generation = False
    state.job_count = 0
    state.job = ""


class _ProgressMonitor:
    """Reports Forge's sampling progress to the worker while the main thread generates."""

    def __init__(self, on_progress: ProgressCallback):
        self.on_progress = on_progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="task-scheduler-progress", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        from modules import shared

        while not self._stop.wait(_PROGRESS_EVERY_SECONDS):
            state = shared.state
            self.on_progress(
                Progress(
                    step=int(state.sampling_step or 0),
                    total_steps=int(state.sampling_steps or 0),
                    image=int(state.job_no or 0),
                    total_images=max(int(state.job_count or 0), 0),
                    text=str(state.textinfo or ""),
                )
            )
