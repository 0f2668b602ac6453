"""The "most pending tasks" setting limits the Queue button and the tab, not only the REST API:
past it the click shows why (a visible error notice) and nothing is stored.

The Queue button is the real handler (QueueButtons) on a real Gradio server with the real room
check (queue_room.py); only the capture of Forge's Generate inputs is stood in for by a
function that stores the task (Forge is not here; tests/integration covers capture). Browser:
Debian's Chromium through Playwright.
"""

from __future__ import annotations

import json
from dataclasses import replace

import gradio as gr
import httpx
import pytest
from playwright.sync_api import expect

from task_scheduler.core.queue_room import room_check
from task_scheduler.forge.queue_button import QueueButtons
from task_scheduler.ui import commands
from tests.fakes import api_params
from tests.ui.app import TabApp, _free_port

FULL = "already holds 2 pending tasks and takes at most 2"


@pytest.fixture
def app(tmp_path):
    app = TabApp(tmp_path)
    app.settings = replace(app.settings, max_pending=2)
    yield app
    app.close()


@pytest.fixture
def queue_page(app):
    """A page with a Queue button bound as Forge's is: (prompt, menu options) -> a task."""
    stored: list[str] = []

    def enqueue(tab, values, _user, options) -> str:
        stored.append(values[0])
        app.queue.add_task(tab, api_params(values[0]))
        return f"Queued ({tab})"

    buttons = QueueButtons(enqueue, require_room=room_check(app.queue, lambda: app.settings))
    with gr.Blocks() as demo:
        task_id = gr.Textbox(value="task(x)", visible=False)
        prompt = gr.Textbox(label="Prompt", elem_id="prompt")
        options = gr.Textbox(value="", visible=False)  # the Queue menu's choices
        button = gr.Button("Queue", elem_id="queue")
        button.click(buttons._handler("txt2img"), [task_id, prompt, options], [])
    port = _free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}", stored
    demo.close()


@pytest.mark.browser
def test_the_queue_button_past_the_setting_shows_why_and_stores_nothing(browser, app, queue_page):
    url, stored = queue_page
    app.queue.add_task("txt2img", api_params("one"))
    page = browser.new_page()
    try:
        page.goto(url)
        page.locator("#prompt textarea").fill("two")
        page.locator("#queue").click()
        expect(page.get_by_text("Queued (txt2img)")).to_be_visible(timeout=60_000)
        assert app.queue.counts()["pending"] == 2

        page.locator("#prompt textarea").fill("three")
        page.locator("#queue").click()
        notice = page.locator(".toast-body.error").last
        expect(notice).to_contain_text("Not queued", timeout=30_000)
        expect(notice).to_contain_text(FULL)
        assert app.queue.counts()["pending"] == 2
        assert stored == ["two"]  # the capture never ran for the refused click

        app.settings = replace(app.settings, max_pending=3)  # the setting is read per click
        page.locator("#queue").click()
        expect(page.get_by_text("Queued (txt2img)").last).to_be_visible()
        assert stored == ["two", "three"]
    finally:
        page.close()


def test_a_group_that_would_pass_the_setting_is_refused_whole(app, queue_page):
    """Queue on three checkpoints with one task pending and room for one more: refused, none
    stored (the room asked for is one task per checkpoint)."""
    url, stored = queue_page
    app.queue.add_task("txt2img", api_params("one"))
    menu = json.dumps({"checkpoints": ["a", "b", "c"]})
    body = {"data": ["task(x)", "grouped", menu], "fn_index": 0}
    with httpx.Client(base_url=url, timeout=60) as client:
        joined = client.post("/queue/join", json={**body, "session_hash": "s1"})
        assert joined.status_code == 200, joined.text
        with client.stream("GET", "/queue/data", params={"session_hash": "s1"}) as events:
            messages = [
                json.loads(line[5:]) for line in events.iter_lines() if line.startswith("data:")
            ]
    completed = next(m for m in messages if m.get("msg") == "process_completed")
    assert completed["success"] is False
    assert "already holds 1 pending tasks and takes at most 2" in json.dumps(completed)
    assert stored == []
    assert app.queue.counts()["pending"] == 1


def test_retry_and_retry_failed_in_the_tab_past_the_setting_store_nothing(app):
    failed = []
    for name in ("first", "second"):
        task = app.queue.add_task("txt2img", api_params(name))
        app.queue.claim_next()
        app.queue.update_task_status(task.id, "failed", error="RuntimeError: failed")
        failed.append(task.id)
    app.queue.add_task("txt2img", api_params("waiting"))
    reply = json.loads(commands.act(app.services, json.dumps({"action": "retry_failed"})))
    assert reply["ok"] is False
    assert "already holds 1 pending tasks and takes at most 2" in reply["error"]
    assert app.queue.counts()["pending"] == 1
    reply = json.loads(commands.act(app.services, json.dumps({"action": "retry", "id": failed[0]})))
    assert reply["ok"] is True  # room for one
    reply = json.loads(commands.act(app.services, json.dumps({"action": "retry", "id": failed[1]})))
    assert reply["ok"] is False
    assert reply["error"].startswith(f"Nothing queued: the queue {FULL}")
    assert app.queue.counts()["pending"] == 2


@pytest.mark.browser
def test_retry_in_the_tab_past_the_setting_shows_why(browser, app):
    task = app.queue.add_task("txt2img", api_params("FAIL once"))
    app.queue.claim_next()
    app.queue.update_task_status(task.id, "failed", error="RuntimeError: failed once")
    app.queue.add_task("txt2img", api_params("waiting one"))
    app.queue.add_task("txt2img", api_params("waiting two"))
    app.launch()
    page = browser.new_page()
    try:
        page.goto(app.url)
        row = page.locator(".ts-rows > .ts-row").filter(has_text="FAIL once")
        expect(row).to_have_count(1, timeout=60_000)  # the first Gradio call is slow
        row.get_by_role("button", name="Retry").click()
        notice = page.locator(".ts-toast-error").last
        expect(notice).to_contain_text(FULL)
        assert app.queue.counts()["pending"] == 2
    finally:
        page.close()


def test_retrying_a_group_past_the_setting_stores_nothing(app):
    """Two failed tasks of a group, one task pending, room for one more: the group's retry
    (two tasks) is refused in the tab and over REST (429); nothing is added."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from task_scheduler.api import app as api

    group = app.queue.add_group("txt2img", api_params("grouped"), ["randA", "randB"])
    for task in group:
        app.queue.claim_next()
        app.queue.update_task_status(task.id, "failed", error="RuntimeError: failed")
    app.queue.add_task("txt2img", api_params("waiting"))
    request = {"action": "retry_group", "group": group[0].group_id}
    reply = json.loads(commands.act(app.services, json.dumps(request)))
    assert reply["ok"] is False
    assert "already holds 1 pending tasks and takes at most 2" in reply["error"]
    rest = FastAPI()
    rest.include_router(api.create_router(app.services))
    refused = TestClient(rest).post(f"/task-scheduler/groups/{group[0].group_id}/retry")
    assert refused.status_code == 429, refused.text
    assert app.queue.counts()["pending"] == 1
