"""What only the PostgreSQL back-end has: wake-ups through LISTEN/NOTIFY, the driver imported
only for a PostgreSQL URL, an unreachable server named in the queue's message (the REST API
answers 503), and the test servers's own rule (CI fails rather than skips without it). The
queue's contract itself is proven on both back-ends by the tests marked `backends`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from task_scheduler.api import app as api
from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.files import FileStore
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.core.services import Services
from task_scheduler.store.faults import StoreFault
from tests.fakes import FakeHost, api_params

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
NOBODY_LISTENS = "postgresql://scheduler:s3cret-pw@127.0.0.1:9/queue"  # port 9: refused


def test_a_write_by_another_process_wakes_a_waiting_store_within_a_second(pg_url):
    queue = QueueManager(pg_url)
    assert queue.store.wait_for_change(0.05) is False  # listening from now on
    woke: list[float] = []

    def wait() -> None:
        if queue.store.wait_for_change(30):
            woke.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)
    script = (
        "import sys; from task_scheduler.core.queue_manager import QueueManager; "
        "from tests.fakes import api_params; "
        "QueueManager(sys.argv[1]).add_task('txt2img', api_params('from elsewhere'))"
    )
    subprocess.run([sys.executable, "-c", script, pg_url], cwd=ROOT, check=True, timeout=60)
    written = time.monotonic()  # the other process committed before it ended
    waiter.join(15)
    assert woke, "no wake-up within 30 s"
    assert woke[0] < written + 1.0
    assert queue.counts()["pending"] == 1
    queue.close()


def test_a_sqlite_queue_never_imports_the_postgresql_driver(tmp_path):
    script = (
        "import sys; from task_scheduler.core.queue_manager import QueueManager; "
        "from tests.fakes import api_params; "
        "q = QueueManager(sys.argv[1]); q.add_task('txt2img', api_params('x')); q.claim_next(); "
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "tasks.sqlite3")],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"


def test_an_unreachable_server_leaves_the_queue_unavailable_naming_it_without_password(tmp_path):
    queue = QueueManager(NOBODY_LISTENS, files_dir=tmp_path / "inputs")  # starts all the same
    assert queue.store.fault is not None
    with pytest.raises(StoreFault) as raised:
        queue.add_task("txt2img", api_params("not stored"))
    message = str(raised.value)
    assert "postgresql://scheduler@127.0.0.1:9/queue" in message
    assert "cannot be reached" in message
    assert "s3cret-pw" not in message


def test_without_the_driver_the_queue_is_unavailable_and_says_how_to_install_it(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    queue = QueueManager("postgresql://forge@db.example/queue", files_dir=tmp_path / "inputs")
    with pytest.raises(StoreFault) as raised:
        queue.counts()
    assert "postgresql://forge@db.example/queue" in str(raised.value)
    assert "pip install 'psycopg[binary]'" in str(raised.value)


def test_the_rest_api_answers_503_naming_the_unreachable_server(tmp_path):
    queue = QueueManager(NOBODY_LISTENS, files_dir=tmp_path / "inputs")
    services = Services(
        queue=queue,
        executor=TaskExecutor(queue, FakeHost(output_dir=str(tmp_path / "out"))),
        files=FileStore(tmp_path / "inputs"),
    )
    app = FastAPI()
    api.mount(app, services, None)
    try:
        client = TestClient(app)
        for method, url in (("GET", "/task-scheduler/queue"), ("GET", "/task-scheduler/tasks")):
            response = client.request(method, url)
            assert response.status_code == 503, (url, response.text)
            assert "127.0.0.1:9/queue cannot be reached" in response.json()["detail"]
    finally:
        services.executor.shutdown()
        api.shutdown(services)


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_postgresql_tests_fail_under_ci_and_skip_elsewhere_without_a_server(ci, outcome):
    env = {**os.environ, "CI": ci, "TASK_SCHEDULER_TEST_DATABASE_URL": NOBODY_LISTENS}
    done = subprocess.run(
        [*PYTEST, "-k", "postgresql", "tests/core/test_store_connections.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in done.stdout, done.stdout[-2000:]
    assert (done.returncode != 0) == (ci == "true")  # a failed fixture fails the run
