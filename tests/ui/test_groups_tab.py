"""Groups in the Task Queue tab, in a real browser: the rows of tasks queued on several
checkpoints carry a group tag; the group's own view cancels, retries and deletes it whole."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.ui.app import CATALOG, ui_params

RAND_A, RAND_B = CATALOG.checkpoints


def add_group(app, prompt: str, checkpoints=(RAND_A, RAND_B)):
    params, script_args = ui_params(prompt)
    return app.queue.add_group("txt2img", params, list(checkpoints), script_args=script_args)


def open_group(screen, prompt: str):
    screen.row(prompt).first.get_by_role("button", name="Queued together").click()
    bar = screen.page.get_by_role("region", name="Group")
    expect(bar).to_be_visible()
    return bar


def test_a_groups_rows_carry_its_tag_and_the_tag_shows_the_group_alone(screen):
    app = screen.app
    app.add("a lone task")
    add_group(app, "a lighthouse")
    app.add("another lone task")
    screen.open()
    expect(screen.rows()).to_have_count(4)
    tags = screen.page.locator(".ts-row .ts-group-tag:visible")
    expect(tags).to_have_count(2)
    expect(tags.first).to_have_text("group of 2")
    expect(screen.row("a lone task").locator(".ts-group-tag")).to_be_hidden()
    expect(screen.row("a lighthouse").first.locator(".ts-meta")).to_contain_text(RAND_A)

    bar = open_group(screen, "a lighthouse")
    expect(screen.rows()).to_have_count(2)
    expect(bar).to_contain_text("Group of 2 tasks: 2 pending")
    expect(bar).to_contain_text(f"on {RAND_A}, {RAND_B}")
    screen.shot("group-view")
    bar.get_by_role("button", name="Show all tasks").click()
    expect(screen.rows()).to_have_count(4)
    expect(bar).to_be_hidden()


def test_cancel_retry_and_delete_act_on_the_whole_group(screen):
    app = screen.app
    app.add("stays")
    add_group(app, "grouped work", checkpoints=CATALOG.checkpoints)
    screen.open()
    bar = open_group(screen, "grouped work")
    expect(bar.get_by_role("button", name="Retry group")).to_be_disabled()

    bar.get_by_role("button", name="Cancel group").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Cancel group").click()
    expect(screen.rows().locator(".ts-status-badge")).to_have_text(["Cancelled", "Cancelled"])
    expect(bar).to_contain_text("2 cancelled")
    expect(bar.get_by_role("button", name="Cancel group")).to_be_disabled()

    bar.get_by_role("button", name="Retry group").click()
    expect(screen.rows()).to_have_count(4)
    expect(bar).to_contain_text("Group of 4 tasks: 2 pending, 2 cancelled")
    expect(bar.get_by_role("button", name="Retry group")).to_be_disabled()  # retried once

    bar.get_by_role("button", name="Delete group").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    expect(bar).to_be_hidden()
    expect(screen.rows()).to_have_count(1)
    expect(screen.rows().first).to_contain_text("stays")
    assert app.queue.counts()["pending"] == 1
    assert screen.dialogs == []


def test_cancel_group_stops_its_running_task_and_delete_waits_for_it(screen):
    app = screen.app
    app.gate.clear()  # the first task of the group stays running
    first, second = add_group(app, "long group")
    app.executor.start()
    screen.open()
    bar = open_group(screen, "long group")
    expect(screen.row("long group").locator(".ts-status-badge")).to_have_text(
        ["Running", "Pending"]
    )
    expect(bar.get_by_role("button", name="Delete group")).to_be_disabled()
    bar.get_by_role("button", name="Cancel group").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Cancel group").click()
    app.gate.set()
    expect(screen.row("long group").locator(".ts-status-badge")).to_have_text(
        ["Cancelled", "Cancelled"]
    )
    assert app.queue.get_task(first.id).status.value == "cancelled"
    assert app.queue.get_task(second.id).status.value == "cancelled"
    expect(bar.get_by_role("button", name="Delete group")).to_be_enabled()
