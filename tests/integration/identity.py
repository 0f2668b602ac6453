"""The central check: a queued task reproduces exactly what Generate produced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from task_scheduler.core.models import Task, TaskStatus

from .forge_page import ForgePage


def pixels(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def png_parameters(path: str | Path) -> str:
    with Image.open(path) as image:
        return image.info.get("parameters", "")


def assert_queue_matches_generate(
    forge_page: ForgePage, tab: str, marker: str, count: int = 1
) -> Task:
    """Press Generate, then Queue with the same page state, run the task, compare.

    Same infotext (page vs task, and in the PNGs), same pixels (mode, size and every value),
    saved in the same folder as Generate's files.
    """
    generated_info, generated = forge_page.generate(tab, marker, count)
    message, task_id = forge_page.queue(tab)
    assert "position" in message

    task = forge_page.forge.wait_finished(task_id)

    assert task.status == TaskStatus.COMPLETED, task.error
    assert task.warnings == []
    assert task.result_info == generated_info
    queued = [Path(path) for path in task.result_images]
    assert len(queued) == count
    for mine, theirs in zip(queued, generated, strict=True):
        assert mine != theirs
        assert mine.parent == theirs.parent  # saved where Generate saves
        assert png_parameters(mine) == png_parameters(theirs)
        expected, actual = pixels(theirs), pixels(mine)
        assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
        np.testing.assert_array_equal(actual, expected)
    assert png_parameters(queued[0]) == generated_info
    return task
