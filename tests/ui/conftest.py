"""Browser fixtures: one test app per module, a fresh page per test (Chromium: ../conftest.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from playwright.sync_api import Browser, Page, expect

from tests.ui.app import TabApp

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
NOT_LOCAL = re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*")

expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    for item in items:
        uses_browser = {"browser", "screen", "forge_page"} & set(item.fixturenames)
        if uses_browser and "tests/ui/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def tab_app(tmp_path_factory) -> TabApp:
    app = TabApp(tmp_path_factory.mktemp("tab"), step_seconds=0.02)
    app.launch()
    yield app
    app.close()


class Screen:
    """A browser page on the test app, plus what the test needs to watch."""

    def __init__(self, page: Page, app: TabApp):
        self.page = page
        self.app = app
        self.dialogs: list[str] = []  # native alert/confirm/prompt dialogs (there should be none)
        page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, query: str = "") -> Screen:
        self.page.goto(self.app.url + query)
        expect(self.page.locator(".ts-app")).to_be_visible()
        expect(self.page.locator(".ts-range")).not_to_be_empty()
        return self

    def rows(self):
        return self.page.locator(".ts-rows > .ts-row")

    def row(self, text: str):
        return self.rows().filter(has_text=text)

    def prompts(self) -> list[str]:
        return self.page.locator(".ts-rows > .ts-row .ts-prompt").all_inner_texts()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def new_screen(browser: Browser, app: TabApp, **context_options) -> Screen:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, **context_options)
    context.route(NOT_LOCAL, lambda route: route.abort())  # the tab needs nothing from outside
    return Screen(context.new_page(), app)


@pytest.fixture
def screen(browser, tab_app) -> Screen:
    tab_app.reset()
    screen = new_screen(browser, tab_app)
    yield screen
    screen.page.context.close()
