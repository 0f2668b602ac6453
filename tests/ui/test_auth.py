"""The tab behind Forge's two locks: --gradio-auth (a login page) and --api-auth (Basic auth
on REST routes). The tab's data goes through Gradio events, so the login covers it and the
REST lock never shuts it out."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.app import TabApp
from tests.ui.conftest import new_screen

LOGIN = ("ada", "analytical-engine")
API_USERS = {"api-client": "api-secret"}


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory):
    app = TabApp(
        tmp_path_factory.mktemp("locked"),
        step_seconds=0.02,
        auth=LOGIN,
        api_credentials=API_USERS,
    )
    app.launch()
    yield app
    app.close()


def test_the_tab_works_after_the_gradio_login_while_rest_routes_need_api_auth(browser, locked_app):
    app = locked_app
    app.add("behind two locks")
    assert httpx.get(app.url + "task-scheduler/queue").status_code == 401
    anonymous = httpx.post(app.url + "run/task_scheduler_poll", json={"data": ['{"force": true}']})
    assert anonymous.status_code == 401  # the tab's data is not open to strangers
    screen = new_screen(browser, app)
    try:
        page = screen.page
        page.goto(app.url)
        page.get_by_label("username").fill(LOGIN[0])
        page.get_by_label("password").fill(LOGIN[1])
        page.get_by_role("button", name="Login").click()
        expect(page.locator(".ts-app")).to_be_visible()
        row = screen.row("behind two locks")
        expect(row.locator(".ts-status-badge")).to_have_text("Pending")
        page.get_by_role("button", name="Start", exact=True).click()
        expect(row.locator(".ts-status-badge")).to_have_text("Completed")
        row.click()
        thumb = page.locator(".ts-thumb img")
        expect(thumb).to_have_count(1)
        page.wait_for_function(
            "() => { const i = document.querySelector('.ts-thumb img');"
            " return i && i.complete && i.naturalWidth === 8; }"
        )
        screen.shot("gradio-auth")
    finally:
        screen.page.context.close()
