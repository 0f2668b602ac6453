"""The "most pending tasks" setting, for every way a task is added, not only the REST routes.

`room_check(queue, settings)` gives the check the Queue button, the tab's Retry, Retry
failed and group retry, and the REST retry routes call before adding tasks: QueueFullError
(REST 429, an error notice in the UI) when `adding` more pending tasks would pass the setting,
read at each call. Like the REST check (api_limits.check_room) it runs before the insert: it
stops a flood, it is not an exact quota.
"""

from __future__ import annotations

from collections.abc import Callable

from ..api.limits import check_room
from .models import TaskStatus
from .queue_manager import QueueManager
from .services import Settings


def room_check(queue: QueueManager, settings: Callable[[], Settings]) -> Callable[[int], None]:
    """A function raising QueueFullError unless `adding` more pending tasks fit."""

    def require_room(adding: int = 1) -> None:
        check_room(queue.counts()["pending"], adding, settings().max_pending)

    return require_room


def failed_to_retry(queue: QueueManager) -> int:
    """How many tasks "Retry failed" would queue now."""
    return len(queue.store.failed_not_retried())  # QueueManager.retry_failed's own choice


def group_retry_count(queue: QueueManager, group_id: str) -> int:
    """How many tasks retrying the group would queue now (QueueManager.retry_group's choice:
    failed or cancelled, not retried yet). GroupNotFoundError for an unknown group."""
    tasks = queue.group_tasks(group_id)
    retried = {task.retried_from for task in tasks if task.retried_from}
    ended = (TaskStatus.FAILED, TaskStatus.CANCELLED)
    return sum(1 for task in tasks if task.status in ended and task.id not in retried)
