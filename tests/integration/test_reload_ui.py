"""Reload UI while a queued task runs: Forge interrupts the generation (as it does a Generate
click's), the queue keeps running with the next task, and the process never has more than one
worker: the new one starts only after the old one stopped."""

from __future__ import annotations

from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .conftest import on_checkpoint
from .forge_page import ForgePage
from .forge_process import READY_LINE, START_TIMEOUT, wait_until

SETTINGS = "Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
STARTED = "task scheduler worker started"
STOPPED = "task scheduler worker stopped"


def test_reload_ui_keeps_the_queue_running_with_exactly_one_worker(forge_factory, browser):
    forge = forge_factory(
        {"task_scheduler_start_on_launch": True, **on_checkpoint("randA")},
        ["--loglevel", "INFO"],
    )
    forge.start()
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    try:
        forge_page = ForgePage(context.new_page(), forge).open()
        forge_page.paste_parameters("txt2img", f"during the reload\nSteps: 40, Seed: 1, {SETTINGS}")
        _, running = forge_page.queue("txt2img")
        forge_page.paste_parameters("txt2img", f"next in line\nSteps: 2, Seed: 2, {SETTINGS}")
        _, waiting = forge_page.queue("txt2img")
        wait_until(lambda: forge.task(running).status == TaskStatus.RUNNING, 600, "the task to run")

        page = forge_page.page
        page.locator("#tabs > .tab-nav button", has_text="Settings").first.click()
        page.locator("#settings_restart_gradio").click()
        wait_until(lambda: forge.log_text().count(READY_LINE) == 2, START_TIMEOUT, "Reload UI")

        # Forge's Reload UI interrupts whatever generates, a queued task as a Generate click
        assert forge.wait_finished(running).status == TaskStatus.CANCELLED
        assert forge.wait_finished(waiting).status == TaskStatus.COMPLETED
        forge_page = ForgePage(context.new_page(), forge).open()
        forge_page.paste_parameters("txt2img", f"after the reload\nSteps: 2, Seed: 3, {SETTINGS}")
        _, after = forge_page.queue("txt2img")
        assert forge.wait_finished(after).status == TaskStatus.COMPLETED
        expect(forge_page.page.locator("#task_scheduler_txt2img_queue")).to_be_visible()
    finally:
        context.close()

    events = [line for line in forge.log_text().splitlines() if line.endswith((STARTED, STOPPED))]
    assert [event.endswith(STARTED) for event in events] == [True, False, True]
