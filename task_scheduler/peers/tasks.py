"""From a row of another queue to one of our tasks: the checks both readers share.

A reader (peers/sachira.py, peers/agent.py) turns a row into a `PeerTask`: an sdapi body (images
as base64 strings) plus name, priority, status and results. `build_task` then checks the body
the way the API's enqueue does (JSON sanity, field types, Forge's names) and moves its images to
file references. Our task stores it as an API-queued task (``{"source": "api", "payload": ...}``)
so the worker replays it through the sdapi replay path.

Decisions, all reported in the task's warnings:

* a sampler, scheduler, upscaler, hires checkpoint or script this Forge does not know is *not*
  carried (Forge's default applies) and the task says so, rather than losing the whole task;
* an unknown checkpoint leaves the task on "whatever is loaded", with a warning;
* always-on script args are carried only for scripts this Forge has as always-on scripts,
  matched by title (case-insensitive, as Forge does); others are dropped with a warning.

A row that cannot make a valid task at all (bad JSON, wrong types, an img2img task without its
init image) raises `RowSkipped` with the reason.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..api.payload import (
    ExtractedImages,
    FieldError,
    check_json,
    check_names,
    extract_images,
    image_extension,
    sampler_known,
)
from ..api.schemas import PRIORITY_LIMIT, QUEUE_FIELDS, Img2ImgRequest, Txt2ImgRequest
from ..core.models import Task, TaskStatus
from ..core.portable import check_payload_types
from ..core.services import Catalog

log = logging.getLogger("task_scheduler")

# The sdapi body fields our request models know (Forge's models mirrored field for field).
SDAPI_FIELDS = {
    "txt2img": frozenset(Txt2ImgRequest.model_fields) - set(QUEUE_FIELDS),
    "img2img": frozenset(Img2ImgRequest.model_fields) - set(QUEUE_FIELDS),
}
# Computed by the built-in scripts from payload fields; carrying their args would fight them.
BUILTIN_SCRIPTS = frozenset({"sampler", "seed", "refiner"})
_SAME = {"hr_sampler_name": "Use same sampler", "hr_scheduler": "Use same scheduler"}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # one init image or mask read from the other extension


class RowSkipped(Exception):
    """This row cannot become a task; the message says why."""


@dataclass
class PeerTask:
    """One row of another queue, mapped onto our vocabulary but not yet checked."""

    source_id: str
    task_type: str
    status: TaskStatus
    payload: dict[str, Any]
    checkpoint: str = ""
    name: str = ""
    priority: int = 0
    created_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    result_images: list[str] = field(default_factory=list)
    result_info: str = ""
    result_seeds: list[int] = field(default_factory=list)
    error: str | None = None
    bookmarked: bool = False
    warnings: list[str] = field(default_factory=list)


def build_task(peer: PeerTask, catalog: Catalog | None) -> tuple[Task, ExtractedImages]:
    """Our task for `peer` and its input images (not yet stored); RowSkipped if impossible.

    Without a `catalog` (no Forge at hand) names are kept as recorded, unchecked.
    """
    payload = dict(peer.payload)
    warnings = list(peer.warnings)
    try:
        check_json(payload)
        check_payload_types(peer.task_type, payload, ())
    except FieldError as error:
        raise RowSkipped(f"parameters: {error}") from None
    if catalog is not None:
        _drop_unknown_names(peer.task_type, payload, catalog, warnings)
        checkpoint = _checkpoint(peer.checkpoint, catalog, warnings)
    else:
        checkpoint = "" if peer.checkpoint in ("", "System") else peer.checkpoint
    if peer.task_type == "img2img" and not payload.get("init_images"):
        raise RowSkipped("img2img task without its init image")
    try:
        if catalog is not None:
            check_names(peer.task_type, payload, catalog)
        extracted = extract_images(peer.task_type, payload)
    except FieldError as error:
        raise RowSkipped(f"parameters: {error}") from None
    created = peer.created_at
    task = Task(
        task_type=peer.task_type,
        params={"source": "api", "payload": extracted.payload},
        status=peer.status,
        priority=max(-PRIORITY_LIMIT, min(PRIORITY_LIMIT, int(peer.priority))),
        name=(peer.name or "")[:200],
        checkpoint=checkpoint,
        result_images=[p for p in peer.result_images if _is_image_path(p)],
        result_info=peer.result_info or "",
        result_seeds=[s for s in peer.result_seeds if isinstance(s, int)],
        error=peer.error,
        warnings=warnings,
        bookmarked=peer.bookmarked,
        files=extracted.names,
    )
    if created is not None:
        task.created_at = created
    if peer.status != TaskStatus.PENDING:
        task.started_at = peer.started_at
        task.completed_at = peer.completed_at or peer.started_at or task.created_at
    dropped = len(peer.result_images) - len(task.result_images)
    if dropped:
        task.warnings.append(f"{dropped} recorded result path(s) are not image files: not kept")
    return task, extracted


def read_image_file(path: str, allowed_dir: str) -> str:
    """The base64 of an image file the other extension saved in `allowed_dir`.

    Raises RowSkipped naming the problem: outside that folder (a database must not make us
    read any other file), missing, too large, or not an image.
    """
    real = os.path.realpath(path)
    root = os.path.realpath(allowed_dir)
    if os.path.commonpath([real, root]) != root:
        raise RowSkipped(f"image {path!r} is outside {allowed_dir}: not read")
    if not os.path.isfile(real):
        raise RowSkipped(f"image file {path!r} no longer exists")
    if os.path.getsize(real) > MAX_IMAGE_BYTES:
        raise RowSkipped(f"image file {path!r} is larger than {MAX_IMAGE_BYTES} bytes")
    with open(real, "rb") as handle:
        data = handle.read()
    if image_extension(data) is None:
        raise RowSkipped(f"image file {path!r} is not an image")
    return base64.b64encode(data).decode("ascii")


def png_base64(image: Any) -> str:
    """A PIL image as base64 PNG (images the other extension kept as raw pixels)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def carry_scripts(
    task_type: str,
    scripts: dict[str, list[Any]],
    catalog: Catalog | None,
    warnings: list[str],
    selectable_ok: bool = False,
) -> dict[str, dict[str, list[Any]]]:
    """`alwayson_scripts` for the scripts (title -> args) this Forge has as always-on scripts.

    With `selectable_ok`, args of selectable scripts (X/Y/Z plot ...) are dropped quietly: a
    full positional capture holds every script's args, used or not.
    """
    if catalog is None:
        catalog = Catalog()  # nothing known: nothing can be matched
    known = {title.lower(): title for title in catalog.alwayson.get(task_type, [])}
    selectable = {title.lower() for title in catalog.scripts.get(task_type, [])} - set(known)
    carried: dict[str, dict[str, list[Any]]] = {}
    for title, args in scripts.items():
        if title.lower() in BUILTIN_SCRIPTS:
            continue  # steps, sampler, seed ... travel as payload fields
        if title.lower() in known:
            carried[known[title.lower()]] = {"args": list(args)}
        elif selectable_ok and title.lower() in selectable:
            continue
        else:
            warnings.append(
                f"script args of {title!r} not carried over: no always-on script of that "
                "title on this Forge"
            )
    return carried


