"""Request and response models of the schedule routes (api/schedule.py) and of the
schedule part of GET /task-scheduler/queue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.schedule import MAX_WINDOWS

_HHMM = r"^([01]?\d|2[0-3]):[0-5]\d$"
WHEN_DESCRIPTION = (
    "ISO 8601 date-time (e.g. 2026-12-24T01:30, or with an offset 2026-12-24T01:30+01:00; "
    "without an offset it is the server's local time) or unix seconds."
)


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=_HHMM, description="HH:MM, server local time.", examples=["01:00"])
    end: str = Field(
        pattern=_HHMM,
        description="HH:MM; earlier than start: the window crosses midnight; equal: all day.",
        examples=["07:00"],
    )


class ScheduleIn(BaseModel):
    """The whole schedule (PUT replaces it). Empty: the queue runs whenever it is started."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"start_at": None, "windows": [{"start": "01:00", "end": "07:00"}]}]
        },
    )

    start_at: str | float | None = Field(
        default=None,
        description="Start the queue at this moment, once. " + WHEN_DESCRIPTION,
    )
    windows: list[WindowIn] = Field(
        default_factory=list,
        max_length=MAX_WINDOWS,
        description="Daily run windows: outside them the running task finishes and no new "
        "task starts; at a window's start the queue starts by itself.",
    )


class WindowOut(BaseModel):
    start: str
    end: str


class ScheduleOut(BaseModel):
    """The schedule and why the queue waits (server local time, with its offset)."""

    start_at: str | None = Field(description="The scheduled start (once), ISO 8601; or null.")
    windows: list[WindowOut]
    time_zone: str = Field(description="The server's time zone, e.g. 'Europe/Berlin (UTC+01:00)'.")
    now: str = Field(description="The server's local time now, ISO 8601.")
    waiting: bool = Field(description="No new task starts now because of the schedule.")
    reason: str = Field(
        description="Why it waits, e.g. 'Waiting for the run window 01:00\u201307:00, starts in "
        "3 h 12 min'; empty when it does not."
    )
    opens_at: str | None = Field(description="When it stops waiting, ISO 8601; or null.")
    run_anyway: bool = Field(
        description="'Run now anyway' is on: tasks start outside the windows until the next "
        "window opens or the queue is stopped."
    )
    worker_running: bool = Field(description="Whether the worker takes tasks.")
