"""Reading Agent Scheduler's queue (table ``task``), read-only, never unpickling.

How Agent Scheduler writes a row (agent_scheduler/task_runner.py, task_helpers.py, db/task.py):
``params`` is JSON ``{"args": {...}, "checkpoint": title | None, "vae": ..., "is_ui": bool,
"is_img2img": bool}``. For an API task ``args`` is the validated sdapi body (images as data
URLs, ``alwayson_scripts`` as positional arg lists). For a UI task ``args`` holds Generate's
inputs by the parameter names of the web UI's ``txt2img`` / ``img2img`` functions, images as
``{"cls": "Image", "size", "mode", "data": base64(zlib(raw pixels))}``. ``script_params`` is
``zlib(pickle(script args))``: it is never loaded here (unpickling runs code); each task that
had any says what was lost. ``result`` is JSON ``{"images": [paths], "geninfo": {...}}`` when
done, the error text when failed. ``priority`` is a millisecond timestamp (lower runs first).
Times are UTC (SQLAlchemy / ``datetime('now')``). Statuses: pending, running, done, failed,
interrupted.
"""

from __future__ import annotations

import base64
import binascii
import pickle
import sqlite3
import zlib
from datetime import datetime, timezone
from typing import Any

from ..core.models import TaskStatus
from .bounds import capped, check_size, loads_cell, rows_in_order
from .tasks import PeerTask, RowSkipped, only_sdapi_fields, png_base64

_STATUSES = {
    "pending": TaskStatus.PENDING,
    "done": TaskStatus.COMPLETED,
    "failed": TaskStatus.FAILED,
    "interrupted": TaskStatus.CANCELLED,
    "running": TaskStatus.FAILED,
}
_OPTIONAL = ("result", "name", "bookmarked", "updated_at")
_TEXT_COLUMNS = ("result", "name", "updated_at")  # read at most peer_bounds.MAX_CELL_CHARS
# zlib(pickle([])) in every protocol: an empty script-args list is known without unpickling.
_EMPTY_BLOBS = frozenset(pickle.dumps([], protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1))
# UI input name -> sdapi field name, where they differ.
_UI_RENAMES = {"prompt_styles": "styles"}
# Fields the newer web UI keeps in its built-in Sampler / Seed scripts (so in the pickle).
_SCRIPT_FIELDS = ("steps", "sampler_name", "seed")
# img2img tab mode -> (image input, mask input) as the web UI names them
_MODES = {
    0: ("init_img", None),
    1: ("sketch", None),
    2: ("init_img_with_mask", "init_img_with_mask"),
    4: ("init_img_inpaint", "init_mask_inpaint"),
}
MAX_PIXELS = 64 * 1024 * 1024
LABEL = "Agent Scheduler"


