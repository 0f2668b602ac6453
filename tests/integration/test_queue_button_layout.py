"""The Queue button (and its menu button, in a row of their own) sits beside Generate, outside
the Interrupt / Skip overlay, in both the classic and the compact prompt layout, and a click
only stores a task."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from task_scheduler.core.models import TaskStatus

from .conftest import on_checkpoint
from .forge_page import ForgePage

PARAMETERS = "a tidy desk\nSteps: 2, Sampler: Euler, Schedule type: Automatic, Seed: 8, Size: 64x64"


def queue_button_place(page, tab: str) -> dict:
    return page.evaluate(
        """(tab) => {
            const row = document.getElementById('task_scheduler_' + tab + '_queue_row');
            const queue = document.getElementById('task_scheduler_' + tab + '_queue');
            const menu = document.getElementById('task_scheduler_' + tab + '_queue_menu');
            const box = document.getElementById(tab + '_generate_box');
            return {
                insideBox: box.contains(row),
                sameParent: row.parentElement === box.parentElement,
                afterBox: !!(box.compareDocumentPosition(row) & Node.DOCUMENT_POSITION_FOLLOWING),
                inRow: row.contains(queue) && row.contains(menu),
                menuRightOfQueue:
                    menu.getBoundingClientRect().left >= queue.getBoundingClientRect().right - 1,
            };
        }""",
        tab,
    )


def assert_placed_beside_generate(forge_page: ForgePage) -> None:
    for tab in ("txt2img", "img2img"):
        if tab == "img2img":
            forge_page.tab("img2img")
        expect(forge_page.page.locator(f"#task_scheduler_{tab}_queue")).to_be_visible()
        assert queue_button_place(forge_page.page, tab) == {
            "insideBox": False,
            "sameParent": True,
            "afterBox": True,
            "inRow": True,
            "menuRightOfQueue": True,
        }


def test_queue_button_is_beside_generate_outside_the_overlay(page, running_forge):
    assert_placed_beside_generate(ForgePage(page, running_forge).open())


@pytest.fixture
def compact_forge(forge_factory):
    forge = forge_factory(
        {
            "compact_prompt_box": True,
            "task_scheduler_start_on_launch": False,
            **on_checkpoint("randA"),
        },
        [],
    )
    return forge.start()


def test_compact_prompt_layout_has_a_working_queue_button_that_only_stores_a_task(
    browser, compact_forge
):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    try:
        forge_page = ForgePage(context.new_page(), compact_forge).open()
        forge_page.paste_parameters("txt2img", PARAMETERS)
        message, task_id = forge_page.queue("txt2img")
        assert "position 1" in message
        task = compact_forge.task(task_id)
        assert task.status == TaskStatus.PENDING  # the queue is stopped: nothing generated
        assert task.params["inputs"]["prompt"] == "a tidy desk"
        assert task.script_args["scripts"]["Seed"][0] == 8
        assert not list(compact_forge.outputs.rglob("*.png"))
        assert_placed_beside_generate(forge_page)
    finally:
        context.close()
