"""Two of Forge's own generation features, set through their page controls: the X/Y/Z plot
script (a selectable script: the grid and every cell must be identical and all recorded on the
task) and the Refiner (a second checkpoint taking over half-way). Recorded for the README's
fidelity table."""

from __future__ import annotations

from pathlib import Path

import pytest

from .fidelity import (
    assert_changed,
    assert_queue_matches_generate_all,
    generate_all,
    grids,
    samples,
)
from .identity import png_parameters
from .script_controls import ScriptControls, pick_exactly

BASE = "Sampler: Euler, Schedule type: Automatic, Size: 64x64"


@pytest.mark.fidelity("X/Y/Z plot", "txt2img")
def test_xyz_plot_grid_and_every_cell_replay_exactly_and_are_all_recorded(
    forge_page, fidelity_note
):
    page = forge_page.page
    forge_page.paste_parameters(
        "txt2img", f"a grid of tiny boats\nSteps: 2, CFG scale: 7, Seed: 801, {BASE}"
    )
    pick_exactly(page, page.locator("#tab_txt2img #script_list input").first, "X/Y/Z plot")
    pick_exactly(page, page.locator("#script_txt2img_xyz_plot_x_type input").first, "Steps")
    page.locator("#script_txt2img_xyz_plot_x_values").locator("textarea, input").first.fill("1,2")
    pick_exactly(page, page.locator("#script_txt2img_xyz_plot_y_type input").first, "CFG Scale")
    page.locator("#script_txt2img_xyz_plot_y_values").locator("textarea, input").first.fill("5,9")
    page.locator("#script_txt2img_xyz_plot_include_lone_images input").check()

    # The page shows the first cell's infotext, without the axes (Forge's index_of_first_image
    # skips the grid); the task records the same. The grid file carries the axes.
    task = assert_queue_matches_generate_all(forge_page, "txt2img", "Seed: 801")
    grid = grids(task.result_images, "txt2img")[0]
    assert 'X Type: Steps, X Values: "1,2", Y Type: CFG Scale' in png_parameters(grid)

    assert task.script_args["selected"] == "X/Y/Z plot"
    assert len(samples(task.result_images, "txt2img")) == 4  # the 2x2 cells
    assert len(grids(task.result_images, "txt2img")) == 1
    fidelity_note("2x2 grid (Steps 1,2 x CFG 5,9): grid + 4 cells")


@pytest.mark.fidelity("Refiner", "txt2img")
def test_refiner_switching_to_the_second_checkpoint_half_way_replays_exactly(
    forge_page, fidelity_note
):
    forge_page.select_checkpoint("randA")
    forge_page.paste_parameters(
        "txt2img", f"a lighthouse\nSteps: 2, CFG scale: 6, Seed: 811, {BASE}"
    )
    _info, baseline = generate_all(forge_page, "txt2img", "Seed: 811")
    ScriptControls(forge_page.page, "txt2img", "Refiner").enabled_by_header()
    forge_page.pick("#txt2img_checkpoint", "randB")
    box = forge_page.page.locator("#txt2img_switch_at input[type=number]")
    box.fill("0.5")
    box.press("Tab")

    task = assert_queue_matches_generate_all(forge_page, "txt2img", "Refiner: randB")

    assert "Refiner switch at: 0.5" in task.result_info
    assert "Model: randA," in task.result_info
    change = assert_changed(baseline, [Path(p) for p in task.result_images])
    assert str(forge_page.forge.option("sd_model_checkpoint")).startswith("randA")
    fidelity_note(f"randA then randB from step 2 of 2; changes the image by {change:.1f}/255")