def read_rows(conn: sqlite3.Connection, include_history: bool) -> list[tuple[str, PeerTask | str]]:
    """(source id, mapped task or the reason it cannot be imported), pending first in run order."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(task)")}
    optional = ", ".join(
        (capped(c) if c in _TEXT_COLUMNS else c) if c in present else f"NULL AS {c}"
        for c in _OPTIONAL
    )
    texts = ["params", *(c for c in _TEXT_COLUMNS if c in present)]
    check_size(conn, "task", "1" if include_history else "status = 'pending'", [], texts, LABEL)
    # The pickled blob itself is fetched only when short enough to be an empty list.
    select = (
        f"{capped('id')}, {capped('type')}, {capped('params')}, priority, {capped('status')}, "
        f"{capped('created_at')}, length(script_params), "
        f"CASE WHEN length(script_params) <= 64 THEN script_params END, {optional}"
    )
    parts = [("status = 'pending'", ("priority",))]
    if include_history:
        order = "updated_at" if "updated_at" in present else "created_at"
        parts.append(("status != 'pending'", (order, "priority")))
    out: list[tuple[str, PeerTask | str]] = []
    # one row at a time: only the mapped tasks stay in memory
    for row in (r for part in parts for r in rows_in_order(conn, "task", select, *part)):
        try:
            out.append((str(row[0]), _peer_task(row)))
        except RowSkipped as reason:
            out.append((str(row[0]), str(reason)))
    return out


def _peer_task(row: tuple[Any, ...]) -> PeerTask:
    source_id, task_type, params_text, _priority, status_text, created = row[:6]
    blob_size, short_blob, result, name, bookmarked, updated = row[6:]
    if task_type not in ("txt2img", "img2img"):
        raise RowSkipped(f"task type {task_type!r} is neither txt2img nor img2img")
    status = _STATUSES.get(status_text)
    if status is None:
        raise RowSkipped(f"status {status_text!r} is not one this import knows")
    if not isinstance(params_text, str | bytes):
        raise RowSkipped("params: not valid JSON")
    params = loads_cell(params_text, "params")
    args = params.get("args") if isinstance(params, dict) else None
    if not isinstance(args, dict):
        raise RowSkipped("params: no 'args' object")
    warnings: list[str] = []
    pickled = bool(blob_size) and _blob_bytes(short_blob) not in _EMPTY_BLOBS
    if params.get("is_ui", True):
        payload = _from_ui(task_type, args, pickled, warnings)
    else:
        payload = _from_api(task_type, args, pickled, warnings)
    if pickled:
        warnings.append(
            "script arguments not carried over: Agent Scheduler stored them pickled "
            f"({blob_size} bytes), which is never loaded (unpickling can run code); scripts "
            "such as ControlNet or ADetailer use their defaults"
        )
    vae = params.get("vae")
    if vae not in (None, "", "Automatic", "None"):
        warnings.append(f"VAE {vae!r} not carried over")
    peer = PeerTask(
        source_id=str(source_id),
        task_type=task_type,
        status=status,
        payload=payload,
        checkpoint=str(params.get("checkpoint") or ""),
        name=str(name or ""),
        priority=0,  # their priority is an enqueue timestamp: the order is kept instead
        created_at=_time(created),
        completed_at=_time(updated),
        bookmarked=bool(bookmarked),
        warnings=warnings,
    )
    _results(peer, status_text, result)
    return peer


def _from_api(task_type: str, args: dict[str, Any], pickled: bool, warnings: list[str]):
    payload = {key: value for key, value in args.items() if value is not None}
    payload.pop("script_args", None)  # moved into the pickle by Agent Scheduler
    if payload.get("script_name") and pickled:
        warnings.append(f"selected script {payload['script_name']!r} not carried over")
        payload.pop("script_name")
    return payload


def _from_ui(task_type: str, args: dict[str, Any], pickled: bool, warnings: list[str]):
    named = {_UI_RENAMES.get(key, key): value for key, value in args.items()}
    named.pop("sampler_index", None)  # an index into the old web UI's list; sampler_name kept
    if named.get("hr_sampler_index"):
        warnings.append("hires. fix sampler (stored as a list index) not carried over")
    if "inpaint_full_res" in named:  # the UI's radio index; sdapi takes a bool
        named["inpaint_full_res"] = bool(named["inpaint_full_res"])
    payload = only_sdapi_fields(task_type, named)
    payload.pop("init_images", None)
    payload.pop("mask", None)
    missing = [f for f in _SCRIPT_FIELDS if f not in payload]
    if missing:
        warnings.append(
            f"{', '.join(missing)} not carried over (kept in Agent Scheduler's pickled script "
            "arguments): Forge's defaults apply; edit the task to set them"
        )
    overrides = _override_texts(named.get("override_settings_texts"), warnings)
    if overrides:
        payload["override_settings"] = overrides
    if task_type == "img2img":
        _ui_images(named, payload)
    return payload


def _ui_images(named: dict[str, Any], payload: dict[str, Any]) -> None:
    mode = named.get("mode", 0)
    if mode not in _MODES:
        raise RowSkipped(f"img2img mode {mode!r} (inpaint sketch or batch) cannot be imported")
    image_key, mask_key = _MODES[mode]
    image = named.get(image_key)
    mask = named.get(mask_key) if mask_key else None
    if mode == 2:  # {"image": ..., "mask": ...}
        image, mask = (image or {}).get("image"), (image or {}).get("mask")
    picture = _raw_image(image, image_key)
    payload["init_images"] = [png_base64(picture)]
    if mask is not None:
        payload["mask"] = png_base64(_raw_image(mask, mask_key or image_key))
    if named.get("selected_scale_tab") == 1 and isinstance(named.get("scale_by"), int | float):
        payload["width"] = int(picture.width * named["scale_by"])
        payload["height"] = int(picture.height * named["scale_by"])


def _raw_image(value: Any, name: str):
    """A PIL image from Agent Scheduler's raw-pixel encoding (plain data: zlib + base64)."""
    from PIL import Image

    if not isinstance(value, dict) or value.get("cls") not in ("Image", "ndarray"):
        raise RowSkipped(f"img2img input {name!r} was not stored with the task")
    try:
        packed = base64.b64decode(value["data"], validate=True)
        if value["cls"] == "Image":
            width, height = (int(v) for v in value["size"])
            mode = str(value["mode"])
            channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
            shape: tuple[int, ...] = (height, width, channels)
        else:
            shape = tuple(int(v) for v in value["shape"])
            if value.get("dtype", "uint8") != "uint8" or len(shape) not in (2, 3):
                raise ValueError("only 8-bit images")
        expected = 1
        for size in shape:
            expected *= size
        if not 0 < expected <= MAX_PIXELS * 4:
            raise ValueError("image too large")
        data = zlib.decompressobj().decompress(packed, expected + 1)
        if len(data) != expected:
            raise ValueError("pixel data does not match the image size")
        if value["cls"] == "Image":
            return Image.frombytes(mode, (width, height), data)
        import numpy as np

        return Image.fromarray(np.frombuffer(data, dtype=np.uint8).reshape(shape))
    except (KeyError, TypeError, ValueError, binascii.Error, zlib.error) as error:
        raise RowSkipped(f"img2img input {name!r} cannot be decoded ({error})") from None


