"""Fidelity checks beyond one image: every file Generate saved (samples and grids), and proof
that an extension changed the image at all (else "identical" would prove nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from playwright.sync_api import expect

from task_scheduler.core.models import Task, TaskStatus

from .forge_page import GENERATE_TIMEOUT_MS, ForgePage
from .forge_process import wait_until
from .identity import pixels, png_parameters


def saved_files(forge_page: ForgePage, tab: str) -> set[Path]:
    """Every PNG in the tab's sample and grid folders."""
    found: set[Path] = set()
    for folder in (forge_page.forge.outputs / tab, forge_page.forge.outputs / f"{tab}-grids"):
        if folder.exists():
            found |= set(folder.rglob("*.png"))
    return found


def generate_all(forge_page: ForgePage, tab: str, marker: str) -> tuple[str, list[Path]]:
    """Press Generate and wait until the infotext shows `marker`; return the infotext and
    every file it saved (samples and grids), by folder then name."""
    before = saved_files(forge_page, tab)
    page = forge_page.page
    page.locator(f"#{tab}_generate").click()
    # Wait for the generation itself (a saved file, or Forge's error box), then for the page to
    # finish; only then look for the marker, so a setting that did not reach Generate fails
    # here at once instead of waiting out the generation timeout.
    error = page.locator(f"#html_log_{tab} .error")
    wait_until(
        lambda: saved_files(forge_page, tab) - before or error.count(),
        GENERATE_TIMEOUT_MS / 1000,
        f"Generate in {tab} to save a picture",
        interval=1,
    )
    expect(page.locator(f"#{tab}_interrupt")).to_be_hidden(timeout=GENERATE_TIMEOUT_MS)
    assert not error.count(), f"Generate failed: {error.first.inner_text()}"
    info = page.locator(f"#html_info_{tab}")
    expect(info).to_contain_text(marker, timeout=30_000)
    return info.inner_text().strip(), _ordered(saved_files(forge_page, tab) - before)


def _ordered(paths) -> list[Path]:
    return sorted((Path(p) for p in paths), key=lambda p: (str(p.parent), p.name))


def assert_all_files_match(generated: list[Path], queued: list[Path]) -> None:
    """Same folders, same count, and pairwise the same infotext and pixels."""
    queued = _ordered(queued)
    assert [p.parent for p in queued] == [p.parent for p in generated], (generated, queued)
    for theirs, mine in zip(generated, queued, strict=True):
        assert mine != theirs
        assert png_parameters(mine) == png_parameters(theirs), mine.name
        expected, actual = pixels(theirs), pixels(mine)
        assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype), mine.name
        np.testing.assert_array_equal(actual, expected, err_msg=mine.name)


def assert_queue_matches_generate_all(forge_page: ForgePage, tab: str, marker: str) -> Task:
    """Generate, then Queue with the same page state; the task saved exactly what Generate
    saved (every sample and grid, same folders, same pixels, same infotext)."""
    generated_info, generated = generate_all(forge_page, tab, marker)
    assert generated, "Generate saved nothing"
    _message, task_id = forge_page.queue(tab)
    task = forge_page.forge.wait_finished(task_id)
    assert task.status == TaskStatus.COMPLETED, task.error
    assert task.warnings == []
    assert_all_files_match(generated, [Path(p) for p in task.result_images])
    if task.result_info != generated_info and grids(generated, tab):
        # With a grid, Generate's page shows the grid's infotext (Forge's `processed.info`: the
        # main prompt, e.g. a Dynamic Prompts template) until an image is clicked; the task
        # records the first image's, as the API reports it. Both are checked against the files.
        assert generated_info == png_parameters(grids(generated, tab)[0])
        assert task.result_info == png_parameters(samples(generated, tab)[0])
    else:
        assert task.result_info == generated_info
    return task


def samples(paths, tab: str) -> list[Path]:
    """The sample images among `paths` (not grids), in save order. Forge may save into dated
    subfolders of the tab's folder."""
    return _ordered(p for p in paths if tab in Path(p).parts)


def grids(paths, tab: str) -> list[Path]:
    return _ordered(p for p in paths if f"{tab}-grids" in Path(p).parts)


def mean_difference(first: Path, second: Path) -> float:
    """Mean absolute difference per channel, 0-255."""
    a = pixels(first).astype(np.int16)
    b = pixels(second).astype(np.int16)
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


def assert_changed(baseline: list[Path], changed: list[Path]) -> float:
    """The extension changed the images (at least one of a batch); returns the largest mean
    difference."""
    assert len(baseline) == len(changed)
    differences = [mean_difference(a, b) for a, b in zip(baseline, changed, strict=True)]
    assert max(differences) > 0, "the extension did not change the image: nothing is proven"
    return max(differences)
