"""The queue's schedule kept in the store, and what it means for the worker right now.

Kept in the `meta` table, so it survives restarts and every process sharing the file sees it:
- `schedule`: the Schedule (schedule.py) as JSON;
- `schedule_opened`: the last opening (a window's start, or the start moment) that started
  the queue by itself, so each opening starts it once (a Stop inside a window holds until the
  next one, and a restart inside the window does not undo that Stop);
- `run_anyway`: "Run now anyway": new tasks start outside the windows until the next window
  opens or the queue is stopped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from .queue_manager import QueueManager
from .schedule import Gate, Schedule, gate, hhmm, iso, server_zone, zone_label

log = logging.getLogger("task_scheduler")

SCHEDULE_KEY, OPENED_KEY, ANYWAY_KEY = "schedule", "schedule_opened", "run_anyway"
RECHECK_SECONDS = 60.0  # the worker looks again at least this often (clock changes, suspend)


@dataclass(frozen=True)
class Decision:
    may_start_tasks: bool  # a new task may start now (if the worker takes tasks)
    start_worker: bool  # an opening came: the queue starts by itself
    wake_in: float | None  # seconds until the worker should look again (None: on events)
    gate: Gate


class RunSchedule:
    """Reads and writes the schedule; tells the worker whether a new task may start."""

    def __init__(
        self,
        queue: QueueManager,
        zone: tzinfo | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.queue = queue
        self.zone = zone if zone is not None else server_zone()
        self._clock = clock
        # While True, an opening (window start, start moment) does not start the queue yet:
        # Forge sets it until its app has started (tasks run before that would fail).
        self.hold_openings = False

    def now(self) -> float:
        return (self._clock or self.queue.clock)()

    # -- the user's verbs --------------------------------------------------------------------

    def get(self) -> Schedule:
        text = self.queue.store.get_meta(SCHEDULE_KEY)
        try:
            return Schedule.from_json(json.loads(text)) if text else Schedule()
        except ValueError:
            return Schedule()

    def set(self, schedule: Schedule) -> Schedule:
        """Replace the schedule. A start moment in the past is dropped (nothing to wait for);
        "Run now anyway" ends: the new schedule applies from now on."""
        if schedule.start_at is not None and schedule.start_at <= self.now():
            schedule = Schedule(None, schedule.windows)
        store = self.queue.store
        with store.transaction():
            store.set_meta(SCHEDULE_KEY, json.dumps(schedule.to_json()))
            store.set_meta(ANYWAY_KEY, "")
            opened = gate(schedule, self.now(), self.zone).opened_at
            # Saving a schedule while inside one of its windows does not start the queue:
            # only an opening that comes later does (or Start).
            store.set_meta(OPENED_KEY, json.dumps(opened))
        self.queue._notify("worker", "schedule")
        return schedule

    def run_anyway(self) -> None:
        """New tasks start now, outside the windows too, until the next window or Stop."""
        self.queue.store.set_meta(ANYWAY_KEY, "1")
        self.queue._notify("worker", "run_anyway")

    def end_run_anyway(self) -> None:
        if self.queue.store.get_meta(ANYWAY_KEY):
            self.queue.store.set_meta(ANYWAY_KEY, "")

    # -- the worker's question ---------------------------------------------------------------

    def decide(self) -> Decision:
        """Whether a new task may start now; records an opening that starts the queue."""
        schedule = self.get()
        now = self.now()
        state = gate(schedule, now, self.zone)
        if schedule.empty:
            return Decision(True, False, None, state)
        start_worker = False
        store = self.queue.store
        due = schedule.start_at is not None or self._new_opening(state)
        if state.open and due and not self.hold_openings:
            with store.transaction():  # looked at again under the write lock: one start each
                if self._new_opening(state):
                    start_worker = True
                    store.set_meta(OPENED_KEY, json.dumps(state.opened_at))
                    store.set_meta(ANYWAY_KEY, "")  # the window took over
                if schedule.start_at is not None:  # "once": it has come
                    rest = Schedule(None, schedule.windows)
                    store.set_meta(SCHEDULE_KEY, json.dumps(rest.to_json()))
            if start_worker:
                log.info("task scheduler: %s, the queue starts", _opening(schedule, state))
        anyway = bool(store.get_meta(ANYWAY_KEY))
        may = state.open or anyway
        until = state.next_opening if state.next_opening is not None else state.opens_at
        wake_in = None if until is None else min(RECHECK_SECONDS, max(0.0, until - now))
        return Decision(may, start_worker, wake_in, state)

    def _new_opening(self, state: Gate) -> bool:
        opened = _float(self.queue.store.get_meta(OPENED_KEY))
        return state.opened_at is not None and (opened is None or state.opened_at > opened)

    def status(self, worker_running: bool) -> dict[str, Any]:
        """The schedule and why the queue waits, for GET /queue, GET /schedule and the tab."""
        schedule = self.get()
        now = self.now()
        state = gate(schedule, now, self.zone)
        anyway = bool(self.queue.store.get_meta(ANYWAY_KEY)) and not state.open
        waiting = not state.open and not anyway
        return {
            "start_at": iso(schedule.start_at, self.zone),
            "windows": [{"start": hhmm(w.start), "end": hhmm(w.end)} for w in schedule.windows],
            "time_zone": zone_label(self.zone, now),
            "now": iso(now, self.zone),
            "waiting": waiting,
            "reason": state.reason if waiting else "",
            "opens_at": iso(state.opens_at, self.zone) if waiting else None,
            "run_anyway": anyway,
            "worker_running": worker_running,
        }


def _float(text: str | None) -> float | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return float(value) if isinstance(value, int | float) else None


def _opening(schedule: Schedule, state: Gate) -> str:
    return "a run window opened" if schedule.windows else "the scheduled start came"
