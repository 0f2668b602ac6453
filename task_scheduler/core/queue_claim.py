"""The claim and the run order it implies: a base of QueueManager (queue_manager.py).

The claim is one transaction (`store.claiming`: SQLite's exclusive lock, or PostgreSQL's row
locks): release the tasks whose "not before" came (through the tasks_held index), read the
first `Rules.window` ready tasks (tasks_ready index; on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
concurrent claims take different rows), apply affinity.choose, count the tasks it passes over,
mark the chosen one running. Every run order
shown (`run_order`, `position`, pending pages) replays the same rule (run_plan.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ..store.contract import Connection, Store
from . import affinity, run_plan
from .affinity import Rules
from .instances import Instance
from .models import Task


class ClaimVerbs:
    """Needs `store`, `owner` and `_notify` (QueueManager)."""

    store: Store
    owner: str
    snapshot_plans: threading.local  # TaskReads
    _notify: Callable[[str, str], None]
    # What the host has loaded (affinity.setup_key text; None: unknown). The worker sets it.
    loaded_setup: Callable[[], str | None] = staticmethod(lambda: None)
    # Setting "Group tasks by checkpoint" and its bounds; the entry script reads Settings.
    affinity_rules: Callable[[], Rules] = Rules

    @property
    def clock(self) -> Callable[[], float]:
        """The queue's clock (unix time); tests set a fake one. The store follows it."""
        return getattr(self, "_clock", time.time)

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.store.clock = clock

    @property
    def instance(self) -> Instance:
        """This queue's instance among those sharing the store: its name, leases, what it can
        run (instances.py)."""
        found = self.__dict__.get("_instance")
        if found is None:
            found = self.__dict__.setdefault("_instance", Instance(self))  # type: ignore[arg-type]
        return found

    @staticmethod
    def check_run_after(run_after: object) -> None:
        """ValueError unless a task's "not before" is unix time (a finite number) or None."""
        if run_after is None:
            return
        if isinstance(run_after, bool) or not isinstance(run_after, int | float):
            raise ValueError("run_after: must be a time (unix seconds) or null")
        if not math.isfinite(run_after) or not 0 <= run_after < 1e11:
            raise ValueError("run_after: not a time")

    def claim_next(self) -> Task | None:
        """Atomically take the task that runs next and mark it running for this process."""
        rules = self.affinity_rules()
        with self.store.claiming() as conn:
            now = self.clock()
            self.store.release_due(conn, now)
            window = run_plan.claim_window(self.store, conn, rules)
            window = self.instance.runnable(conn, window, now)  # can-run (instances.py)
            if not window:
                return None
            index, overtaken = affinity.choose(window, self._expected_loaded(conn), now, rules)
            for i in overtaken:
                late = affinity.passed(window[i], now)
                self.store.update(
                    conn,
                    late.id,
                    {"passed_over": late.passed_over, "passed_over_since": late.passed_over_since},
                )
            task_id = window[index].id
            fields = {"status": "running", "started_at": now, "claimed_by": self.owner}
            self.store.update(conn, task_id, fields)
            self.instance.stamp(conn, task_id, now)  # its instance's name and lease
            task = self.store.get(task_id, conn)
        self._notify("claimed", task_id)
        return task

    def run_order(self, count: int | None = None, until: str | None = None) -> list[str]:
        """Pending task ids in the order the worker will take them (see run_plan.plan).

        Inside a snapshot (TaskReads.snapshot) the whole order is worked out at most once.
        """
        plans = self.snapshot_plans
        full = getattr(plans, "full", None) if getattr(plans, "active", False) else None
        if full is None:
            loaded = self._expected_loaded()
            order = run_plan.plan(
                self.store, loaded, self.clock(), self.affinity_rules(), count, until
            )
            if count is None and until is None and getattr(plans, "active", False):
                plans.full = order
            return order
        if count is not None:
            return full[:count]
        if until is not None:
            return full[: full.index(until) + 1] if until in full else full
        return full

    def _expected_loaded(self, conn: Connection | None = None) -> str | None:
        """What the next claim finds loaded: the running task's setup once it ends, else
        what the host has loaded now."""
        running = self.store.running_setup(conn)
        host = self.loaded_setup()
        return host if running is None else affinity.after_running(host, running)
