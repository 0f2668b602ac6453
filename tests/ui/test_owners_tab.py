"""Owners and permissions in the tab, in a real browser with two (and three) Gradio logins:
each user is offered only what they may do, Mine / Everyone, hidden prompts, and a forged
request for a forbidden action gets the REST API's refusal."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.app import TabApp
from tests.ui.conftest import new_screen

USERS = {"alice": "alice-pw", "bob": "bob-pw", "root": "root-pw"}


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    app = TabApp(
        tmp_path_factory.mktemp("owners"),
        step_seconds=0.02,
        auth=list(USERS.items()),
        api_credentials=USERS,
    )
    app.launch()
    yield app
    app.close()


@pytest.fixture
def login(browser, shared_app):
    screens = []

    def open_as(user: str):
        screen = new_screen(browser, shared_app)
        screens.append(screen)
        page = screen.page
        page.goto(shared_app.url)
        page.get_by_label("username").fill(user)
        page.get_by_label("password").fill(USERS[user])
        page.get_by_role("button", name="Login").click()
        expect(page.locator(".ts-app")).to_be_visible()
        expect(page.locator(".ts-range")).not_to_be_empty()
        return screen

    yield open_as
    for screen in screens:
        screen.page.context.close()


def test_each_user_is_offered_actions_on_their_own_tasks_only(shared_app, login):
    shared_app.reset()
    shared_app.add("alice paints a fox", owner="alice")
    shared_app.add("bob paints a heron", owner="bob")
    alice, bob = login("alice"), login("bob")
    for screen, own, other in ((alice, "fox", "heron"), (bob, "heron", "fox")):
        mine, theirs = screen.row(own), screen.row(other)
        expect(mine.locator(".ts-actions button")).to_have_count(6)
        expect(theirs.locator(".ts-actions button")).to_have_count(0)
        expect(mine.locator(".ts-grip")).to_be_visible()
        expect(theirs.locator(".ts-grip")).to_be_hidden()
        expect(theirs.locator(".ts-meta")).to_contain_text("by ")
        theirs.click()
        expect(screen.page.locator(".ts-owner-note")).to_be_visible()
        expect(
            screen.page.locator(".ts-detail-actions").get_by_role("button", name="Edit")
        ).to_have_count(0)
    expect(alice.page.locator(".ts-user")).to_have_text("Signed in as alice")
    alice.shot("owners-alice")


def test_mine_and_everyone_filter_the_list(shared_app, login):
    shared_app.reset()
    shared_app.add("alice one", owner="alice")
    shared_app.add("bob one", owner="bob")
    shared_app.add("alice two", owner="alice")
    alice = login("alice")
    filters = alice.page.locator(".ts-owner-filter")
    expect(filters).to_be_visible()
    expect(alice.rows()).to_have_count(3)
    filters.get_by_role("button", name="Mine").click()
    expect(alice.rows()).to_have_count(2)
    assert sorted(alice.prompts()) == ["alice one", "alice two"]
    filters.get_by_role("button", name="Everyone").click()
    expect(alice.rows()).to_have_count(3)


def test_a_forged_request_for_another_users_task_gets_the_apis_refusal(shared_app, login):
    shared_app.reset()
    task = shared_app.add("bob's heron", owner="bob")
    alice = login("alice")
    expect(alice.row("heron")).to_be_visible()
    reply = alice.page.evaluate(
        "async (id) => (await window.taskQueueExtensionForForge.api.act({action: 'delete', id}))",
        task.id,
    )
    rest = httpx.delete(
        f"{shared_app.url}task-scheduler/tasks/{task.id}", auth=("alice", USERS["alice"])
    )
    assert rest.status_code == 403
    assert reply["ok"] is False
    assert reply["error"] == rest.json()["detail"] == "this task belongs to bob"
    assert shared_app.queue.get_task(task.id) is not None
    for action in ("cancel", "edit", "bookmark"):
        forged = alice.page.evaluate(
            "async ([action, id]) => await window.taskQueueExtensionForForge.api.act("
            "{action, id, to: 'top', fields: {prompt: 'x'}, value: true})",
            [action, task.id],
        )
        assert forged["error"] == "this task belongs to bob", action
    assert shared_app.queue.get_task(task.id).status.value == "pending"


def test_hidden_prompts_show_others_tasks_without_their_words(shared_app, login):
    shared_app.reset(hide_others_prompts=True, queue_admins="root")
    shared_app.add("a secret birthday present", owner="bob", width=640, height=384)
    shared_app.add("alice's open prompt", owner="alice")
    alice = login("alice")
    hidden = alice.rows().filter(has_text="prompt is hidden")
    expect(hidden).to_have_count(1)
    expect(hidden.locator(".ts-meta")).to_contain_text("640x384")
    hidden.click()
    expect(alice.page.locator(".ts-hidden-note")).to_be_visible()
    assert "birthday" not in alice.page.content()
    # a search cannot probe the hidden words either
    alice.page.locator(".ts-search").fill("birthday")
    expect(alice.page.locator(".ts-empty").first).to_be_visible()
    alice.shot("owners-hidden-prompts")
    root = login("root")
    expect(root.row("birthday")).to_be_visible()


def test_queue_controls_are_offered_to_administrators_only(shared_app, login):
    shared_app.reset(queue_admins="root")
    shared_app.add("bob's task", owner="bob")
    alice, root = login("alice"), login("root")
    for name in ("Start", "Stop", "Retry failed", "Clear completed"):
        expect(alice.page.get_by_role("button", name=name, exact=True)).to_be_hidden()
        expect(root.page.get_by_role("button", name=name, exact=True)).to_be_visible()
    forged = alice.page.evaluate(
        "async () => await window.taskQueueExtensionForForge.api.act({action: 'start'})"
    )
    assert forged["error"] == "only queue administrators may start the queue"
    assert shared_app.queue.worker_state == "stopped"
    expect(root.page.locator(".ts-user")).to_have_text("Signed in as root (queue administrator)")
    expect(root.row("bob's task").locator(".ts-actions button")).to_have_count(6)
