"""Store faults in a real Forge (issue 10): the Queue button on a nearly full data disk (a real
tmpfs) refuses with a visible notice and queues once space is freed; a damaged database at
start-up leaves Forge running, with the tab, the Queue button and the REST API saying what is
wrong and where the file is, and the file untouched."""

from __future__ import annotations

from playwright.sync_api import expect

from task_scheduler.store.faults import KEEP_FREE_BYTES
from tests.faults.conftest import small_disk  # noqa: F401 - the tmpfs fixture

from .conftest import on_checkpoint
from .forge_page import ForgePage

QUICK = (
    "a small lighthouse\n"
    "Steps: 2, Seed: 7, Sampler: Euler, Schedule type: Automatic, CFG scale: 7, Size: 64x64"
)


def error_toast(page, text: str):
    return page.locator(".toast-body", has_text=text).last


def test_queue_button_on_a_nearly_full_disk_says_why_and_queues_once_space_is_freed(
    small_disk,  # noqa: F811 - first: unmounted after Forge has stopped
    forge_factory,
    browser,
):
    disk = small_disk("64m")
    forge = forge_factory({"task_scheduler_data_dir": str(disk.path), **on_checkpoint("randA")}, [])
    forge.data_dir = disk.path
    forge.start()
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = ForgePage(context.new_page(), forge).open()
    page.paste_parameters("txt2img", QUICK)
    disk.fill(leave=KEEP_FREE_BYTES // 2)

    page.page.locator("#task_scheduler_txt2img_queue").click()
    notice = error_toast(page.page, "Not enough disk space")
    expect(notice).to_be_visible(timeout=60_000)
    expect(notice).to_contain_text("Not queued")
    expect(notice).to_contain_text(str(disk.path))
    assert forge.tasks() == []  # nothing stored
    assert sorted(p.name for p in (disk.path / "inputs").iterdir()) == []

    disk.free_up()
    text, task_id = page.queue("txt2img")
    assert "Queued (txt2img)" in text
    assert forge.task(task_id).status.value == "pending"
    context.close()


def test_forge_starts_on_a_damaged_database_and_says_where_it_is(forge_factory, browser, tmp_path):
    forge = forge_factory(on_checkpoint("randA"), ["--api"])
    forge.data_dir.mkdir(parents=True)
    damaged = forge.db_path
    damaged.write_bytes(b"SQLite format 2\x00" + bytes(8192))  # not a database any more
    before = (damaged.read_bytes(), damaged.stat().st_mtime_ns)
    forge.start()  # Forge starts

    response = forge.api("GET", "/task-scheduler/queue")
    assert response.status_code == 503
    assert f"The task database {damaged} is damaged" in response.json()["detail"]
    queued = forge.api("POST", "/task-scheduler/queue/txt2img", json={"prompt": "x", "steps": 2})
    assert queued.status_code == 503

    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = ForgePage(context.new_page(), forge).open()
    page.paste_parameters("txt2img", QUICK)
    page.page.locator("#task_scheduler_txt2img_queue").click()
    notice = error_toast(page.page, "is damaged")
    expect(notice).to_be_visible(timeout=60_000)
    expect(notice).to_contain_text(str(damaged))
    page.page.locator("#tabs > .tab-nav button", has_text="Task Queue").first.click()
    state = page.page.locator("#task_scheduler_app .ts-state")
    expect(state).to_contain_text(f"The task database {damaged} is damaged", timeout=60_000)
    context.close()
    forge.stop()
    assert (damaged.read_bytes(), damaged.stat().st_mtime_ns) == before
