"""A listing's total and its rows come from one state of the file, whatever a writer does.

A writer thread keeps adding, claiming, finishing and deleting tasks while the test reads
pages large enough to hold every task: on such a full page the total is exactly the number
of rows, every time. Before the reads shared one transaction, a write landing between the
count and the rows made them disagree.
"""

from __future__ import annotations

import threading

import pytest

from task_scheduler.core.executor import TaskExecutor
from task_scheduler.core.models import TaskStatus
from task_scheduler.core.views import queue_view, task_page_view
from tests.fakes import FakeHost, api_params

pytestmark = pytest.mark.backends  # every test here runs on SQLite and on PostgreSQL

READS = 200
FULL_PAGE = 10_000


@pytest.fixture
def busy_writer(db_path, tmp_path):
    """Another manager on the same file (as another thread or process) changing it nonstop."""
    from task_scheduler.core.queue_manager import QueueManager

    writer = QueueManager(db_path, files_dir=tmp_path / "inputs")
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn() -> None:
        try:
            n = 0
            while not stop.is_set():
                n += 1
                added = writer.add_task("txt2img", api_params(f"churn {n}"))
                if n % 3 == 0:
                    claimed = writer.claim_next()
                    if claimed is not None:
                        writer.update_task_status(claimed.id, TaskStatus.COMPLETED)
                if n % 2 == 0:
                    writer.delete_task(added.id)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    for i in range(20):
        writer.add_task("txt2img", api_params(f"seed {i}"))
    thread = threading.Thread(target=churn, name="churn", daemon=True)
    thread.start()
    yield writer
    stop.set()
    thread.join()
    writer.close()
    assert not failures, failures


def test_a_full_page_has_exactly_as_many_rows_as_its_total(queue, busy_writer):
    for _ in range(READS):
        page = queue.list_tasks(limit=FULL_PAGE)
        assert page.total == len(page.tasks)
        pending = queue.list_tasks(statuses=["pending"], limit=FULL_PAGE)
        assert pending.total == len(pending.tasks)


def test_the_views_total_and_rows_agree_under_writes(queue, busy_writer):
    executor = TaskExecutor(queue, FakeHost())  # never started: only its state is shown
    for _ in range(READS // 2):
        view = queue_view(queue, executor, limit=FULL_PAGE)
        assert view["pending"]["total"] == len(view["pending"]["tasks"])
        assert view["counts"]["pending"] == len(view["pending"]["tasks"])
        page = task_page_view(queue, limit=FULL_PAGE)
        assert page["total"] == len(page["tasks"])
        places = [t["queue_position"] for t in page["tasks"] if t["status"] == "pending"]
        assert places == list(range(1, len(places) + 1))
    executor.shutdown(timeout=5)


def test_the_tabs_list_places_agree_with_its_rows_under_writes(queue, busy_writer, tmp_path):
    from task_scheduler.core.files import FileStore
    from task_scheduler.core.services import Services
    from task_scheduler.ui.views import task_list

    executor = TaskExecutor(queue, FakeHost())  # never started
    services = Services(queue, executor, FileStore(tmp_path / "inputs"))
    for _ in range(READS // 4):
        page = task_list(services, "queue", "", 200, 0)
        if page["total"] <= 200:
            assert page["total"] == len(page["rows"])
        places = [row["place"] for row in page["rows"] if row["status"] == "pending"]
        assert places == list(range(1, len(places) + 1))
    executor.shutdown(timeout=5)
