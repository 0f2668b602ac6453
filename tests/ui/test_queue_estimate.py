"""The status line's estimate in a real browser: pending tasks priced by their work at the speed
recent tasks ran (a task twice as large counts twice), with the finishing time on the clock."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from .conftest import new_screen


def test_the_estimate_weighs_each_task_by_its_work_and_says_when_the_queue_is_done(
    browser, tab_app
):
    tab_app.reset()
    queue = tab_app.queue
    # One finished task of 512x512 x 20 steps that took 60 s: the price of such a task.
    done = tab_app.add("finished", width=512, height=512, steps=20)
    queue.update_task_status(done.id, "running", started_at=1000.0)
    queue.update_task_status(done.id, "completed", completed_at=1060.0)
    # Pending: one task of the same size (60 s) and one four times larger (1024x512, 40 steps).
    tab_app.add("same size", width=512, height=512, steps=20)
    tab_app.add("four times the work", width=1024, height=512, steps=40)
    screen = new_screen(browser, tab_app, locale="en-GB", timezone_id="UTC")
    try:
        now = dt.datetime(2026, 12, 1, 3, 35, tzinfo=dt.timezone.utc)
        screen.page.clock.set_fixed_time(now)
        screen.open()
        # 60 s + 240 s: the mean run time x 2 tasks would have said 2 minutes
        expect(screen.page.locator(".ts-estimate")).to_have_text(
            "2 pending · about 5m 0s left, done around 03:40"
        )
    finally:
        screen.page.context.close()
