"""What the Queue button's menu adds to a click: first in the queue, not before a time, or
once per chosen checkpoint.

The menu (javascript/task_scheduler_queue_menu.js) sends these as JSON in a hidden input of
the Queue click; Shift+click and Ctrl+Alt+Shift+Enter send `{"front": true}`, a plain click `{}`.
Pure logic: `parse` checks the JSON, the caller resolves the checkpoint names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.schedule import parse_when, server_zone
from ..core.services import Catalog

MAX_CHECKPOINTS = 100  # one click; the tab's list and the store handle far more
_MAX_TEXT = 100_000


@dataclass(frozen=True)
class QueueOptions:
    """How one Queue click places its task(s)."""

    front: bool = False  # runs next: first in the run order
    run_after: float | None = None  # epoch seconds; not started before
    checkpoints: list[str] = field(default_factory=list)  # one task per checkpoint (a group)

    def describe(self) -> str:
        """The part of the confirmation that says how it was queued ('' for a plain click)."""
        parts = []
        if self.front:
            parts.append("first")
        if self.run_after is not None:
            when = datetime.fromtimestamp(self.run_after).strftime("%Y-%m-%d %H:%M")
            parts.append(f"not before {when} (server time)")
        return ", ".join(parts)


def parse(text: Any) -> QueueOptions:
    """The options of one click from the hidden input's JSON ('' or absent: a plain click).

    Raises ValueError naming the option when something is malformed; nothing is queued then.
    """
    if text in (None, ""):
        return QueueOptions()
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise ValueError("queue options: not a JSON text")
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("queue options: not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("queue options: must be a JSON object")
    unknown = set(data) - {"front", "run_after", "checkpoints"}
    if unknown:
        raise ValueError(f"queue options: unknown option {sorted(unknown)[0]!r}")
    front = data.get("front", False)
    if not isinstance(front, bool):
        raise ValueError("queue options: 'front' must be true or false")
    checkpoints = _checkpoints(data.get("checkpoints"))
    if front and checkpoints:
        raise ValueError("queue options: 'front' cannot be combined with checkpoints")
    return QueueOptions(
        front=front, run_after=parse_time(data.get("run_after")), checkpoints=checkpoints
    )


def confirmation(
    tab: str, options: QueueOptions, positions: list[int | None], checkpoints: list[str]
) -> str:
    """What the toast says after a Queue click: where the task(s) went, and how."""
    how = options.describe()
    how = f", {how}" if how else ""
    places = [p for p in positions if p]
    if not checkpoints:
        where = f"position {places[0]}" if places else "the queue"
        return f"Queued ({tab}) at {where} in the Task Queue{how}."
    names = ", ".join(short_name(name) for name in checkpoints)
    span = f" at positions {min(places)}-{max(places)}" if len(places) > 1 else ""
    count = len(checkpoints)
    return (
        f"Queued {count} task{'s' if count != 1 else ''} ({tab}), one per checkpoint: "
        f"{names}{span} in the Task Queue{how}. They form a group in the Task Queue tab."
    )


def short_name(title: str) -> str:
    """A checkpoint's title without its hash: 'randA.safetensors [0123abcd]' -> 'randA'."""
    base = title.split(" [")[0]
    for suffix in (".safetensors", ".ckpt", ".gguf", ".pt", ".bin"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def parse_time(value: Any) -> float | None:
    """Epoch seconds from an ISO 8601 date-time (read as the REST API reads `run_after`: without
    a UTC offset it is the server's local time). None for null or ''."""
    if value in (None, ""):
        return None
    return parse_when(value, server_zone())


def _checkpoints(value: Any) -> list[str]:
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError("checkpoints: must be a list of checkpoint names")
    if len(value) > MAX_CHECKPOINTS:
        raise ValueError(f"checkpoints: at most {MAX_CHECKPOINTS} in one click")
    names = [name.strip() for name in value]
    if any(not name for name in names):
        raise ValueError("checkpoints: an empty name")
    if len(set(names)) != len(names):
        raise ValueError("checkpoints: a checkpoint is listed twice")
    return names


def resolve_checkpoints(names: list[str], known: list[str]) -> list[str]:
    """Forge's titles for the chosen names (title, file name or stem); LookupError naming the
    first one Forge does not list."""
    catalog = Catalog(checkpoints=list(known))
    titles = []
    for name in names:
        title = catalog.resolve_checkpoint(name)
        if title is None:
            raise LookupError(f"checkpoint {name!r} is not installed")
        titles.append(title)
    if len(set(titles)) != len(titles):
        raise ValueError("checkpoints: a checkpoint is listed twice")
    return titles
