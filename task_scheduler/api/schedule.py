"""REST routes of the schedule: GET/PUT /task-scheduler/schedule, POST /task-scheduler/run-now.

Times are the server's local time (the reply names its zone); see schedule.py for windows
across midnight and daylight-saving changes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from ..core import views
from ..core.schedule import Schedule, Window, parse_when
from ..core.services import Services
from . import owners
from .schedule_schemas import ScheduleIn, ScheduleOut
from .schemas import QueueOut


def add_routes(router: APIRouter, services: Services, queue_view: Any) -> None:
    """Add the routes; `queue_view(services)` answers like GET /queue."""
    executor = services.executor

    @router.get("/schedule", response_model=ScheduleOut, summary="Run windows and start time")
    def get_schedule():
        return views.schedule_view(executor)

    @router.put(
        "/schedule",
        response_model=ScheduleOut,
        summary="Set run windows / start time",
        dependencies=[owners.control(services, "change the schedule")],
    )
    def put_schedule(schedule: ScheduleIn):
        """Replaces the schedule. Outside the windows (or before the start time) the running
        task finishes and no new task starts; at a window's start (or the start time) the
        queue starts by itself. An empty schedule lets the queue run whenever started."""
        start_at = None
        if schedule.start_at is not None:
            try:
                start_at = parse_when(schedule.start_at, executor.schedule.zone, "start_at")
            except ValueError as error:
                message = str(error).partition(": ")[2]
                loc = ["body", "start_at"]
                detail = [{"loc": loc, "msg": message, "type": "value_error"}]
                raise HTTPException(422, detail) from None
        windows = tuple(Window.parse(w.start, w.end) for w in schedule.windows)
        executor.schedule.set(Schedule(start_at, windows))
        return views.schedule_view(executor)

    @router.post(
        "/run-now",
        response_model=QueueOut,
        summary="Run now anyway",
        dependencies=[owners.control(services, "run the queue now")],
    )
    def run_now(request: Request):
        """Start the queue now even outside the run windows or before the start time, until
        the next window opens or the queue is stopped."""
        executor.run_now()
        return owners.shaped(queue_view(services), request, services)
