"""What a Queue click does: capture Generate's values and the top bar into a pending task."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..core.files import FileStore, StagedFiles
from ..core.queue_manager import QueueManager
from ..store.faults import fault_of
from . import resource_lists, top_bar
from .capture import capture
from .catalog import forge_catalog
from .layout import current_layout, fixed_input_names, runner
from .queue_options import QueueOptions, confirmation, resolve_checkpoints
from .values import Encoder


def enqueue_from_ui(
    queue: QueueManager,
    files: FileStore,
    tab: str,
    values: list[Any],
    user: str | None,
    options: QueueOptions | None = None,
) -> str:
    """Queue a task from the values of one Generate click; return the confirmation text.

    `options` (the Queue button's menu, queue_options.py): first in the queue, not before a
    time, or once per checkpoint as a group (all tasks or none; LookupError naming a checkpoint
    Forge does not list).

    Raises ValueError (e.g. UnstorableValueError naming the script and field) when the values
    cannot be stored, RuntimeError with the store fault's message (a full disk, a read-only
    data folder, a locked or damaged database: store/faults.py); nothing is stored then, and
    no input file written for it is left behind.
    """
    options = options or QueueOptions()
    checkpoints = resolve_checkpoints(options.checkpoints, forge_catalog().checkpoints)
    extra = {} if options.run_after is None else {"run_after": options.run_after}
    layout = current_layout(runner(tab))
    state = top_bar.user_view()
    staged = StagedFiles(files)  # the bytes, should a concurrent delete remove a file
    try:
        captured = capture(
            tab,
            fixed_input_names(tab),
            values,
            layout,
            Encoder(staged, is_upload=is_temp_upload),
            top_bar=top_bar.for_task(state),
            checkpoint=str(state.get(top_bar.CHECKPOINT) or ""),
            user=user,
        )
        params = resource_lists.record(captured.params, captured.script_args)
        fields = {**captured.add_kwargs(), **extra, "owner": user or None}  # the Gradio login
        if checkpoints:
            del fields["checkpoint"]
            tasks = queue.add_group(
                captured.task_type, params, checkpoints, staged.contents, **fields
            )
        else:
            task = queue.add_task(
                captured.task_type,
                params,
                front=options.front,
                file_contents=staged.contents,
                **fields,
            )
            tasks = [task]
    except BaseException as error:
        queue.discard_unused_files(staged.contents)
        fault = fault_of(error, queue.store.path) if isinstance(error, Exception) else None
        if fault is not None:
            raise RuntimeError(str(fault)) from error
        raise
    positions = [queue.position(task.id) for task in tasks]
    return confirmation(tab, options, positions, checkpoints)


def temp_upload_folders() -> list[str]:
    """Folders where Gradio and Forge keep uploads that vanish (Gradio's cache, Forge's temp)."""
    folders = [os.environ.get("GRADIO_TEMP_DIR") or os.path.join(tempfile.gettempdir(), "gradio")]
    try:
        from modules import shared

        if getattr(shared.opts, "temp_dir", ""):
            folders.append(shared.opts.temp_dir)
    except ImportError:
        pass
    return [os.path.realpath(folder) for folder in folders]


def is_temp_upload(path: str) -> bool:
    """Whether a string is the path of an existing file inside a temporary upload folder."""
    if not isinstance(path, str) or not os.path.isabs(path) or len(path) > 4096:
        return False
    real = os.path.realpath(path)
    return os.path.isfile(real) and any(
        real.startswith(folder + os.sep) for folder in temp_upload_folders()
    )
