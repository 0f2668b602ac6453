"""Another queue extension installed beside ours is named (folder, what clashes, what to do) in
the log and in GET /task-scheduler/queue, and its routes never answer for ours.

Extensions here are real folders with real Python files; the other extension's routes are real
FastAPI routes defined in a file inside its folder, so their owner is found as in Forge.
"""

from __future__ import annotations

import importlib.util
import logging
import textwrap
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from task_scheduler.api import app as api
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.services import Services
from task_scheduler.forge import conflicts as forge_conflicts
from task_scheduler.peers.conflicts import ConflictReport, InstalledExtension, scan_extensions
from tests.fakes import FakeHost

REPO = Path(__file__).resolve().parents[2]

OTHER_API = textwrap.dedent(
    """
    from fastapi import FastAPI

    def setup_api(app: FastAPI):
        @app.get("/task-scheduler/queue")
        def queue():
            return {"from": "the other extension"}

        @app.get("/task-scheduler/status")
        def status():
            return {"from": "the other extension"}
    """
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def same_named_extension(root: Path) -> Path:
    """Shaped like SachiraChin's sd-webui-forge-task-scheduler: same package, routes, tab, ids."""
    folder = root / "sd-webui-forge-task-scheduler-sachirachin"
    write(folder / "task_scheduler" / "__init__.py", "")
    write(folder / "task_scheduler" / "api.py", OTHER_API)
    write(
        folder / "scripts" / "task_scheduler_ui.py",
        'def on_ui_tabs():\n    return [(None, "Task Queue", "task_queue_tab")]\n',
    )
    write(
        folder / "javascript" / "task_scheduler.js",
        "document.getElementById('task_scheduler_txt2img_queue');",
    )
    write(
        folder / "style.css",
        "#task_scheduler_txt2img_queue, #task_scheduler_img2img_queue { min-width: 80px; }\n",
    )
    return folder


def agent_scheduler(root: Path) -> Path:
    folder = root / "sd-webui-agent-scheduler"
    write(
        folder / "agent_scheduler" / "api.py",
        '@app.get("/agent-scheduler/v1/queue")\ndef queue():\n    pass\n',
    )
    write(folder / "scripts" / "task_scheduler.py", 'TITLE = "Task Queue"\n')
    return folder


def harmless(root: Path) -> Path:
    folder = root / "sd-webui-harmless"
    write(folder / "scripts" / "harmless.py", 'LABEL = "Prompt tools"\n')
    write(folder / "javascript" / "harmless.js", "window.harmlessThing = 1;")
    write(folder / "style.css", ".harmless { color: red; }\n")
    return folder


def installed(*folders: Path) -> list[InstalledExtension]:
    return [InstalledExtension(folder.name, str(folder)) for folder in folders]


def test_a_same_named_extension_is_found_with_everything_that_clashes(tmp_path):
    other = same_named_extension(tmp_path)

    found = scan_extensions(installed(other, harmless(tmp_path)), str(REPO))

    assert {c.extension for c in found} == {other.name}
    assert all(c.folder == str(other) for c in found)
    whats = " | ".join(c.what for c in found)
    assert "package named 'task_scheduler'" in whats
    assert "API routes under /task-scheduler/" in whats
    assert "'Task Queue' tab" in whats
    assert "task_scheduler_txt2img_queue" in whats
    assert all("Disable" in c.advice and other.name in c.advice for c in found)
    assert all("restart" in c.advice for c in found)


def test_agent_scheduler_is_found_by_its_routes_and_tab(tmp_path):
    found = scan_extensions(installed(agent_scheduler(tmp_path)), str(REPO))

    whats = [c.what for c in found]
    assert "API routes under /agent-scheduler/" in whats
    assert "a 'Task Queue' tab" in whats


def test_our_own_folder_is_not_a_conflict_even_through_a_symlink(tmp_path):
    link = tmp_path / "sd-webui-forge-task-scheduler"
    link.symlink_to(REPO, target_is_directory=True)

    assert scan_extensions(installed(link), str(REPO)) == []


# -- routes ------------------------------------------------------------------------------------


@pytest.fixture
def services(queue, tmp_path):
    executor = TaskExecutor(queue, FakeHost())
    executor.launch()
    services = Services(queue=queue, executor=executor, files=FileStore(tmp_path / "inputs"))
    yield services
    api.shutdown(services)
    executor.shutdown(timeout=10)


def load_other_extension_api(folder: Path):
    """Import the other extension's api.py from its folder (as its own script would)."""
    path = folder / "task_scheduler" / "api.py"
    spec = importlib.util.spec_from_file_location("other_extension_api", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def app_with_both(tmp_path, services, other: Path) -> FastAPI:
    """The other extension's on_app_started runs first (its folder sorts first), then ours."""
    app = FastAPI()
    load_other_extension_api(other).setup_api(app)
    report = ConflictReport(str(REPO))
    report.scan(installed(other))
    services.extras["conflicts"] = report
    with forge_conflicts.routes_first(app, services):
        api.mount(app, services, None)
    return app


def test_our_routes_answer_even_when_another_extension_registered_them_first(tmp_path, services):
    other = same_named_extension(tmp_path)
    app = app_with_both(tmp_path, services, other)

    with TestClient(app) as client:
        reply = client.get("/task-scheduler/queue")
        theirs = client.get("/task-scheduler/status")

    assert reply.status_code == 200
    body = reply.json()
    assert "from" not in body
    assert body["worker"] == "stopped"  # ours: QueueOut
    assert theirs.json() == {"from": "the other extension"}  # theirs still work where ours do not
    conflicts = body["conflicts"]
    assert {c["extension"] for c in conflicts} == {other.name}
    assert {c["folder"] for c in conflicts} == {str(other)}
    route_entries = [c for c in conflicts if "registers 2 API route(s)" in c["what"]]
    assert len(route_entries) == 1
    assert "the same as ours: GET /task-scheduler/queue" in route_entries[0]["what"]
    assert all(set(c) == {"extension", "folder", "what", "advice"} for c in conflicts)


def test_routes_put_before_ours_later_are_moved_back_behind_ours(tmp_path, services):
    other = same_named_extension(tmp_path)
    app = FastAPI()
    services.extras["conflicts"] = report = ConflictReport(str(REPO))
    report.scan(installed(other))
    with forge_conflicts.routes_first(app, services):
        api.mount(app, services, None)
    load_other_extension_api(other).setup_api(app)  # registered after ours, then moved forward
    app.router.routes.insert(0, app.router.routes.pop())
    app.router.routes.insert(0, app.router.routes.pop())

    report.current()  # what the tab's next poll does

    with TestClient(app) as client:
        body = client.get("/task-scheduler/queue").json()
    assert body["worker"] == "stopped"
    assert {c["extension"] for c in body["conflicts"]} == {other.name}
    assert any("the same as ours" in c["what"] for c in body["conflicts"])


def test_each_clashing_extension_is_logged_once_naming_its_folder_and_what_to_do(tmp_path, caplog):
    other = same_named_extension(tmp_path)
    logged: set = set()
    caplog.set_level(logging.WARNING, logger="task_scheduler")

    ConflictReport(str(REPO), logged).scan(installed(other))
    first = [r.getMessage() for r in caplog.records]
    ConflictReport(str(REPO), logged).scan(installed(other))  # Reload UI: a new report

    assert len(first) == 1  # one warning for the extension, naming everything that clashes
    assert str(other) in first[0]
    assert "Disable" in first[0]
    assert "package named 'task_scheduler'" in first[0]
    assert "task_scheduler_txt2img_queue" in first[0]
    assert len(caplog.records) == 1


def test_no_conflicts_means_an_empty_list(tmp_path, services):
    app = FastAPI()
    services.extras["conflicts"] = report = ConflictReport(str(REPO))
    report.scan(installed(harmless(tmp_path)))
    with forge_conflicts.routes_first(app, services):
        api.mount(app, services, None)

    with TestClient(app) as client:
        assert client.get("/task-scheduler/queue").json()["conflicts"] == []
