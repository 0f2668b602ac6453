"""Replaying a UI-captured task through Generate's own code path.

Runs on Forge's main thread with the queue lock held (see host.py). The stored values are
mapped onto the current script layout and handed to Forge's `txt2img_function` /
`img2img_function`, exactly what the Generate button runs, so images are processed and saved
as Generate would process and save them.
"""

from __future__ import annotations

import json
import types
from typing import Any

from ..core.files import FileStore
from ..core.models import Task
from .capture import replay_inputs
from .layout import (
    component_default,
    current_layout,
    fixed_input_names,
    generate_function,
    runner,
    script_defaults,
)
from .outcome import ReplayOutcome
from .values import Decoder


def run_ui_task(
    task: Task,
    files: FileStore,
    forge_task_id: str,
    upload_dir: str,
    generate_inputs: list[Any] | None,
) -> ReplayOutcome:
    """Run one UI-captured task; `generate_inputs` are Generate's input components (defaults
    for fixed inputs the task does not carry), None when the web UI is not running."""
    tab = task.task_type
    script_runner = runner(tab)
    if not script_runner.scripts:
        raise RuntimeError(
            "this task was queued from the web UI and needs Forge's web UI to run "
            "(Forge was started with --nowebui)"
        )
    layout = current_layout(script_runner)
    names = fixed_input_names(tab)
    fixed_defaults = _fixed_defaults(names, generate_inputs)
    replay = replay_inputs(
        task.params,
        task.script_args,
        names,
        fixed_defaults,
        layout,
        script_defaults(script_runner),
        Decoder(files, upload_dir),
    )
    request = types.SimpleNamespace(username=task.params.get("user"))
    result = generate_function(tab)(forge_task_id, request, *replay.args)
    info = json.loads(result[1]) if result and isinstance(result[1], str) else {}
    infotexts = list(info.get("infotexts") or [])
    first = int(info.get("index_of_first_image") or 0)
    return ReplayOutcome(
        infotexts=infotexts[first:] or infotexts,
        seeds=[int(seed) for seed in info.get("all_seeds") or []],
        warnings=replay.warnings,
    )


def _fixed_defaults(names: list[str], generate_inputs: list[Any] | None) -> list[Any]:
    if generate_inputs is None or len(generate_inputs) < len(names) + 1:
        return [None] * len(names)
    return [component_default(c) for c in generate_inputs[1 : len(names) + 1]]
