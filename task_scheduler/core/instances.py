"""Several Forge instances on one queue (issue 12): names, leases, who can run what.

Every QueueManager is one *instance* of the queue (`queue.instance`). Its worker keeps it
registered in the store's `instances` table and renews, every RENEW_SECONDS, two leases of
LEASE_SECONDS:

- its own row (`instances.lease_until`): while that lies ahead the instance is *live*; the tab
  lists live instances, and the can-run rule only consults live ones;
- the lease of the task it runs (`tasks.lease_until`, started by the claim).

A lease of 60 s renewed every 15 s survives three missed renewals (a busy disk, a long
garbage collection, a model load hogging the CPU) and still frees a dead instance's task
within 75 s. Every live instance sweeps the running tasks at each renewal (`fail_abandoned`):
a task whose lease expired, or whose claiming process on this machine is gone (seen at once,
without waiting for the lease), is failed with the shutdown error by one conditional UPDATE,
so exactly one instance fails it and the task is never re-run. An instance whose own task's
lease could not be renewed (another instance already failed it) stops that task.

Leases compare times written by different processes: on several machines their clocks must
agree to well within the 45 s margin (NTP does).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..store.instance_verbs import InstanceRow, InstanceVerbs
from .affinity import Candidate
from .can_run import Capabilities, Needs, can_run, needs_of, waiting_reason
from .models import SHUTDOWN_ERROR, Task, TaskStatus
from .process_liveness import claim_is_alive

if TYPE_CHECKING:
    from .queue_manager import QueueManager

log = logging.getLogger("task_scheduler")

LEASE_SECONDS = 60.0  # how long a heartbeat vouches for an instance and its running task
RENEW_SECONDS = 15.0  # how often the worker renews both (four renewals per lease)
REACH = 256  # ready tasks a claim looks through when none of its window can run here
NAME_ENV = "TASK_SCHEDULER_INSTANCE_NAME"  # overrides the setting (e.g. two Forges, one config)


def default_instance_name(port: int | None = None) -> str:
    """host:port for a Forge (unique on its machine); host:pid for any other process."""
    return f"{socket.gethostname()}:{port if port is not None else os.getpid()}"


class Instance:
    """This queue's instance among those sharing its store."""

    def __init__(self, queue: QueueManager):
        self.queue = queue
        self.verbs = InstanceVerbs(queue.store)
        self._name = os.environ.get(NAME_ENV, "").strip() or default_instance_name()
        self.address = ""  # where its web server answers, if known
        # What this instance's host can run (the worker refreshes it); "cannot tell" until then.
        self.capabilities = Capabilities()
        self._stored_capabilities: str | None = None
        self._parsed: dict[str, Capabilities] = {}  # resources JSON -> Capabilities
        self._clash_logged: str | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """This instance's name (setting "Instance name"): on its row and the tasks it claims."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        old, self._name = self._name, name
        if old != name and self._stored_capabilities is not None:  # registered under the old
            self._stored_capabilities = None  # the next heartbeat registers the new name
            try:
                self.verbs.leave_instance(old, self.queue.owner)
            except Exception as error:  # its lease lapses by itself
                log.warning("task_scheduler: instance %s not marked gone: %s", old, error)

    # -- the claim (core/queue_claim.py) -------------------------------------------------------

    def stamp(self, conn: Any, task_id: str, now: float) -> None:
        """Name this instance on a task being claimed and start its lease."""
        self.verbs.stamp_claim(conn, task_id, self.name, now + LEASE_SECONDS)

    def runnable(self, conn: Any, window: list[Candidate], now: float) -> list[Candidate]:
        """The claim's candidates this instance may take: with other instances live, only the
        tasks it can run (the rest wait for those that can); alone, all of them, as a single
        Forge always did (a task it lacks something for then fails naming it)."""
        if not window or self.capabilities == Capabilities():
            return window
        others = [name for name in self.live(conn, now) if name != self.name]
        if not others:
            return window
        kept = self._can_run(conn, window)
        if kept:
            return kept
        # None of the window: look further, so a task this instance can run behind many it
        # cannot is not starved (bounded: the claim stays one short transaction).
        further = self.queue.store.ready_candidates(REACH, conn)
        return self._can_run(conn, further[len(window) :]) if len(further) > len(window) else []

    def _can_run(self, conn: Any, window: list[Candidate]) -> list[Candidate]:
        needs = self._needs(conn, [c.id for c in window])
        return [c for c in window if can_run(needs.get(c.id, Needs()), self.capabilities)]

    def _needs(self, conn: Any, task_ids: Sequence[str]) -> dict[str, Needs]:
        rows = self.verbs.task_needs_rows(conn, task_ids)
        return {row[0]: needs_of(row[1], _json(row[2]), _json(row[3])) for row in rows}

    # -- live instances ------------------------------------------------------------------------

    def live(self, conn: Any = None, now: float | None = None) -> dict[str, Capabilities]:
        """Live instances by name, with what each can run."""
        now = self.queue.clock() if now is None else now
        rows = self._rows(conn, now)
        with self._lock:
            live = {}
            for row in rows:
                has = self._parsed.get(row.resources)
                if has is None:
                    if len(self._parsed) > 64:
                        self._parsed.clear()
                    has = self._parsed[row.resources] = Capabilities.from_json(row.resources)
                live[row.name] = has
        return live

    def _rows(self, conn: Any, now: float) -> list[InstanceRow]:
        return self.verbs.instances(live_at=now, conn=conn)

    def listing(self) -> list[dict[str, Any]]:
        """Live instances for the tab and the API: name, since, last heartbeat, this one?"""
        now = self.queue.clock()
        return [
            {
                "name": row.name,
                "started_at": row.started_at,
                "seen_at": row.seen_at,
                "this": row.name == self.name,
                "address": row.address,
            }
            for row in self.verbs.instances(live_at=now)
        ]

    def waiting_reasons(self, tasks: Iterable[Task]) -> dict[str, str]:
        """Why pending tasks wait: several instances live and none can run them (by task id)."""
        pending = [t for t in tasks if t.status == TaskStatus.PENDING]
        if not pending:
            return {}
        live = self.live()
        if len(live) < 2:
            return {}
        reasons = {}
        for task in pending:
            reason = waiting_reason(needs_of(task.checkpoint, task.params, task.script_args), live)
            if reason is not None:
                reasons[task.id] = reason
        return reasons

    # -- the heartbeat (core/executor.py calls it every RENEW_SECONDS) -------------------------

    def beat(self, running_task_id: str | None = None) -> bool | None:
        """Renew this instance and its running task's lease, then fail abandoned tasks.

        Returns whether the running task's lease was renewed (None: no task running); False
        means the task is no longer this instance's to finish.
        """
        now = self.queue.clock()
        stored = self.capabilities.to_json()
        resources = stored if stored != self._stored_capabilities else None
        clash = self.verbs.renew_instance(
            self.name, self.queue.owner, now + LEASE_SECONDS, resources, self.address or None
        )
        self._stored_capabilities = stored
        if clash is not None and clash != self._clash_logged:
            log.warning(
                "task_scheduler: another live process (%s) also calls itself instance %r; "
                "give each Forge its own name (setting 'Instance name' or %s)",
                clash,
                self.name,
                NAME_ENV,
            )
        self._clash_logged = clash
        kept = None
        if running_task_id is not None:
            kept = self.verbs.renew_task_lease(
                running_task_id, self.queue.owner, now + LEASE_SECONDS
            )
        self.fail_abandoned(now)
        self._forget_gone(now)
        return kept

    def _forget_gone(self, now: float) -> None:
        """Instances on this machine whose process is gone (killed) stop counting as live at
        once, not only when their lease lapses (the can-run rule and the tab ask who is live)."""
        for row in self.verbs.instances(live_at=now):
            if row.claimed_by == self.queue.owner:
                continue
            if not claim_is_alive(
                row.claimed_by, row.started_at, lease_until=row.lease_until, now=now
            ):
                self.verbs.leave_instance(row.name, row.claimed_by)
                log.warning("task_scheduler: instance %s stopped without leaving", row.name)

    def fail_abandoned(self, now: float | None = None) -> list[str]:
        """Fail running tasks whose lease expired or whose process (on this machine) is gone,
        each exactly once whoever else sweeps at the same moment."""
        now = self.queue.clock() if now is None else now
        failed = []
        with self.queue.store.transaction() as conn:
            for claim in self.verbs.running_leases(conn):
                if claim.claimed_by == self.queue.owner:
                    continue  # our own task: our worker ends it
                alive = claim_is_alive(
                    claim.claimed_by, claim.started_at, lease_until=claim.lease_until, now=now
                )
                if not alive and self.verbs.fail_running(conn, claim, SHUTDOWN_ERROR, now):
                    failed.append((claim.task_id, claim.instance))
        for task_id, instance in failed:
            log.warning(
                "task %s: its instance %s stopped (lease expired or process gone); "
                "marked failed",
                task_id,
                instance or "?",
            )
            self.queue._notify("finished", task_id)
        return [task_id for task_id, _ in failed]

    def leave(self) -> None:
        """This instance stops serving the queue: no longer live (its worker ended)."""
        self.verbs.leave_instance(self.name, self.queue.owner)
        self._stored_capabilities = None

    def wait_for_change(self, timeout: float) -> bool:
        """Whether anyone (another process included) wrote to the queue within `timeout`."""
        return self.verbs.wait_for_change(timeout)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
