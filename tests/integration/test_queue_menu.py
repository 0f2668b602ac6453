"""The Queue button's menu, Shift+click and shortcut in a real Forge page: Queue first, Queue for
later, Queue on several checkpoints (a group that runs once per checkpoint), Ctrl+Alt+Enter
(which must not generate, as Forge's Ctrl+Enter would)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from task_scheduler.core.models import Task
from task_scheduler.core.queue_manager import QueueManager

from .conftest import ARTIFACTS, on_checkpoint
from .forge_page import ForgePage
from .forge_process import ForgeProcess, wait_until

PARAMETERS = (
    "a quiet harbour\nSteps: 2, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, "
    "Seed: 11, Size: 64x64"
)


@pytest.fixture(scope="module")
def stopped_forge(forge_root, tmp_path_factory):
    """A Forge on randA whose queue stays stopped: queued tasks wait to be looked at."""
    forge = ForgeProcess(
        forge_root,
        tmp_path_factory.mktemp("menu-forge"),
        {"task_scheduler_start_on_launch": False, **on_checkpoint("randA")},
        [],
    )
    try:
        yield forge.start()
    finally:
        forge.stop()


def run_order(forge: ForgeProcess) -> list[str]:
    queue = QueueManager(forge.db_path, recover=False)
    try:
        return [task.id for task in queue.get_pending_tasks()]
    finally:
        queue.close()


def new_tasks(forge: ForgeProcess, known: set[str], count: int) -> list[Task]:
    found = wait_until(
        lambda: (n := [t for t in forge.tasks() if t.id not in known]) and len(n) >= count and n,
        60,
        f"{count} new task(s) in the database",
    )
    assert len(found) == count, found
    return sorted(found, key=lambda t: t.created_at)


def toast(page, text: str) -> str:
    body = page.locator(".toast-body", has_text=text).last
    expect(body).to_be_visible(timeout=60_000)
    message = body.inner_text()
    body.locator(".toast-close").click()
    return message


def menu(page, tab: str, item: str) -> None:
    page.locator(f"#task_scheduler_{tab}_queue_menu").click()
    options = page.get_by_role("menu", name="Queue options")
    expect(options).to_be_visible()
    shot(page, f"queue-menu-{tab}")
    options.get_by_role("menuitem", name=item).click()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_queue_menu_shift_click_and_shortcut_in_txt2img(page, stopped_forge):
    forge = stopped_forge
    forge_page = ForgePage(page, forge).open()
    queue_button = page.locator("#task_scheduler_txt2img_queue")
    expect(queue_button).to_have_attribute("title", re.compile(r"Ctrl\+Alt\+Enter"))
    expect(page.locator("#task_scheduler_txt2img_queue_menu")).to_be_visible()
    forge_page.paste_parameters("txt2img", PARAMETERS)

    known = {t.id for t in forge.tasks()}
    queue_button.click()
    plain = new_tasks(forge, known, 1)[0]
    known.add(plain.id)
    assert plain.run_after is None

    queue_button.click(modifiers=["Shift"])  # Shift+click: queued first
    assert "first" in toast(page, "Queued (txt2img)")
    shifted = new_tasks(forge, known, 1)[0]
    known.add(shifted.id)
    assert run_order(forge)[:2] == [shifted.id, plain.id]

    prompt = page.locator("#txt2img_prompt textarea")
    prompt.press("Control+Alt+Enter")  # queues; Forge's Ctrl+Enter / Alt+Enter must not fire
    keyed = new_tasks(forge, known, 1)[0]
    known.add(keyed.id)
    assert keyed.params["inputs"]["prompt"] == "a quiet harbour"
    assert run_order(forge)[-1] == keyed.id
    expect(prompt).to_have_value("a quiet harbour")  # no newline typed either
    expect(page.locator("#txt2img_interrupt")).to_be_hidden()
    assert not list(forge.outputs.rglob("*.png"))  # nothing generated

    menu(page, "txt2img", "Queue first")
    first = new_tasks(forge, known, 1)[0]
    known.add(first.id)
    assert run_order(forge)[0] == first.id

    menu(page, "txt2img", "Queue for later…")
    dialog = page.get_by_role("dialog", name="Queue for later")
    later = (datetime.now() + timedelta(days=1)).replace(hour=1, minute=30, second=0, microsecond=0)
    dialog.get_by_label("Not before").fill(later.strftime("%Y-%m-%dT%H:%M"))
    shot(page, "queue-for-later")
    dialog.get_by_role("button", name="Queue").click()
    assert "not before" in toast(page, "Queued (txt2img)")
    held = new_tasks(forge, known, 1)[0]
    known.add(held.id)
    assert held.run_after == later.timestamp()  # browser and Forge share this machine's zone

    menu(page, "txt2img", "Queue on several checkpoints…")
    dialog = page.get_by_role("dialog", name="Queue on several checkpoints")
    boxes = dialog.get_by_role("checkbox")
    expect(boxes).to_have_count(2)
    expect(dialog.get_by_role("checkbox", name=re.compile("randA"))).to_be_checked()  # current
    dialog.get_by_role("checkbox", name=re.compile("randB")).check()
    shot(page, "queue-on-several-checkpoints")
    dialog.get_by_role("button", name="Queue 2 tasks").click()
    message = toast(page, "Queued 2 tasks")
    assert "one per checkpoint: randA, randB" in message
    group = new_tasks(forge, known, 2)
    assert group[0].group_id is not None
    assert group[0].group_id == group[1].group_id
    assert sorted(t.checkpoint.split(" [")[0] for t in group) == [
        "randA.safetensors",
        "randB.safetensors",
    ]
    assert group[0].params == group[1].params
    assert group[0].script_args == group[1].script_args

    # The group runs once per checkpoint: everything else is cancelled first.
    for task_id in known:
        forge.api("POST", f"/task-scheduler/queue/{task_id}/cancel")
    assert forge.api("POST", "/task-scheduler/start").status_code == 200
    done = [forge.wait_finished(task.id) for task in group]
    assert [t.status.value for t in done] == ["completed", "completed"], [t.error for t in done]
    models = sorted(re.search(r"Model: ([^,\n]+)", t.result_info).group(1) for t in done)
    assert models == ["randA", "randB"]
    forge.api("POST", "/task-scheduler/stop")


def test_the_shortcut_and_the_menu_work_in_img2img(page, stopped_forge):
    forge = stopped_forge
    forge_page = ForgePage(page, forge).open()
    forge_page.tab("img2img")
    expect(page.locator("#task_scheduler_img2img_queue")).to_have_attribute(
        "title", re.compile(r"Ctrl\+Alt\+Enter")
    )
    known = {t.id for t in forge.tasks()}
    page.locator("#img2img_prompt textarea").fill("a quiet harbour in winter")
    page.locator("#img2img_prompt textarea").press("Control+Alt+Enter")
    keyed = new_tasks(forge, known, 1)[0]
    known.add(keyed.id)
    assert keyed.task_type == "img2img"
    assert keyed.params["inputs"]["prompt"] == "a quiet harbour in winter"

    menu(page, "img2img", "Queue first")
    first = new_tasks(forge, known, 1)[0]
    assert first.task_type == "img2img"
    assert run_order(forge)[0] == first.id
    expect(page.locator("#img2img_interrupt")).to_be_hidden()
