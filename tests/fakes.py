"""A fake generation backend that honours the Host contract (task_scheduler/host.py).

It "generates" by stepping through the task's steps, reporting progress, honouring interrupts,
and writing real PNG files, so everything above the Forge boundary runs for real.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from task_scheduler import params as task_params
from task_scheduler.host import Progress, ProgressCallback, RunResult
from task_scheduler.models import Task


class FakeHost:
    """Runs tasks without Forge.

    - ``step_seconds``: time per step (interruptible), 0 for an instant host.
    - a prompt containing ``FAIL`` raises RuntimeError("generation failed: ...").
    - ``gate``: when set, each task waits for it before its first step (lets tests hold a task
      in the running state deterministically).
    - ``output_dir``: where PNGs are written; without it no files are written, paths are fake.
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
        self.started = threading.Event()
        self._interrupt = threading.Event()

    def run(self, task: Task, on_progress: ProgressCallback) -> RunResult:
        self._interrupt.clear()
        self.ran.append(task.id)
        self.started.set()
        if self.on_start is not None:
            self.on_start(task)
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
            on_progress(Progress(step=step, total_steps=steps, image=0, total_images=1))
        path = self._write_image(task, seed)
        info = f"{prompt}\nSteps: {steps}, Seed: {seed}, Model: {task.checkpoint or 'fake'}"
        return RunResult(images=[path], info=info, seeds=[seed])

    def interrupt(self) -> None:
        self._interrupt.set()

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
