"""The Task Queue tab on a data folder whose disk is nearly full (a real tmpfs): an action that
would store a task (Retry) is refused with a visible notice naming the folder and disk space,
nothing is stored, and it works again once space is freed. Real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from task_scheduler.store.faults import KEEP_FREE_BYTES
from tests.fakes import api_params
from tests.ui.app import TabApp


@pytest.mark.browser
def test_retry_on_a_nearly_full_disk_shows_why_and_stores_nothing(browser, small_disk):
    disk = small_disk("48m")
    app = TabApp(disk.path)
    task = app.queue.add_task("txt2img", api_params("FAIL once"))
    app.queue.claim_next()
    app.queue.update_task_status(task.id, "failed", error="RuntimeError: failed once")
    app.launch()
    page = browser.new_page()
    try:
        page.goto(app.url)
        row = page.locator(".ts-rows > .ts-row").filter(has_text="FAIL once")
        expect(row).to_have_count(1, timeout=60_000)  # the first Gradio call is slow
        disk.fill(leave=KEEP_FREE_BYTES // 2)

        row.get_by_role("button", name="Retry").click()
        notice = page.locator(".ts-toast-error").last
        expect(notice).to_contain_text("Not enough disk space")
        expect(notice).to_contain_text(str(disk.path))
        expect(notice).to_contain_text("nothing was stored")
        assert app.queue.counts()["pending"] == 0

        disk.free_up()
        row.get_by_role("button", name="Retry").click()
        expect(page.locator(".ts-rows > .ts-row").filter(has_text="FAIL once")).to_have_count(2)
        assert app.queue.counts()["pending"] == 1
    finally:
        page.close()
        app.close()
