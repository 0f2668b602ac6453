"""The running task's live preview in the tab's status area (a real browser; the fake host's
preview changes at every step): it updates while the task runs, disappears when it ends, and
is not fetched at all while the browser tab is hidden or "Show live previews" is off."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from .app import wait_until


def _preview_sources(screen, count: int, timeout: float = 20.0) -> list[str]:
    """The first `count` different images the preview showed."""
    preview = screen.page.locator(".ts-preview")
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        source = preview.get_attribute("src") if preview.is_visible() else None
        if source and (not seen or seen[-1] != source):
            seen.append(source)
        time.sleep(0.1)
    return seen


def test_the_preview_changes_while_the_task_runs_and_goes_when_it_ends(screen):
    app = screen.app
    app.add("a long task", steps=400)  # 0.02 s a step: about 8 s
    screen.open()
    expect(screen.page.locator(".ts-preview")).to_be_hidden()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    expect(screen.page.locator(".ts-preview")).to_be_visible()
    images = _preview_sources(screen, 3)
    assert len(images) == 3, images  # three different images while one task ran
    assert all(image.startswith("data:image/png;base64,") for image in images)
    screen.shot("live-preview")
    expect(screen.page.locator(".ts-preview")).to_be_hidden(timeout=30_000)  # the task ended
    expect(screen.row("a long task").locator(".ts-status-badge")).to_have_text("Completed")


def test_no_preview_is_fetched_while_the_setting_is_off(screen):
    app = screen.app
    app.reset(show_live_previews=False)
    app.gate.clear()  # hold the task at its start so it stays running
    app.add("held task", steps=5)
    screen.open()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    expect(screen.page.locator(".ts-state")).to_contain_text("Running")
    wait_until(lambda: app.executor.current() is not None)
    asked = app.preview_requests
    screen.page.wait_for_timeout(2500)  # two polls or more
    assert app.preview_requests == asked
    expect(screen.page.locator(".ts-preview")).to_be_hidden()
    app.gate.set()


def test_no_preview_is_fetched_while_the_browser_tab_is_hidden(screen):
    app = screen.app
    app.gate.clear()
    app.add("held task", steps=5)
    screen.open()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    wait_until(lambda: app.executor.current() is not None)
    wait_until(lambda: app.preview_requests > 0)
    screen.page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden'});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    screen.page.wait_for_timeout(1200)  # a poll already under way may still ask once
    asked = app.preview_requests
    screen.page.wait_for_timeout(2500)
    assert app.preview_requests == asked
    app.gate.set()
