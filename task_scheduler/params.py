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


def source_of(params: dict[str, Any]) -> str:
    return "api" if params.get("source") == "api" else "ui"


def get_field(params: dict[str, Any], script_args: dict[str, Any], name: str) -> Any:
    """The value of a generation field, or None when the task does not carry it."""
    if source_of(params) == "api":
        return params.get("payload", {}).get(name)
    if name in _SCRIPT_FIELDS:
        title, index = _SCRIPT_FIELDS[name]
        args = script_args.get("scripts", {}).get(title) or []
        return args[index] if index < len(args) else None
    return params.get("inputs", {}).get(name)


def summary(params: dict[str, Any], script_args: dict[str, Any]) -> dict[str, Any]:
    """The fields a person scans a task list for."""
    return {name: get_field(params, script_args, name) for name in SUMMARY_FIELDS}


def search_text(name: str, params: dict[str, Any], script_args: dict[str, Any]) -> str:
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
    """Return copies of (params, script_args) with the validated `edits` applied."""
    validate_edits(edits)
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
