"""The queue's vocabulary: a Task, its statuses and the rules for moving between them."""

from __future__ import annotations

import dataclasses
import enum
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


class TaskStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


TASK_TYPES = ("txt2img", "img2img")
TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

# The only legal status changes. Finished tasks never come back: retry makes a new task.
TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.CANCELLED}),
    TaskStatus.RUNNING: frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}

SHUTDOWN_ERROR = "Interrupted by a shutdown: Forge stopped while this task was running."


class TaskNotFoundError(LookupError):
    """No task has this id."""

    def __init__(self, task_id: str):
        super().__init__(f"task {task_id} not found")
        self.task_id = task_id


class TaskStateError(Exception):
    """The task's current status forbids the requested change or action."""

    def __init__(self, task_id: str, current: str, target: str):
        super().__init__(f"task {task_id} is {current}; it cannot become {target}")
        self.task_id = task_id
        self.current = str(current)
        self.target = str(target)


class SchemaVersionError(RuntimeError):
    """The database file was written by a newer version of the extension."""


@dataclass
class Task:
    """One queued generation and, once run, its outcome."""

    task_type: str
    params: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: TaskStatus = TaskStatus.PENDING
    priority: int = 0  # lower runs first
    position: float = 0.0  # stable order within a priority (first in, first out)
    name: str = ""
    checkpoint: str = ""
    script_args: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    completed_at: float | None = None
    result_images: list[str] = field(default_factory=list)
    result_info: str = ""
    result_seeds: list[int] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    retried_from: str | None = None
    bookmarked: bool = False
    callback_url: str | None = None
    callback_status: str | None = None  # delivery outcome, shown to the user
    cancel_requested: bool = False
    files: list[str] = field(default_factory=list)  # input files the task owns (data folder)
    run_after: float | None = None  # "not before" (unix time); None: as soon as its turn comes
    placed_by_hand: bool = False  # moved or given a priority by the user: affinity keeps it
    passed_over: int = 0  # claims that took a later task first (checkpoint affinity)
    passed_over_since: float | None = None  # when that first happened
    group_id: str | None = None  # tasks queued together (e.g. on several checkpoints)
    instance: str | None = None  # the Forge instance that claimed it (core/instances.py)
    owner: str | None = None  # the user who queued it (core/permissions.py); None: no auth

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True)
class TaskPage:
    """One page of a task listing plus the total number of matches."""

    tasks: list[Task]
    total: int
    limit: int
    offset: int


def check_transition(task_id: str, current: TaskStatus, target: TaskStatus) -> None:
    """Raise TaskStateError unless `current -> target` is a legal status change."""
    if target not in TRANSITIONS[current]:
        raise TaskStateError(task_id, current.value, target.value)
