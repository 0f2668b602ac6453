"""Reading and editing the common generation fields of a task, whatever captured it.

A task's `params` take one of two shapes:

* ``{"source": "ui", "inputs": {...}, ...}`` — captured by the Queue button. ``inputs`` holds
  Generate's fixed inputs by the parameter names of Forge's ``txt2img`` / ``img2img`` functions
  (``prompt``, ``negative_prompt``, ``cfg_scale``, ``width`` ...). Steps, sampler, scheduler and
  seed are script args of the built-in "Sampler" and "Seed" scripts, kept in ``script_args``:
  ``{"selected": title | None, "scripts": {title: [args...]}}``.
* ``{"source": "api", "payload": {...}}`` — a body of Forge's ``/sdapi/v1/txt2img|img2img``.

Everything outside this module treats both shapes through these functions only.
"""

from __future__ import annotations

import copy
from typing import Any

# field -> (script title, index into that script's args) for UI-captured tasks
_SCRIPT_FIELDS = {
    "steps": ("Sampler", 0),
    "sampler_name": ("Sampler", 1),
    "scheduler": ("Sampler", 2),
    "seed": ("Seed", 0),
}

# field -> expected Python type(s); what PATCH and the inline editor may change
EDITABLE_FIELDS: dict[str, tuple[type, ...]] = {
    "prompt": (str,),
    "negative_prompt": (str,),
    "steps": (int,),
    "seed": (int,),
    "cfg_scale": (int, float),
    "width": (int,),
    "height": (int,),
    "sampler_name": (str,),
    "scheduler": (str,),
}

SUMMARY_FIELDS = (
    "prompt",
    "negative_prompt",
    "steps",
    "sampler_name",
    "scheduler",
    "seed",
    "cfg_scale",
    "width",
    "height",
    "batch_size",
    "n_iter",
    "denoising_strength",
    "enable_hr",
)


def source_of(params: Any) -> str:
    return "api" if isinstance(params, dict) and params.get("source") == "api" else "ui"


def get_field(params: Any, script_args: Any, name: str) -> Any:
    """The value of a generation field, or None when the task does not carry it.

    Never raises, whatever the stored shapes (a row may be broken, see `task_problem`).
    """
    if not isinstance(params, dict):
        return None
    if source_of(params) == "api":
        return _member(params.get("payload"), name)
    if name in _SCRIPT_FIELDS:
        title, index = _SCRIPT_FIELDS[name]
        scripts = _member(script_args, "scripts")
        args = _member(scripts, title)
        return args[index] if isinstance(args, list) and index < len(args) else None
    return _member(params.get("inputs"), name)


def _member(container: Any, name: str) -> Any:
    return container.get(name) if isinstance(container, dict) else None


# -- the shape of a stored task ----------------------------------------------------------------

# Fields the queue reads and their JSON types in a UI-captured task (numbers may be ints or floats;
# a field may be absent). Generate's own components give these types.
_TEXT, _NUMBER, _FLAG = "text", "number", "true or false"
UI_FIELD_TYPES: dict[str, str] = {
    "prompt": _TEXT,
    "negative_prompt": _TEXT,
    "sampler_name": _TEXT,
    "scheduler": _TEXT,
    "steps": _NUMBER,
    "seed": _NUMBER,
    "cfg_scale": _NUMBER,
    "width": _NUMBER,
    "height": _NUMBER,
    "batch_size": _NUMBER,
    "n_iter": _NUMBER,
    "denoising_strength": _NUMBER,
    "enable_hr": _FLAG,
}


