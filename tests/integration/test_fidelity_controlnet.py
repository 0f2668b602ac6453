"""Forge's built-in ControlNet (sd_forge_controlnet) with the random test model
(tests/forge_env/SETUP.md step 6), set through its own page controls: one unit with an
uploaded picture, canny, pixel perfect; then two units; then img2img with a unit (which takes
img2img's picture); and a webuiapi-style unit through the REST API. Each time the unit must
change the image (compared with no unit) and the queued task must give identical pixels and
infotext. Recorded for the README's fidelity table."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from .fidelity import assert_changed, assert_queue_matches_generate_all, generate_all, samples
from .forge_page import ForgePage
from .script_controls import ScriptControls, pick_exactly
from .test_fidelity_api import BASE_BODY, decoded, fetched, mean_difference, queue_and_wait, sdapi

BASE = "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
MODEL = "randControl_canny"


@pytest.fixture(scope="module")
def control_pictures(tmp_path_factory) -> list[Path]:
    """Two 64x64 pictures with hard edges (for canny), one the mirror of the other."""
    folder = tmp_path_factory.mktemp("control")
    pixels = np.full((64, 64, 3), 30, dtype=np.uint8)
    pixels[12:40, 12:40] = (230, 200, 40)
    pixels[46:54, 8:58] = (40, 120, 230)
    paths = [folder / "edges.png", folder / "mirrored.png"]
    Image.fromarray(pixels, "RGB").save(paths[0])
    Image.fromarray(np.ascontiguousarray(pixels[:, ::-1]), "RGB").save(paths[1])
    return paths


def set_unit(
    forge_page: ForgePage, tab: str, index: int, picture: Path | None, preprocessor: str
) -> None:
    """Turn unit `index` on, upload `picture` (None: img2img's own picture), choose the
    preprocessor and the random model, tick pixel perfect."""
    page = forge_page.page
    if index == 0:  # once a unit is on, the header also shows a "1 unit" badge
        ScriptControls(page, tab, "ControlNet Integrated").open()
    unit = ScriptControls(page, tab, f"ControlNet Unit {index}").open()
    # Unit 0 opens with ControlNet's accordion, so opening did not tick it: tick its header.
    enabled = unit.header.locator("input.input-accordion-checkbox")
    enabled.check()
    expect(enabled).to_be_checked()
    prefix = f"{tab}_controlnet_ControlNet-{index}"
    enable = page.locator(f"#{prefix}_controlnet_enable_checkbox input")
    enable.check()  # the unit's own "Enable" box, kept in step with the header's
    expect(enable).to_be_checked()
    if picture is not None:
        forge_page.upload_canvas(f"{prefix}_input_image", picture)
    pick_exactly(
        page, page.locator(f"#{prefix}_controlnet_preprocessor_dropdown input").first, preprocessor
    )
    pick_exactly(page, page.locator(f"#{prefix}_controlnet_model_dropdown input").first, MODEL)
    perfect = page.locator(f"#{prefix}_controlnet_pixel_perfect_checkbox input")
    perfect.check()
    expect(perfect).to_be_checked()


@pytest.mark.fidelity("ControlNet (built-in)", "txt2img")
def test_controlnet_one_unit_then_two_units_replay_exactly(
    forge_page, control_pictures, fidelity_note
):
    seed = 950
    forge_page.paste_parameters(
        "txt2img", f"a yellow box\nNegative prompt: fog\n{BASE}, Seed: {seed}"
    )
    _info, plain = generate_all(forge_page, "txt2img", "a yellow box")
    plain = samples(plain, "txt2img")

    set_unit(forge_page, "txt2img", 0, control_pictures[0], "canny")
    one = assert_queue_matches_generate_all(forge_page, "txt2img", "ControlNet 0:")
    assert f"Model: {MODEL}" in one.result_info
    assert "Module: canny" in one.result_info
    assert "Pixel Perfect: True" in one.result_info
    change_one = assert_changed(plain, samples(one.result_images, "txt2img"))

    set_unit(forge_page, "txt2img", 1, control_pictures[1], "None")
    two = assert_queue_matches_generate_all(forge_page, "txt2img", "ControlNet 1:")
    assert "ControlNet 0:" in two.result_info
    change_two = assert_changed(
        samples(one.result_images, "txt2img"), samples(two.result_images, "txt2img")
    )
    fidelity_note(
        f"one unit (canny, pixel perfect) changes the image by {change_one:.1f}/255, "
        f"a second unit (None, mirrored picture) by {change_two:.1f}"
    )


@pytest.mark.fidelity("ControlNet (built-in)", "img2img")
def test_controlnet_unit_in_img2img_replays_exactly(forge_page, control_pictures, fidelity_note):
    seed = 955
    forge_page.tab("img2img")
    forge_page.paste_parameters(
        "img2img", f"a yellow box at sea\n{BASE}, Seed: {seed}, Denoising strength: 0.8"
    )
    forge_page.img2img_mode("img2img")
    forge_page.upload_canvas("img2img_image", control_pictures[0])
    _info, plain = generate_all(forge_page, "img2img", "a yellow box at sea")
    plain = samples(plain, "img2img")

    set_unit(forge_page, "img2img", 0, None, "canny")
    task = assert_queue_matches_generate_all(forge_page, "img2img", "ControlNet 0:")
    change = assert_changed(plain, samples(task.result_images, "img2img"))
    fidelity_note(f"a unit on img2img's picture changes the image by {change:.1f}/255")


def webuiapi_unit(picture: Path, model: str, module: str = "canny") -> dict:
    """What webuiapi's ControlNetUnit.to_dict() sends (the fields it always sets)."""
    return {
        "image": base64.b64encode(picture.read_bytes()).decode(),
        "mask": None,
        "module": module,
        "model": model,
        "weight": 1.0,
        "resize_mode": "Crop and Resize",
        "low_vram": False,
        "processor_res": 64,
        "threshold_a": 100,
        "threshold_b": 200,
        "guidance_start": 0.0,
        "guidance_end": 1.0,
        "control_mode": "Balanced",
        "pixel_perfect": True,
        "hr_option": "Both",
        "enabled": True,
    }


@pytest.mark.fidelity("ControlNet (built-in)", "api")
def test_controlnet_units_through_the_api_replay_like_sdapi(
    running_forge, control_pictures, fidelity_note
):
    models = running_forge.api("GET", "/controlnet/model_list").json()["model_list"]
    model = next(m for m in models if m.split(" [")[0] == MODEL)
    body = {**BASE_BODY, "seed": 960}
    plain = decoded(sdapi(running_forge, body)["images"])[0]
    notes = []
    for units in (
        [webuiapi_unit(control_pictures[0], model)],
        [
            webuiapi_unit(control_pictures[0], model),
            webuiapi_unit(control_pictures[1], model, "None"),
        ],
    ):
        with_units = {**body, "alwayson_scripts": {"ControlNet": {"args": units}}}
        direct = sdapi(running_forge, with_units)
        task = queue_and_wait(running_forge, with_units)
        assert task["status"] == "completed", task["error"]
        assert task["warnings"] == []
        info = json.loads(direct["info"])
        assert task["infotext"] == info["infotexts"][0]
        assert task["seeds"] == info["all_seeds"]
        # sdapi returns ControlNet's detected maps after the image; neither sdapi nor Generate
        # saves them, and the task records saved files: the generated image must match.
        files = fetched(running_forge, task)
        assert [data for _size, data in files] == decoded(direct["images"])[:1]
        assert f"ControlNet {len(units) - 1}:" in task["infotext"]
        change = mean_difference(plain, decoded(direct["images"])[0])
        assert change > 0, "the units did not change the image: nothing is proven"
        notes.append(f"{len(units)} unit(s) change the image by {change:.1f}/255")
    fidelity_note("; ".join(notes))
