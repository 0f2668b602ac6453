"""Prompt styles, and resources gone by the time a task runs, in a Forge of their own.

This Forge reads copies of the test assets (tests/forge_env/SETUP.md step 6): its own
styles.csv, and LoRA / embeddings / ControlNet folders holding links to the shared asset files,
so a test can edit a style or take a file away without touching what other tests use.

* Two styles chosen in the styles dropdown (one wraps the prompt with {prompt}): Generate and
  the queued task give identical pixels and infotext; the same through the REST API.
* Tasks queued while the queue is stopped, then Forge restarted with a style edited, a style
  deleted, and the LoRA, embedding and ControlNet model files gone: nothing comes out silently
  different. A missing LoRA or ControlNet model fails the task with a message naming it (Forge
  would have failed with an error naming neither); an edited or deleted style and an
  embedding Forge no longer loads let the task run (as Generate would now) with a warning
  naming each.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .conftest import on_checkpoint
from .fidelity import assert_queue_matches_generate_all
from .forge_page import ForgePage
from .forge_process import ForgeProcess
from .test_fidelity_api import BASE_BODY, assert_queue_matches_sdapi

BASE = "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
APPENDED, WRAPPING = "test style appended", "test style wrapping"
ASSETS = {  # folder flag -> (folder under FORGE_DIR, file)
    "--lora-dir": ("models/Lora", "randLora.safetensors"),
    "--embeddings-dir": ("embeddings", "randEmbed.safetensors"),
    "--controlnet-dir": ("models/ControlNet", "randControl_canny.safetensors"),
}


@pytest.fixture(scope="module")
def assets(forge_root, tmp_path_factory) -> Path:
    """Copies of the asset folders (links to the shared files) and of styles.csv."""
    root = tmp_path_factory.mktemp("assets")
    for folder, name in ASSETS.values():
        source = forge_root / folder / name
        if not source.is_file():
            pytest.fail(f"missing test asset {source} (tests/forge_env/SETUP.md step 6)")
        (root / Path(folder).name).mkdir()
        (root / Path(folder).name / name).symlink_to(source)
    shutil.copyfile(forge_root / "styles.csv", root / "styles.csv")
    (root / "gone").mkdir()
    return root


@pytest.fixture(scope="module")
def assets_forge(forge_root, tmp_path_factory, assets):
    args = ["--styles-file", str(assets / "styles.csv")]
    for flag, (folder, _name) in ASSETS.items():
        args += [flag, str(assets / Path(folder).name)]
    forge = ForgeProcess(
        forge_root,
        tmp_path_factory.mktemp("forge-assets"),
        {"task_scheduler_start_on_launch": True, **on_checkpoint("randA")},
        args,
    )
    try:
        yield forge.start()
    finally:
        forge.stop()


@pytest.fixture
def assets_page(page, assets_forge) -> ForgePage:
    return ForgePage(page, assets_forge).open()


def select_styles(forge_page: ForgePage, tab: str, names: list[str]) -> None:
    """Pick entries in the styles dropdown beside the prompt, as a user does."""
    page = forge_page.page
    box = page.locator(f"#{tab}_styles input").first
    for name in names:
        box.click()
        box.fill(name)
        page.locator("ul.options li", has_text=name).first.click()
    for name in names:
        expect(page.locator(f"#{tab}_styles")).to_contain_text(name)


@pytest.mark.fidelity("Prompt styles (2, one with {prompt})", "txt2img")
def test_two_styles_from_the_dropdown_replay_exactly(assets_page, fidelity_note):
    assets_page.paste_parameters("txt2img", f"a red house\nNegative prompt: fog\n{BASE}, Seed: 930")
    select_styles(assets_page, "txt2img", [APPENDED, WRAPPING])

    task = assert_queue_matches_generate_all(assets_page, "txt2img", "studio light")

    assert task.params["inputs"]["prompt_styles"] == [APPENDED, WRAPPING]
    first_line = task.result_info.splitlines()[0]
    assert first_line == "a photo of a red house, oil painting, warm colours, studio light"
    assert "Negative prompt: fog, blurry, lowres, watermark" in task.result_info
    fidelity_note("styled prompt in the infotext; style names and text stored on the task")


@pytest.mark.fidelity("Prompt styles (2, one with {prompt})", "api")
def test_two_styles_through_the_api_replay_like_sdapi(assets_forge):
    body = {**BASE_BODY, "seed": 931, "styles": [APPENDED, WRAPPING]}
    _direct, task = assert_queue_matches_sdapi(assets_forge, body)
    assert task["infotext"].startswith("a photo of a small red house, oil painting")


def control_picture() -> str:
    pixels = np.full((64, 64, 3), 30, dtype=np.uint8)
    pixels[12:40, 12:40] = (230, 200, 40)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def queue(forge: ForgeProcess, body: dict) -> str:
    response = forge.api("POST", "/task-scheduler/queue/txt2img", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_resources_gone_by_run_time_fail_or_warn_naming_them(assets_forge, assets):
    forge = assets_forge
    assert forge.api("POST", "/task-scheduler/stop").status_code == 200
    models = forge.api("GET", "/controlnet/model_list").json()["model_list"]
    model = next(m for m in models if m.startswith("randControl_canny"))
    unit = {
        "enabled": True,
        "module": "canny",
        "model": model,
        "image": control_picture(),
        "resize_mode": "Crop and Resize",
        "processor_res": 64,
        "pixel_perfect": True,
    }
    body = {**BASE_BODY, "seed": 940}
    tasks = {
        "lora": queue(forge, {**body, "prompt": "a small red house <lora:randLora:1>"}),
        "embedding": queue(forge, {**body, "negative_prompt": "fog, randEmbed"}),
        "styles": queue(forge, {**body, "styles": [APPENDED, WRAPPING]}),
        "controlnet": queue(forge, {**body, "alwayson_scripts": {"ControlNet": {"args": [unit]}}}),
        "untouched": queue(forge, body),
    }
    forge.stop()
    moved = []
    try:
        for folder, name in ASSETS.values():
            link = assets / Path(folder).name / name
            link.rename(assets / "gone" / name)
            moved.append((assets / "gone" / name, link))
        styles = assets / "styles.csv"
        styles.write_text(
            "name,prompt,negative_prompt\n"
            f'{APPENDED},"watercolour, cold colours","blurry, lowres"\n',
            encoding="utf-8-sig",
        )
        forge.start()  # starts the queue (start on launch)
        done = {kind: forge.wait_finished(task_id) for kind, task_id in tasks.items()}
    finally:
        for gone, link in moved:
            gone.rename(link)

    lora = done["lora"]
    assert lora.status == TaskStatus.FAILED
    assert "LoRA 'randLora'" in lora.error
    controlnet = done["controlnet"]
    assert controlnet.status == TaskStatus.FAILED
    assert f"ControlNet model '{model}'" in controlnet.error

    embedding = done["embedding"]
    assert embedding.status == TaskStatus.COMPLETED, embedding.error
    assert len(embedding.warnings) == 1
    assert "embedding 'randEmbed'" in embedding.warnings[0]

    styled = done["styles"]
    assert styled.status == TaskStatus.COMPLETED, styled.error
    assert len(styled.warnings) == 2
    assert f"'{APPENDED}' was edited after the task was queued" in styled.warnings[0]
    assert f"'{WRAPPING}' no longer exists" in styled.warnings[1]
    assert styled.result_info.startswith("a small red house, watercolour, cold colours")

    untouched = done["untouched"]
    assert untouched.status == TaskStatus.COMPLETED, untouched.error
    assert untouched.warnings == []
