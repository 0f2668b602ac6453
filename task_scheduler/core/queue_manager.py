"""The queue's verbs and rules, on top of a store (store/contract.py: SQLite or PostgreSQL).

Run order: pending tasks by priority (lower first), then by position (first in, first out).
Every change that depends on a task's state is checked and made in one transaction, so a
claim, an edit and a cancel racing each other never leave a task in an impossible state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..store import open_store
from ..store.contract import Connection
from ..store.faults import KEEP_FREE_BYTES, check_free_space
from ..store.input_files import StoredInputFiles
from ..store.result_files import StoredResults
from .files import FileStore, check_file_name
from .models import (
    SHUTDOWN_ERROR,
    TASK_TYPES,
    TERMINAL_STATUSES,
    Task,
    TaskNotFoundError,
    TaskStateError,
    TaskStatus,
    check_transition,
)
from .process_liveness import claim_for_this_process, claim_is_alive
from .queue_claim import ClaimVerbs
from .queue_edits import EDIT_FIELDS, MOVES, EditVerbs, check_priority  # noqa: F401 (re-exported)
from .queue_groups import GroupVerbs
from .queue_imports import ImportVerbs
from .queue_outbox import OutboxVerbs
from .queue_removal import RemovalVerbs
from .result_copies import keep_results
from .run_order import place_new
from .task_reads import TaskReads

log = logging.getLogger("task_scheduler")

Listener = Callable[[str, str], None]  # (event, task_id)

# What a caller may set when adding or editing a task (the rest is the queue's business).
ADD_FIELDS = frozenset(
    {
        "name",
        "priority",
        "checkpoint",
        "script_args",
        "callback_url",
        "warnings",
        "files",
        "group_id",
        "run_after",
        "owner",
    }
)
WORKER_STATE_KEY = "worker_state"


class QueueManager(
    TaskReads, EditVerbs, ImportVerbs, RemovalVerbs, OutboxVerbs, GroupVerbs, ClaimVerbs
):
    """The task queue in one store: a SQLite file, or a PostgreSQL database given by a
    `postgresql://` URL. Thread-safe; several processes (and, on PostgreSQL, machines) may
    share it."""

    def __init__(
        self,
        location: str | os.PathLike[str],
        files_dir: str | os.PathLike[str] | None = None,
        recover: bool = True,
        busy_timeout: float = 30.0,
    ):
        self.store = open_store(location, busy_timeout=busy_timeout)
        self.files_dir = os.fspath(files_dir) if files_dir is not None else None
        self.files = FileStore(self.files_dir) if self.files_dir is not None else None
        # A server store is shared by machines: input and result images are kept in it too.
        server = self.store.local_file is None
        if self.files is not None and server:
            self.files.shared = StoredInputFiles(self.store)
        self.results = StoredResults(self.store) if server else None
        # Identifies this process's claims (see process_liveness): "host:pid:token:start".
        self.owner = claim_for_this_process(uuid.uuid4().hex[:8])
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self._version = 0
        self.keep_free_bytes = KEEP_FREE_BYTES  # see check_free_space
        if recover and self.store.fault is None:  # an unavailable store says why on use
            self.recover_interrupted()
            self._collect_unused_files()

    def close(self) -> None:
        self.store.close()

    def _collect_unused_files(self) -> None:
        try:
            self.collect_unused_files()
        except Exception:  # housekeeping: never a reason for the queue not to start
            log.exception("could not collect unused input files")

    # -- change notification -----------------------------------------------------------------

    @property
    def version(self) -> int:
        """Grows with every change made through this manager (cheap refresh check)."""
        return self._version

    def subscribe(self, listener: Listener) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, event: str, task_id: str) -> None:
        with self._listeners_lock:  # += is not atomic: a lost increment hides a change
            self._version += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, task_id)
            except Exception:
                log.exception("task_scheduler listener failed on %s %s", event, task_id)

    # -- adding -------------------------------------------------------------------------------

    def add_task(
        self,
        task_type: str,
        params: dict[str, Any],
        *,
        front: bool = False,
        file_contents: Mapping[str, bytes] | None = None,
        **fields: Any,
    ) -> Task:
        """Queue a new pending task at the end of its priority (or first, with `front`).

        Every name in `files` must be in the data folder when the task is stored; one that a
        concurrent delete removed is written again from `file_contents` (ValueError without).
        """
        task = self._new_task(task_type, params, fields)
        self.check_free_space(file_contents)
        with self.store.transaction() as conn:
            self._require_files(task.files, file_contents)
            place_new(self.store, conn, task, front)
            self.store.insert(conn, task)
        self._notify("added", task.id)
        return task

    def add_tasks(
        self, specs: Iterable[dict[str, Any]], file_contents: Mapping[str, bytes] | None = None
    ) -> list[Task]:
        """Queue several tasks at once: all of them, or none when one is invalid."""
        tasks = []
        for spec in specs:
            spec = dict(spec)
            tasks.append(self._new_task(spec.pop("task_type"), spec.pop("params"), spec))
        self.check_free_space(file_contents)
        with self.store.transaction() as conn:
            for task in tasks:
                self._require_files(task.files, file_contents)
                place_new(self.store, conn, task, front=False)
                self.store.insert(conn, task)
        for task in tasks:
            self._notify("added", task.id)
        return tasks

    def check_free_space(self, file_contents: Mapping[str, bytes] | None = None) -> None:
        """StoreFault (disk full, 507) unless a new task and these files leave `keep_free_bytes`
        free: the tasks already queued keep room to run and record their results."""
        incoming = sum(len(data) for data in (file_contents or {}).values())
        # a server keeps the tasks; this machine's disk still holds their input files
        local = self.store.local_file or (
            os.path.join(self.files_dir, "inputs") if self.files_dir else None
        )
        if local is not None:
            check_free_space(local, incoming, self.keep_free_bytes)

    def _new_task(self, task_type: str, params: dict[str, Any], fields: dict[str, Any]) -> Task:
        if task_type not in TASK_TYPES:
            raise ValueError(f"task_type: must be one of {', '.join(TASK_TYPES)}")
        if not isinstance(params, dict):
            raise ValueError("params: must be a dict")
        unknown = set(fields) - ADD_FIELDS
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a field a new task can be given")
        check_priority(fields.get("priority", 0))
        self.check_run_after(fields.get("run_after"))
        for name in fields.get("files", ()):
            check_file_name(name)
        return Task(task_type=task_type, params=params, **fields)

    # -- the worker's verbs ------------------------------------------------------------------

    def update_task_status(self, task_id: str, status: str, **fields: Any) -> Task:
        """Move a task to `status` (only along legal transitions) and set result fields."""
        target = TaskStatus(status)
        with self.store.transaction() as conn:
            task = self._locked(conn, task_id)
            check_transition(task_id, task.status, target)
            changes: dict[str, Any] = {**fields, "status": target}
            if target in TERMINAL_STATUSES:
                changes.setdefault("completed_at", time.time())
            if target == TaskStatus.RUNNING:
                changes.setdefault("started_at", time.time())
                changes.setdefault("claimed_by", self.owner)
            self.store.update(conn, task_id, changes)
            task = self.store.get(task_id, conn)
        if self.results is not None and target == TaskStatus.COMPLETED:
            keep_results(self.results, task)  # for the other machines' tabs and APIs
        self._notify("finished" if target in TERMINAL_STATUSES else "updated", task_id)
        return task

    def set_fields(self, task_id: str, **fields: Any) -> None:
        """Record bookkeeping on a task whatever its status (e.g. callback delivery)."""
        allowed = {"callback_status", "warnings", "bookmarked"}
        if set(fields) - allowed:
            raise ValueError(f"{sorted(set(fields) - allowed)[0]}: not settable this way")
        with self.store.transaction() as conn:
            self._locked(conn, task_id)
            self.store.update(conn, task_id, fields)
        self._notify("updated", task_id)

    def recover_interrupted(self) -> list[str]:
        """Fail running tasks whose process is gone: they are never silently re-run. A task
        another machine runs (PostgreSQL) is alive while its lease runs (core/instances.py)."""
        recovered = []
        now = self.clock()
        with self.store.transaction() as conn:
            for task_id, claimed_by, started_at, lease in self.store.running_claims(conn):
                if claim_is_alive(claimed_by, started_at, self.owner, lease_until=lease, now=now):
                    continue
                self.store.update(
                    conn,
                    task_id,
                    {"status": "failed", "error": SHUTDOWN_ERROR, "completed_at": time.time()},
                )
                recovered.append(task_id)
        for task_id in recovered:
            log.warning("task %s was running when Forge stopped; marked failed", task_id)
            self._notify("finished", task_id)
        return recovered

    # -- the user's verbs --------------------------------------------------------------------

    def cancel_task(self, task_id: str) -> Task:
        """Cancel a pending task, or ask the worker to interrupt the running one."""
        with self.store.transaction() as conn:
            task = self._locked(conn, task_id)
            if task.status == TaskStatus.RUNNING:
                self.store.update(conn, task_id, {"cancel_requested": True})
                event = "cancel_requested"
            else:
                check_transition(task_id, task.status, TaskStatus.CANCELLED)
                self.store.update(
                    conn, task_id, {"status": "cancelled", "completed_at": time.time()}
                )
                event = "finished"
            task = self.store.get(task_id, conn)
        self._notify(event, task_id)
        return task

    def retry_task(self, task_id: str) -> Task:
        """A new pending task copied from a finished one; the original stays in history."""
        self.check_free_space()
        with self.store.transaction() as conn:
            task = self._retry(conn, task_id)
        self._notify("added", task.id)
        return task

    def retry_failed(self) -> list[Task]:
        """Retry every failed task that has not been retried yet (never loops on a bad one).

        One transaction: two concurrent calls never retry the same failed task twice.
        """
        self.check_free_space()
        with self.store.transaction() as conn:
            ids = self.store.failed_not_retried(conn)
            tasks = [self._retry(conn, task_id) for task_id in ids]
        for task in tasks:
            self._notify("added", task.id)
        return tasks

    def _retry(self, conn: Connection, task_id: str) -> Task:
        old = self._locked(conn, task_id)
        if not old.is_finished:
            raise TaskStateError(task_id, old.status.value, "retried")
        task = Task(
            task_type=old.task_type,
            params=old.params,
            name=old.name,
            priority=old.priority,
            checkpoint=old.checkpoint,
            script_args=old.script_args,
            callback_url=old.callback_url,
            warnings=[],
            files=old.files,
            retried_from=old.id,
            group_id=old.group_id,
            owner=old.owner,  # a retry belongs to the task's owner, whoever asked for it
        )
        place_new(self.store, conn, task, front=False)
        self.store.insert(conn, task)
        return task

    # -- worker state ------------------------------------------------------------------------

    @property
    def worker_state(self) -> str:
        """'running' or 'stopped', as last set by start/stop (kept across restarts)."""
        return self.store.get_meta(WORKER_STATE_KEY, "stopped") or "stopped"

    @worker_state.setter
    def worker_state(self, state: str) -> None:
        if state not in ("running", "stopped"):
            raise ValueError("worker_state: must be 'running' or 'stopped'")
        self.store.set_meta(WORKER_STATE_KEY, state)
        self._notify("worker", state)

    # -- helpers -----------------------------------------------------------------------------

    def _locked(self, conn: Connection, task_id: str) -> Task:
        task = self.store.get(task_id, conn)
        if task is None:
            raise TaskNotFoundError(task_id)
        return task

    def _pending(self, conn: Connection, task_id: str, action: str) -> Task:
        task = self._locked(conn, task_id)
        if task.status != TaskStatus.PENDING:
            raise TaskStateError(task_id, task.status.value, action)
        return task
