"""The contract between the worker and whatever actually generates images.

The worker (executor.py) knows nothing about Forge: it hands each claimed task to a *host*.
`task_scheduler.forge.host.ForgeHost` is the real one; tests use a fake that honours the same
contract (tests/fakes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .models import Task


@dataclass(frozen=True)
class Progress:
    """Where the running task is. Any field may be 0 while the host does not know yet."""

    step: int = 0
    total_steps: int = 0
    image: int = 0  # images finished so far
    total_images: int = 0
    eta_seconds: float | None = None
    text: str = ""  # e.g. "Loading checkpoint"


@dataclass
class RunResult:
    """What a host returns for a task that ran to its end (or was interrupted part-way)."""

    images: list[str] = field(default_factory=list)  # paths of the saved images
    info: str = ""  # infotext of the first image
    seeds: list[int] = field(default_factory=list)  # resolved seeds, one per image
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False  # stopped by an interrupt (ours or the UI's Interrupt button)


ProgressCallback = Callable[[Progress], None]


class Host(Protocol):
    """Runs tasks for the worker. Called from the worker thread only, one task at a time."""

    def run(self, task: Task, on_progress: ProgressCallback) -> RunResult:
        """Run `task` to its end and return where its images went.

        Raise any exception to fail the task (its text becomes the task's error). Call
        `on_progress` as often as useful; it is cheap and never raises.
        """
        ...

    def interrupt(self) -> None:
        """Ask the running task to stop soon. Called from any thread; a no-op when idle.

        `run` then returns (with `interrupted=True`) or raises; either way the task ends
        cancelled.
        """
        ...