def only_sdapi_fields(task_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """The sdapi body fields among `values`, without None or a non-finite number (Forge's
    defaults apply: a captured processing object holds e.g. ``s_tmax = inf``)."""
    allowed = SDAPI_FIELDS[task_type]
    return {
        key: value
        for key, value in values.items()
        if key in allowed
        and value is not None
        and not (isinstance(value, float) and not math.isfinite(value))
    }


def _drop_unknown_names(
    task_type: str, payload: dict[str, Any], catalog: Catalog, warnings: list[str]
) -> None:
    if payload.get("sampler_name") not in (None, ""):
        payload.pop("sampler_index", None)  # Forge reads sampler_name first
    for key in ("sampler_name", "sampler_index", "hr_sampler_name"):
        value = payload.get(key)
        if value in (None, "", _SAME.get(key)):
            continue
        if not (isinstance(value, str) and sampler_known(value, catalog)):
            payload.pop(key)
            warnings.append(_unknown(key, value, "sampler"))
    for key in ("scheduler", "hr_scheduler"):
        value = payload.get(key)
        if value not in (None, "", _SAME.get(key)) and value not in catalog.schedulers:
            payload.pop(key)
            warnings.append(_unknown(key, value, "scheduler"))
    value = payload.get("hr_upscaler")
    if value not in (None, "") and value not in catalog.upscalers:
        payload.pop("hr_upscaler")
        warnings.append(_unknown("hr_upscaler", value, "upscaler"))
    value = payload.get("hr_checkpoint_name")
    if value not in (None, "", "Use same checkpoint") and not (
        isinstance(value, str) and catalog.resolve_checkpoint(value)
    ):
        payload.pop("hr_checkpoint_name")
        warnings.append(_unknown("hr_checkpoint_name", value, "checkpoint"))
    overrides = payload.get("override_settings")
    if isinstance(overrides, dict) and "sd_model_checkpoint" in overrides:
        value = overrides["sd_model_checkpoint"]
        overrides = dict(overrides)
        resolved = catalog.resolve_checkpoint(value) if isinstance(value, str) else None
        if resolved:
            overrides["sd_model_checkpoint"] = resolved
        else:
            overrides.pop("sd_model_checkpoint")
            warnings.append(_unknown("override_settings.sd_model_checkpoint", value, "checkpoint"))
        payload["override_settings"] = overrides
    script = payload.get("script_name")
    if script not in (None, ""):
        titles = {t.lower() for t in catalog.scripts.get(task_type, [])}
        if not isinstance(script, str) or script.lower() not in titles:
            payload.pop("script_name")
            payload.pop("script_args", None)
            warnings.append(_unknown("script_name", script, "script"))
    scripts = payload.get("alwayson_scripts")
    if isinstance(scripts, dict):
        args = {
            str(title): (entry.get("args") if isinstance(entry, dict) else None) or []
            for title, entry in scripts.items()
        }
        payload["alwayson_scripts"] = carry_scripts(task_type, args, catalog, warnings)


def _checkpoint(name: str, catalog: Catalog, warnings: list[str]) -> str:
    if not name or name == "System":
        return ""
    resolved = catalog.resolve_checkpoint(name)
    if resolved is None:
        warnings.append(
            f"checkpoint {name!r} is unknown to this Forge: the task runs on whatever "
            "checkpoint is loaded (edit it to choose one)"
        )
        return ""
    return resolved


def _unknown(key: str, value: Any, kind: str) -> str:
    return (
        f"{key}: {kind} {value!r} is unknown to this Forge and was not carried over "
        "(Forge's default applies; edit the task to choose another)"
    )


def _is_image_path(path: Any) -> bool:
    return isinstance(path, str) and bool(path) and path.lower().endswith(_IMAGE_SUFFIXES)
