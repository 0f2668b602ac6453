"""The Task Queue tab's list in a real browser: adding, running, cancelling, reordering,
filtering, retrying, deleting and clearing tasks, as a user sees them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.ui.app import wait_until

DASH = "\u2013"  # the page writes ranges with an en dash


def test_queued_tasks_show_in_run_order_with_their_settings(screen):
    app = screen.app
    app.add("a red fox", steps=12, width=640, height=448)
    app.add("a blue whale", name="Whale study")
    app.add("a green frog")
    screen.open()
    expect(screen.rows()).to_have_count(3)
    assert screen.prompts() == ["a red fox", "a blue whale", "a green frog"]
    fox = screen.row("a red fox")
    expect(fox.locator(".ts-place")).to_have_text("#1")
    expect(fox.locator(".ts-meta")).to_have_text("current model · 640x448 · 12 steps")
    expect(fox.locator(".ts-status-badge")).to_have_text("Pending")
    expect(screen.row("a blue whale").locator(".ts-name")).to_have_text("Whale study")
    expect(screen.page.locator(".ts-state")).to_have_text("Stopped")
    expect(screen.page.locator(".ts-estimate")).to_have_text("3 pending")
    expect(screen.page.locator(".ts-filter[data-filter=queue] .ts-count")).to_have_text("3")
    screen.shot("list-pending")


def test_start_runs_the_queue_and_the_progress_moves(screen):
    app = screen.app
    app.gate.clear()  # hold the first task at its start
    app.add("slow landscape", steps=60)
    app.add("second task", steps=2)
    screen.open()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    expect(screen.page.locator(".ts-state")).to_have_text("Running (0/2 tasks)")
    running = screen.row("slow landscape")
    expect(running.locator(".ts-status-badge")).to_have_text("Running")
    expect(running.get_by_role("button", name="Cancel")).to_be_visible()
    app.gate.set()
    expect(screen.page.locator(".ts-progress-text")).to_contain_text("Step ")
    expect(screen.page.locator(".ts-progress-text")).to_contain_text("/60")
    screen.shot("running-progress")
    expect(running.locator(".ts-status-badge")).to_have_text("Completed")
    expect(screen.row("second task").locator(".ts-status-badge")).to_have_text("Completed")
    expect(screen.page.locator(".ts-estimate")).to_have_text("Queue empty")
    expect(screen.page.locator(".ts-state")).to_have_text("Running (2/2 tasks)")


def test_stop_lets_the_running_task_finish_and_takes_no_more(screen):
    app = screen.app
    app.gate.clear()
    app.add("finishing task")
    app.add("waiting task")
    screen.open()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    expect(screen.row("finishing task").locator(".ts-status-badge")).to_have_text("Running")
    screen.page.get_by_role("button", name="Stop", exact=True).click()
    expect(screen.page.locator(".ts-state")).to_have_text("Stopping after the current task")
    app.gate.set()
    expect(screen.row("finishing task").locator(".ts-status-badge")).to_have_text("Completed")
    expect(screen.page.locator(".ts-state")).to_have_text("Stopped")
    expect(screen.row("waiting task").locator(".ts-status-badge")).to_have_text("Pending")


def test_cancel_stops_the_running_task(screen):
    app = screen.app
    app.gate.clear()
    app.add("task to cancel")
    screen.open()
    screen.page.get_by_role("button", name="Start", exact=True).click()
    row = screen.row("task to cancel")
    expect(row.locator(".ts-status-badge")).to_have_text("Running")
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".ts-status-badge")).to_have_text("Cancelled")
    expect(row.get_by_role("button", name="Retry")).to_be_visible()
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)


def test_pending_rows_move_up_down_top_and_bottom(screen):
    app = screen.app
    for name in ("one", "two", "three", "four"):
        app.add(name)
    screen.open()
    screen.row("four").get_by_role("button", name="Move to top").click()
    expect(screen.rows().first).to_contain_text("four")
    assert screen.prompts() == ["four", "one", "two", "three"]
    screen.row("four").get_by_role("button", name="Move down").click()
    expect(screen.rows().first).to_contain_text("one")
    assert screen.prompts() == ["one", "four", "two", "three"]
    screen.row("one").get_by_role("button", name="Move to bottom").click()
    expect(screen.rows().last).to_contain_text("one")
    screen.row("three").get_by_role("button", name="Move up").click()
    expect(screen.rows().nth(1)).to_contain_text("three")
    assert screen.prompts() == ["four", "three", "two", "one"]
    assert [t.id for t in app.queue.get_pending_tasks()] == [
        t.id for t in (_by_prompt(app, p) for p in ("four", "three", "two", "one"))
    ]
    expect(screen.rows().first.locator(".ts-place")).to_have_text("#1")


@pytest.mark.parametrize(
    ("target", "half", "expected"),
    [
        ("alpha", "top", ["delta", "alpha", "beta", "gamma"]),
        ("beta", "bottom", ["alpha", "beta", "delta", "gamma"]),
    ],
)
def test_dragging_a_pending_row_drops_it_where_released(screen, target, half, expected):
    app = screen.app
    for name in ("alpha", "beta", "gamma", "delta"):
        app.add(name)
    screen.open()
    grip = screen.row("delta").locator(".ts-grip").bounding_box()
    box = screen.row(target).bounding_box()
    y = box["y"] + (box["height"] * (0.25 if half == "top" else 0.75))
    mouse = screen.page.mouse
    mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    mouse.down()
    mouse.move(box["x"] + box["width"] / 2, y, steps=8)
    drop = "ts-drop-before" if half == "top" else "ts-drop-after"
    expect(screen.row(target)).to_have_class(f"ts-row {drop}")
    screen.shot(f"drag-{half}")
    mouse.up()
    expect(screen.rows().nth(expected.index("delta"))).to_contain_text("delta")
    assert screen.prompts() == expected
    assert [_prompt(t) for t in app.queue.get_pending_tasks()] == expected


def test_filters_and_search_narrow_the_list(screen):
    app = screen.app
    app.add("castle in the mist")
    app.add("FAIL on purpose")
    app.add("castle by the sea")
    app.executor.start()
    wait_until(lambda: app.queue.counts()["pending"] == 0 and app.executor.current() is None)
    app.executor.stop()
    app.add("castle still waiting")
    screen.open()
    expect(screen.rows()).to_have_count(4)
    screen.page.locator(".ts-filter[data-filter=failed]").click()
    expect(screen.rows()).to_have_count(1)
    expect(screen.rows().first).to_contain_text("FAIL on purpose")
    screen.page.locator(".ts-filter[data-filter=queue]").click()
    expect(screen.rows()).to_have_count(1)
    expect(screen.rows().first).to_contain_text("castle still waiting")
    screen.page.locator(".ts-filter[data-filter=all]").click()
    screen.page.get_by_label("Search prompts and names").fill("castle")
    expect(screen.rows()).to_have_count(3)
    screen.page.locator(".ts-filter[data-filter=history]").click()
    expect(screen.rows()).to_have_count(2)
    screen.page.get_by_label("Search prompts and names").fill("mist")
    expect(screen.rows()).to_have_count(1)
    expect(screen.rows().first).to_contain_text("castle in the mist")
    screen.page.get_by_label("Search prompts and names").fill("no such words")
    expect(screen.page.locator(".ts-empty").first).to_have_text("No tasks here.")
    screen.shot("filtered-empty")


def test_failed_tasks_show_their_error_and_can_be_retried(screen):
    app = screen.app
    app.add("FAIL one")
    app.add("FAIL two")
    app.executor.start()
    wait_until(lambda: app.queue.counts()["failed"] == 2)
    app.executor.stop()
    screen.open()
    row = screen.row("FAIL one")
    expect(row.locator(".ts-status-badge")).to_have_text("Failed")
    row.click()
    expect(screen.page.locator(".ts-error")).to_have_text(
        "RuntimeError: generation failed: FAIL one"
    )
    screen.shot("failed-detail")
    row.get_by_role("button", name="Retry").click()
    expect(screen.rows().filter(has_text="FAIL one")).to_have_count(2)
    screen.page.get_by_role("button", name="Retry failed").click()
    expect(screen.rows().filter(has_text="FAIL two")).to_have_count(2)
    expect(screen.page.locator(".ts-filter[data-filter=queue] .ts-count")).to_have_text("2")
    # The failed task retried one by one is not queued a second time by "Retry failed".
    assert app.queue.counts()["pending"] == 2


def test_delete_asks_first_and_only_deletes_when_confirmed(screen):
    app = screen.app
    app.add("keep me")
    app.add("delete me")
    screen.open()
    screen.row("delete me").get_by_role("button", name="Delete").click()
    dialog = screen.page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete this task?")
    screen.shot("confirm-delete")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(screen.rows()).to_have_count(2)
    screen.row("delete me").get_by_role("button", name="Delete").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(screen.rows()).to_have_count(1)
    expect(screen.rows().first).to_contain_text("keep me")
    assert screen.dialogs == []  # our own dialog, never the browser's


def test_delete_without_confirmation_when_the_setting_is_off(screen):
    app = screen.app
    app.reset(confirm_delete=False)
    app.add("gone at once")
    screen.open()
    screen.row("gone at once").get_by_role("button", name="Delete").click()
    expect(screen.rows()).to_have_count(0)
    expect(screen.page.get_by_role("dialog")).to_have_count(0)


def test_clear_completed_removes_only_completed_tasks(screen):
    app = screen.app
    app.add("done one")
    app.add("FAIL stays")
    app.executor.start()
    wait_until(lambda: app.queue.counts()["pending"] == 0 and app.executor.current() is None)
    app.executor.stop()
    app.add("still pending")
    screen.open()
    expect(screen.rows()).to_have_count(3)
    screen.page.get_by_role("button", name="Clear completed").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Clear").click()
    expect(screen.rows()).to_have_count(2)
    assert sorted(screen.prompts()) == ["FAIL stays", "still pending"]
    expect(screen.page.locator(".ts-toast").last).to_have_text("1 task cleared.")


def test_a_script_tag_prompt_shows_as_text_and_never_runs(screen):
    app = screen.app
    attack = "<img src=x onerror=alert(1)>"
    app.add(attack, name="<b>bold?</b>")
    screen.open()
    row = screen.rows().first
    expect(row.locator(".ts-prompt")).to_have_text(attack)
    expect(row.locator(".ts-name")).to_have_text("<b>bold?</b>")
    row.click()
    expect(screen.page.locator(".ts-fields dd").first).to_have_text(attack)
    expect(screen.page.locator(".ts-detail-title")).to_have_text("<b>bold?</b>")
    assert screen.page.locator(".ts-app img[src=x], .ts-app b").count() == 0
    screen.shot("xss-as-text")
    assert screen.dialogs == []


def test_pages_step_through_a_long_queue(screen):
    app = screen.app
    app.queue.add_tasks(
        {"task_type": "txt2img", "params": _params(f"task {n:03d}")} for n in range(120)
    )
    screen.open()
    expect(screen.rows()).to_have_count(50)
    expect(screen.page.locator(".ts-range")).to_have_text(f"1{DASH}50 of 120")
    screen.page.get_by_role("button", name="Next page").click()
    expect(screen.page.locator(".ts-range")).to_have_text(f"51{DASH}100 of 120")
    expect(screen.rows().first.locator(".ts-place")).to_have_text("#51")
    expect(screen.rows().first).to_contain_text("task 050")
    screen.page.get_by_label("Tasks per page").select_option("100")
    expect(screen.page.locator(".ts-range")).to_have_text(f"1{DASH}100 of 120")
    screen.page.get_by_role("button", name="Next page").click()
    expect(screen.rows()).to_have_count(20)
    expect(screen.page.get_by_role("button", name="Next page")).to_be_disabled()


def _params(prompt: str) -> dict:
    return {"source": "api", "payload": {"prompt": prompt, "steps": 2}}


def _prompt(task) -> str:
    return task.params["inputs"]["prompt"]


def _by_prompt(app, prompt: str):
    return next(t for t in app.queue.list_tasks(limit=200).tasks if _prompt(t) == prompt)
