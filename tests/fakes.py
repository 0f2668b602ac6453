"""A fake generation backend that honours the Host contract (task_scheduler/core/host.py).

It "generates" by stepping through the task's steps, reporting progress, honouring interrupts,
and writing real PNG files, so everything above the Forge boundary runs for real.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from task_scheduler.core import affinity
from task_scheduler.core import params as task_params
from task_scheduler.core.can_run import Capabilities
from task_scheduler.core.host import CancelToken, Progress, ProgressCallback, RunResult
from task_scheduler.core.models import Task


class Pause:
    """A point in the fake host's run where the worker thread stops until released.

    `reached` is set when the worker gets there; the test then acts (e.g. cancels) and sets
    `release`. Deterministic: nothing depends on timing.
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        self.reached.set()
        self.release.wait()


class FakeHost:
    """Runs tasks without Forge.

    - ``step_seconds``: time per step (interruptible), 0 for an instant host.
    - a prompt containing ``FAIL`` raises RuntimeError("generation failed: ...").
    - ``gate``: when set, each task waits for it before its first step (lets tests hold a task
      in the running state deterministically).
    - ``output_dir``: where PNGs are written; without it no files are written, paths are fake.
    - ``pause_at(point)``: hold the worker at a named point of the next runs: "entered" (run
      called, nothing checked yet), "generating" (the generation started, before step 1),
      "step <n>" (after step n), "stepped" (after the last step, before the image is saved).
    - ``interrupt()``: Forge's own Interrupt button; like Forge's ``state.begin``, a starting
      run forgets an earlier press. Only the task's cancel token survives that.
    - ``generations``: ids of the tasks whose generation started; ``steps_run``: steps taken.
    - ``loaded``: what is "loaded" (affinity.setup_key text, None at first); a generation whose
      task needs another setup "loads" it: ``loads`` counts those, ``load_log`` names them.
    - ``has``: what this host can run (can_run.Capabilities; default: cannot tell, i.e. all),
      e.g. ``Capabilities.of(checkpoints=["randA.safetensors"])``.
    """

    def __init__(
        self,
        step_seconds: float = 0.0,
        output_dir: str | None = None,
        gate: threading.Event | None = None,
        on_start: Callable[[Task], None] | None = None,
    ):
        self.step_seconds = step_seconds
        self.output_dir = output_dir
        self.gate = gate
        self.on_start = on_start
        self.ran: list[str] = []
        self.generations: list[str] = []
        self.steps_run: dict[str, int] = {}
        self.started = threading.Event()
        self.pauses: dict[str, Pause] = {}
        self._interrupt = threading.Event()
        self.loaded: str | None = None
        self.loads = 0
        self.load_log: list[str] = []
        self.has = Capabilities()

    def loaded_setup(self) -> str | None:
        return self.loaded

    def capabilities(self) -> Capabilities:
        return self.has

    def pause_at(self, point: str) -> Pause:
        pause = self.pauses[point] = Pause()
        return pause

    def run(self, task: Task, on_progress: ProgressCallback, cancel: CancelToken) -> RunResult:
        self._at("entered")
        self._interrupt.clear()  # a run starts afresh, like Forge's state.begin()
        self.ran.append(task.id)
        self.started.set()
        if self.on_start is not None:
            self.on_start(task)
        if cancel.cancelled:  # the contract: no generation once the cancel came
            return RunResult(interrupted=True)
        remove = cancel.on_cancel(self._interrupt.set)  # as ForgeHost: stop the steps
        try:
            return self._generate(task, on_progress)
        finally:
            remove()

    def _generate(self, task: Task, on_progress: ProgressCallback) -> RunResult:
        self.generations.append(task.id)
        wanted = affinity.after_running(
            self.loaded, affinity.setup_key(task.checkpoint, task.params)
        )
        if wanted != self.loaded:  # like Forge: the model loads when the generation starts
            self.loaded, self.loads = wanted, self.loads + 1
            self.load_log.append(task.checkpoint)
        self.steps_run[task.id] = 0
        self._at("generating")
        if self.gate is not None:
            while not self.gate.wait(0.01):
                if self._interrupt.is_set():
                    return RunResult(interrupted=True)
        prompt = task_params.get_field(task.params, task.script_args, "prompt") or ""
        if "FAIL" in prompt:
            raise RuntimeError(f"generation failed: {prompt}")
        steps = int(task_params.get_field(task.params, task.script_args, "steps") or 2)
        seed = task_params.get_field(task.params, task.script_args, "seed")
        seed = 1234 if seed in (None, -1) else int(seed)
        for step in range(1, steps + 1):
            if self._interrupt.wait(self.step_seconds) if self.step_seconds else False:
                return RunResult(interrupted=True)
            if self._interrupt.is_set():
                return RunResult(interrupted=True)
            self.steps_run[task.id] = step
            on_progress(Progress(step=step, total_steps=steps, image=0, total_images=1))
            self._at(f"step {step}")
        self._at("stepped")
        path = self._write_image(task, seed)
        info = f"{prompt}\nSteps: {steps}, Seed: {seed}, Model: {task.checkpoint or 'fake'}"
        return RunResult(images=[path], info=info, seeds=[seed])

    def interrupt(self) -> None:
        self._interrupt.set()

    def _at(self, point: str) -> None:
        pause = self.pauses.get(point)
        if pause is not None:
            pause.hold()

    def _write_image(self, task: Task, seed: int) -> str:
        name = f"{task.id}-{seed}.png"
        if self.output_dir is None:
            return os.path.join("outputs", name)
        from PIL import Image

        os.makedirs(self.output_dir, exist_ok=True)
        path = os.path.join(self.output_dir, name)
        Image.new("RGB", (8, 8), (seed % 256, 64, 128)).save(path)
        return path


def api_params(prompt: str = "a cat", **payload) -> dict:
    """Params of a task as the REST API stores them (a Forge sdapi body)."""
    return {"source": "api", "payload": {"prompt": prompt, **payload}}
