"""Reading SachiraChin's sd-webui-forge-task-scheduler queue (table ``tasks``), read-only.

How that extension writes a row (task_scheduler/core/models.py ``Task.to_dict``, db.py, and
param_capture/): ``params`` is JSON of the processing object's fields by their Forge names
(``prompt``, ``steps``, ``sampler_name``, ``hr_scale`` ... — the "legacy" capture lists them,
the "dynamic" one dumps every JSON-able attribute), plus ``ui_settings``, ``override_settings``
and ``_script_args_labeled`` (one entry per script arg: index, script title, value).
``init_images`` / ``mask_path`` are paths of PNGs it saved in ``<its folder>/temp_images``.
``script_args`` is a JSON list (positional, ControlNet units as dicts without images);
``result_images`` a JSON list of output paths. Times are local ISO strings. Statuses: pending,
running, completed, failed, cancelled, stopped (interrupted), paused (resumable).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from typing import Any

from ..core.models import TaskStatus
from ..core.services import Catalog
from .bounds import capped, check_size, loads_cell, rows_in_order
from .tasks import PeerTask, RowSkipped, carry_scripts, only_sdapi_fields, read_image_file

_STATUSES = {
    "pending": TaskStatus.PENDING,
    "paused": TaskStatus.PENDING,
    "completed": TaskStatus.COMPLETED,
    "failed": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "stopped": TaskStatus.CANCELLED,
    "running": TaskStatus.FAILED,
}
_WAITING = ("pending", "paused")
# Captured processing-object fields that are not part of a body Forge's sdapi should replay.
_NOT_REPLAYED = {"script_args", "script_name", "alwayson_scripts", "comments", "force_task_id"}
_NOT_REPLAYED |= {"infotext", "firstpass_image", "send_images", "save_images", "init_images"}
_NOT_REPLAYED |= {"mask", "latent_mask", "sampler_index"}
# ui_settings (global options when queued) that are plain generation options.
_CARRIED_SETTINGS = ("CLIP_stop_at_last_layers", "eta_noise_seed_delta", "randn_source")
_COLUMNS = (
    "id task_type status priority created_at started_at completed_at params checkpoint "
    "script_args result_images result_info error name completed_iterations original_n_iter"
).split()
# Columns holding JSON or free text: read at most peer_bounds.MAX_CELL_CHARS of each (all but
# the numbers), and counted for the import's size.
_TEXT_COLUMNS = ("params", "script_args", "result_images", "result_info", "error", "name")
_NUMBERS = ("priority", "completed_iterations", "original_n_iter")
RUNNING_ERROR = "It was running in {label} when its queue was imported; it did not finish."


def read_rows(
    conn: sqlite3.Connection, db_path: str, catalog: Catalog | None, include_history: bool
) -> list[tuple[str, PeerTask | str]]:
    """(source id, mapped task or the reason it cannot be imported), pending first in run order."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    select = ", ".join(_select(c) if c in present else f"NULL AS {c}" for c in _COLUMNS)
    texts = [c for c in _TEXT_COLUMNS if c in present]
    waiting = f"status IN ({', '.join('?' for _ in _WAITING)})"
    everything = ("1", ()) if include_history else (waiting, _WAITING)
    check_size(conn, "tasks", *everything, texts, db_path)
    parts = [(waiting, ("priority", "created_at"))]
    if include_history:
        parts.append((f"NOT {waiting}", ("completed_at", "created_at")))
    images_dir = os.path.join(os.path.dirname(os.path.abspath(db_path)), "temp_images")
    out: list[tuple[str, PeerTask | str]] = []
    for where_rows, order in parts:  # one row at a time: only the mapped tasks stay in memory
        for values in rows_in_order(conn, "tasks", select, where_rows, order, _WAITING):
            out.append(_mapped(values, images_dir, catalog))
    return out


def _mapped(
    values: tuple[Any, ...], images_dir: str, catalog: Catalog | None
) -> tuple[str, PeerTask | str]:
    row = dict(zip(_COLUMNS, values, strict=True))
    try:
        return str(row["id"]), _peer_task(row, images_dir, catalog)
    except RowSkipped as reason:
        return str(row["id"]), str(reason)


