"""The other img2img modes: sketch, inpaint and inpaint sketch (drawn on Forge's canvas), and
batch from a folder or from uploaded files. Queue must reproduce Generate exactly."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from .identity import assert_queue_matches_generate

BASE = "Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
STROKE = [(0.2, 0.3), (0.5, 0.5), (0.8, 0.6), (0.5, 0.8)]


@pytest.mark.parametrize(
    ("mode", "canvas", "seed"),
    [
        ("Sketch", "img2img_sketch", 31),
        ("Inpaint", "img2maskimg", 32),
        ("Inpaint sketch", "inpaint_sketch", 33),
    ],
)
def test_queued_canvas_modes_match_generate_exactly(forge_page, pictures, mode, canvas, seed):
    forge_page.tab("img2img")
    forge_page.paste_parameters(
        "img2img",
        f"a drawn {mode.lower()}\nSteps: 2, Seed: {seed}, Denoising strength: 0.7, {BASE}",
    )
    forge_page.img2img_mode(mode)
    forge_page.upload_canvas(canvas, pictures["init"])
    forge_page.draw(canvas, STROKE)
    assert_queue_matches_generate(forge_page, "img2img", f"Seed: {seed}")


def test_queued_batch_from_a_folder_matches_generate_exactly(forge_page, pictures, tmp_path):
    folder = tmp_path / "batch-in"
    folder.mkdir()
    shutil.copy(pictures["init"], folder / "a.png")
    shutil.copy(pictures["second"], folder / "b.png")
    page = forge_page.page
    forge_page.tab("img2img")
    forge_page.paste_parameters(
        "img2img", f"a folder batch\nSteps: 2, Seed: 41, Denoising strength: 0.5, {BASE}"
    )
    forge_page.img2img_mode("Batch")
    page.locator("#img2img_batch_source > .tab-nav button", has_text="From directory").click()
    page.locator("#img2img_batch_input_dir textarea").fill(str(folder))
    assert_queue_matches_generate(forge_page, "img2img", "Seed: 41", count=2)


def test_queued_batch_of_uploaded_files_matches_generate_exactly(forge_page, pictures):
    page = forge_page.page
    forge_page.tab("img2img")
    forge_page.paste_parameters(
        "img2img", f"an upload batch\nSteps: 2, Seed: 42, Denoising strength: 0.5, {BASE}"
    )
    forge_page.img2img_mode("Batch")
    page.locator("#img2img_batch_source > .tab-nav button", has_text="Upload").click()
    files = page.locator("#img2img_batch_upload")
    files.locator("input[type=file]").set_input_files(
        [str(pictures["init"]), str(pictures["second"])]
    )
    expect(files).to_contain_text(re.compile(r"second\s*\.png"))
    assert_queue_matches_generate(forge_page, "img2img", "Seed: 42", count=2)
