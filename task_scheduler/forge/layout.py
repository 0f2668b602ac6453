"""Reading Forge's current script layout, input names and component defaults.

Needs Forge (imports `modules` inside functions); the pure mapping lives in script_args.py.
"""

from __future__ import annotations

import copy
import inspect
import logging
from typing import Any

from .script_args import ScriptLayout, ScriptSlot

log = logging.getLogger("task_scheduler")

TABS = ("txt2img", "img2img")


def runner(tab: str) -> Any:
    """Forge's ScriptRunner for a tab (rebuilt on every UI reload: never cache it)."""
    from modules import scripts

    result = scripts.scripts_txt2img if tab == "txt2img" else scripts.scripts_img2img
    if result is None:
        raise RuntimeError(f"Forge's {tab} scripts are not set up (is the web UI running?)")
    return result


def generate_function(tab: str) -> Any:
    """What Generate runs on the main thread: Forge's txt2img_function / img2img_function."""
    if tab == "txt2img":
        from modules import txt2img

        return txt2img.txt2img_function
    from modules import img2img

    return img2img.img2img_function


def fixed_input_names(tab: str) -> list[str]:
    """Generate's fixed inputs after id_task, named like the parameters of Forge's functions."""
    if tab == "txt2img":
        from modules import txt2img

        function = txt2img.txt2img_create_processing
    else:
        function = generate_function(tab)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in positional
    ]
    return names[2:]  # id_task and request are not stored


def script_title(script: Any) -> str:
    try:
        title = script.title()
    except Exception:
        log.exception("a script's title() failed")
        title = None
    return str(title or getattr(script, "filename", "") or type(script).__name__)


def current_layout(script_runner: Any) -> ScriptLayout:
    """The layout of a ScriptRunner: which slice of the flat argument list each script owns."""
    inputs = list(script_runner.inputs)
    slots = []
    for script in script_runner.scripts:
        start, end = getattr(script, "args_from", None), getattr(script, "args_to", None)
        if start is None or end is None:
            continue
        labels = tuple(_label(component) for component in inputs[start:end])
        slots.append(ScriptSlot(script_title(script), start, end, labels))
    selectable = tuple(script_title(script) for script in script_runner.selectable_scripts)
    return ScriptLayout(slots=tuple(slots), selectable=selectable, size=len(inputs))


def script_defaults(script_runner: Any) -> list[Any]:
    """What each script argument is when the user has touched nothing."""
    return [component_default(component) for component in script_runner.inputs]


def component_default(component: Any) -> Any:
    """A component's initial value as its event handlers would receive it (best effort)."""
    if component is None:
        return None
    value = copy.deepcopy(getattr(component, "value", None))
    if getattr(component, "type", None) == "index":
        choices = [c[1] if isinstance(c, tuple | list) else c for c in component.choices or []]
        if isinstance(value, list):
            return [choices.index(v) for v in value if v in choices]
        return choices.index(value) if value in choices else None
    return value


def _label(component: Any) -> str:
    return str(getattr(component, "label", None) or getattr(component, "elem_id", None) or "")
