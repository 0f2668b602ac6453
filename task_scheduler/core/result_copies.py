"""A finished task's result images on a queue that several machines share (PostgreSQL).

The Forge that ran a task copies its images into the store when the task completes; a machine
without the file (another machine's outputs folder) serves the stored copy: the REST image
route returns its bytes, the tab writes it to a cache in the system's temporary folder (where
Gradio may serve it from). On SQLite (one machine, one disk) nothing is copied.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile

from .models import Task

log = logging.getLogger("task_scheduler")

MAX_RESULT_BYTES = 64 * 1024 * 1024  # a larger file stays on its machine only
_IMAGE_EXT = re.compile(r"\.(png|jpe?g|webp|gif|avif)$", re.IGNORECASE)
_TASK_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


def keep_results(results, task: Task) -> int:
    """Copy a completed task's image files into the store (`results`: StoredResults); how many.
    Best effort: a file that cannot be read stays on this machine only, with a log line."""
    kept = 0
    for index, recorded in enumerate(task.result_images):
        path = os.path.abspath(recorded)
        try:
            if os.path.getsize(path) > MAX_RESULT_BYTES:
                log.warning("result image %s is too large to share with other machines", path)
                continue
            with open(path, "rb") as handle:
                results.keep(task.id, index, handle.read())
            kept += 1
        except OSError as error:
            log.warning("result image %s not shared with other machines: %s", path, error)
    return kept


def cached_copy(results, task: Task, index: int) -> str | None:
    """A local file holding image `index` of `task` from the store (written once, in the
    temporary folder), or None when the store has none."""
    recorded = task.result_images[index]
    ext = _IMAGE_EXT.search(recorded)
    if results is None or not ext or not _TASK_ID.fullmatch(task.id):
        return None
    folder = os.path.join(tempfile.gettempdir(), "task_scheduler_results")
    path = os.path.join(folder, f"{task.id}-{index}{ext.group(0).lower()}")
    if os.path.isfile(path):
        return path
    data = results.read(task.id, index)
    if data is None:
        return None
    os.makedirs(folder, exist_ok=True)
    partial = f"{path}.{os.getpid()}.part"
    with open(partial, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)
    return path