def _has_type(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _FLAG:
        return isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def ui_shape_error(params: Any, script_args: Any) -> tuple[tuple[str | int, ...], str] | None:
    """(location, message) of the first way a UI task differs from what the Queue button
    stores, or None. Locations start with "params" or "script_args"."""
    if not isinstance(params, dict):
        return ("params",), "must be an object"
    if not isinstance(params.get("inputs"), dict):
        return ("params", "inputs"), "must be an object (the captured inputs)"
    if not isinstance(params.get("top_bar", {}), dict):
        return ("params", "top_bar"), "must be an object"
    if params.get("user") is not None and not isinstance(params["user"], str):
        return ("params", "user"), "must be text"
    if not isinstance(script_args, dict):
        return ("script_args",), "must be an object"
    if script_args.get("selected") is not None and not isinstance(script_args["selected"], str):
        return ("script_args", "selected"), "must be a script title or null"
    scripts = script_args.get("scripts", {})
    if not isinstance(scripts, dict):
        return ("script_args", "scripts"), "must be an object of script title -> list of args"
    for title, args in scripts.items():
        if not isinstance(args, list):
            return ("script_args", "scripts", title), "must be a list of the script's args"
    for name, kind in UI_FIELD_TYPES.items():
        value = get_field(params, script_args, name)
        if value is not None and not _has_type(value, kind):
            if name in _SCRIPT_FIELDS:
                title, index = _SCRIPT_FIELDS[name]
                loc: tuple[str | int, ...] = ("script_args", "scripts", title, index)
            else:
                loc = ("params", "inputs", name)
            return loc, f"{name} must be {kind}, not {_json_type(value)}"
    return None


def task_problem(params: Any, script_args: Any) -> str | None:
    """Why a stored task cannot be shown or run as it is (e.g. written by a faulty import of
    an earlier version), or None. Such a task is listed as broken and can be deleted."""
    if isinstance(params, dict) and source_of(params) == "api":
        payload = params.get("payload")
        if not isinstance(payload, dict):
            return "params.payload: must be an object (an sdapi body)"
        for name in ("prompt", "negative_prompt"):
            if payload.get(name) is not None and not isinstance(payload[name], str):
                return f"params.payload.{name}: must be text, not {_json_type(payload[name])}"
        return None
    error = ui_shape_error(params, script_args)
    if error is None:
        return None
    loc, message = error
    return f"{'.'.join(str(part) for part in loc)}: {message}"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    names = {str: "text", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


def summary(params: Any, script_args: Any) -> dict[str, Any]:
    """The fields a person scans a task list for (None for a value of an unexpected type)."""
    return {name: display_field(params, script_args, name) for name in SUMMARY_FIELDS}


def display_field(params: Any, script_args: Any, name: str) -> Any:
    """A field as shown to a person: None when its value has an unexpected type."""
    return _shown(name, get_field(params, script_args, name))


def text_field(params: Any, script_args: Any, name: str) -> str:
    """A text field ("" when absent or not text): safe to slice and show."""
    value = get_field(params, script_args, name)
    return value if isinstance(value, str) else ""


def _shown(name: str, value: Any) -> Any:
    kind = UI_FIELD_TYPES.get(name)
    if kind == _TEXT:
        return value if isinstance(value, str) else None
    # API bodies may carry numbers as strings ("steps": "20"), as sdapi accepts them
    return value if isinstance(value, str | int | float | bool) else None


def search_text(name: str, params: Any, script_args: Any) -> str:
    """What the text search matches against: name, prompt and negative prompt, lower-cased."""
    parts = [name or ""]
    for field_name in ("prompt", "negative_prompt"):
        value = get_field(params, script_args, field_name)
        if isinstance(value, str):
            parts.append(value)
    return "\n".join(parts).lower()


def validate_edits(edits: dict[str, Any]) -> None:
    """Raise ValueError naming the first field that cannot be edited or has the wrong type."""
    for name, value in edits.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name}: not an editable field")
        types = EDITABLE_FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join(t.__name__ for t in types)
            raise ValueError(f"{name}: expected {expected}, got {type(value).__name__}")
        if name in ("steps", "width", "height") and value < 1:
            raise ValueError(f"{name}: must be at least 1")


def apply_edits(
    params: dict[str, Any], script_args: dict[str, Any], edits: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return copies of (params, script_args) with the validated `edits` applied.

    A broken task (see `task_problem`) cannot be edited: ValueError says why.
    """
    validate_edits(edits)
    problem = task_problem(params, script_args)
    if problem is not None:
        raise ValueError(f"params: the task is broken ({problem}); delete it and queue it again")
    params = copy.deepcopy(params)
    script_args = copy.deepcopy(script_args)
    if source_of(params) == "api":
        params.setdefault("payload", {}).update(edits)
        return params, script_args
    for name, value in edits.items():
        if name in _SCRIPT_FIELDS:
            title, index = _SCRIPT_FIELDS[name]
            args = script_args.setdefault("scripts", {}).setdefault(title, [])
            if len(args) <= index:
                raise ValueError(f"{name}: the task carries no {title} script arguments")
            args[index] = value
        else:
            params.setdefault("inputs", {})[name] = value
    return params, script_args
