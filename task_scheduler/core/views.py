"""Tasks and the queue as plain JSON-ready dicts: what the REST API returns.

Pure functions over the queue and the worker, free of Forge and of FastAPI, so the Task Queue
tab can show exactly what the API shows. The shapes are the response models in api/schemas.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from . import params as task_params
from .executor import TaskExecutor
from .models import Task, TaskStatus
from .queue_manager import QueueManager

API_PREFIX = "/task-scheduler"


def image_url(task_id: str, index: int, base_url: str = "") -> str:
    """URL of a task's `index`-th (0-based) result image; relative when `base_url` is ""."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/tasks/{quote(task_id, safe='')}/images/{index}"


def task_view(
    task: Task,
    *,
    base_url: str = "",
    queue_position: int | None = None,
    detail: bool = False,
    waiting: str | None = None,
) -> dict[str, Any]:
    """A task for display. `detail` adds the full `params` and `script_args`; `waiting` says
    why a pending task no live instance can run waits (instances.Instance.waiting_reasons).

    Never raises for a task whose stored data is malformed (written by a faulty import of an
    earlier version, or by hand): `problem` says what is wrong and the task can be deleted, so
    one bad row never takes a listing down.
    """
    try:
        view = _task_view(task, base_url, queue_position, detail)
        view["waiting"] = waiting if task.status == TaskStatus.PENDING else None
        return view
    except Exception as error:  # anything a malformed row can raise; the listing must go on
        return _broken_view(task, f"cannot be read: {type(error).__name__}: {error}")


def _task_view(
    task: Task, base_url: str, queue_position: int | None, detail: bool
) -> dict[str, Any]:
    params = task.params if isinstance(task.params, dict) else {}
    script_args = task.script_args if isinstance(task.script_args, dict) else {}
    images = task.result_images if isinstance(task.result_images, list) else []
    return {
        "id": task.id,
        "task_type": task.task_type,
        "status": task.status.value,
        "source": task_params.source_of(task.params),
        "name": task.name,
        "priority": task.priority,
        "checkpoint": task.checkpoint,
        "queue_position": queue_position if task.status == TaskStatus.PENDING else None,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "completed_at": task.completed_at,
        "summary": task_params.summary(task.params, task.script_args),
        "images": [image_url(task.id, n, base_url) for n in range(len(images))],
        "infotext": task.result_info,
        "seeds": _items(task.result_seeds, int),
        "error": task.error,
        "warnings": _items(task.warnings, str),
        "retried_from": task.retried_from,
        "group_id": task.group_id if isinstance(task.group_id, str) else None,
        "run_after": task.run_after,
        "instance": task.instance if isinstance(task.instance, str) else None,
        "owner": task.owner if isinstance(task.owner, str) else None,
        "bookmarked": task.bookmarked,
        "callback_url": task.callback_url,
        "callback_status": task.callback_status,
        "cancel_requested": task.cancel_requested,
        "files": _items(task.files, str),
        "problem": task_params.task_problem(task.params, task.script_args),
        "params": params if detail else None,
        "script_args": script_args if detail else None,
    }


def _items(values: Any, kind: type) -> list[Any]:
    """The items of a stored list that have the type the response promises."""
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, kind) and not isinstance(v, bool)]


def _broken_view(task: Task, problem: str) -> dict[str, Any]:
    """What is shown of a task whose data cannot be read: enough to find and delete it."""
    status = getattr(task.status, "value", "failed")
    return {
        "id": str(task.id),
        "task_type": task.task_type if task.task_type in ("txt2img", "img2img") else "txt2img",
        "status": status,
        "source": "ui",
        "name": task.name if isinstance(task.name, str) else "",
        "priority": task.priority if isinstance(task.priority, int) else 0,
        "checkpoint": task.checkpoint if isinstance(task.checkpoint, str) else "",
        "queue_position": None,
        "created_at": task.created_at if isinstance(task.created_at, int | float) else 0.0,
        "started_at": None,
        "completed_at": None,
        "summary": {},
        "images": [],
        "infotext": "",
        "seeds": [],
        "error": None,
        "warnings": [],
        "retried_from": None,
        "group_id": task.group_id if isinstance(task.group_id, str) else None,
        "run_after": task.run_after if isinstance(task.run_after, int | float) else None,
        "instance": task.instance if isinstance(task.instance, str) else None,
        "owner": task.owner if isinstance(task.owner, str) else None,
        "waiting": None,
        "bookmarked": bool(task.bookmarked),
        "callback_url": None,
        "callback_status": None,
        "cancel_requested": bool(task.cancel_requested),
        "files": [],
        "problem": problem,
        "params": None,
        "script_args": None,
    }


