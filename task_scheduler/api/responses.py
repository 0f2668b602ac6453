"""Response models of the /task-scheduler REST API (shown in Forge's /docs); request bodies are in
schemas.py, which re-exports these."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from .schedule_schemas import ScheduleOut

Number = Annotated[float, Field(allow_inf_nan=False)]  # JSON has no NaN; never store one
Status = Literal["pending", "running", "completed", "failed", "cancelled"]


class Enqueued(BaseModel):
    """A task was queued."""

    id: str = Field(description="The task's id.")
    status: Status
    task_type: Literal["txt2img", "img2img"]
    position: int | None = Field(
        description="1-based place in the run order; null when the worker already took it."
    )


class TaskOut(BaseModel):
    """A task as the API shows it. `params` and `script_args` only in single-task replies."""

    id: str
    task_type: Literal["txt2img", "img2img"]
    status: Status
    source: Literal["api", "ui"] = Field(description="Queued through the API or the UI.")
    name: str
    priority: int
    checkpoint: str = Field(description='Checkpoint it runs with; "" = whatever is loaded.')
    queue_position: int | None = Field(description="1-based run order while pending.")
    created_at: float
    started_at: float | None
    completed_at: float | None
    summary: dict[str, Any] = Field(description="Prompt, steps, sampler, seed, size ...")
    images: list[str] = Field(description="URLs of the result images, in order.")
    infotext: str = Field(description="Generation parameters of the first image.")
    seeds: list[int]
    error: str | None
    warnings: list[str]
    retried_from: str | None
    group_id: str | None = Field(
        default=None, description="The group of tasks queued together with it (null: none)."
    )
    run_after: float | None = Field(
        default=None, description="Not before this moment (unix time); null: at its turn."
    )
    instance: str | None = Field(
        default=None,
        description="The Forge instance that runs or ran it (its 'Instance name'); null while "
        "pending.",
    )
    waiting: str | None = Field(
        default=None,
        description="Why a pending task waits although several instances are live: none of "
        "them has its checkpoint, LoRA or ControlNet model (null: one can run it).",
    )
    owner: str | None = Field(
        default=None,
        description="The user who queued it (the HTTP Basic user, or the Forge login for the "
        "Queue button and the tab); null when auth was off.",
    )
    may_change: bool = Field(
        default=True,
        description="Whether the user asking may cancel, edit, move, delete, retry or bookmark "
        "it (their own task, or a queue administrator; README 'Shared Forge').",
    )
    hidden: bool = Field(
        default=False,
        description="Another user's task under 'Hide other users' prompts': only its owner, "
        "type, size (summary width / height / batch_size / n_iter), status and place are "
        "given; prompt, name, params, images, infotext and error are empty.",
    )
    bookmarked: bool
    callback_url: str | None
    callback_status: str | None = Field(description="Outcome of the last callback delivery.")
    cancel_requested: bool
    files: list[str] = Field(description="Input files the task owns (names in the data folder).")
    problem: str | None = Field(
        default=None,
        description="Why the stored task is broken (malformed data, e.g. from a faulty import "
        "by an earlier version); null when it is sound. A broken task can be deleted.",
    )
    params: dict[str, Any] | None = None
    script_args: dict[str, Any] | None = None


class TaskPageOut(BaseModel):
    tasks: list[TaskOut]
    total: int = Field(description="How many tasks match, over all pages.")
    limit: int
    offset: int


class ProgressOut(BaseModel):
    step: int
    total_steps: int
    images_done: int
    total_images: int
    eta_seconds: float | None
    text: str


class RunningOut(BaseModel):
    task: TaskOut
    started_at: float
    progress: ProgressOut | None = Field(description="Null when another process runs it.")


class ConflictOut(BaseModel):
    """Another installed extension that clashes with this one, and what to do about it."""

    extension: str = Field(description="The other extension's name (its folder name).")
    folder: str = Field(description="Where it is installed.")
    what: str = Field(description="What clashes: package, API routes, tab, element ids...")
    advice: str = Field(description="What to do (disable it in Extensions, restart Forge).")


class InstanceOut(BaseModel):
    """A live Forge instance sharing this queue (its heartbeat is within its lease)."""

    name: str = Field(description="Its 'Instance name' (default: host name:port).")
    started_at: float = Field(description="When it joined the queue (unix time).")
    seen_at: float = Field(description="Its last heartbeat (unix time; renewed every 15 s).")
    this: bool = Field(description="Whether it is the instance answering this request.")
    address: str = Field(default="", description="Where it answers, if known.")
    running_task: str | None = Field(default=None, description="The task it runs now.")


class QueueOut(BaseModel):
    """The worker, the running task, counts per status and a page of pending tasks."""

    worker: Literal["running", "stopped"] = Field(description="Whether the worker takes tasks.")
    worker_alive: bool = Field(description="Whether the worker thread exists in this process.")
    running: RunningOut | None
    counts: dict[str, int]
    pending: TaskPageOut
    conflicts: list[ConflictOut] = Field(
        default_factory=list,
        description="Other installed queue extensions that clash with this one (empty: none).",
    )
    schedule: ScheduleOut | None = Field(
        default=None, description="Run windows / start time, and why the queue waits."
    )
    instances: list[InstanceOut] = Field(
        default_factory=list, description="Live Forge instances sharing this queue."
    )
    instance: str = Field(default="", description="The name of the instance answering.")


class Cleared(BaseModel):
    deleted: int


class ErrorOut(BaseModel):
    """An error: `detail` is a message, or a list of {loc, msg, type} naming the fields."""

    detail: str | list[dict[str, Any]]


class Imported(BaseModel):
    tasks: list[TaskOut]
