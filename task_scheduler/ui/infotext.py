"""The generation-parameters text ("infotext") that "Send to txt2img / img2img" pastes.

Forge's own paste mechanism (the "Read generation parameters" button) parses this text into the
generation fields, including the fields of any script that registered infotext paste fields.
A finished task's own infotext (written by Forge when it ran) is the most faithful; a task that
has not run yet gets one built from its parameters.
"""

from __future__ import annotations

import json
from typing import Any

from ..core import params as task_params
from ..core.models import Task

# (infotext key, task field) in Forge's order
_KEYS = (
    ("Steps", "steps"),
    ("Sampler", "sampler_name"),
    ("Schedule type", "scheduler"),
    ("CFG scale", "cfg_scale"),
    ("Seed", "seed"),
    ("Denoising strength", "denoising_strength"),
)
_HIRES_KEYS = (
    ("Hires upscale", "hr_scale"),
    ("Hires steps", "hr_second_pass_steps"),
    ("Hires upscaler", "hr_upscaler"),
    ("Hires resize-1", "hr_resize_x"),
    ("Hires resize-2", "hr_resize_y"),
)


def infotext(task: Task) -> str:
    """The text to paste into the generation UI for this task."""
    if task.result_info:
        return task.result_info
    return build_infotext(task)


def build_infotext(task: Task) -> str:
    """An infotext from the task's parameters (for tasks that have not produced one)."""

    def field(name: str) -> Any:
        return task_params.display_field(task.params, task.script_args, name)  # typed or None

    lines = [field("prompt") or ""]
    negative = field("negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {negative}")
    pairs = [(key, field(name)) for key, name in _KEYS]
    width, height = field("width"), field("height")
    if width and height:
        pairs.append(("Size", f"{width}x{height}"))
    if task.checkpoint:
        pairs.append(("Model", task.checkpoint.split(" [")[0].rsplit(".", 1)[0]))
    if field("enable_hr"):
        # 0 means "not set" for the hires resize fields
        pairs += [(key, field(name)) for key, name in _HIRES_KEYS if field(name) != 0]
    if task.task_type == "txt2img" and not field("enable_hr"):
        pairs = [(k, v) for k, v in pairs if k != "Denoising strength"]
    lines.append(", ".join(f"{key}: {_quote(value)}" for key, value in pairs if _given(value)))
    return "\n".join(lines)


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _quote(value: Any) -> str:
    text = str(value)
    # Forge's parser splits on commas and colons; it reads JSON-quoted values whole.
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in ',:"\n') else text
