"""The tab's "Import from another queue" control in a real browser, over real peer databases."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from task_scheduler.peers.sources import find_sources
from tests import peer_dbs as peers


@pytest.fixture
def extensions(tab_app, tmp_path):
    folder = tmp_path / "extensions"
    folder.mkdir()
    tab_app.services.catalog = peers.peer_catalog
    tab_app.services.find_peers = lambda: find_sources([str(folder)])
    return folder


def test_a_found_queue_is_imported_and_the_report_shown(screen, extensions):
    fox = peers.sachira_row(name="fox", params={"prompt": "a fox from the other queue"})
    owl = peers.sachira_row(params={"prompt": "an owl from the other queue", "sampler_name": "Odd"})
    broken = {**peers.sachira_row(), "params": "{not json"}
    done = peers.sachira_finished("completed", [], params={"prompt": "an old finished fox"})
    peers.make_sachira_db(
        str(extensions / "sd-webui-forge-task-scheduler"), [fox, owl, broken, done]
    )
    peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"), [peers.agent_ui_txt2img_row()]
    )
    page = screen.open().page

    page.get_by_role("button", name="Import from another queue…").click()
    dialog = page.get_by_role("dialog", name="Import from another queue")
    expect(dialog.locator(".ts-import-source")).to_have_count(2)
    sachira = dialog.locator(".ts-import-source", has_text="SachiraChin")
    expect(sachira).to_contain_text(
        "folder sd-webui-forge-task-scheduler: 3 pending tasks, 1 finished task"
    )
    sachira.locator("input").check()
    dialog.get_by_label("Also import finished tasks").check()
    dialog.get_by_role("button", name="Import", exact=True).click()

    expect(dialog.locator(".ts-import-summary")).to_have_text(
        "Imported 3 (2 pending), skipped 1, already imported 0."
    )
    expect(dialog.locator(".ts-import-section", has_text="Skipped (1)")).to_contain_text(
        "params: not valid JSON"
    )
    warned = dialog.locator(".ts-import-section", has_text="Imported with warnings")
    expect(
        warned.locator("li[data-source]", has_text="an owl from the other queue")
    ).to_contain_text("sampler 'Odd' is unknown to this Forge")
    screen.shot("peer-import-report")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)
    expect(screen.row("a fox from the other queue").locator(".ts-name")).to_have_text("fox")
    expect(screen.row("an owl from the other queue").locator(".ts-status-badge")).to_have_text(
        "Pending"
    )
    expect(screen.row("an old finished fox").locator(".ts-status-badge")).to_have_text("Completed")

    # a second import of the same queue adds nothing
    page.get_by_role("button", name="Import from another queue…").click()
    dialog.locator(".ts-import-source", has_text="SachiraChin").locator("input").check()
    dialog.get_by_role("button", name="Import", exact=True).click()
    expect(dialog.locator(".ts-import-summary")).to_have_text(
        "Imported 0 (0 pending), skipped 1, already imported 2."
    )
    assert len(screen.app.queue.get_pending_tasks()) == 2
    assert screen.dialogs == []


def test_without_any_found_queue_the_dialog_says_where_to_look(screen, extensions):
    page = screen.open().page
    page.get_by_role("button", name="Import from another queue…").click()
    dialog = page.get_by_role("dialog", name="Import from another queue")
    expect(dialog).to_contain_text("was found in Forge's extensions folder")
    expect(dialog).to_contain_text("python -m task_scheduler.peers.importer")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


def test_the_tab_call_refuses_bad_requests_naming_the_field(tmp_path, queue):
    import json

    from task_scheduler.core.executor import TaskExecutor
    from task_scheduler.core.files import FileStore
    from task_scheduler.core.services import Services
    from task_scheduler.ui import commands
    from tests.fakes import FakeHost

    folder = tmp_path / "extensions"
    peers.make_agent_db(str(folder / "sd-webui-agent-scheduler"), [peers.agent_ui_txt2img_row()])
    services = Services(queue, TaskExecutor(queue, FakeHost()), FileStore(tmp_path / "in"))
    services.find_peers = lambda: find_sources([str(folder)])
    services.catalog = peers.peer_catalog

    def act(**request):
        return json.loads(commands.act(services, json.dumps({"action": "peer_import", **request})))

    assert act()["error"].startswith("source: ")
    assert act(source=str(folder / "sd-webui-agent-scheduler" / "task_scheduler.sqlite3"))[
        "error"
    ].startswith("source: that database is no longer there")
    (source,) = services.find_peers()
    assert act(source=source.id, include_history="yes")["error"].startswith("include_history: ")
    assert queue.get_pending_tasks() == []
    reply = act(source=source.id)
    assert reply["ok"]
    assert reply["report"]["imported"] == 1
