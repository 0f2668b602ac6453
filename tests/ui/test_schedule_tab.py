"""The tab in a real browser: the status line says why the queue waits for its run window,
"Run now anyway" runs it, and a task for later shows its "not before" (server time)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from task_scheduler.core.schedule import Schedule, Window, local_text
from tests.ui.app import TabApp
from tests.ui.conftest import new_screen

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 21, 48, tzinfo=BERLIN).timestamp()


@pytest.fixture(scope="module")
def night_app(tmp_path_factory):
    app = TabApp(tmp_path_factory.mktemp("night"), step_seconds=0.02)
    app.queue.clock = lambda: NOW  # a fake clock: 21:48 in Berlin
    app.executor.schedule.zone = BERLIN
    app.launch()
    yield app
    app.close()


@pytest.fixture
def night(browser, night_app):
    night_app.reset()
    night_app.executor.schedule.set(Schedule(None, (Window.parse("01:00", "07:00"),)))
    screen = new_screen(browser, night_app)
    yield screen
    screen.page.context.close()


def test_the_status_line_says_why_it_waits_and_run_now_anyway_runs_the_queue(night):
    task = night.app.add("a night owl")
    night.open()
    night.page.get_by_role("button", name="Start", exact=True).click()
    waiting = night.page.locator(".ts-waiting")
    expect(waiting).to_have_text(
        "Waiting for the run window 01:00\u201307:00, starts in 3 h 12 min "
        "(server time, Europe/Berlin (UTC+01:00))"
    )
    expect(night.page.locator(".ts-state")).to_have_text("Waiting")
    assert night.app.queue.get_task(task.id).status.value == "pending"
    night.shot("schedule-waiting")
    run_now = night.page.get_by_role("button", name="Run now anyway")
    expect(run_now).to_be_visible()
    run_now.click()
    expect(night.row("a night owl").locator(".ts-status-badge")).to_have_text("Completed")
    expect(waiting).to_have_text("Running outside the run window (Run now anyway)")
    expect(run_now).to_be_hidden()


def test_a_task_for_later_shows_its_not_before_in_the_list_and_the_panel(night):
    later = NOW + 3 * 3600 + 42 * 60
    night.app.add("after midnight", run_after=later)
    night.open()
    row = night.row("after midnight")
    expect(row).to_contain_text(f"not before {local_text(later)}")
    row.click()
    expect(night.page.locator(".ts-fields")).to_contain_text(f"{local_text(later)} (server time)")
