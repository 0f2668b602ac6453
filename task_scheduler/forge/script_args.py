"""Script arguments by script title, and back onto whatever script layout Forge has now.

Forge hands Generate one flat list of script arguments: position 0 is the "Script" dropdown
(0 = none, i + 1 = the i-th selectable script), and every script owns the slice
``[args_from, args_to)``. That layout changes whenever extensions are added, removed, updated
or reconfigured, so a stored flat list would feed arguments to the wrong scripts. Tasks store
``{"selected": title | None, "scripts": {title: [args...]}}`` instead and are mapped back onto
the layout of the moment they run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScriptSlot:
    """One script's place in the flat argument list."""

    title: str
    args_from: int
    args_to: int
    labels: tuple[str, ...] = ()  # the argument components' labels, for messages

    @property
    def size(self) -> int:
        return self.args_to - self.args_from

    def label(self, index: int) -> str:
        if index < len(self.labels) and self.labels[index]:
            return self.labels[index]
        return f"argument {index + 1}"


@dataclass(frozen=True)
class ScriptLayout:
    """Forge's script layout for one tab (txt2img or img2img) at one moment."""

    slots: tuple[ScriptSlot, ...]
    selectable: tuple[str, ...]  # titles in the "Script" dropdown's order (after "None")
    size: int  # length of the flat list, dropdown included

    def keyed(self) -> list[tuple[str, ScriptSlot]]:
        """Slots that take arguments, under unique keys: the title, "title (2)" for a repeat."""
        seen: dict[str, int] = {}
        result = []
        for slot in self.slots:
            if slot.size <= 0:
                continue
            seen[slot.title] = seen.get(slot.title, 0) + 1
            key = slot.title if seen[slot.title] == 1 else f"{slot.title} ({seen[slot.title]})"
            result.append((key, slot))
        return result


def split_script_args(layout: ScriptLayout, args: Sequence[Any]) -> dict[str, Any]:
    """The flat list Generate received, as {"selected": title | None, "scripts": {title: args}}."""
    if len(args) != layout.size:
        raise ValueError(
            f"script arguments: got {len(args)} values but Forge's scripts take {layout.size}; "
            "reload the page (the UI is older than the server's scripts)"
        )
    index = args[0] if args else 0
    selected = None
    if (
        isinstance(index, int)
        and not isinstance(index, bool)
        and 0 < index <= len(layout.selectable)
    ):
        selected = layout.selectable[index - 1]
    scripts = {key: list(args[slot.args_from : slot.args_to]) for key, slot in layout.keyed()}
    return {"selected": selected, "scripts": scripts}


def join_script_args(
    layout: ScriptLayout,
    stored: dict[str, Any],
    defaults: Sequence[Any],
    decode: Callable[[Any, Any], Any] = lambda value, _template: value,
) -> tuple[list[Any], list[str]]:
    """The flat list for the current layout, and warnings about what did not fit.

    Scripts are matched by title. A script that is gone is dropped; one that is new since the
    task was stored gets its defaults; one whose argument count changed keeps the arguments it
    still has room for and gets defaults for the rest. Each of these adds a warning.
    `decode(stored_value, default)` turns stored values into Python values.
    """
    if len(defaults) != layout.size:
        raise ValueError(f"defaults: expected {layout.size} values, got {len(defaults)}")
    args = list(defaults)
    warnings: list[str] = []
    stored_scripts: dict[str, list[Any]] = dict(stored.get("scripts") or {})

    args[0] = 0
    selected = stored.get("selected")
    if selected:
        if selected in layout.selectable:
            args[0] = layout.selectable.index(selected) + 1
        else:
            warnings.append(
                f"The script '{selected}' selected for this task is no longer available; "
                "the task ran without it."
            )

    current = layout.keyed()
    for key, slot in current:
        if key not in stored_scripts:
            warnings.append(
                f"The script '{key}' was added after this task was queued; "
                "it ran with its default settings."
            )
            continue
        values = list(stored_scripts.pop(key))
        if len(values) != slot.size:
            warnings.append(
                f"The script '{key}' now takes {slot.size} settings instead of {len(values)}; "
                "settings it no longer has were dropped and new ones use their defaults."
            )
        for offset, value in enumerate(values[: slot.size]):
            position = slot.args_from + offset
            args[position] = decode(value, defaults[position])
    for key in stored_scripts:
        warnings.append(
            f"The script '{key}' is no longer installed; its settings for this task were ignored."
        )
    return args, warnings
