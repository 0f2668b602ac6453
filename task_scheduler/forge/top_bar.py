"""The top bar (checkpoint, VAE / text encoders, diffusion dtype, GPU weights, clip skip).

A task carries the top bar the user saw when they queued it; the host switches to it for the
task and puts the user's choice back afterwards. Forge's top-bar handlers write `shared.opts`
at once, so `shared.opts` is what the user sees. Switching goes through Forge's own functions
in `modules_forge.main_entry` (`sd_models.reload_model_weights` is a no-op in Forge); the model
itself loads lazily inside `process_images`, only when the loading parameters changed.

`changes` and `restore_plan` are pure; the rest imports Forge lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# task top-bar key -> Forge option name
OPTIONS = {
    "modules": "forge_additional_modules",
    "unet_storage_dtype": "forge_unet_storage_dtype",
    "inference_memory": "forge_inference_memory",
    "async_loading": "forge_async_loading",
    "pin_shared_memory": "forge_pin_shared_memory",
    "clip_skip": "CLIP_stop_at_last_layers",
}
CHECKPOINT = "checkpoint"  # kept in Task.checkpoint, listed here for plans
_MEMORY = ("inference_memory", "async_loading", "pin_shared_memory")


def _same(key: str, a: Any, b: Any) -> bool:
    if key == "modules":
        return sorted(a or []) == sorted(b or [])
    return a == b


def changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The wanted values that differ from the current ones (keys absent from `wanted` stay)."""
    return {
        key: value
        for key, value in wanted.items()
        if value is not None and not _same(key, current.get(key), value)
    }


def restore_plan(
    before: dict[str, Any], applied: dict[str, Any], now: dict[str, Any]
) -> dict[str, Any]:
    """What to set back after a task: the user's earlier values, where they did not move.

    `applied` is what the task switched; a key the user changed themselves while the task ran
    (now != applied) keeps the user's new value.
    """
    return {
        key: before.get(key)
        for key, value in applied.items()
        if _same(key, now.get(key), value) and not _same(key, before.get(key), value)
    }


@dataclass
class Switch:
    """What `apply` changed, for `restore`."""

    before: dict[str, Any] = field(default_factory=dict)
    applied: dict[str, Any] = field(default_factory=dict)


# -- Forge side --------------------------------------------------------------------------------

_active: Switch | None = None  # the switch of the running task, while it runs


def user_view() -> dict[str, Any]:
    """The top bar the user sees, even while a task runs on its own top bar."""
    now = read()
    switch = _active
    if switch is None:
        return now
    return {**now, **restore_plan(switch.before, switch.applied, now)}


def read() -> dict[str, Any]:
    """The top bar as the user sees it now, checkpoint included."""
    from modules import shared

    state = {key: _copy(getattr(shared.opts, option, None)) for key, option in OPTIONS.items()}
    state[CHECKPOINT] = shared.opts.data.get("sd_model_checkpoint") or ""
    return state


def for_task(state: dict[str, Any]) -> dict[str, Any]:
    """The part of a top-bar state stored in a task's params (the checkpoint goes apart)."""
    return {key: value for key, value in state.items() if key != CHECKPOINT}


def apply(checkpoint: str, wanted: dict[str, Any]) -> Switch:
    """Switch Forge to a task's top bar; only what differs changes. Raises LookupError for a
    checkpoint or module that is not installed (the task fails with that message)."""
    current = read()
    target = dict(wanted)
    if checkpoint:
        target[CHECKPOINT] = checkpoint
    todo = changes(current, target)
    _check_available(todo)
    global _active
    switch = Switch(before={key: current.get(key) for key in todo}, applied=todo)
    _active = switch
    try:
        _set(todo)
    except Exception:
        restore(switch)
        raise
    return switch


def restore(switch: Switch) -> None:
    """Put back the user's top bar after a task (what the user changed meanwhile stays)."""
    global _active
    try:
        _set(restore_plan(switch.before, switch.applied, read()))
    finally:
        _active = None


def _check_available(todo: dict[str, Any]) -> None:
    from modules import sd_models
    from modules_forge import main_entry

    if CHECKPOINT in todo and sd_models.get_closet_checkpoint_match(todo[CHECKPOINT]) is None:
        raise LookupError(f"checkpoint: {todo[CHECKPOINT]!r} is not installed")
    if "modules" in todo:
        if not main_entry.module_list:
            main_entry.refresh_models()
        for path in todo["modules"] or []:
            if os.path.basename(path) not in main_entry.module_list:
                raise LookupError(
                    f"VAE / text encoder: {os.path.basename(path)!r} is not installed"
                )
    dtype = todo.get("unet_storage_dtype")
    if dtype is not None and dtype not in main_entry.forge_unet_storage_dtype_options:
        raise LookupError(f"diffusion dtype: {dtype!r} is not one Forge offers")


def _set(values: dict[str, Any]) -> None:
    """Set top-bar values the way the top bar's own handlers do, without saving config.json."""
    if not values:
        return
    from modules import shared
    from modules_forge import main_entry

    loading_changed = False
    if CHECKPOINT in values:
        loading_changed |= main_entry.checkpoint_change(
            values[CHECKPOINT], save=False, refresh=False
        )
    if "modules" in values:
        loading_changed |= main_entry.modules_change(
            list(values["modules"] or []), save=False, refresh=False
        )
    if "unet_storage_dtype" in values:
        loading_changed |= shared.opts.set(
            OPTIONS["unet_storage_dtype"], values["unet_storage_dtype"]
        )
    if loading_changed:
        main_entry.refresh_model_loading_parameters()
    if any(key in values for key in _MEMORY):
        main_entry.refresh_memory_management_settings(
            async_loading=values.get("async_loading"),
            inference_memory=values.get("inference_memory"),
            pin_shared_memory=values.get("pin_shared_memory"),
        )
    if "clip_skip" in values:
        shared.opts.set(OPTIONS["clip_skip"], values["clip_skip"])


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value
