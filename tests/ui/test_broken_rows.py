"""A malformed row in the database (written by an earlier version's faulty import, or by hand)
in a real browser: the list still shows every task, the bad one as broken with the reason, and
it can be opened and deleted."""

from __future__ import annotations

import json
import sqlite3

from playwright.sync_api import expect


def damage_row(app, task_id: str) -> None:
    """Write straight into the SQLite file: a prompt that is a number, Seed args not a list."""
    conn = sqlite3.connect(app.data_dir / "tasks.sqlite3")
    try:
        with conn:
            conn.execute(
                "UPDATE tasks SET params = ?, script_args = ? WHERE id = ?",
                (
                    json.dumps({"source": "ui", "inputs": {"prompt": 5}}),
                    json.dumps({"scripts": {"Seed": 7}}),
                    task_id,
                ),
            )
    finally:
        conn.close()
    app.queue._notify("edited", task_id)  # a change the queue did not make: bump its version


def test_a_broken_row_is_shown_with_its_reason_and_can_be_deleted(screen):
    app = screen.app
    app.add("sound task before")
    bad = app.add("soon broken")
    app.add("sound task after")
    damage_row(app, bad.id)
    screen.open()
    expect(screen.rows()).to_have_count(3)
    broken = screen.row("Broken task")
    expect(broken).to_contain_text("script_args.scripts.Seed")
    assert screen.prompts()[0] == "sound task before"
    assert screen.prompts()[2] == "sound task after"
    screen.shot("broken-row")
    broken.click()
    expect(screen.page.locator(".ts-detail-body")).to_contain_text("Broken task")
    broken.get_by_role("button", name="Delete").click()
    screen.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(screen.rows()).to_have_count(2)
    assert app.queue.get_task(bad.id) is None
