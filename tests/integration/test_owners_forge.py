"""Owners in a real Forge started with --gradio-auth: the Queue button records the Gradio
login as the task's owner, the other user cannot change it (REST 403 naming the owner, no
actions offered in the tab), and the owner can."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import on_checkpoint
from .forge_page import ForgePage
from .forge_process import ForgeProcess

USERS = {"alice": "alice-pw", "bob": "bob-pw"}
PARAMETERS = (
    "an owned lighthouse\nSteps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, "
    "Seed: 5, Size: 64x64"
)


@pytest.fixture(scope="module")
def shared_forge(forge_root, tmp_path_factory):
    """A Forge behind a Gradio login for two users, its queue stopped."""
    forge = ForgeProcess(
        forge_root,
        tmp_path_factory.mktemp("owners-forge"),
        {"task_scheduler_start_on_launch": False, **on_checkpoint("randA")},
        ["--gradio-auth", ",".join(f"{user}:{pw}" for user, pw in USERS.items())],
    )
    try:
        yield forge.start()
    finally:
        forge.stop()


def log_in(browser, forge: ForgeProcess, user: str):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    page.goto(forge.url, timeout=300_000)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#task_scheduler_txt2img_queue")).to_be_visible(timeout=300_000)
    return page


def test_the_queue_button_records_the_gradio_login_as_owner(browser, shared_forge):
    forge = shared_forge
    alice = log_in(browser, forge, "alice")
    try:
        forge_page = ForgePage(alice, forge)
        forge_page.paste_parameters("txt2img", PARAMETERS)
        _text, task_id = forge_page.queue("txt2img")
        assert forge.task(task_id).owner == "alice"
    finally:
        alice.context.close()
    # the REST routes take the --gradio-auth pairs as HTTP Basic: bob is refused, alice not
    url = f"{forge.url}/task-scheduler/tasks/{task_id}"
    refused = httpx.delete(url, auth=("bob", USERS["bob"]), timeout=60)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this task belongs to alice"
    assert httpx.get(url, auth=("bob", USERS["bob"]), timeout=60).json()["owner"] == "alice"
    bob = log_in(browser, forge, "bob")
    try:
        bob.locator("#tabs > .tab-nav button", has_text="Task Queue").first.click()
        row = bob.locator(".ts-rows > .ts-row", has_text="owned lighthouse")
        expect(row.locator(".ts-meta")).to_contain_text("by alice", timeout=60_000)
        expect(row.locator(".ts-actions button")).to_have_count(0)
        expect(bob.locator(".ts-user")).to_have_text("Signed in as bob")
    finally:
        bob.context.close()
    deleted = httpx.delete(url, auth=("alice", USERS["alice"]), timeout=60)
    assert deleted.status_code == 204
