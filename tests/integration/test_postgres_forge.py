"""A real Forge on a PostgreSQL queue (issue 12): given the URL in its settings, it keeps its
tasks on the server (no SQLite file is made) and runs them; given an unreachable server (through
TASK_SCHEDULER_DATABASE_URL), it starts all the same and the REST API says which server, without
its password. The Forge venv needs psycopg: install.py installs it when a URL is configured (the
test launcher skips extension installers, so the test runs install.py as Forge would)."""

from __future__ import annotations

import os
import subprocess

from task_scheduler.core.models import TaskStatus
from task_scheduler.core.queue_manager import QueueManager

from .conftest import on_checkpoint
from .forge_process import forge_venv, wait_until

QUICK = {"prompt": "a lighthouse on a postgres server", "steps": 2, "width": 64, "height": 64}


def ensure_driver(forge_root, url: str) -> None:
    """Run install.py the way Forge's run_extension_installer does, with the URL configured."""
    extension = forge_root / "extensions" / "sd-webui-forge-task-scheduler"
    env = {**os.environ, "PYTHONPATH": str(forge_root), "TASK_SCHEDULER_DATABASE_URL": url}
    subprocess.run(
        [str(forge_venv() / "bin" / "python"), str(extension / "install.py")],
        cwd=forge_root,
        env=env,
        check=True,
        timeout=600,
    )
    check = [str(forge_venv() / "bin" / "python"), "-c", "import psycopg"]
    subprocess.run(check, check=True, timeout=60)


def test_forge_keeps_its_queue_on_the_postgresql_server_of_its_setting(forge_factory, pg_url):
    forge = forge_factory({**on_checkpoint("randA"), "task_scheduler_database_url": pg_url}, [])
    ensure_driver(forge.forge, pg_url)
    forge.start()
    reply = forge.api("POST", "/task-scheduler/queue/txt2img", json=QUICK)
    assert reply.status_code == 201, reply.text
    task_id = reply.json()["id"]
    assert forge.api("POST", "/task-scheduler/start").status_code == 200

    queue = QueueManager(pg_url, recover=False)  # another machine's view of the same queue
    try:
        done = wait_until(
            lambda: (t := queue.require_task(task_id)).is_finished and t, 600, "the task to end"
        )
        assert done.status is TaskStatus.COMPLETED, done.error
        assert done.result_images
    finally:
        queue.close()
    assert not forge.db_path.exists()  # nothing kept in a SQLite file


def test_forge_starts_with_an_unreachable_postgresql_server_and_the_api_names_it(
    forge_factory, monkeypatch
):
    url = "postgresql://forge:hunter2-secret@127.0.0.1:9/queue"
    forge = forge_factory(on_checkpoint("randA"), [])
    ensure_driver(forge.forge, url)
    monkeypatch.setenv("TASK_SCHEDULER_DATABASE_URL", url)  # the variable, over the setting
    forge.start()  # Forge starts
    for method, path in (("GET", "/task-scheduler/queue"), ("POST", "/task-scheduler/start")):
        reply = forge.api(method, path)
        assert reply.status_code == 503, reply.text
        detail = reply.json()["detail"]
        assert "postgresql://forge@127.0.0.1:9/queue cannot be reached" in detail
        assert "hunter2" not in detail
    assert "hunter2" not in forge.log_text()
