"""Live updates, notifications and appearance of the Task Queue tab in a real browser."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.ui.app import wait_until
from tests.ui.conftest import new_screen

RECORD_NOTICES = """
window.__notices = [];
window.__tones = 0;
window.Notification = class {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options) { window.__notices.push([title, options && options.body]); }
};
const RealContext = window.AudioContext;
window.AudioContext = class extends RealContext {
    createOscillator() { window.__tones += 1; return super.createOscillator(); }
};
"""


def test_tasks_added_through_the_api_appear_without_flicker_or_lost_place(screen):
    app = screen.app
    for n in range(40):
        app.add(f"existing task {n:02d}")
    screen.open()
    expect(screen.rows()).to_have_count(40)
    screen.row("existing task 05").click()
    expect(screen.page.locator(".ts-detail-title")).to_have_text("txt2img task")
    rows = screen.page.locator(".ts-rows-scroll")
    rows.evaluate("box => { box.scrollTop = 300; }")
    screen.page.locator(".ts-rows > .ts-row").first.evaluate("row => { row.__probe = 'same'; }")
    response = httpx.post(
        app.url + "task-scheduler/queue/txt2img",
        json={"prompt": "sent through the REST API", "steps": 2},
    )
    assert response.status_code in (200, 201), response.text
    expect(screen.row("sent through the REST API")).to_have_count(1)  # no click on Refresh
    expect(screen.rows()).to_have_count(41)
    assert screen.page.locator(".ts-rows > .ts-row").first.evaluate("row => row.__probe") == "same"
    assert rows.evaluate("box => box.scrollTop") == 300
    expect(screen.row("existing task 05")).to_have_class("ts-row ts-selected")
    expect(screen.page.locator(".ts-fields dd").first).to_have_text("existing task 05")


def test_the_browser_is_told_when_the_queue_empties(browser, tab_app):
    tab_app.reset(notify_when_empty=True, notify_sound=True)
    screen = new_screen(browser, tab_app)
    try:
        screen.page.add_init_script(RECORD_NOTICES)
        tab_app.add("first quick task")
        tab_app.add("second quick task")
        screen.open()
        screen.page.get_by_role("button", name="Start", exact=True).click()
        notice = "The task queue is empty: 2 tasks finished."
        expect(screen.page.locator(".ts-toast").filter(has_text=notice)).to_have_count(1)
        assert screen.page.evaluate("window.__notices") == [["Task Queue finished", notice]]
        assert screen.page.evaluate("window.__tones") == 1
    finally:
        screen.page.context.close()


def test_no_notice_when_the_setting_is_off(browser, tab_app):
    tab_app.reset(notify_when_empty=False)
    screen = new_screen(browser, tab_app)
    try:
        screen.page.add_init_script(RECORD_NOTICES)
        task = tab_app.add("quiet task")
        screen.open()
        screen.page.get_by_role("button", name="Start", exact=True).click()
        expect(screen.row("quiet task").locator(".ts-status-badge")).to_have_text("Completed")
        wait_until(lambda: tab_app.queue.get_task(task.id).status.value == "completed")
        expect(screen.page.locator(".ts-estimate")).to_have_text("Queue empty")
        assert screen.page.evaluate("window.__notices") == []
    finally:
        screen.page.context.close()


def test_settings_show_the_data_folder_and_history_retention(browser, tab_app):
    tab_app.reset(history_days=14)
    screen = new_screen(browser, tab_app)
    try:
        screen.open()
        expect(screen.page.locator(".ts-footer")).to_have_text(
            f"Data folder: {tab_app.data_dir} · History kept 14 days "
            "(bookmarked and named tasks always)"
        )
    finally:
        screen.page.context.close()


def test_dark_theme_uses_forge_theme_colours(screen):
    app = screen.app
    app.add("a night sky")
    app.add("FAIL in the dark")
    app.executor.start()
    wait_until(lambda: app.queue.counts()["failed"] == 1 and app.executor.current() is None)
    app.executor.stop()
    app.add("waiting in the dark")
    screen.open("?__theme=dark")
    screen.row("FAIL in the dark").click()
    expect(screen.page.locator(".ts-error")).to_be_visible()
    pane = screen.page.locator(".ts-list-pane")
    background = pane.evaluate("n => getComputedStyle(n).backgroundColor")
    text = pane.evaluate("n => getComputedStyle(n).color")
    assert _luminance(background) < 0.2 < 0.7 < _luminance(text), (background, text)
    screen.shot("dark")
    screen.open()
    background = pane.evaluate("n => getComputedStyle(n).backgroundColor")
    assert _luminance(background) > 0.8, background
    screen.shot("light")


def test_a_narrow_window_stacks_the_list_and_panel_without_sideways_scrolling(browser, tab_app):
    tab_app.reset()
    for n in range(3):
        tab_app.add(f"narrow task {n} with a long prompt that must not push the page wider")
    screen = new_screen(browser, tab_app)
    try:
        screen.page.set_viewport_size({"width": 400, "height": 800})
        screen.open()
        row = screen.row("narrow task 1")
        row.click()
        expect(screen.page.locator(".ts-fields")).to_be_visible()
        list_box = screen.page.locator(".ts-list-pane").bounding_box()
        panel_box = screen.page.locator(".ts-detail-pane").bounding_box()
        assert panel_box["y"] >= list_box["y"] + list_box["height"]  # stacked, not squeezed
        for name in ("Move up", "Move down", "Move to top", "Move to bottom", "Edit", "Delete"):
            button = row.get_by_role("button", name=name)
            expect(button).to_be_visible()
            assert button.bounding_box()["x"] + button.bounding_box()["width"] <= 400
        assert screen.page.evaluate("document.documentElement.scrollWidth") <= 400
        row.get_by_role("button", name="Move to top").click()
        expect(screen.rows().first).to_contain_text("narrow task 1")
        screen.shot("narrow")
    finally:
        screen.page.context.close()


def _luminance(css_colour: str) -> float:
    parts = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")
    red, green, blue = (float(p) / 255 for p in parts[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue
