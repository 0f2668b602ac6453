"""What the Queue button stores: Generate's inputs as a task, and the task back as inputs.

Pure logic: the Forge side (queue_button.py, host.py) supplies the input names, the current
script layout, defaults and the file store.

A UI-captured task is ``Task(task_type, params={"source": "ui", "inputs": {name: value},
"top_bar": {...}, "user": name}, checkpoint=title, script_args={"selected": title,
"scripts": {title: [args]}}, files=[...])``; see task_scheduler/core/params.py for how the rest of
the extension reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .script_args import ScriptLayout, join_script_args, split_script_args
from .values import Decoder, Encoder


@dataclass
class CapturedTask:
    """Keyword arguments for QueueManager.add_task."""

    task_type: str
    params: dict[str, Any]
    checkpoint: str
    script_args: dict[str, Any]
    files: list[str] = field(default_factory=list)

    def add_kwargs(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "script_args": self.script_args,
            "files": list(self.files),
        }


def capture(
    task_type: str,
    fixed_names: Sequence[str],
    values: Sequence[Any],
    layout: ScriptLayout,
    encoder: Encoder,
    *,
    top_bar: dict[str, Any],
    checkpoint: str,
    user: str | None = None,
) -> CapturedTask:
    """Turn the values of one Generate click into a task.

    `values` is exactly what Generate receives after its task id: the fixed inputs (named by
    `fixed_names`, in order) followed by the script arguments of `layout`. Every value is
    checked before anything is written, so a value that cannot be stored fails the capture
    with UnstorableValueError naming the field (or script and field) and leaves no file behind.
    """
    count = len(fixed_names)
    if len(values) != count + layout.size:
        raise ValueError(
            f"Generate's inputs: expected {count + layout.size} values, got {len(values)}"
        )
    fixed = dict(zip(fixed_names, values[:count], strict=True))
    scripts = split_script_args(layout, list(values[count:]))

    for name, value in fixed.items():
        encoder.check(value, f"the field '{name}'")
    slots = dict(layout.keyed())
    for key, args in scripts["scripts"].items():
        slot = slots[key]
        for index, value in enumerate(args):
            encoder.check(value, f"the script '{key}', field '{slot.label(index)}'")

    inputs = {name: encoder.encode(value) for name, value in fixed.items()}
    stored_scripts = {
        key: [encoder.encode(value) for value in args] for key, args in scripts["scripts"].items()
    }
    params: dict[str, Any] = {"source": "ui", "inputs": inputs, "top_bar": dict(top_bar)}
    if user is not None:
        params["user"] = user
    return CapturedTask(
        task_type=task_type,
        params=params,
        checkpoint=checkpoint,
        script_args={"selected": scripts["selected"], "scripts": stored_scripts},
        files=list(encoder.files),
    )


@dataclass
class ReplayInputs:
    """Positional values for Forge's txt2img_function / img2img_function, after id and request."""

    args: list[Any]
    warnings: list[str]


def replay_inputs(
    params: dict[str, Any],
    script_args: dict[str, Any],
    fixed_names: Sequence[str],
    fixed_defaults: Sequence[Any],
    layout: ScriptLayout,
    script_defaults: Sequence[Any],
    decoder: Decoder,
) -> ReplayInputs:
    """Rebuild Generate's positional values for the current Forge from a stored task.

    A fixed input the task does not carry (Forge grew a new one) takes its current default and
    adds a warning; stored inputs Forge no longer has are ignored with a warning.
    """
    inputs: dict[str, Any] = dict(params.get("inputs") or {})
    warnings: list[str] = []
    fixed: list[Any] = []
    for name, default in zip(fixed_names, fixed_defaults, strict=True):
        if name in inputs:
            fixed.append(decoder.decode(inputs.pop(name), default))
        else:
            fixed.append(default)
            warnings.append(f"The field '{name}' is new in this Forge; the task used its default.")
    for name in inputs:
        warnings.append(f"The field '{name}' no longer exists in this Forge; it was ignored.")
    scripts, script_warnings = join_script_args(
        layout, script_args or {}, script_defaults, decoder.decode
    )
    return ReplayInputs(args=fixed + scripts, warnings=warnings + script_warnings)
