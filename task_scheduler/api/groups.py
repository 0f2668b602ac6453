"""REST routes for groups of tasks (the same settings queued on several checkpoints).

`POST /queue/txt2img|img2img` with `checkpoints: [...]` queues one task per checkpoint as a
group and answers 201 with `EnqueuedGroup`; these routes read, cancel, retry and delete a whole
group. `add_routes(router, services)` is called by api.create_router.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from ..core import views
from ..core.models import Task
from ..core.queue_groups import MAX_GROUP_ID
from ..core.queue_room import group_retry_count, room_check
from ..core.services import Catalog, Services
from . import owners
from .errors import http_errors
from .payload import FieldError, resolve_checkpoint
from .schemas import Enqueued, ErrorOut, TaskOut

_NOT_FOUND = {404: {"model": ErrorOut, "description": "No task carries this group id."}}
_CONFLICT = {409: {"model": ErrorOut, "description": "The group's task statuses forbid this."}}
GroupId = Annotated[str, Path(min_length=1, max_length=MAX_GROUP_ID)]


class EnqueuedGroup(BaseModel):
    """Tasks queued together, one per checkpoint (`checkpoints` in the body)."""

    group_id: str = Field(description="The group's id: /task-scheduler/groups/{group_id}.")
    tasks: list[Enqueued] = Field(description="One task per checkpoint, in the order given.")


class GroupOut(BaseModel):
    """A group of tasks and how many of them are in each status."""

    group_id: str
    tasks: list[TaskOut] = Field(description="The group's tasks, oldest first.")
    counts: dict[str, int] = Field(description="Tasks per status.")


def resolve_checkpoints(
    names: list[str] | None, checkpoint: str | None, payload: dict[str, Any], catalog: Catalog
) -> list[str]:
    """The catalog's names for `checkpoints` ([] when absent). Refused (FieldError): together
    with `checkpoint` or a checkpoint in `override_settings`, an unknown or repeated name."""
    if names is None:
        return []
    if checkpoint:
        raise FieldError(("checkpoints",), "give either checkpoint or checkpoints, not both")
    overrides = payload.get("override_settings")
    if isinstance(overrides, dict) and overrides.get("sd_model_checkpoint"):
        raise FieldError(
            ("override_settings", "sd_model_checkpoint"), "cannot be combined with checkpoints"
        )
    resolved: list[str] = []
    for index, name in enumerate(names):
        title = resolve_checkpoint(name, catalog, ("checkpoints", index))
        if not title:
            raise FieldError(("checkpoints", index), "must name a checkpoint")
        if title in resolved:
            raise FieldError(("checkpoints", index), f"{title!r} is listed twice")
        resolved.append(title)
    return resolved


def enqueued(services: Services, tasks: list[Task]) -> Enqueued | EnqueuedGroup:
    """The reply to an enqueue: the task, or the group when `checkpoints` made several."""
    replies = [
        Enqueued(
            id=task.id,
            status=task.status.value,
            task_type=task.task_type,
            position=services.queue.position(task.id),
        )
        for task in tasks
    ]
    group_id = tasks[0].group_id if tasks else None
    if group_id is None:
        return replies[0]
    return EnqueuedGroup(group_id=group_id, tasks=replies)


def location(reply: Enqueued | EnqueuedGroup) -> str:
    """The Location header of an enqueue reply."""
    if isinstance(reply, EnqueuedGroup):
        return f"{views.API_PREFIX}/groups/{reply.group_id}"
    return f"{views.API_PREFIX}/tasks/{reply.id}"


def group_view(services: Services, group_id: str, base_url: str) -> dict[str, Any]:
    queue = services.queue
    with queue.snapshot():
        tasks = queue.group_tasks(group_id)
        places = views.run_order_places(queue, tasks, consecutive=False)
    return {
        "group_id": group_id,
        "tasks": [
            views.task_view(task, base_url=base_url, queue_position=places.get(task.id))
            for task in tasks
        ],
        "counts": dict(Counter(task.status.value for task in tasks)),
    }


def add_routes(router: APIRouter, services: Services) -> None:
    """GET /groups/{id}, POST /groups/{id}/cancel, POST /groups/{id}/retry, DELETE."""
    queue = services.queue

    def base_url(request: Request) -> str:
        url = str(request.base_url).rstrip("/")
        services.extras["api_base_url"] = url
        return url

    @router.get(
        "/groups/{group_id}",
        response_model=GroupOut,
        responses=_NOT_FOUND,
        summary="A group of tasks queued together",
    )
    def get_group(group_id: GroupId, request: Request):
        with http_errors():
            return owners.shaped(
                group_view(services, group_id, base_url(request)), request, services
            )

    @router.post(
        "/groups/{group_id}/cancel",
        response_model=GroupOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Cancel a group's pending tasks and interrupt its running one",
        dependencies=[owners.own_group(services)],
    )
    def cancel_group(group_id: GroupId, request: Request):
        """Pending tasks become cancelled at once; the running one is interrupted and ends
        cancelled shortly. 409 when no task of the group is pending or running."""
        with http_errors():
            queue.cancel_group(group_id)
            return owners.shaped(
                group_view(services, group_id, base_url(request)), request, services
            )

    @router.post(
        "/groups/{group_id}/retry",
        status_code=201,
        response_model=GroupOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Queue a group's failed and cancelled tasks again",
        dependencies=[owners.own_group(services)],
    )
    def retry_group(group_id: GroupId, request: Request):
        """Each failed or cancelled task of the group not retried yet is queued again as a
        new task of the same group. 409 when there is none. Answers the whole group."""
        with http_errors():
            room_check(queue, services.settings)(group_retry_count(queue, group_id))
            queue.retry_group(group_id)
            return owners.shaped(
                group_view(services, group_id, base_url(request)), request, services
            )

    @router.delete(
        "/groups/{group_id}",
        status_code=204,
        response_class=Response,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Delete every task of a group",
        dependencies=[owners.own_group(services)],
    )
    def delete_group(group_id: GroupId):
        """Refused (409, nothing deleted) while a task of the group runs: cancel it first."""
        with http_errors():
            queue.delete_group(group_id)
        return Response(status_code=204)
