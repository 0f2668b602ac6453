"""What the API's write routes do, without HTTP: queue an sdapi body, edit a pending task.

Everything is checked before anything is stored; errors are FieldError (bad input, with the
field's location), TaskNotFoundError or TaskStateError, which the routes turn into 422/404/409.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..callbacks.delivery import check_callback_url
from ..core import params as task_params
from ..core.models import Task, TaskStateError, TaskStatus
from ..core.schedule import parse_when
from ..core.services import Services
from .groups import resolve_checkpoints
from .limits import check_room
from .payload import (
    FieldError,
    ImageLimits,
    check_json,
    check_names,
    extract_images,
    resolve_checkpoint,
    sampler_known,
)
from .schemas import QUEUE_FIELDS, QueueFields


def enqueue(
    services: Services,
    task_type: str,
    body: dict[str, Any],
    base_url: str,
    owner: str | None = None,
) -> list[Task]:
    """Queue an sdapi body (plus the queue's fields) as a pending task, or as one task per
    checkpoint forming a group when the body gives `checkpoints`; it belongs to `owner` (the
    HTTP Basic user; None without auth).

    The body must already have passed the request model (types); this checks what the model
    cannot: JSON sanity, names against Forge's catalog, callback URL, and images. The stored
    payload is the body minus the queue's fields, with images replaced by file references.
    QueueFullError when the queue holds the most pending tasks the settings allow.
    """
    check_json(body)
    try:  # the queue's own fields, typed (e.g. "priority": "3" becomes 3, as the docs say)
        extras = QueueFields.model_validate({k: body[k] for k in QUEUE_FIELDS if k in body})
    except ValidationError as error:
        first = error.errors()[0]
        raise FieldError(tuple(first["loc"]), first["msg"]) from None
    payload = {key: value for key, value in body.items() if key not in QUEUE_FIELDS}
    catalog = services.catalog()
    check_names(task_type, payload, catalog)
    checkpoint = resolve_checkpoint(extras.checkpoint, catalog, ("checkpoint",))
    checkpoints = resolve_checkpoints(extras.checkpoints, checkpoint, payload, catalog)
    overrides = payload.get("override_settings")
    if not checkpoint and isinstance(overrides, dict):
        # A checkpoint override is where the task runs; show it as the task's checkpoint.
        checkpoint = resolve_checkpoint(
            overrides.get("sd_model_checkpoint"),
            catalog,
            ("override_settings", "sd_model_checkpoint"),
        )
    callback_url = _callback_url(extras.callback_url, services)
    run_after = _run_after(extras.run_after, services)
    settings = services.settings()
    check_room(services.queue.counts()["pending"], len(checkpoints) or 1, settings.max_pending)
    limits = ImageLimits(max_pixels=settings.max_image_pixels, max_images=settings.max_images)
    extracted = extract_images(task_type, payload, limits)
    services.queue.check_free_space({n: data for n, (data, _ext) in extracted.files.items()})
    try:  # a failure (a full disk, say) leaves neither a row nor the files written for it
        extracted.save(services.files)
        params = {"source": "api", "payload": extracted.payload, "base_url": base_url}
        fields: dict[str, Any] = {
            "name": extras.name,
            "priority": extras.priority,
            "callback_url": callback_url,
            "files": extracted.names,
            "run_after": run_after,
            "owner": owner,
        }
        contents = {name: data for name, (data, _ext) in extracted.files.items()}
        params = services.record_resources(params, None)
        if checkpoints:
            return services.queue.add_group(task_type, params, checkpoints, contents, **fields)
        return [
            services.queue.add_task(
                task_type, params, checkpoint=checkpoint, file_contents=contents, **fields
            )
        ]
    except BaseException:
        services.queue.discard_unused_files(extracted.names)
        raise


def edit(services: Services, task_id: str, edits: dict[str, Any]) -> Task:
    """Change a pending task's common fields, name, priority, checkpoint or callback URL."""
    check_json(edits)
    task = services.queue.require_task(task_id)
    if task.status != TaskStatus.PENDING:
        raise TaskStateError(task_id, task.status.value, "edited")
    catalog = services.catalog()
    sampler = edits.get("sampler_name")
    if sampler is not None and not sampler_known(sampler, catalog):
        raise FieldError(("sampler_name",), f"unknown sampler {sampler!r}")
    scheduler = edits.get("scheduler")
    if scheduler is not None and scheduler not in catalog.schedulers:
        raise FieldError(("scheduler",), f"unknown scheduler {scheduler!r}")
    fields: dict[str, Any] = {}
    generation = {k: v for k, v in edits.items() if k in task_params.EDITABLE_FIELDS}
    if generation:
        try:
            task_params.apply_edits(task.params, task.script_args, generation)  # check first
        except ValueError as error:
            field_name, _, message = str(error).partition(": ")
            raise FieldError((field_name,), message or str(error)) from None
    if "checkpoint" in edits:
        fields["checkpoint"] = resolve_checkpoint(edits["checkpoint"], catalog, ("checkpoint",))
    if "callback_url" in edits:
        fields["callback_url"] = _callback_url(edits["callback_url"], services)
    if "run_after" in edits:
        fields["run_after"] = _run_after(edits["run_after"], services)
    for key in ("name", "priority"):
        if key in edits:
            fields[key] = edits[key]
    if not fields and not generation:
        return task
    return services.queue.edit_task(task_id, generation=generation, **fields)


def _run_after(value: Any, services: Services) -> float | None:
    """A "not before" as unix time: ISO 8601 (no offset: server local time) or seconds."""
    if value is None:
        return None
    try:
        return parse_when(value, services.executor.schedule.zone)
    except ValueError as error:
        raise FieldError(("run_after",), str(error).partition(": ")[2]) from None


def _callback_url(url: Any, services: Services) -> str | None:
    """Checked as a URL; a clearly local one refused while Forge forbids local requests, one to
    a host off the callback host allow-list refused while that is set."""
    try:
        settings = services.settings()
        return check_callback_url(url, settings.forbid_local_requests, settings.callback_hosts)
    except ValueError as error:
        raise FieldError(("callback_url",), str(error).partition(": ")[2]) from None
