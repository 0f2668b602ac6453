"""Inline editing of a pending task: parse the form, validate it, apply only what changed."""

from __future__ import annotations

from typing import Any

from ..core import params as task_params
from ..core.models import Task

# form field -> how its text becomes a value
_INTEGERS = ("steps", "seed", "width", "height", "priority")
_FLOATS = ("cfg_scale",)
_TEXTS = ("prompt", "negative_prompt", "sampler_name", "scheduler", "checkpoint", "name")
FORM_FIELDS = _INTEGERS + _FLOATS + _TEXTS
_LIMITS = {
    "steps": (1, 1000),
    "width": (8, 16384),
    "height": (8, 16384),
    "seed": (-1, 2**32 - 1),
    "cfg_scale": (0.0, 100.0),
    "priority": (-1000000, 1000000),
}


class EditError(ValueError):
    """A form value the task cannot take; `field` names the input to mark."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_form(form: dict[str, Any]) -> dict[str, Any]:
    """Typed values from the editor's fields; raise EditError naming the first bad one."""
    values: dict[str, Any] = {}
    for name, raw in form.items():
        if name not in FORM_FIELDS:
            raise EditError(name, "not an editable field")
        if name in _TEXTS:
            if not isinstance(raw, str):
                raise EditError(name, "must be text")
            values[name] = raw.strip() if name != "prompt" and name != "negative_prompt" else raw
            continue
        text = str(raw).strip()
        try:
            value: Any = int(text) if name in _INTEGERS else float(text)
        except ValueError:
            kind = "a whole number" if name in _INTEGERS else "a number"
            raise EditError(name, f"must be {kind}") from None
        low, high = _LIMITS[name]
        if not low <= value <= high:
            raise EditError(name, f"must be between {low} and {high}")
        values[name] = value
    return values


def changed_edits(task: Task, values: dict[str, Any]) -> dict[str, Any]:
    """The edits (in the REST API's PATCH shape) that turn `task` into what the form says.

    Only values that differ from the task are kept, so a field the task does not carry (e.g.
    steps of a UI task without sampler arguments) is left alone unless it was changed.
    """
    edits: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("name", "priority", "checkpoint"):
            current = getattr(task, name)
        else:
            current = task_params.get_field(task.params, task.script_args, name)
        if current is None and value == "":
            continue
        if value != current:
            edits[name] = value
    return edits
