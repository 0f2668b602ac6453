"""Wiring the extension into Forge: one queue and one worker per process, callbacks per load.

`scripts/task_scheduler.py` calls `setup()` each time Forge loads its scripts (start-up and
every "Reload UI"). The queue, file store and database live for the whole process; Reload UI
stops the worker (after its current task: `on_script_unloaded`) and the next load starts a new
one once the old one has ended, keeping its started/stopped state, so there is never more than
one worker per process.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.executor import TaskExecutor
from ..core.files import FileStore
from ..core.queue_manager import QueueManager
from ..core.queue_room import room_check
from ..core.services import Services
from ..store.faults import StoreFault
from . import conflicts as forge_conflicts
from . import resource_lists
from . import settings as forge_settings
from .catalog import forge_catalog
from .host import ForgeHost
from .live_preview import live_preview
from .queue_button import QueueButtons
from .ui_capture import enqueue_from_ui

if TYPE_CHECKING:
    from ..api.auth import RestAccess

log = logging.getLogger("task_scheduler")

DB_NAME = "tasks.sqlite3"
INPUTS_DIR = "inputs"
REPLAY_DIR = "replay"
TAB_TITLE = "Task Queue"
TAB_ID = "task_scheduler"
_DAY_SECONDS = 86400.0


@dataclass
class _Process:
    """What survives Reload UI (module state: this package is imported once per process)."""

    queue: QueueManager | None = None
    files: FileStore | None = None
    data_dir: str = ""
    forge_cwd: str = ""
    accepting: bool = False  # whether the last worker was taking tasks when it was unloaded
    previous: TaskExecutor | None = None  # the unloaded worker, maybe finishing a task


_process = _Process()
_lock = threading.Lock()


@dataclass
class Extension:
    """One script load's parts: the services handed to the API and the tab, and the buttons."""

    services: Services
    host: ForgeHost
    buttons: QueueButtons
    start_when_app_starts: bool = False  # "start on launch": once Forge has built its scripts


def setup() -> Extension:
    """Build this load's worker and services and register Forge callbacks."""
    from modules import script_callbacks

    with _lock:
        first_load = _process.queue is None
        if first_load:
            _open_storage()
        queue, files = _process.queue, _process.files
        host = ForgeHost(files, os.path.join(_process.data_dir, REPLAY_DIR))
        executor = TaskExecutor(queue, host)
        executor.schedule.hold_openings = True  # run windows start the queue once the app is up
        services = Services(
            queue=queue,
            executor=executor,
            files=files,
            settings=forge_settings.read_settings,
            catalog=forge_catalog,
            resolve_image=_resolve_image,
            find_peers=_find_peers,
            record_resources=resource_lists.record,
            live_preview=live_preview,
        )
        host.extras = services.extras
        services.extras["conflicts"] = forge_conflicts.new_report()
        start = forge_settings.read_settings().start_on_launch if first_load else _process.accepting
        # At start-up the scripts' argument slots do not exist until Forge has built its UI:
        # a task run before that fails (sdapi's default script args), so "start on launch"
        # waits for on_app_started.
        launch_after(_process.previous, executor, start and not first_load)
        _process.previous = None

    buttons = QueueButtons(
        functools.partial(enqueue_from_ui, queue, files),  # (tab, values, user, options)
        require_room=room_check(queue, services.settings),
    )
    extension = Extension(services, host, buttons, start_when_app_starts=start and first_load)
    script_callbacks.on_ui_settings(forge_settings.register_options, name="task_scheduler")
    script_callbacks.on_after_component(buttons.after_component, name="task_scheduler")
    script_callbacks.on_before_component(buttons.before_component, name="task_scheduler")
    script_callbacks.on_image_saved(host.record_saved_image, name="task_scheduler")
    script_callbacks.on_ui_tabs(lambda: _ui_tabs(extension), name="task_scheduler")
    script_callbacks.on_app_started(
        lambda demo, app: _app_started(extension, demo, app), name="task_scheduler"
    )
    script_callbacks.on_script_unloaded(lambda: _unload(extension), name="task_scheduler")
    return extension


def _open_storage() -> None:
    data_dir = forge_settings.read_settings().data_dir
    inputs = os.path.join(data_dir, INPUTS_DIR)
    _process.data_dir = data_dir
    _process.forge_cwd = os.getcwd()
    _process.files = FileStore(inputs)
    # A PostgreSQL URL (setting or TASK_SCHEDULER_DATABASE_URL) or the SQLite file; either way
    # an unusable store leaves the queue unavailable with its reason, and Forge starts.
    location = forge_settings.database_url() or os.path.join(data_dir, DB_NAME)
    _process.queue = QueueManager(location, files_dir=inputs)
    # On a server store, input files are kept in it too, for Forges on other machines.
    _process.files.shared = _process.queue.files.shared if _process.queue.files else None
    # Its name among the Forges sharing this data folder, on the tasks it runs (issue 12).
    _process.queue.instance.name = forge_settings.instance_name()
    _process.queue.subscribe(_prune_after_finish)
    _apply_retention()
    log.info(
        "task_scheduler: tasks in %s, input files in %s, instance %s",
        _process.queue.store.path,
        data_dir,
        _process.queue.instance.name,
    )


