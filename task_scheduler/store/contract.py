"""The store contract: everything the queue (core/) asks of the place tasks are kept.

Two back-ends keep it: SQLite (sqlite.py: one file, the default) and PostgreSQL (postgres.py:
a server that Forges on several machines share). Their SQL verbs are written once (sql.py);
connections, locking, migrations and wake-ups are each back-end's own. `Connection` is the
back-end's handle on an open transaction: core/ passes it from `transaction()` to the verbs
and never runs SQL on it. Verbs given `conn` run inside that transaction; rows they read are
locked for the change on PostgreSQL (SQLite's write transaction excludes every other writer).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from ..core.affinity import Candidate
from ..core.models import Task
from .faults import StoreFault

Connection = Any  # sqlite3.Connection, or postgres.PgConnection: opaque to core/

SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(location: str | os.PathLike[str]) -> bool:
    """Whether `location` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(location, str) and location.lower().startswith(SERVER_SCHEMES)


@runtime_checkable
class Store(Protocol):
    path: str  # what messages name: the SQLite file, or the server's URL without password
    local_file: str | None  # the file on this machine's disk holding the queue (None: server)
    fault: StoreFault | None  # why the store is unavailable now (store/faults.py), or None
    clock: Callable[[], float]  # the queue's clock (tests: a fake one)

    # -- connections and transactions -------------------------------------------------------
    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction: writers of this queue wait for each other until it ends."""

    def claiming(self) -> AbstractContextManager[Connection]:
        """The claim's transaction; `ready_candidates(n, conn)` locks the rows it returns."""

    def snapshot(self) -> AbstractContextManager[bool]:
        """This thread's reads inside see one committed state (False: joined an open one)."""

    def wait_for_change(self, timeout: float) -> bool:
        """Sleep until another connection changes the queue, at most `timeout` s (True: did)."""

    def close(self) -> None:
        """Close every connection this store opened."""

    def migrate(self, migrations: list[Any] | None = None) -> int:
        """Bring the store to the newest schema, one transaction per step; its version."""

    def schema_version(self) -> int:
        """How many migrations the store has had."""

    # -- tasks -------------------------------------------------------------------------------
    def insert(self, conn: Connection, task: Task) -> None:
        """Store a new task with its input file names."""

    def get(self, task_id: str, conn: Connection = None) -> Task | None:
        """One task (given `conn`: locked for the transaction's change)."""

    def get_many(self, ids: Sequence[str]) -> list[Task]:
        """The tasks with these ids, in this order (those still there)."""

    def update(self, conn: Connection, task_id: str, fields: dict[str, Any]) -> None:
        """Set a task's fields (and what derives from them: search text, setup, held)."""

    def delete(self, conn: Connection, task_ids: Sequence[str]) -> list[str]:
        """Delete tasks; the input file names no remaining task lists."""

    def unreferenced(self, conn: Connection, names: Sequence[str]) -> list[str]:
        """The names among `names` that no task lists."""

    def add_files(self, conn: Connection, task_id: str, names: Sequence[str]) -> None:
        """Record input files a task uses."""

    def file_in_use(self, name: str) -> bool:
        """Whether any task lists this input file."""

    # -- run order ---------------------------------------------------------------------------
    def release_due(self, conn: Connection, now: float) -> int:
        """Make tasks whose "not before" has come claimable; how many."""

    def ready_candidates(self, limit: int, conn: Connection = None) -> list[Candidate]:
        """The first `limit` ready tasks in base order (-1: all; `conn`: the claim's)."""

    def held_candidates(self) -> list[Candidate]:
        """Pending tasks whose "not before" lay ahead when last released, soonest first."""

    def ready_ahead(self, task_id: str) -> int | None:
        """How many ready tasks come before this one in base order (None: not ready)."""

    def running_setup(self, conn: Connection = None) -> str | None:
        """The setup (affinity.setup_key) of the task running now, or None."""

    def neighbour(
        self, conn: Connection, anchor: Any, before: bool, exclude: str | None = None
    ) -> tuple[str, int, float] | None:
        """(id, priority, position) of the pending task before/after `anchor` (or last/first)."""

    def respace(self, conn: Connection, priority: int) -> None:
        """Space one priority's pending tasks evenly, their order unchanged."""

    def max_position(self, conn: Connection) -> float:
        """The largest position of any task (0 when none)."""

    # -- listings ----------------------------------------------------------------------------
    def count_tasks(
        self, statuses: Sequence[str], search: str | None = None, owner: str | None = None
    ) -> int:
        """How many tasks have these statuses and match `search` (and `owner`, if given)."""

    def select_tasks(
        self,
        statuses: Sequence[str],
        search: str | None,
        order: str,
        limit: int,
        offset: int,
        owner: str | None = None,
    ) -> list[Task]:
        """A page of tasks; `order`: "started" (oldest first) or "finished" (newest first)."""

    def matching_ids(
        self, statuses: Sequence[str], search: str | None, owner: str | None = None
    ) -> set[str]:
        """Ids of the tasks with these statuses matching `search` (and `owner`, if given)."""

    def counts_by_status(self) -> dict[str, int]:
        """How many tasks each status has."""

    def recent_run_seconds(self, limit: int) -> list[float]:
        """How long the last `limit` completed tasks ran, newest first."""

    def running_claims(self, conn: Connection) -> list[tuple[Any, ...]]:
        """(id, claimed_by, started_at, lease_until) of each running task."""

    def failed_not_retried(self, conn: Connection = None) -> list[str]:
        """Failed tasks no task was retried from."""

    def finished_ids(
        self,
        conn: Connection,
        statuses: Sequence[str],
        completed_before: float | None = None,
        unnamed_only: bool = False,
    ) -> list[str]:
        """Unbookmarked finished tasks of these statuses (older than, unnamed: optional)."""

    def unsettled_callbacks(self, finished_since: float) -> list[str]:
        """Finished tasks still owing a callback outcome, oldest first."""

    def group_ids(self, group_id: str, conn: Connection = None) -> list[str]:
        """A group's task ids, oldest first."""

    def group_sizes(self, group_ids: Sequence[str]) -> dict[str, int]:
        """How many tasks each of these groups has."""

    # -- meta and the callback outbox --------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None, conn: Connection = None) -> Any:
        """A queue-wide setting or marker (worker state, schedule, imported keys)."""

    def set_meta(self, key: str, value: str, conn: Connection = None) -> None:
        """Set one; given no `conn`, on its own (it joins this thread's open transaction)."""

    def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        """Every meta key starting with `prefix`, with its value."""

    def outbox_add(
        self, conn: Connection, task_id: str, event: str, url: str, body: str, now: float
    ) -> bool:
        """Owe a callback, due `now`; False when it is owed already."""

    def outbox_first_due(self, conn: Connection, now: float) -> tuple[Any, ...] | None:
        """(task_id, event, url, body, attempts) of the callback due first, or None."""

    def outbox_set_due(
        self, conn: Connection, task_id: str, event: str, due_at: float, failure: str | None = None
    ) -> None:
        """Due again at `due_at` (with `failure`: one more failed attempt)."""

    def outbox_remove(self, conn: Connection, task_id: str, event: str) -> None:
        """No longer owed."""

    def outbox_next_due(self) -> float | None:
        """When the next owed callback is due."""

    def outbox_rows(self) -> list[dict[str, Any]]:
        """Every owed callback, for display."""

    # -- moving a queue to another store (store/move.py) -------------------------------------
    def claims(self) -> dict[str, tuple[Any, Any]]:
        """(claimed_by, lease_until) of every task that has either (they are not in Task)."""

    def set_claim(self, conn: Connection, task_id: str, claimed_by: Any, lease_until: Any) -> None:
        """Give a task its claim and lease as another store had them."""

    def outbox_export(self) -> list[tuple[Any, ...]]:
        """Every owed callback with every column, for `outbox_import`."""

    def outbox_import(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
        """Owe these exported callbacks (one owed already is kept); how many were added."""
