"""Each task runs on the checkpoint its top bar showed when it was queued; the user's top-bar
choice is back afterwards."""

from __future__ import annotations

from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .forge_page import ForgePage

PARAMETERS = (
    "a lighthouse at night\n"
    "Steps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Seed: 2024, Size: 64x64"
)


def test_each_task_runs_on_its_own_checkpoint_and_the_top_bar_is_restored(page, running_forge):
    forge = running_forge
    forge_page = ForgePage(page, forge).open()
    assert forge.api("POST", "/task-scheduler/stop").status_code == 200
    try:
        forge_page.select_checkpoint("randA")
        forge_page.paste_parameters("txt2img", PARAMETERS)
        _, on_a = forge_page.queue("txt2img")
        forge_page.select_checkpoint("randB")
        _, on_b = forge_page.queue("txt2img")
    finally:
        assert forge.api("POST", "/task-scheduler/start").status_code == 200

    first, second = forge.wait_finished(on_a), forge.wait_finished(on_b)

    assert first.status == second.status == TaskStatus.COMPLETED
    assert first.checkpoint.startswith("randA")
    assert second.checkpoint.startswith("randB")
    assert "Model: randA," in first.result_info
    assert "Model: randB," in second.result_info
    assert str(forge.option("sd_model_checkpoint")).startswith("randB")
    expect(page.locator(".model_selection input").first).to_have_value(
        forge.option("sd_model_checkpoint")
    )