def launch_after(previous: TaskExecutor | None, executor: TaskExecutor, start: bool) -> None:
    """Launch the new worker once the unloaded one (if any) has finished its task."""

    def launch() -> None:
        if previous is not None:
            previous.shutdown(timeout=None)
        executor.launch()
        if start:
            _start_queue(executor)

    if previous is None or not previous.is_alive:
        launch()
    else:
        threading.Thread(target=launch, name="task-scheduler-handover", daemon=True).start()


def _unload(extension: Extension) -> None:
    """Reload UI / shutdown: stop delivering callbacks and end the worker after its task."""
    executor = extension.services.executor
    with _lock:
        _process.accepting = executor.is_running
        _process.previous = executor
    executor.shutdown(timeout=0)
    from ..api import app as api

    api.shutdown(extension.services)


def _ui_tabs(extension: Extension) -> list[tuple[Any, str, str]]:
    from .. import ui

    return [(ui.create_tab(extension.services), TAB_TITLE, TAB_ID)]


def _app_started(extension: Extension, demo: Any, app: Any) -> None:
    if demo is not None:
        extension.buttons.bind(demo)
        extension.host.generate_inputs = extension.buttons.generate_inputs
    from ..api import app as api

    with forge_conflicts.routes_first(app, extension.services):
        api.install(app, extension.services, _rest_access())
    if extension.start_when_app_starts:
        extension.start_when_app_starts = False
        _start_queue(extension.services.executor)
    extension.services.executor.schedule.hold_openings = False
    extension.services.executor.wake()  # a run window open now, or a start time passed, starts it


def _start_queue(executor: TaskExecutor) -> None:
    """Start the queue at launch, unless the store cannot be used (the tab and API say why)."""
    try:
        executor.start()
    except StoreFault as fault:
        log.error("task_scheduler: the queue was not started: %s", fault)


def _rest_access() -> RestAccess:
    """The REST routes' rule from Forge's flags (api_auth.rest_access); unmounted if the
    credentials cannot be read (fail closed, never open)."""
    from modules.shared import cmd_opts

    from ..api.auth import RestAccess, rest_access

    api_flag = bool(getattr(cmd_opts, "api", False))
    nowebui = bool(getattr(cmd_opts, "nowebui", False))
    try:
        path = getattr(cmd_opts, "gradio_auth_path", None)
        file_text = None
        if path and (api_flag or nowebui):
            with open(path, encoding="utf8") as file:
                file_text = file.read()
        return rest_access(
            api=api_flag,
            nowebui=nowebui,
            api_auth=getattr(cmd_opts, "api_auth", None),
            gradio_auth=getattr(cmd_opts, "gradio_auth", None),
            gradio_auth_file=file_text,
        )
    except (OSError, ValueError) as error:
        log.error("task_scheduler: REST routes not mounted, credentials unreadable: %s", error)
        return RestAccess(mounted=False)


def _find_peers() -> list:
    """Other queue extensions' databases in Forge's extensions folder (for the import)."""
    from modules import paths_internal
    from modules.shared import cmd_opts

    from ..peers.sources import find_sources

    agent_file = getattr(cmd_opts, "agent_scheduler_sqlite_file", None)  # its preload option
    return find_sources([paths_internal.extensions_dir], agent_file=agent_file)


def _resolve_image(path: str) -> str:
    """Result paths may be relative to Forge's working directory."""
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(_process.forge_cwd or os.getcwd(), path))


def _apply_retention() -> None:
    if _process.queue is not None:
        try:
            apply_retention(_process.queue, forge_settings.read_settings().history_days)
        except StoreFault as fault:  # tried again after the next task
            log.warning("task_scheduler: history retention skipped: %s", fault)


def apply_retention(queue: QueueManager, days: int) -> int:
    """Delete finished tasks older than `days` (0 keeps everything); return how many."""
    if days <= 0:
        return 0
    removed = queue.prune_history(days * _DAY_SECONDS)
    if removed:
        log.info("task_scheduler: removed %d finished tasks older than %d days", removed, days)
    return removed


def _prune_after_finish(event: str, _task_id: str) -> None:
    if event == "finished":
        _apply_retention()