def task_page_view(
    queue: QueueManager,
    statuses: Iterable[str] | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
    base_url: str = "",
    owner: str | None = None,
) -> dict[str, Any]:
    """One page of `QueueManager.list_tasks` (`owner`: only that user's tasks), pending tasks
    carrying their run-order place."""
    with queue.snapshot():  # the places agree with the page they are shown on
        page = queue.list_tasks(
            statuses=statuses, search=search, limit=limit, offset=offset, owner=owner
        )
        positions = run_order_places(queue, page.tasks, consecutive=not search and not owner)
        waiting = queue.instance.waiting_reasons(page.tasks)
    return {
        "tasks": [
            task_view(
                task,
                base_url=base_url,
                queue_position=positions.get(task.id),
                waiting=waiting.get(task.id),
            )
            for task in page.tasks
        ],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


def queue_view(
    queue: QueueManager,
    executor: TaskExecutor,
    limit: int = 50,
    offset: int = 0,
    base_url: str = "",
) -> dict[str, Any]:
    """Worker state, the running task with its progress, counts, and pending tasks in order."""
    with queue.snapshot():  # the pending total and the pending rows agree
        counts = queue.counts()
        pending = queue.get_pending_tasks(limit=limit, offset=offset)
        waiting = queue.instance.waiting_reasons(pending)
    return {
        "worker": queue.worker_state,
        "worker_alive": executor.is_alive,
        "schedule": schedule_view(executor),
        "running": running_view(queue, executor, base_url),
        "counts": counts,
        "pending": {
            "tasks": [
                task_view(
                    task,
                    base_url=base_url,
                    queue_position=offset + index + 1,
                    waiting=waiting.get(task.id),
                )
                for index, task in enumerate(pending)
            ],
            "total": counts.get(TaskStatus.PENDING.value, 0),
            "limit": limit,
            "offset": offset,
        },
        "instances": instances_view(queue),
        "instance": queue.instance.name,
    }


def instances_view(queue: QueueManager) -> list[dict[str, Any]]:
    """The live instances sharing this queue, each with the task it runs (InstanceOut)."""
    running = queue.list_tasks(statuses=[TaskStatus.RUNNING.value], limit=100).tasks
    runs = {task.instance: task.id for task in running if task.instance}
    return [{**row, "running_task": runs.get(row["name"])} for row in queue.instance.listing()]


def schedule_view(executor: TaskExecutor) -> dict[str, Any]:
    """The run windows / start time and why the queue waits (ScheduleOut)."""
    return executor.schedule.status(executor.is_running)


def running_view(
    queue: QueueManager, executor: TaskExecutor, base_url: str = ""
) -> dict[str, Any] | None:
    """The running task and its progress. A task another process runs has no progress here."""
    current = executor.current()
    if current is not None:
        task = queue.get_task(current.task_id)
        if task is not None and task.status == TaskStatus.RUNNING:
            progress = current.progress
            return {
                "task": task_view(task, base_url=base_url),
                "started_at": current.started_at,
                "progress": {
                    "step": progress.step,
                    "total_steps": progress.total_steps,
                    "images_done": progress.image,
                    "total_images": progress.total_images,
                    "eta_seconds": progress.eta_seconds,
                    "text": progress.text,
                },
            }
    running = queue.list_tasks(statuses=[TaskStatus.RUNNING.value], limit=1).tasks
    if not running:
        return None
    task = running[0]
    return {
        "task": task_view(task, base_url=base_url),
        "started_at": task.started_at or task.created_at,
        "progress": None,
    }


def run_order_places(queue: QueueManager, tasks: list[Task], consecutive: bool) -> dict[str, int]:
    """Run-order places of the pending tasks on a page (one query when they are consecutive)."""
    pending = [task for task in tasks if task.status == TaskStatus.PENDING]
    if not pending:
        return {}
    if consecutive:
        first = queue.position(pending[0].id)
        if first is None:
            return {}
        return {task.id: first + index for index, task in enumerate(pending)}
    if len(pending) <= 3:
        places = {task.id: queue.position(task.id) for task in pending}
        return {task_id: place for task_id, place in places.items() if place is not None}
    wanted = {task.id for task in pending}  # scattered (a search): one pass over the run order
    order = queue.run_order()
    return {task_id: index + 1 for index, task_id in enumerate(order) if task_id in wanted}
