"""The REST API under /task-scheduler: a job queue for scripts, bots and other tools.

`install(app, services, access)` is called from `on_app_started`: it starts callback delivery
and mounts the routes only when `access` (api_auth.rest_access: --api or --nowebui) says so.
`mount(app, services, credentials)` adds the routes with given credentials; `create_router`
builds them alone (tests mount it on a bare FastAPI app).

Status codes: 201 created, 200/204 success, 401 bad or missing credentials (with --api-auth,
or --gradio-auth), 403 a cross-site request (see api/same_origin.py), 404 unknown task or image,
409 the task's status forbids the action (the message names both), 415 a body that is not
JSON, 422 invalid input naming the field. Nothing is stored when a request fails.
Image URLs are absolute, built from the base URL of the request that asks (callbacks use the
base URL of the request that queued the task, else of the last API request served).
"""

from __future__ import annotations

import logging
import mimetypes
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from ..callbacks.delivery import CallbackSender
from ..core import views
from ..core.queue_room import room_check
from ..core.result_copies import cached_copy
from ..core.services import Services
from ..peers.conflicts import conflicts_of
from . import groups as api_groups
from . import owners
from . import peer as api_peer
from . import portable_routes as api_portable
from . import schedule as api_schedule
from . import tasks as api_tasks
from .auth import RestAccess, basic_auth, request_user
from .errors import ValidationSafeRoute, http_errors, unprocessable
from .faults import FAULT_RESPONSES, fault_answering
from .groups import EnqueuedGroup
from .limits import LIMIT_RESPONSES, body_limited
from .same_origin import require_same_origin_json
from .schemas import (
    Cleared,
    ClearRequest,
    Enqueued,
    ErrorOut,
    Img2ImgRequest,
    MoveRequest,
    QueueOut,
    Status,
    TaskEdit,
    TaskOut,
    TaskPageOut,
    Txt2ImgRequest,
)

log = logging.getLogger("task_scheduler")

PREFIX = views.API_PREFIX
TAG = "Task Scheduler"
_NOT_FOUND = {404: {"model": ErrorOut, "description": "No task has this id."}}
_CONFLICT = {409: {"model": ErrorOut, "description": "The task's status forbids this."}}
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_IMAGE_TYPES |= {".webp": "image/webp", ".gif": "image/gif", ".bmp": "image/bmp"}
CROSS_SITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorOut,
        "description": "A cross-site request that changes state, or a change the user may not "
        "make: another user's task (`this task belongs to alice`), or queue administrators only.",
    },
    415: {"model": ErrorOut, "description": "A request body that is not JSON."},
}


def install(
    app: FastAPI,
    services: Services,
    access: RestAccess,
    *,
    callback_sender: CallbackSender | None = None,
) -> None:
    """What Forge's `on_app_started` does: start callback delivery, and add the routes to
    `app` if `access` says they are mounted (with its credentials)."""
    log.info("task_scheduler: REST routes under %s %s", PREFIX, access.describe())
    if access.mounted:
        mount(app, services, access.credentials, callback_sender=callback_sender)
    else:
        start_callbacks(services, callback_sender)


def mount(
    app: FastAPI,
    services: Services,
    credentials: dict[str, str] | None,
    *,
    callback_sender: CallbackSender | None = None,
) -> None:
    """Add the routes to `app` and start callback delivery (once per services).

    `callback_sender` replaces the default sender (10 s timeout, 3 attempts, 1 s backoff).
    """
    app.include_router(create_router(services, credentials))
    start_callbacks(services, callback_sender)


def start_callbacks(services: Services, callback_sender: CallbackSender | None = None) -> None:
    """Start callback delivery once per services (tasks queued earlier may still have
    callbacks, so it runs whether or not the routes are mounted)."""
    if services.extras.get("callback_sender") is None:
        sender = callback_sender or CallbackSender(services.queue, services.settings)
        if sender.default_base_url is str:
            sender.default_base_url = lambda: str(services.extras.get("api_base_url", ""))
        services.extras["callback_sender"] = sender
        sender.start()


def shutdown(services: Services) -> None:
    """Stop callback delivery (call from `on_script_unloaded`, before building new services)."""
    sender = services.extras.pop("callback_sender", None)
    if sender is not None:
        sender.close()