def _peer_task(row: dict[str, Any], images_dir: str, catalog: Catalog | None) -> PeerTask:
    task_type = row["task_type"]
    if task_type not in ("txt2img", "img2img"):
        raise RowSkipped(f"task type {task_type!r} is neither txt2img nor img2img")
    status = _STATUSES.get(row["status"])
    if status is None:
        raise RowSkipped(f"status {row['status']!r} is not one this import knows")
    params = _json(row["params"], "params")
    if not isinstance(params, dict):
        raise RowSkipped("params: not a JSON object")
    warnings: list[str] = []
    payload = only_sdapi_fields(
        task_type, {k: v for k, v in params.items() if k not in _NOT_REPLAYED}
    )
    _carry_settings(params, payload, warnings)
    if task_type == "img2img":
        paths = params.get("init_images")
        if not isinstance(paths, list) or not paths:
            raise RowSkipped("img2img task without its init image")
        payload["init_images"] = [read_image_file(str(p), images_dir) for p in paths]
        if params.get("mask_path"):
            payload["mask"] = read_image_file(str(params["mask_path"]), images_dir)
    scripts = _scripts_by_title(row["script_args"], params.get("_script_args_labeled"), warnings)
    carried = carry_scripts(task_type, scripts, catalog, warnings, selectable_ok=True)
    if carried:
        payload["alwayson_scripts"] = carried
    if row["status"] == "paused" and row["completed_iterations"]:
        warnings.append(
            f"it was paused after {row['completed_iterations']} of {row['original_n_iter']} "
            "batches in the other extension: every batch runs again"
        )
    try:
        result_images = _json(row["result_images"], "result_images") or []
    except RowSkipped as reason:
        warnings.append(f"{reason}: result images not kept")
        result_images = []
    peer = PeerTask(
        source_id=str(row["id"]),
        task_type=task_type,
        status=status,
        payload=payload,
        checkpoint=str(row["checkpoint"] or ""),
        name=str(row["name"] or ""),
        priority=row["priority"] if isinstance(row["priority"], int) else 0,
        created_at=_time(row["created_at"]),
        started_at=_time(row["started_at"]),
        completed_at=_time(row["completed_at"]),
        result_images=[str(p) for p in result_images] if isinstance(result_images, list) else [],
        result_info=str(row["result_info"] or ""),
        error=row["error"],
        warnings=warnings,
    )
    if row["status"] == "running":
        peer.error = RUNNING_ERROR.format(label="sd-webui-forge-task-scheduler")
    elif row["status"] == "stopped" and not peer.error:
        peer.error = "Stopped in sd-webui-forge-task-scheduler."
    return peer


def _carry_settings(params: dict[str, Any], payload: dict[str, Any], warnings: list[str]) -> None:
    """Options captured beside the fields: generation options go to override_settings."""
    overrides = dict(payload.get("override_settings") or {})
    ui_settings = params.get("ui_settings")
    if isinstance(ui_settings, dict):
        for name in _CARRIED_SETTINGS:
            if name in ui_settings and name not in overrides:
                overrides[name] = ui_settings[name]
        modules = ui_settings.get("forge_additional_modules") or []
        vae = ui_settings.get("sd_vae")
        if modules or vae not in (None, "", "Automatic", "None"):
            shown = ", ".join(os.path.basename(str(m)) for m in modules) or str(vae)
            warnings.append(f"VAE / text encoder choice ({shown}) not carried over")
    if overrides:
        payload["override_settings"] = overrides


def _scripts_by_title(raw: Any, labeled: Any, warnings: list[str]) -> dict[str, list[Any]]:
    """Script args grouped by the script titles the other extension recorded for them."""
    values = _json(raw, "script_args") if raw else []
    if not isinstance(values, list):
        warnings.append("script_args: not a JSON list; no script args carried over")
        return {}
    if values and values[0] not in (None, 0):
        warnings.append(
            f"the selected script (entry {values[0]} of the Script menu) was not carried over"
        )
    if not isinstance(labeled, list):
        if len(values) > 1:
            warnings.append(
                f"{len(values) - 1} script args were recorded without their script titles: "
                "not carried over"
            )
        return {}
    scripts: dict[str, list[Any]] = {}
    for entry in sorted(
        (e for e in labeled if isinstance(e, dict) and isinstance(e.get("index"), int)),
        key=lambda e: e["index"],
    ):
        title = entry.get("script")
        if not isinstance(title, str) or not title:
            continue
        index = entry["index"]
        value = values[index] if 0 <= index < len(values) else entry.get("value")
        scripts.setdefault(title, []).append(value)
    for title in [t for t in scripts if t.lower() == "controlnet"]:
        units = scripts.pop(title)
        if any(isinstance(unit, dict) and unit.get("enabled") for unit in units):
            warnings.append(
                "ControlNet units not carried over: the other extension did not keep their images"
            )
    return scripts


def _json(text: Any, column: str) -> Any:
    if text is None or text == "":
        return None
    if not isinstance(text, str | bytes):
        raise RowSkipped(f"{column}: not valid JSON")
    return loads_cell(text, column)


def _select(column: str) -> str:
    """A column as selected: text columns cut past the cell limit (peers/bounds.py)."""
    return column if column in _NUMBERS else capped(column)


def _time(value: Any) -> float | None:
    """Their times are naive local ISO strings (datetime.now().isoformat())."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
