"""Dragging a pending task onto the list's page buttons (a real browser): dropped on "Prev" it
takes the last place of the previous page, on "Next" the first place of the next page."""

from __future__ import annotations

from playwright.sync_api import expect

from task_scheduler.core import params


def _names(app) -> list[str]:
    tasks = app.queue.get_pending_tasks()
    return [params.text_field(t.params, t.script_args, "prompt") for t in tasks]


def _drag_onto(screen, name: str, button_label: str) -> None:
    grip = screen.row(name).locator(".ts-grip").bounding_box()
    button = screen.page.get_by_role("button", name=button_label)
    box = button.bounding_box()
    mouse = screen.page.mouse
    mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    mouse.down()
    mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=10)
    expect(button).to_have_class("ts-button ts-drop-page")  # the page button shows the drop
    mouse.up()


def test_a_task_dropped_on_the_page_buttons_lands_on_the_neighbouring_page(screen):
    app = screen.app
    names = [f"task {n:02d}" for n in range(1, 61)]
    for name in names:
        app.add(name)
    screen.open()
    screen.page.locator(".ts-page-size").select_option("25")
    screen.page.get_by_role("button", name="Next page").click()
    expect(screen.page.locator(".ts-range")).to_have_text("26\u201350 of 60")
    expect(screen.rows().first.locator(".ts-place")).to_have_text("#26")

    _drag_onto(screen, "task 30", "Previous page")
    expect(screen.page.locator(".ts-toast", has_text="Task moved to place 25.")).to_be_visible()
    order = _names(app)
    assert order.index("task 30") == 24  # the last place of page 1
    assert order[:24] == names[:24]
    assert order[25:29] == names[24:28]
    expect(screen.row("task 30")).to_have_count(0)  # no longer on this page

    _drag_onto(screen, "task 31", "Next page")
    expect(screen.page.locator(".ts-toast", has_text="Task moved to place 51.")).to_be_visible()
    order = _names(app)
    assert order.index("task 31") == 50  # the first place of page 3
    screen.page.get_by_role("button", name="Next page").click()
    expect(screen.rows().first).to_contain_text("task 31")
    expect(screen.rows().first.locator(".ts-place")).to_have_text("#51")
    screen.shot("drag-across-pages")


def test_the_page_buttons_take_no_drop_during_a_search(screen):
    app = screen.app
    for n in range(1, 31):
        app.add(f"task {n:02d}")
    screen.open()
    screen.page.locator(".ts-page-size").select_option("25")
    screen.page.locator(".ts-search").fill("task")
    expect(screen.page.locator(".ts-range")).to_have_text("1\u201325 of 30")
    grip = screen.row("task 03").locator(".ts-grip").bounding_box()
    button = screen.page.get_by_role("button", name="Next page")
    box = button.bounding_box()
    mouse = screen.page.mouse
    mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    mouse.down()
    mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=10)
    expect(button).not_to_have_class("ts-button ts-drop-page")
    mouse.up()
    assert _names(app).index("task 03") == 2  # where it was
