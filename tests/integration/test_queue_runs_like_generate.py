"""Queue gets what Generate gets, and a queued task runs like a Generate click: it shows in
Forge's progress API, the UI's Interrupt button stops it, and its results are recorded."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .forge_process import wait_until

BASE = "Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"


def click_handlers(config: dict, elem_id: str) -> list[dict]:
    """The dependencies a button's click triggers, in registration order."""
    ids = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id]
    assert len(ids) == 1, f"{elem_id}: {ids}"
    return [d for d in config["dependencies"] if [ids[0], "click"] in d["targets"]]


def test_queue_button_gets_generates_inputs_and_extra_handlers(running_forge):
    config = running_forge.api("GET", "/config").json()
    for tab, js in (("txt2img", "submit"), ("img2img", "submit_img2img")):
        generate = click_handlers(config, f"{tab}_generate")
        queue = click_handlers(config, f"task_scheduler_{tab}_queue")
        assert len(queue) == len(generate) > 1  # ControlNet refreshes its units first
        main_generate = next(d for d in generate if d["js"] == js)
        main_queue = queue[-1]
        # Generate's inputs, then the hidden input of the Queue menu's choices
        assert main_queue["inputs"][:-1] == main_generate["inputs"]
        options = next(c for c in config["components"] if c["id"] == main_queue["inputs"][-1])
        assert options["props"]["elem_id"] == f"task_scheduler_{tab}_queue_options"
        assert main_queue["outputs"] == []
        extras = [
            (d["inputs"], d["outputs"], d["queue"]) for d in generate if d is not main_generate
        ]
        assert [(d["inputs"], d["outputs"], d["queue"]) for d in queue[:-1]] == extras


def test_a_running_task_shows_in_forge_progress_and_the_interrupt_button_cancels_it(
    forge_page,
):
    forge = forge_page.forge
    page = forge_page.page
    forge_page.paste_parameters("txt2img", f"a long task\nSteps: 150, Seed: 61, {BASE}")
    _, task_id = forge_page.queue("txt2img")

    def sampling() -> dict | None:
        state = forge.api("GET", "/sdapi/v1/progress?skip_current_image=true").json()["state"]
        return state if state["sampling_step"] > 0 else None

    state = wait_until(sampling, 600, "the queued task to sample")
    assert re.fullmatch(r"task\(task_scheduler-\w+\)", state["job"])
    assert state["sampling_steps"] == 150

    forge_page.paste_parameters("txt2img", f"my own click\nSteps: 2, Seed: 62, {BASE}")
    page.locator("#txt2img_generate").click()  # waits for the queue's task
    page.locator("#txt2img_interrupt").click()

    assert forge.wait_finished(task_id).status == TaskStatus.CANCELLED
    expect(page.locator("#html_info_txt2img")).to_contain_text("Seed: 62", timeout=600_000)


def test_results_are_recorded_with_do_not_show_images_on_and_random_seeds_resolved(
    forge_page,
):
    forge = forge_page.forge
    assert forge.api("POST", "/sdapi/v1/options", json={"do_not_show_images": True}).is_success
    try:
        forge_page.paste_parameters("txt2img", f"hidden results\nSteps: 2, Seed: -1, {BASE}")
        _, task_id = forge_page.queue("txt2img")
        task = forge.wait_finished(task_id)
    finally:
        forge.api("POST", "/sdapi/v1/options", json={"do_not_show_images": False})
    assert task.status == TaskStatus.COMPLETED, task.error
    assert task.script_args["scripts"]["Seed"][0] == -1
    assert len(task.result_images) == 1
    assert task.result_images[0].startswith(str(forge.outputs / "txt2img"))
    (seed,) = task.result_seeds
    assert seed != -1
    assert f"Seed: {seed}," in task.result_info


def test_settings_page_has_the_task_scheduler_section_and_the_data_folder_is_used(forge_page):
    page = forge_page.page
    page.locator("#tabs > .tab-nav button", has_text="Settings").first.click()
    for field in (
        "start_on_launch",
        "history_days",
        "notify_when_empty",
        "notify_sound",
        "callback_url",
        "confirm_delete",
        "show_live_previews",
        "always_save_images",
        "data_dir",
    ):
        expect(page.locator(f"#setting_task_scheduler_{field}")).to_have_count(1)
    forge = forge_page.forge
    assert forge.db_path.is_file()
    assert (forge.data_dir / "inputs").is_dir()