def create_router(services: Services, credentials: dict[str, str] | None = None) -> APIRouter:
    """All /task-scheduler routes; with `credentials`, every route requires HTTP Basic auth.

    Every route also refuses cross-site state-changing requests and non-JSON bodies
    (api/same_origin.py): one router-level check, so a new route is covered too.
    """
    dependencies = [Depends(basic_auth(credentials))] if credentials is not None else []
    dependencies.append(Depends(require_same_origin_json))
    responses: dict[int | str, dict[str, Any]] = {**LIMIT_RESPONSES, **CROSS_SITE_RESPONSES}
    responses |= FAULT_RESPONSES  # 503 / 507: the store is unavailable (api/faults.py)
    if credentials is not None:
        responses[401] = {"model": ErrorOut, "description": "Missing or wrong credentials."}
    router = APIRouter(
        prefix=PREFIX,
        tags=[TAG],
        dependencies=dependencies,
        responses=responses,
        route_class=body_limited(
            fault_answering(ValidationSafeRoute, lambda: services.queue.store.path),
            lambda: services.settings().max_body_bytes,
        ),
    )
    queue = services.queue

    def base_url(request: Request) -> str:
        url = str(request.base_url).rstrip("/")
        services.extras["api_base_url"] = url
        return url

    # -- queueing ------------------------------------------------------------------------------

    async def _enqueue(task_type: str, request: Request, response: Response):
        body = await request.json()  # the raw body: stored unchanged, not the model's dump
        url = base_url(request)
        owner = request_user(request)

        def enqueue() -> Enqueued | EnqueuedGroup:
            with http_errors():
                tasks = api_tasks.enqueue(services, task_type, body, url, owner=owner)
            return api_groups.enqueued(services, tasks)

        enqueued = await run_in_threadpool(enqueue)
        response.headers["Location"] = api_groups.location(enqueued)
        return enqueued

    @router.post(
        "/queue/txt2img",
        status_code=201,
        response_model=Enqueued | EnqueuedGroup,
        summary="Queue a txt2img task",
        description="Takes exactly what Forge's /sdapi/v1/txt2img takes, plus `checkpoint` (or "
        "`checkpoints`: one task each, a group), `priority`, `name` and `callback_url`. "
        "The task later runs as that sdapi call would.",
    )
    async def queue_txt2img(body: Txt2ImgRequest, request: Request, response: Response):
        return await _enqueue("txt2img", request, response)

    @router.post(
        "/queue/img2img",
        status_code=201,
        response_model=Enqueued | EnqueuedGroup,
        summary="Queue an img2img task",
        description="Takes exactly what Forge's /sdapi/v1/img2img takes (init_images and mask "
        "as base64), plus `checkpoint` (or `checkpoints`: one task each, a group), "
        "`priority`, `name` and `callback_url`.",
    )
    async def queue_img2img(body: Img2ImgRequest, request: Request, response: Response):
        return await _enqueue("img2img", request, response)

    # -- reading -------------------------------------------------------------------------------

    @router.get("/queue", response_model=QueueOut, summary="Worker state, progress, pending")
    def queue_status(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500, description="Pending tasks per page.")] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ):
        return owners.shaped(
            _queue_view(services, limit, offset, base_url(request)), request, services
        )

    @router.get("/tasks", response_model=TaskPageOut, summary="List and search tasks")
    def list_tasks(
        request: Request,
        status: Annotated[
            list[Status] | None, Query(description="Repeat to allow several.")
        ] = None,
        search: Annotated[
            str | None, Query(max_length=1000, description="Text in name or prompts.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        owner: Annotated[
            str | None,
            Query(max_length=200, description="Only the tasks this user queued."),
        ] = None,
        mine: Annotated[
            bool, Query(description="Only the tasks of the user asking (HTTP Basic).")
        ] = False,
    ):
        rights = owners.access(request, services)
        if mine:
            owner = rights.user
        if search and not rights.is_admin and rights.hide_prompts:
            # others' prompts are hidden: a search must not tell what they contain
            if owner not in (None, rights.user):
                return {"tasks": [], "total": 0, "limit": limit, "offset": offset}
            owner = rights.user
        url = base_url(request)
        page = views.task_page_view(queue, status, search, limit, offset, url, owner=owner)
        return owners.shaped(page, request, services)

    @router.get("/tasks/{task_id}", response_model=TaskOut, responses=_NOT_FOUND)
    def get_task(task_id: str, request: Request):
        """Every field of one task, params included."""
        return _detail(task_id, request)

    @router.get(
        "/tasks/{task_id}/images/{index}",
        response_class=FileResponse,
        responses={
            200: {"content": {"image/png": {}}, "description": "The image file."},
            **_NOT_FOUND,
        },
        summary="A result image (0-based index)",
    )
    def get_image(task_id: str, index: Annotated[int, Path(ge=0, le=100_000)], request: Request):
        """Serves only the files the worker recorded for this task; no path comes from here."""
        with http_errors():
            task = queue.require_task(task_id)
        if not owners.access(request, services).may_see(task.owner):  # hidden prompts
            raise HTTPException(403, f"this task belongs to {task.owner}; its images are hidden")
        if index >= len(task.result_images):
            raise HTTPException(404, f"task {task_id} has {len(task.result_images)} image(s)")
        path = services.resolve_image(task.result_images[index])
        if not os.path.isfile(path):  # made on another machine sharing the queue: its copy
            path = cached_copy(queue.results, task, index)
        if path is None:
            raise HTTPException(404, f"image {index} of task {task_id} no longer exists")
        ext = os.path.splitext(path)[1].lower()
        media_type = _IMAGE_TYPES.get(ext) or mimetypes.guess_type(path)[0]
        return FileResponse(path, media_type=media_type or "application/octet-stream")

    # -- changing ------------------------------------------------------------------------------

    @router.patch(
        "/tasks/{task_id}",
        response_model=TaskOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Edit a pending task",
        dependencies=[owners.own_task(services)],
    )
    def edit_task(task_id: str, edits: TaskEdit, request: Request):
        with http_errors():
            task = api_tasks.edit(services, task_id, edits.model_dump(exclude_unset=True))
        return _detail(task.id, request)

    @router.post(
        "/queue/{task_id}/cancel",
        response_model=TaskOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Cancel a pending task or interrupt the running one",
        dependencies=[owners.own_task(services)],
    )
    def cancel_task(task_id: str, request: Request):
        """A pending task becomes cancelled at once; the running one is interrupted and ends
        cancelled shortly (`cancel_requested` is true meanwhile)."""
        with http_errors():
            services.executor.cancel(task_id)
        return _detail(task_id, request)

    @router.post(
        "/tasks/{task_id}/retry",
        status_code=201,
        response_model=TaskOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Queue a finished task again (as a new task)",
        dependencies=[owners.own_task(services)],
    )
    def retry_task(task_id: str, request: Request, response: Response):
        with http_errors():
            room_check(queue, services.settings)(1)  # past "most pending tasks": 429
            task = queue.retry_task(task_id)
        response.headers["Location"] = f"{PREFIX}/tasks/{task.id}"
        return _detail(task.id, request)

    @router.post(
        "/tasks/{task_id}/move",
        response_model=TaskOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Move a pending task in the run order",
        dependencies=[owners.own_task(services)],
    )
    def move_task(task_id: str, move: MoveRequest, request: Request):
        if (move.to is None) == (move.before is None):
            raise unprocessable(("body", "to"), "give exactly one of 'to' or 'before'")
        with http_errors(before=move.before):
            queue.move_task(task_id, to=move.to, before=move.before)
        return _detail(task_id, request)

    @router.delete(
        "/tasks/{task_id}",
        status_code=204,
        response_class=Response,
        responses={**_NOT_FOUND, **_CONFLICT},
        summary="Delete a task that is not running",
        dependencies=[owners.own_task(services)],
    )
    def delete_task(task_id: str):
        with http_errors():
            queue.delete_task(task_id)
        return Response(status_code=204)

    @router.post(
        "/start",
        response_model=QueueOut,
        summary="Start taking tasks",
        dependencies=[owners.control(services, "start the queue")],
    )
    def start(request: Request):
        services.executor.start()
        return owners.shaped(_queue_view(services, base_url=base_url(request)), request, services)

    @router.post(
        "/stop",
        response_model=QueueOut,
        summary="Stop after the current task",
        dependencies=[owners.control(services, "stop the queue")],
    )
    def stop(request: Request):
        services.executor.stop()
        return owners.shaped(_queue_view(services, base_url=base_url(request)), request, services)

    @router.post(
        "/clear-completed",
        response_model=Cleared,
        summary="Delete finished tasks",
        dependencies=[owners.control(services, "clear finished tasks")],
    )
    def clear_completed(clear: ClearRequest | None = None):
        """Deletes completed tasks (or the given finished statuses); bookmarked ones stay."""
        statuses = clear.statuses if clear is not None else ["completed"]
        with http_errors():
            return Cleared(deleted=queue.clear_completed(statuses))

    def _detail(task_id: str, request: Request) -> dict[str, Any]:
        with http_errors():
            task = queue.require_task(task_id)
        view = views.task_view(
            task,
            base_url=base_url(request),
            queue_position=queue.position(task_id),
            detail=True,
            waiting=queue.instance.waiting_reasons([task]).get(task_id),
        )
        return owners.shaped(view, request, services)

    api_peer.add_routes(router, services)
    api_portable.add_routes(router, services, base_url)
    api_schedule.add_routes(router, services, _queue_view)
    api_groups.add_routes(router, services)
    return router


def _queue_view(
    services: Services, limit: int = 50, offset: int = 0, base_url: str = ""
) -> dict[str, Any]:
    """The queue's state plus the other extensions that clash with ours (QueueOut)."""
    view = views.queue_view(services.queue, services.executor, limit, offset, base_url)
    view["conflicts"] = conflicts_of(services)
    return view
