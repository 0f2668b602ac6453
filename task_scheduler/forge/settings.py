"""The "Task Scheduler" section of Forge's Settings page, and reading it as `Settings`.

Options are read with defaults even before `on_ui_settings` registered them (start-up and
--nowebui read them from Forge's config.json directly).
"""

from __future__ import annotations

import os
from typing import Any

from ..services import Settings

SECTION = ("task_scheduler", "Task Scheduler")
PREFIX = "task_scheduler_"
DATA_DIR_NAME = "task_scheduler"

# Settings field -> (default, label)
FIELDS: dict[str, tuple[Any, str]] = {
    "start_on_launch": (False, "Start the queue when Forge starts"),
    "history_days": (
        0,
        "Delete finished tasks older than this many days "
        "(0 keeps them forever; bookmarked or named tasks always stay)",
    ),
    "notify_when_empty": (False, "Notify when the queue becomes empty"),
    "notify_sound": (False, "Play a sound with that notification"),
    "callback_url": ("", "Default callback URL for API tasks that give none"),
    "confirm_delete": (True, "Ask before deleting or clearing tasks"),
    "data_dir": (
        "",
        "Data folder for the task database and stored input images "
        "(empty: <Forge data dir>/task_scheduler; restart Forge to apply)",
    ),
}


def option_key(field: str) -> str:
    return PREFIX + field


def register_options() -> None:
    """Add the section to Forge's Settings page (call from `on_ui_settings`)."""
    import gradio as gr
    from modules import shared

    components: dict[str, tuple[Any, dict[str, Any]]] = {
        "history_days": (gr.Number, {"precision": 0, "minimum": 0}),
        "callback_url": (gr.Textbox, {"placeholder": "https://example.com/hook"}),
        "data_dir": (gr.Textbox, {"placeholder": default_data_dir()}),
    }
    for field, (default, label) in FIELDS.items():
        component, args = components.get(field, (None, None))
        shared.opts.add_option(
            option_key(field),
            shared.OptionInfo(default, label, component, args, section=SECTION),
        )


def read_settings() -> Settings:
    """The current settings (what the Settings page shows, or the defaults)."""
    from modules import shared

    values = {
        field: getattr(shared.opts, option_key(field), default)
        for field, (default, _) in FIELDS.items()
    }
    try:
        days = max(int(values["history_days"] or 0), 0)
    except (TypeError, ValueError):
        days = 0
    return Settings(
        start_on_launch=bool(values["start_on_launch"]),
        history_days=days,
        notify_when_empty=bool(values["notify_when_empty"]),
        notify_sound=bool(values["notify_sound"]),
        callback_url=str(values["callback_url"] or ""),
        confirm_delete=bool(values["confirm_delete"]),
        data_dir=data_dir(str(values["data_dir"] or "")),
    )


def default_data_dir() -> str:
    """<Forge data dir>/task_scheduler: outside the extension folder, so updates keep the queue."""
    from modules import paths_internal

    return os.path.join(paths_internal.data_path, DATA_DIR_NAME)


def data_dir(configured: str) -> str:
    """The data folder: the configured one (relative paths from Forge's data dir) or the default."""
    if not configured.strip():
        return os.path.abspath(default_data_dir())
    from modules import paths_internal

    return os.path.abspath(os.path.join(paths_internal.data_path, os.path.expanduser(configured)))
