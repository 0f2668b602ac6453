"""Tasks remember who queued them: stored, kept by a retry, and listed per owner ("Mine"), on
SQLite and on PostgreSQL (tests/backends.py)."""

from __future__ import annotations

import pytest

from task_scheduler.core.models import TaskStatus
from task_scheduler.store import schema
from tests.fakes import api_params

pytestmark = pytest.mark.backends


def test_the_owner_is_stored_with_the_task_and_none_without_auth(queue):
    mine = queue.add_task("txt2img", api_params("a"), owner="alice")
    anonymous = queue.add_task("txt2img", api_params("b"))
    assert queue.require_task(mine.id).owner == "alice"
    assert queue.require_task(anonymous.id).owner is None
    assert queue.store.schema_version() == schema.SCHEMA_VERSION


def test_a_retry_belongs_to_the_tasks_owner_whoever_asks(queue):
    task = queue.add_task("txt2img", api_params("a"), owner="bob")
    queue.cancel_task(task.id)
    assert queue.retry_task(task.id).owner == "bob"


def test_retry_failed_gives_each_retry_its_own_tasks_owner(queue):
    for owner in ("alice", "bob"):
        task = queue.add_task("txt2img", api_params(owner), owner=owner)
        queue.claim_next()
        queue.update_task_status(task.id, TaskStatus.FAILED.value, error="boom")
    retried = queue.retry_failed()
    assert sorted(t.owner for t in retried) == ["alice", "bob"]


def test_listing_by_owner_pages_and_counts_only_that_users_tasks(queue):
    for index in range(5):
        queue.add_task("txt2img", api_params(f"p{index}"), owner="alice" if index % 2 else "bob")
    done = queue.add_task("txt2img", api_params("done"), owner="alice")
    queue.cancel_task(done.id)
    page = queue.list_tasks(owner="alice", limit=2)
    assert page.total == 3
    assert [t.owner for t in page.tasks] == ["alice", "alice"]
    rest = queue.list_tasks(owner="alice", limit=2, offset=2)
    assert [t.id for t in rest.tasks] == [done.id]
    searched = queue.list_tasks(owner="bob", search="p4")
    assert [t.params["payload"]["prompt"] for t in searched.tasks] == ["p4"]
    assert queue.list_tasks(statuses=["pending"], owner="nobody").total == 0
