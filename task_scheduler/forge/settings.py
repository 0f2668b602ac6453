"""The "Task Scheduler" section of Forge's Settings page, and reading it as `Settings`.

Options are read with defaults even before `on_ui_settings` registered them (start-up and
--nowebui read them from Forge's config.json directly).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..core.instances import NAME_ENV, default_instance_name
from ..core.services import Settings

SECTION = ("task_scheduler", "Task Scheduler")
PREFIX = "task_scheduler_"
DATA_DIR_NAME = "task_scheduler"
DATA_DIR_ENV = "TASK_SCHEDULER_DATA_DIR"  # one Forge install started twice: one setting file
INSTANCE_NAME_ENV = NAME_ENV
DATABASE_URL_ENV = "TASK_SCHEDULER_DATABASE_URL"  # a PostgreSQL queue (store/postgres.py)

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
    "callback_hosts": (
        "",
        "Callback URLs may only reach these hosts (comma-separated names or name:port; "
        "empty: any host)",
    ),
    "confirm_delete": (True, "Ask before deleting or clearing tasks"),
    "show_live_previews": (
        True,
        "Show the running task's live preview in the Task Queue tab (Forge's own live preview "
        "settings decide how often it changes)",
    ),
    "always_save_images": (
        True,
        "Always save images of queued tasks (even with Forge's "
        '"Always save all generated images" off; Generate clicks are not affected)',
    ),
    "data_dir": (
        "",
        "Data folder for the task database and stored input images "
        "(empty: <Forge data dir>/task_scheduler; several Forges given the same folder share "
        f"one queue; the environment variable {DATA_DIR_ENV} overrides it; restart Forge to "
        "apply)",
    ),
    "database_url": (
        "",
        "PostgreSQL server for a queue shared by several machines: "
        "postgresql://user:password@host:5432/database (empty: the SQLite file in the data "
        f"folder; the environment variable {DATABASE_URL_ENV} overrides it; restart Forge to "
        "apply: the restart installs the driver, psycopg)",
    ),
    "instance_name": (
        "",
        "Name of this Forge instance, shown on the tasks it runs (empty: host name:port; the "
        f"environment variable {INSTANCE_NAME_ENV} overrides it; restart Forge to apply)",
    ),
    "max_body_mb": (64, "Largest API request body, in MB (larger requests get 413)"),
    "max_image_megapixels": (
        64,
        "Largest input image of an API task, in megapixels of 1024 x 1024 "
        "(64 = 8192 x 8192; larger images get 422)",
    ),
    "max_images": (64, "Most input images in one API task (init images, mask, script images)"),
    "max_pending": (
        10_000,
        "Most pending tasks; queueing beyond it is refused (Queue button, tab, API: 429)",
    ),
    "group_by_checkpoint": (
        True,
        "Group tasks by checkpoint: among tasks of the same priority still in arrival order, "
        "run those on the loaded checkpoint (and VAE / text encoders) first",
    ),
    "affinity_max_passed_over": (
        8,
        "Grouping by checkpoint: a task passed over this many times runs next",
    ),
    "affinity_max_wait_minutes": (
        30,
        "Grouping by checkpoint: a task passed over for this many minutes runs next",
    ),
    "queue_admins": (
        "",
        "Queue administrators (comma-separated user names of --gradio-auth / --api-auth): they "
        "may change every task and alone start, stop, clear, retry failed, import and schedule "
        "(empty: everyone may do those)",
    ),
    "hide_others_prompts": (
        False,
        "Hide other users' prompts: with a login, others' tasks show only owner, type, size, "
        "status and place (administrators see everything)",
    ),
}
# Limits never go below these, whatever config.json says: a zero limit would refuse everything.
_LIMIT_MINIMUMS = {"max_body_mb": 1, "max_image_megapixels": 1, "max_images": 1, "max_pending": 1}
_LIMIT_MINIMUMS |= {"affinity_max_passed_over": 0, "affinity_max_wait_minutes": 0}


def option_key(field: str) -> str:
    return PREFIX + field


def register_options() -> None:
    """Add the section to Forge's Settings page (call from `on_ui_settings`)."""
    import gradio as gr
    from modules import shared

    components: dict[str, tuple[Any, dict[str, Any]]] = {
        "history_days": (gr.Number, {"precision": 0, "minimum": 0}),
        "callback_url": (gr.Textbox, {"placeholder": "https://example.com/hook"}),
        "callback_hosts": (gr.Textbox, {"placeholder": "hooks.example.com, 192.168.1.20:9000"}),
        "data_dir": (gr.Textbox, {"placeholder": default_data_dir()}),
        "database_url": (gr.Textbox, {"type": "password", "placeholder": "postgresql://…"}),
        "instance_name": (gr.Textbox, {"placeholder": default_instance_name(forge_port())}),
        "queue_admins": (gr.Textbox, {"placeholder": "alice, bob"}),
        **{
            name: (gr.Number, {"precision": 0, "minimum": low})
            for name, low in _LIMIT_MINIMUMS.items()
        },
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

    def option(key: str, default: Any) -> Any:
        return getattr(shared.opts, key, default)

    configured = os.environ.get(DATA_DIR_ENV, "") or str(option(option_key("data_dir"), "") or "")
    return settings_from_options(option, data_dir(configured))


def database_url() -> str:
    """The PostgreSQL URL the queue is kept at: the environment variable, else the setting;
    '' for the SQLite file in the data folder. install.py reads the same two places."""
    from modules import shared

    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    return url or str(getattr(shared.opts, option_key("database_url"), "") or "").strip()


def instance_name() -> str:
    """This Forge's instance name: the environment variable, else the setting, else
    host name:port (unique among the Forges of one machine)."""
    from modules import shared

    named = os.environ.get(INSTANCE_NAME_ENV, "").strip()
    named = named or str(getattr(shared.opts, option_key("instance_name"), "") or "").strip()
    return named or default_instance_name(forge_port())


def forge_port() -> int:
    """The port Forge serves on (its flag, or the default it uses without one)."""
    from modules.shared import cmd_opts

    port = getattr(cmd_opts, "port", None)
    if port:
        return int(port)
    if getattr(cmd_opts, "nowebui", False):
        return 7861  # webui.py api_only()
    try:
        return int(os.environ.get("GRADIO_SERVER_PORT") or 7860)  # Gradio's own default
    except ValueError:
        return 7860


def settings_from_options(option: Callable[[str, Any], Any], data_folder: str) -> Settings:
    """`Settings` from Forge's option values (`option(key, default)`, keys as in config.json):
    wrong types fall back to the defaults and limits to at least their minimums."""
    values = {field: option(option_key(field), default) for field, (default, _) in FIELDS.items()}
    return Settings(
        start_on_launch=bool(values["start_on_launch"]),
        history_days=_whole_number(values["history_days"], 0, 0),
        notify_when_empty=bool(values["notify_when_empty"]),
        notify_sound=bool(values["notify_sound"]),
        callback_url=str(values["callback_url"] or ""),
        callback_hosts=str(values["callback_hosts"] or ""),
        confirm_delete=bool(values["confirm_delete"]),
        show_live_previews=bool(values["show_live_previews"]),
        always_save_images=bool(values["always_save_images"]),
        group_by_checkpoint=bool(values["group_by_checkpoint"]),
        queue_admins=str(values["queue_admins"] or ""),
        hide_others_prompts=bool(values["hide_others_prompts"]),
        data_dir=data_folder,
        # Forge's own option (not ours): callbacks honour it as sdapi's image URLs do.
        forbid_local_requests=bool(option("api_forbid_local_requests", True)),
        **{
            name: _whole_number(values[name], FIELDS[name][0], low)
            for name, low in _LIMIT_MINIMUMS.items()
        },
    )


def _whole_number(value: Any, default: int, minimum: int) -> int:
    """An option as an int of at least `minimum`; the default when it is not a number."""
    try:
        return max(int(value), minimum)
    except (TypeError, ValueError, OverflowError):
        return default


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
