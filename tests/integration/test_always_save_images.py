"""With Forge's "Always save all generated images" off, queued tasks still save and record their
images ("Always save images of queued tasks", on by default), in Forge's folders with Forge's
file names, while the user's own Generate clicks keep Forge's choice and save nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from task_scheduler.core.models import TaskStatus

from .conftest import on_checkpoint
from .forge_page import ForgePage

BASE = "Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
API_BODY = {
    "prompt": "queued through the API",
    "steps": 2,
    "sampler_name": "Euler",
    "scheduler": "Automatic",
    "cfg_scale": 7,
    "width": 64,
    "height": 64,
    "seed": 21,
    "batch_size": 2,
    "save_images": False,
}


def pngs(folder: Path) -> set[Path]:
    return set(folder.rglob("*.png")) if folder.exists() else set()


def enqueue(forge, body: dict) -> str:
    reply = forge.api("POST", "/task-scheduler/queue/txt2img", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_queued_tasks_save_their_images_with_forges_option_off_and_generate_still_saves_none(
    forge_factory, browser
):
    forge = forge_factory(
        {"samples_save": False, "task_scheduler_start_on_launch": True, **on_checkpoint("randA")},
        [],
    ).start()
    samples, grids = forge.outputs / "txt2img", forge.outputs / "txt2img-grids"
    assert forge.option("samples_save") is False
    assert forge.option("task_scheduler_always_save_images") is None  # unset: the default, on

    # An API task with a batch of two: both images and Forge's grid are saved and recorded.
    api_task = forge.wait_finished(enqueue(forge, API_BODY))
    assert api_task.status == TaskStatus.COMPLETED, api_task.error
    assert api_task.warnings == []
    recorded = [Path(p) for p in api_task.result_images]
    assert len(recorded) == 3, recorded
    assert all(p.is_file() for p in recorded), recorded
    grid = [p for p in recorded if grids in p.parents]  # grids go into a dated subfolder
    assert len(grid) == 1, recorded
    assert grid[0].name.startswith("grid-")
    images = sorted(p for p in recorded if samples in p.parents)
    # Forge's own folders and naming: a counter, then the seed
    assert [re.sub(r"^\d{5}-", "#-", p.name) for p in images] == ["#-21.png", "#-22.png"]
    assert len(pngs(grids)) == 1

    # A task queued from the page is saved and recorded too.
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    try:
        page = ForgePage(context.new_page(), forge).open()
        page.paste_parameters("txt2img", f"queued from the page\nSteps: 2, Seed: 31, {BASE}")
        _, ui_id = page.queue("txt2img")
        ui_task = forge.wait_finished(ui_id)
        assert ui_task.status == TaskStatus.COMPLETED, ui_task.error
        (ui_image,) = (Path(p) for p in ui_task.result_images)
        assert ui_image.is_file()
        assert samples in ui_image.parents
        assert ui_image.parent == images[0].parent
        assert re.fullmatch(r"\d{5}-31\.png", ui_image.name)
        assert "Seed: 31," in ui_task.result_info

        # The user's Generate click afterwards: Forge's option is untouched, nothing is saved.
        before = pngs(forge.outputs)
        page.paste_parameters("txt2img", f"my own click\nSteps: 2, Seed: 32, {BASE}")
        info, saved = page.generate("txt2img", "Seed: 32,", count=0)
        assert saved == []
        assert pngs(forge.outputs) == before
        assert "my own click" in info
    finally:
        context.close()
    assert forge.option("samples_save") is False
    assert json.loads(forge.settings_file.read_text())["samples_save"] is False

    # With the queue's setting off, a queued task behaves as Forge's option says: no files,
    # nothing recorded, and a warning saying why.
    assert forge.api(
        "POST", "/sdapi/v1/options", json={"task_scheduler_always_save_images": False}
    ).is_success
    before = pngs(forge.outputs)
    plain = forge.wait_finished(enqueue(forge, {**API_BODY, "batch_size": 1, "seed": 41}))
    assert plain.status == TaskStatus.COMPLETED, plain.error
    assert plain.result_images == []
    assert pngs(forge.outputs) == before
    assert any("were not saved" in warning for warning in plain.warnings), plain.warnings