def _override_texts(texts: Any, warnings: list[str]) -> dict[str, Any]:
    """'Clip skip: 2' style overrides; others are listed as not carried."""
    overrides: dict[str, Any] = {}
    dropped = []
    for text in texts if isinstance(texts, list) else []:
        key, _, value = str(text).partition(": ")
        if key == "Clip skip" and value.strip().isdigit():
            overrides["CLIP_stop_at_last_layers"] = int(value)
        else:
            dropped.append(str(text))
    if dropped:
        warnings.append(f"override settings not carried over: {', '.join(dropped)}")
    return overrides


def _results(peer: PeerTask, status_text: str, result: Any) -> None:
    if status_text == "running":
        peer.error = f"It was running in {LABEL} when its queue was imported; it did not finish."
        return
    if result in (None, ""):
        return
    try:
        data = loads_cell(result, "result") if isinstance(result, str | bytes) else None
    except RowSkipped:
        data = None
    if isinstance(data, dict):
        images = data.get("images")
        peer.result_images = [str(p) for p in images] if isinstance(images, list) else []
        info = data.get("geninfo") if isinstance(data.get("geninfo"), dict) else {}
        texts = info.get("infotexts")
        if isinstance(texts, list) and texts:
            peer.result_info = str(texts[0])
        seeds = info.get("all_seeds")
        if isinstance(seeds, list):
            peer.result_seeds = [s for s in seeds if isinstance(s, int)]
    elif peer.status == TaskStatus.FAILED:
        peer.error = str(result)


def _blob_bytes(blob: Any) -> bytes | None:
    """The decompressed bytes of a short blob (compared, never unpickled)."""
    if not isinstance(blob, bytes):
        return None
    try:
        return zlib.decompressobj().decompress(blob, 64)
    except zlib.error:
        return None


def _time(value: Any) -> float | None:
    """Their times are naive UTC ('YYYY-MM-DD HH:MM:SS[.ffffff]')."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
