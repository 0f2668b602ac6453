"""Export pending tasks as portable JSON, and import such a document on another Forge.

An export carries each task's type, params, script args, checkpoint, name, priority, callback
URL and group, plus every input file the tasks use, base64-encoded once in a shared map.
Import is plain data handling: the document is parsed as JSON, every field is checked (types,
Forge's names, file references), file names must be the SHA-256 of their content (so a name
can never point anywhere but the data folder), and the tasks are added all together or not at
all. Nothing is unpickled or evaluated.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from typing import Any

from pydantic import ValidationError

from ..api.limits import check_room
from ..api.payload import (
    FILE_REF,
    FieldError,
    Loc,
    check_json,
    check_names,
    checked_image,
    file_refs,
    resolve_checkpoint,
    sampler_known,
)
from ..api.schemas import ExportDocument, ExportedTask, Img2ImgRequest, Txt2ImgRequest
from ..callbacks.delivery import check_callback_url
from . import params as task_params
from .files import FileStore
from .models import Task
from .queue_groups import new_group_id
from .services import Catalog, Services, Settings

log = logging.getLogger("task_scheduler")

_FILE_NAME = re.compile(r"[0-9a-f]{64}\.[0-9a-z]{1,8}")
# Longest string inside an imported task's params or script args: any prompt fits a hundred
# times over; images are not strings there (an export carries them in its "files").
MAX_TEXT = 1_000_000
_LOCAL_PARAMS = ("base_url",)  # meaningful on this server only; not exported
# Generate's inputs that name server folders (img2img batch): an import must not choose them.
_FOLDER_INPUTS = (
    "img2img_batch_input_dir",
    "img2img_batch_output_dir",
    "img2img_batch_inpaint_mask_dir",
    "img2img_batch_png_info_dir",
)


def export_document(services: Services) -> dict[str, Any]:
    """All pending tasks in run order, with their input files embedded.

    A broken task (malformed stored data, see params.task_problem) is left out, with a log
    line: it could not be imported, and an import takes all of a document or nothing.
    """
    tasks = services.queue.get_pending_tasks()
    files: dict[str, str] = {}
    exported = []
    for task in tasks:
        problem = task_params.task_problem(task.params, task.script_args)
        if problem is not None:
            log.warning("task_scheduler: export leaves out broken task %s (%s)", task.id, problem)
            continue
        for name in task.files:
            if name not in files and services.files.exists(name):
                files[name] = base64.b64encode(services.files.read(name)).decode("ascii")
        exported.append(
            {
                "task_type": task.task_type,
                "params": {k: v for k, v in task.params.items() if k not in _LOCAL_PARAMS},
                "script_args": task.script_args,
                "checkpoint": task.checkpoint,
                "name": task.name,
                "priority": task.priority,
                "callback_url": task.callback_url,
                "files": list(task.files),
                "group_id": task.group_id if isinstance(task.group_id, str) else None,
            }
        )
    return {
        "format": "sd-forge-task-scheduler",
        "version": 1,
        "exported_at": time.time(),
        "tasks": exported,
        "files": files,
    }


def import_document(
    services: Services, document: ExportDocument, base_url: str, owner: str | None = None
) -> list[Task]:
    """Validate the whole document, store its files, then queue its tasks (all or none).
    They belong to `owner`, the user who imports (a document carries no owners: another
    Forge's users are not this one's).

    Raises FieldError (with a location inside the document), or QueueFullError when the tasks
    would pass the "most pending tasks" setting, before anything is stored.
    """
    catalog = services.catalog()
    settings = services.settings()
    max_pixels = settings.max_image_pixels
    contents = {name: _decode_file(name, data, max_pixels) for name, data in document.files.items()}
    specs = [
        _task_spec(index, entry, catalog, set(contents), base_url, settings)
        for index, entry in enumerate(document.tasks)
    ]
    # An exported group comes back as a group, under a new id: the document's ids are only
    # labels (another Forge's, or this one's still in use).
    groups: dict[str, str] = {}
    for spec, entry in zip(specs, document.tasks, strict=True):
        if entry.group_id is not None:
            spec["group_id"] = groups.setdefault(entry.group_id, new_group_id())
        spec["owner"] = owner
    check_room(services.queue.counts()["pending"], len(specs), settings.max_pending)
    used = {name: contents[name] for spec in specs for name in spec["files"]}
    services.queue.check_free_space(used)
    try:
        for name, data in used.items():
            services.files.put(data, name.rsplit(".", 1)[1])
        # a file a concurrent delete removed meanwhile is written again inside the transaction
        return services.queue.add_tasks(specs, file_contents=used)
    except BaseException:  # e.g. a full disk: no task stored, and none of its files left
        services.queue.discard_unused_files(used)
        raise


def _decode_file(name: str, data: str, max_pixels: int) -> bytes:
    """A file's bytes, checked: named by its SHA-256, and an image (by its header) no larger
    than `max_pixels` and not broken; files that are not images (uploads, arrays) pass."""
    loc: Loc = ("files", name)
    if not _FILE_NAME.fullmatch(name):
        raise FieldError(loc, "file names must be '<sha256 hex>.<extension>'")
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise FieldError(loc, "is not valid base64") from None
    if FileStore.name_for(content, name.rsplit(".", 1)[1]) != name:
        raise FieldError(loc, "content does not match its name (SHA-256)")
    checked_image(content, loc, max_pixels)  # header only: never decodes the pixels
    return content


def _task_spec(
    index: int,
    entry: ExportedTask,
    catalog: Catalog,
    available: set[str],
    base_url: str,
    settings: Settings,
) -> dict[str, Any]:
    loc: Loc = ("tasks", index)
    for where in ("params", "script_args"):  # images travel in "files", not in here
        check_json(getattr(entry, where), (*loc, where), allow_file_refs=True, max_text=MAX_TEXT)
    for position, name in enumerate(entry.files):
        if name not in available:
            raise FieldError((*loc, "files", position), f"{name!r} is not in the document's files")
    for where in ("params", "script_args"):
        for name in file_refs(getattr(entry, where)):
            if name not in entry.files:
                raise FieldError((*loc, where), f"refers to {name!r}, not one of the task's files")
    params = _checked_params(entry, catalog, (*loc, "params"))
    try:
        callback_url = check_callback_url(
            entry.callback_url, settings.forbid_local_requests, settings.callback_hosts
        )
    except ValueError as error:
        raise FieldError((*loc, "callback_url"), str(error).partition(": ")[2]) from None
    if params["source"] == "api":
        params = {**params, "base_url": base_url}
    return {
        "task_type": entry.task_type,
        "params": params,
        "script_args": entry.script_args,
        "checkpoint": resolve_checkpoint(entry.checkpoint, catalog, (*loc, "checkpoint")),
        "name": entry.name,
        "priority": entry.priority,
        "callback_url": callback_url,
        "files": sorted(set(entry.files)),
    }


def _checked_params(entry: ExportedTask, catalog: Catalog, loc: Loc) -> dict[str, Any]:
    params = {k: v for k, v in entry.params.items() if k not in _LOCAL_PARAMS}
    source = params.get("source")
    if source == "api":
        payload = params.get("payload")
        if not isinstance(payload, dict):
            raise FieldError((*loc, "payload"), "must be an object (an sdapi body)")
        check_payload_types(entry.task_type, payload, (*loc, "payload"))
        try:
            check_names(entry.task_type, payload, catalog)
        except FieldError as error:
            raise FieldError((*loc, "payload", *error.loc), error.message) from None
        for key in ("alwayson_scripts", "script_args"):
            _refuse_server_paths(payload.get(key), (*loc, "payload", key))
        return params
    if source == "ui":
        shape_error = task_params.ui_shape_error(params, entry.script_args)
        if shape_error is not None:  # loc names the task's "params" / "script_args" part
            where, message = shape_error
            raise FieldError((*loc[:-1], *where), message)
        for name in _FOLDER_INPUTS:
            if params["inputs"].get(name) not in (None, ""):
                raise FieldError(
                    (*loc, "inputs", name), "server folders cannot be given by an import"
                )
        _check_ui_names(entry, catalog, loc)
        _refuse_server_paths(
            entry.script_args.get("scripts", {}), (*loc[:-1], "script_args", "scripts")
        )
        return params
    raise FieldError((*loc, "source"), "must be 'api' or 'ui'")


def _refuse_server_paths(value: Any, loc: Loc) -> None:
    """FieldError for the first string inside script args that names a server path.

    Script args can make Forge read or write server folders (a ControlNet unit's
    ``batch_image_dir`` / ``batch_mask_dir``, gallery paths). An import document was written
    elsewhere, so it must not choose any: absolute paths, ``~``, ``..`` segments and file URLs
    are refused. (Enqueue through the API accepts them, as sdapi does: there the caller wrote
    the body and could send it to sdapi with the same credentials.)
    """
    stack: list[tuple[Any, Loc]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if names_server_path(item):
                raise FieldError(
                    where, f"names a server path ({item[:80]!r}); an import cannot choose one"
                )
        elif isinstance(item, dict) and not isinstance(item.get(FILE_REF), str):
            stack.extend((child, (*where, str(key))) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, (*where, index)) for index, child in enumerate(item))


_PATH_MAX = 4096  # longer strings are not paths (and base64 images can start with "/")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def names_server_path(text: str) -> bool:
    """Whether `text` is a path that reaches outside a relative name: absolute (POSIX, Windows
    drive or UNC), home-relative, with a ".." segment, or a file: URL."""
    if not text or len(text) > _PATH_MAX:
        return False
    if text.startswith(("/", "\\", "~")) or text.lower().startswith("file:"):
        return True
    if _WINDOWS_DRIVE.match(text):
        return True
    return ".." in re.split(r"[\\/]", text)


def check_payload_types(task_type: str, payload: dict[str, Any], loc: Loc) -> None:
    """Check an sdapi body's field types like the enqueue routes do (file references allowed)."""
    model = Txt2ImgRequest if task_type == "txt2img" else Img2ImgRequest
    try:
        model.model_validate(_without_refs(payload))
    except ValidationError as error:
        first = error.errors()[0]
        raise FieldError((*loc, *first["loc"]), first["msg"]) from None


def _check_ui_names(entry: ExportedTask, catalog: Catalog, loc: Loc) -> None:
    get = task_params.get_field
    sampler = get(entry.params, entry.script_args, "sampler_name")
    if sampler not in (None, "") and not (
        isinstance(sampler, str) and sampler_known(sampler, catalog)
    ):
        raise FieldError((*loc, "sampler_name"), f"unknown sampler {sampler!r}")
    scheduler = get(entry.params, entry.script_args, "scheduler")
    if scheduler not in (None, "") and scheduler not in catalog.schedulers:
        raise FieldError((*loc, "scheduler"), f"unknown scheduler {scheduler!r}")


def _without_refs(value: Any) -> Any:
    """`value` with file references replaced by placeholder strings (types only matter)."""
    if isinstance(value, dict):
        if isinstance(value.get(FILE_REF), str):
            return "file"
        return {key: _without_refs(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_without_refs(child) for child in value]
    return value
