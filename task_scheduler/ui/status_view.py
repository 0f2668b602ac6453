"""The tab's status line as a JSON-ready dict: worker state, counts, the running task's
progress, the queue's estimate (core/eta.py), the live instances, why the queue waits.

Every value here is data: the browser renders it as text, never as HTML.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ..core import eta
from ..core.services import Services
from ..core.views import instances_view
from ..peers.conflicts import conflicts_of
from .views import short_label

_RECENT_FOR_SPEED = 10  # finished tasks the pending-queue estimate is priced from

# One token per process, so a version seen before a restart never matches a new one.
_PROCESS_TOKEN = uuid.uuid4().hex[:8]


def _instances(services: Services) -> dict[str, Any]:
    """This instance's name, the live ones (name, running?), and how many of the first pending
    tasks no live instance can run (each says why in its details)."""
    queue = services.queue
    live = instances_view(queue)
    waiting = 0
    if len(live) > 1:
        waiting = len(queue.instance.waiting_reasons(queue.get_pending_tasks(limit=200)))
    return {
        "this": queue.instance.name,
        "live": [{"name": i["name"], "busy": bool(i["running_task"])} for i in live],
        "waiting": waiting,
    }


def queue_version(services: Services) -> str:
    return f"{_PROCESS_TOKEN}:{services.queue.version}"


def status(services: Services) -> dict[str, Any]:
    """The status line: worker state, counts, the running task's progress, queue estimate."""
    queue, executor = services.queue, services.executor
    counts = queue.counts()
    settings = services.settings()
    current = executor.current()
    running: dict[str, Any] | None = None
    if current is not None:
        progress = current.progress
        task = queue.get_task(current.task_id)
        running = {
            "id": current.task_id,
            "owner": task.owner if task else None,
            "label": short_label(task) if task else "",
            "step": progress.step,
            "total_steps": progress.total_steps,
            "image": progress.image,
            "total_images": progress.total_images,
            "eta": progress.eta_seconds,
            "text": progress.text,
            "elapsed": max(0.0, time.time() - current.started_at),
        }
    pending = counts.get("pending", 0)
    return {
        "version": queue_version(services),
        "running": executor.is_running,
        "session_done": executor.session_done,
        "counts": counts,
        "current": running,
        "estimate": _estimate(services, pending, running),
        "settings": {
            "notify_when_empty": settings.notify_when_empty,
            "notify_sound": settings.notify_sound,
            "confirm_delete": settings.confirm_delete,
            "show_live_previews": settings.show_live_previews,
            "data_dir": settings.data_dir,
            "history_days": settings.history_days,
        },
        "conflicts": conflicts_of(services),  # other queue extensions: a banner atop the tab
        "schedule": executor.schedule.status(executor.is_running),  # why it waits, if it does
        "instances": _instances(services),  # several Forges on one queue: who is live
    }


def _estimate(services: Services, pending: int, running: dict[str, Any] | None) -> float | None:
    """Seconds until the queue is empty: the running task's own ETA, then each pending task's
    work (core/eta.py) priced at the speed of the recent finished tasks."""
    left = running["eta"] if running and running["eta"] is not None else 0.0
    if not pending:
        return left if running else None
    seconds = _pending_seconds(services)
    return None if seconds is None else left + seconds


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "seconds": None}


def _pending_seconds(services: Services) -> float | None:
    """The pending tasks' priced work, worked out again only when the queue changed (one read
    of the tasks per change, however often the tab polls)."""
    version = (id(services.queue), queue_version(services))
    with _cache_lock:
        if _cache["version"] != version:
            _cache["seconds"] = _priced_pending_work(services.queue)
            _cache["version"] = version
        return _cache["seconds"]


def _priced_pending_work(queue: Any) -> float | None:
    recent = queue.list_tasks(("completed",), limit=_RECENT_FOR_SPEED).tasks
    price = eta.price_from(
        (
            eta.work_units(task.task_type, task.params, task.script_args),
            task.completed_at - task.started_at,
        )
        for task in recent
        if task.started_at is not None and task.completed_at is not None
    )
    if price is None:
        return None
    pending = queue.get_pending_tasks()
    return eta.queue_seconds(
        (eta.work_units(t.task_type, t.params, t.script_args) for t in pending), price, 0.0
    )
