"""A task as a row of the `tasks` table and back: its columns, JSON and flag encoding (both
back-ends store the same values: sql.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..core.models import Task, TaskStatus

_JSON_COLUMNS = ("params", "script_args", "result_images", "result_seeds", "warnings")
_BOOL_COLUMNS = ("bookmarked", "cancel_requested", "placed_by_hand")
TASK_COLUMNS = (
    "id task_type status priority position name checkpoint params script_args created_at "
    "started_at completed_at result_images result_info result_seeds error warnings retried_from "
    "bookmarked callback_url callback_status cancel_requested run_after placed_by_hand "
    "passed_over passed_over_since group_id instance owner"
).split()


def row_to_task(row: Sequence[Any]) -> Task:
    data = dict(zip(TASK_COLUMNS, row[: len(TASK_COLUMNS)], strict=True))
    for column in _JSON_COLUMNS:
        data[column] = _decode_json(data[column])
    for column in _BOOL_COLUMNS:
        data[column] = bool(data[column])
    data["status"] = TaskStatus(data["status"])
    files = row[len(TASK_COLUMNS)]
    data["files"] = sorted(files.split("\n")) if files else []
    return Task(**data)


def _decode_json(text: Any) -> Any:
    """A JSON column's value, or the raw value when it is not JSON: a damaged row still loads
    (the views show it as broken, and it can be deleted) instead of failing every listing."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def encode(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if column == "status":
        return TaskStatus(value).value
    if column in _BOOL_COLUMNS:
        return int(bool(value))
    return value
