"""Beside a deliberately clashing extension, our tab still works and theirs is left alone.

The page carries a "dummy" extension's JavaScript before and after ours (Forge loads extensions
in folder order, so either can come first) and its CSS around ours. It defines generic globals
and the global names our files used to have, and styles class names like ours. A real folder
for that extension, with a package and routes like ours, makes our tab show the conflict banner.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from playwright.sync_api import expect

from task_scheduler.peers.conflicts import ConflictReport, InstalledExtension
from tests.ui.app import ROOT, TabApp, front_end_head
from tests.ui.conftest import new_screen

DUMMY_JS_BEFORE = """<script>
// A clumsy extension loaded before ours: generic names and the names our files once used.
var App = "dummy App";
var Status = "dummy Status";
var api = "dummy api";
function el() { return "dummy el"; }
function refresh() { return "dummy refresh"; }
function startWhenMounted() { return "dummy start"; }
function taskSchedulerQueueArgs() { return "dummy queue args"; }
window.TaskScheduler = {api: "dummy api", dom: "dummy dom", started: true, App: "dummy App"};
</script>"""

DUMMY_JS_AFTER = """<script>
// The same extension's second file, loaded after ours, overwriting the same names again.
window.TaskScheduler = {api: "dummy api", dom: "dummy dom", started: true, App: "dummy App"};
var Conflicts = "dummy Conflicts";
var TaskList = "dummy TaskList";
function reconcile() { return "dummy reconcile"; }
</script>"""

# No !important: nothing in a page can win against that. Class names like ours, unscoped.
DUMMY_CSS = """
.task-scheduler { display: none; }
.ts-app, .ts-rows, .ts-row, .ts-header, .ts-body { display: none; }
.ts-button, .ts-icon { visibility: hidden; padding: 0; }
.ts-conflicts { display: none; }
#dummy_panel .ts-row { color: rgb(1, 2, 3); }
"""

DUMMY_PANEL = (
    '<div id="dummy_panel"><div class="ts-row" id="dummy_row">dummy row</div>'
    '<button class="ts-button" id="dummy_button">dummy button</button></div>'
)


def clashing_folder(root: Path) -> Path:
    """The dummy extension's folder: its own task_scheduler package and /task-scheduler/ routes."""
    folder = root / "sd-webui-dummy-queue"
    (folder / "task_scheduler").mkdir(parents=True)
    (folder / "task_scheduler" / "__init__.py").write_text("")
    (folder / "task_scheduler" / "api.py").write_text('ROUTE = "/task-scheduler/queue"\n')
    return folder


class ClashingTabApp(TabApp):
    """The test app with the dummy extension's scripts, styles and a panel of its own."""

    def _build(self) -> gr.Blocks:
        theme = gr.themes.Default(font=["sans-serif"], font_mono=["monospace"])
        ours = (ROOT / "style.css").read_text(encoding="utf-8")
        head = DUMMY_JS_BEFORE + front_end_head() + DUMMY_JS_AFTER
        from task_scheduler.ui import create_tab

        tab = create_tab(self.services)
        blocks = gr.Blocks(title="Clash test", theme=theme, css=DUMMY_CSS + ours, head=head)
        with blocks as demo, gr.Tabs():
            with gr.Tab("Task Queue", id="task_scheduler", elem_id="tab_task_scheduler"):
                tab.render()
            with gr.Tab("Dummy", id="dummy", elem_id="tab_dummy"):
                gr.HTML(DUMMY_PANEL)
        return demo


@pytest.fixture(scope="module")
def clash_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("clash")
    app = ClashingTabApp(root / "data", step_seconds=0.02)
    folder = clashing_folder(root)
    report = ConflictReport(str(ROOT))
    report.scan([InstalledExtension(folder.name, str(folder))])
    app.services.extras["conflicts"] = report
    app.clashing_folder = folder
    app.launch()
    yield app
    app.close()


@pytest.fixture
def clash_screen(browser, clash_app):
    clash_app.reset()
    screen = new_screen(browser, clash_app)
    yield screen
    screen.page.context.close()


def test_our_tab_works_beside_an_extension_using_the_same_and_generic_names(clash_screen):
    app = clash_screen.app
    app.add("first task")
    app.add("second task")
    clash_screen.open()

    page = clash_screen.page
    expect(page.locator("#task_scheduler_app")).to_be_visible()
    expect(clash_screen.rows()).to_have_count(2)
    expect(clash_screen.row("second task")).to_be_visible()
    start = page.locator(".ts-controls .ts-button", has_text="Start")
    expect(start).to_be_visible()
    start.click()  # our own handlers still run and reach our server: the worker runs both
    for prompt in ("first task", "second task"):
        expect(clash_screen.row(prompt).locator(".ts-status-badge")).to_have_text("Completed")
    clash_screen.row("first task").locator("button[title='Delete']").click()
    page.locator(".ts-dialog .ts-danger").click()
    expect(clash_screen.row("first task")).to_have_count(0)


def test_the_other_extensions_globals_and_elements_are_left_as_it_set_them(clash_screen):
    clash_screen.app.add("a task")
    clash_screen.open()
    page = clash_screen.page

    globals_after = page.evaluate(
        """() => ({
            App, Status, api, el: el(), refresh: refresh(), start: startWhenMounted(),
            queueArgs: taskSchedulerQueueArgs(), TaskScheduler: window.TaskScheduler,
            Conflicts, TaskList, reconcile: reconcile(),
        })"""
    )
    assert globals_after == {
        "App": "dummy App",
        "Status": "dummy Status",
        "api": "dummy api",
        "el": "dummy el",
        "refresh": "dummy refresh",
        "start": "dummy start",
        "queueArgs": "dummy queue args",
        "TaskScheduler": {
            "api": "dummy api",
            "dom": "dummy dom",
            "started": True,
            "App": "dummy App",
        },
        "Conflicts": "dummy Conflicts",
        "TaskList": "dummy TaskList",
        "reconcile": "dummy reconcile",
    }
    row = page.locator("#dummy_row")
    style = row.evaluate(
        "node => { const s = getComputedStyle(node); return [s.display, s.color, s.cursor]; }"
    )
    assert style == ["none", "rgb(1, 2, 3)", "auto"]  # its own rules; none of our .ts-row rules
    button = page.locator("#dummy_button")
    looks = button.evaluate(
        "node => { const s = getComputedStyle(node); return [s.visibility, s.paddingLeft]; }"
    )
    assert looks == ["hidden", "0px"]  # as its CSS says, not our .ts-button padding


def test_the_banner_names_the_clashing_extension_and_what_to_do(clash_screen):
    clash_screen.open()
    banner = clash_screen.page.locator("#task_scheduler_app .ts-conflicts")

    expect(banner).to_be_visible()
    folder = str(clash_screen.app.clashing_folder)
    expect(banner).to_contain_text("sd-webui-dummy-queue")
    expect(banner).to_contain_text(folder)
    expect(banner).to_contain_text("package named 'task_scheduler'")
    expect(banner).to_contain_text("API routes under /task-scheduler/")
    expect(banner).to_contain_text("Extensions")
    expect(banner).to_contain_text("restart Forge")
    box = banner.bounding_box()
    header = clash_screen.page.locator("#task_scheduler_app .ts-header").bounding_box()
    assert box["y"] < header["y"]  # at the top of the tab, above the controls
