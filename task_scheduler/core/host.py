"""The contract between the worker and whatever actually generates images.

The worker (executor.py) knows nothing about Forge: it hands each claimed task to a *host*.
`task_scheduler.forge.host.ForgeHost` is the real one; tests use a fake that honours the same
contract (tests/fakes.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .can_run import Capabilities
from .models import Task

log = logging.getLogger("task_scheduler")


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


class CancelToken:
    """One task's cancel request: set once (from any thread), never cleared.

    The worker makes a fresh token for every task before it looks at the store, and sets it
    when the task's cancel arrives, so a cancel at any moment (before the host starts, while it
    waits for the GPU, during the steps) is seen by the host: nothing can reset it, unlike a
    global interrupt flag that a starting generation clears.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._actions: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Request the cancel; runs the registered actions once (idempotent)."""
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            for action in self._actions:
                _run_action(action)

    def on_cancel(self, action: Callable[[], None]) -> Callable[[], None]:
        """Run `action` when the cancel comes (at once when it already came); return a remover.

        After the remover returns, `action` never runs: a host registers "stop the steps"
        only for the span in which its own generation runs, so a late cancel never stops
        someone else's. Actions run under the token's lock: keep them short.
        """
        with self._lock:
            if self._cancelled:
                _run_action(action)
                return _nothing
            self._actions.append(action)

        def remove() -> None:
            with self._lock:
                if action in self._actions:
                    self._actions.remove(action)

        return remove


def _run_action(action: Callable[[], None]) -> None:
    try:
        action()
    except Exception:
        log.exception("cancel action failed")


def _nothing() -> None:
    return None


class Host(Protocol):
    """Runs tasks for the worker. Called from the worker thread only, one task at a time."""

    def run(self, task: Task, on_progress: ProgressCallback, cancel: CancelToken) -> RunResult:
        """Run `task` to its end and return where its images went.

        Raise any exception to fail the task (its text becomes the task's error). Call
        `on_progress` as often as useful; it is cheap and never raises.

        `cancel` may be set at any moment, from any thread. When it is set before the
        generation starts, start none and return `RunResult(interrupted=True)`; once it is set
        during the generation, stop at the next step and return (with `interrupted=True`) or
        raise. Either way the task ends cancelled. A host that waits for the GPU checks it
        again once it holds the GPU, right before generating.
        """
        ...

    def loaded_setup(self) -> str | None:
        """What is loaded now, as affinity.setup_key text (checkpoint, VAE / text encoders,
        diffusion dtype: `affinity.loaded_key`); None when nothing is loaded or it is unknown.

        Called from any thread, often (every claim and every run order shown): keep it cheap.
        Checkpoint affinity prefers tasks that need no model load; a host that cannot tell
        returns None and the queue runs first in, first out.
        """
        ...

    def capabilities(self) -> Capabilities:
        """What this host can run: the checkpoints, LoRAs and ControlNet models it has
        (`Capabilities.of(...)`; a list it cannot read stays None, "cannot tell").

        Optional. Called from the worker's instance thread every few seconds (keep it cheap);
        with several instances on one queue, a task naming something this host lacks is left to
        the instances that have it (core/can_run.py). A host without it counts as having all.
        """
        ...
