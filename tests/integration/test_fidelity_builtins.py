"""Forge's built-in always-on extensions, set through their own page controls with non-default
values: Generate once with the defaults, turn the extension on, Generate again (it must change
the image, or the check proves nothing), then Queue with the same page state: the task gives
identical pixels and infotext. In txt2img and img2img (img2img made repeatable by the test-only
seed script), plus soft inpainting for an inpaint task. Each case is recorded for the README's
fidelity table."""

from __future__ import annotations

from pathlib import Path

import pytest

from .builtin_extensions import BUILTINS, Builtin
from .fidelity import (
    assert_changed,
    assert_queue_matches_generate_all,
    generate_all,
    samples,
)
from .script_controls import ScriptControls, set_number

BASE = "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"


TXT2IMG_SEED, IMG2IMG_SEED = 700, 720
# Images Generate made with the extensions off, by (tab, batch size): one per session is
# enough to prove each extension changed the image, and saves a generation per test.
_baselines: dict[tuple[str, int], list[Path]] = {}


def cases(mode: str) -> list:
    return [
        pytest.param(
            builtin,
            marks=pytest.mark.fidelity(builtin.name, mode),
            id=builtin.name.replace(" ", "-"),
        )
        for builtin in BUILTINS
    ]


def prove(
    forge_page, tab: str, builtin: Builtin, seed: int, fidelity_note, pasted: str, kind: str = ""
) -> None:
    """Baseline (cached per `kind` of page set-up), extension on, Generate vs Queue.
    `pasted` is the infotext the test pasted to set the page up."""
    if builtin.batch_size > 1:
        set_number(forge_page.page, f"{tab}_batch_size", builtin.batch_size)
    key = (tab + kind, builtin.batch_size)
    if key not in _baselines:
        _info, generated = generate_all(forge_page, tab, f"Seed: {seed}")
        _baselines[key] = samples(generated, tab)
    if tab == "img2img" and builtin.img2img_paste:
        forge_page.paste_parameters(tab, f"{pasted}, {builtin.img2img_paste}")
    else:
        builtin.set_up(ScriptControls(forge_page.page, tab, builtin.title))
    task = assert_queue_matches_generate_all(forge_page, tab, builtin.infotext)
    change = assert_changed(_baselines[key], samples(task.result_images, tab))
    fidelity_note(f"changes the image by {change:.3g}/255")


@pytest.mark.parametrize("builtin", cases("txt2img"))
def test_builtin_extension_replays_exactly_in_txt2img(forge_page, builtin, fidelity_note):
    seed = TXT2IMG_SEED
    pasted = f"a small red house\nNegative prompt: fog\n{BASE}, Seed: {seed}"
    forge_page.paste_parameters("txt2img", pasted)
    prove(forge_page, "txt2img", builtin, seed, fidelity_note, pasted)


@pytest.mark.parametrize("builtin", cases("img2img"))
def test_builtin_extension_replays_exactly_in_img2img(forge_page, pictures, builtin, fidelity_note):
    seed = IMG2IMG_SEED
    forge_page.tab("img2img")
    pasted = f"a blue boat\n{BASE}, Seed: {seed}, Denoising strength: 0.8"
    forge_page.paste_parameters("img2img", pasted)
    forge_page.img2img_mode("img2img")
    forge_page.upload_canvas("img2img_image", pictures["init"])
    prove(forge_page, "img2img", builtin, seed, fidelity_note, pasted)


@pytest.mark.fidelity("Soft inpainting", "img2img")
def test_soft_inpainting_replays_exactly_in_an_inpaint_task(forge_page, pictures, fidelity_note):
    seed = 740
    forge_page.tab("img2img")
    pasted = f"a green door\n{BASE}, Seed: {seed}, Denoising strength: 0.75, Mask blur: 8"
    forge_page.paste_parameters("img2img", pasted)
    forge_page.img2img_mode("Inpaint upload")
    forge_page.upload_image("img_inpaint_base", pictures["init"])
    forge_page.upload_image("img_inpaint_mask", pictures["mask"])
    soft = Builtin(
        "Soft inpainting",
        "Soft inpainting",
        lambda c: c.enabled_by_header().slider("Schedule bias", 2).slider("Mask influence", 0.5),
        [],
        "Soft inpainting enabled: True",
    )
    prove(forge_page, "img2img", soft, seed, fidelity_note, pasted, kind="inpaint")
