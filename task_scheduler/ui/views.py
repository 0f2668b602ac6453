"""What the Task Queue tab shows, as plain JSON-ready dicts: list rows, one task (the status
line: status_view.py).

Every value here is data: the browser renders it as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

from ..core import params as task_params
from ..core.models import Task, TaskStatus
from ..core.permissions import Access
from ..core.schedule import local_text
from ..core.services import Services
from ..core.views import run_order_places
from . import owners

PROMPT_EXCERPT = 160  # characters of the prompt a list row carries
PAGE_SIZES = (25, 50, 100, 200)
FILTERS: dict[str, tuple[str, ...]] = {
    "all": (),
    "queue": ("running", "pending"),
    "history": ("completed", "failed", "cancelled"),
    "completed": ("completed",),
    "failed": ("failed",),
    "cancelled": ("cancelled",),
}
_HIRES_FIELDS = (
    "enable_hr",
    "hr_scale",
    "hr_upscaler",
    "hr_second_pass_steps",
    "denoising_strength",
    "hr_resize_x",
    "hr_resize_y",
    "hr_checkpoint_name",
    "hr_sampler_name",
    "hr_scheduler",
    "hr_prompt",
    "hr_negative_prompt",
)
# Scripts every UI-captured task carries; their values are shown as regular fields.
_BUILTIN_SCRIPTS = frozenset({"Sampler", "Seed"})


def task_list(
    services: Services,
    view: str,
    search: str,
    limit: int,
    offset: int,
    group: str = "",
    owner: str | None = None,
    rights: Access | None = None,
) -> dict[str, Any]:
    """One page of list rows for a filter (see FILTERS) and a text search (and `owner`: only
    that user's tasks, the "Mine" filter), or the tasks of one group (`group`: its id; the
    filter and search then do not apply). Rows as `rights` may see them (ui/owners.py)."""
    rights = rights or Access()
    if group:
        return group_list(services, group, limit, offset, rights)
    if view not in FILTERS:
        raise ValueError(f"filter: must be one of {', '.join(FILTERS)}")
    if limit not in PAGE_SIZES:
        raise ValueError(f"limit: must be one of {', '.join(map(str, PAGE_SIZES))}")
    if offset < 0:
        raise ValueError("offset: must not be negative")
    queue = services.queue
    statuses = FILTERS[view] or None
    with queue.snapshot():  # total, rows and run-order places from one state of the file
        page = queue.list_tasks(statuses, search or None, limit, offset, owner)
        if page.total and offset >= page.total:  # the page emptied (finished or cleared)
            offset = (page.total - 1) // limit * limit
            page = queue.list_tasks(statuses, search or None, limit, offset, owner)
        places = run_order_places(queue, page.tasks, consecutive=not search and owner is None)
        sizes = queue.group_sizes(task.group_id for task in page.tasks)
    rows = [
        _with_group_size(
            owners.shown_row(row(task, places.get(task.id)), task.owner, rights), sizes
        )
        for task in page.tasks
    ]
    return {"rows": rows, "total": page.total, "offset": offset, "limit": limit}


def group_list(
    services: Services, group_id: str, limit: int, offset: int, rights: Access | None = None
) -> dict[str, Any]:
    """The rows of one group (oldest first) and what the group bar shows: how many tasks in
    each status, on which checkpoints. `group` is None once the group is gone."""
    queue = services.queue
    with queue.snapshot():
        try:
            tasks = queue.group_tasks(group_id)
        except LookupError:
            tasks = []
        places = run_order_places(queue, tasks, consecutive=False)
    offset = max(0, min(offset, (len(tasks) - 1) // limit * limit if tasks else 0))
    sizes = {group_id: len(tasks)}
    rights = rights or Access()
    rows = [
        _with_group_size(
            owners.shown_row(row(task, places.get(task.id)), task.owner, rights), sizes
        )
        for task in tasks[offset : offset + limit]
    ]
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.status.value] = counts.get(task.status.value, 0) + 1
    checkpoints = sorted(
        {
            task.checkpoint
            for task in tasks
            if isinstance(task.checkpoint, str) and rights.may_see(task.owner)
        }
    )
    retried = {task.retried_from for task in tasks}
    retryable = sum(
        1 for t in tasks if t.status.value in ("failed", "cancelled") and t.id not in retried
    )
    summary = {
        "id": group_id,
        "total": len(tasks),
        "counts": counts,
        "retryable": retryable,  # what "Retry group" would queue again
        "checkpoints": checkpoints,
        "may_change": all(rights.may_change(task.owner) for task in tasks),
    }
    return {
        "rows": rows,
        "total": len(tasks),
        "offset": offset,
        "limit": limit,
        "group": summary if tasks else None,
    }


def _with_group_size(data: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    data["group_size"] = sizes.get(data.get("group_id") or "", 0)
    return data


def row(task: Task, place: int | None) -> dict[str, Any]:
    """What a list row shows for one task; a broken task (malformed stored data) shows why
    instead of its prompt, and stays deletable."""
    try:
        data = _row(task, place)
    except Exception as error:  # anything a malformed row can raise; the list must go on
        data = _broken_row(task, place, f"cannot be read: {type(error).__name__}: {error}")
    return data


def _row(task: Task, place: int | None) -> dict[str, Any]:
    problem = task_params.task_problem(task.params, task.script_args)
    if problem is not None:
        return _broken_row(task, place, problem)
    field = _field_reader(task)
    prompt = task_params.text_field(task.params, task.script_args, "prompt")
    width, height = field("width"), field("height")
    return {
        "id": task.id,
        "status": task.status.value,
        "type": task.task_type,
        "name": task.name,
        "prompt": prompt[:PROMPT_EXCERPT],
        "checkpoint": task.checkpoint,
        "size": f"{width}x{height}" if width and height else "",
        "steps": field("steps"),
        "images": _image_count(field),
        "place": place,
        "priority": task.priority,
        "created_at": task.created_at,
        "finished_at": task.completed_at,
        "error": (task.error or "")[:200],
        "warnings": len(_items(task.warnings, str)),
        "bookmarked": task.bookmarked,
        "group_id": task.group_id if isinstance(task.group_id, str) else None,
        "run_after": task.run_after,
        "run_after_text": local_text(task.run_after),  # "not before", server local time
        "instance": task.instance if isinstance(task.instance, str) else None,
        "problem": None,
    }


def _broken_row(task: Task, place: int | None, problem: str) -> dict[str, Any]:
    message = f"Broken task: {problem}. Delete it and queue it again."
    return {
        "id": str(task.id),
        "status": getattr(task.status, "value", "failed"),
        "type": str(task.task_type),
        "name": task.name if isinstance(task.name, str) else "",
        "prompt": message[:PROMPT_EXCERPT],  # the row's text: what the user sees first
        "checkpoint": task.checkpoint if isinstance(task.checkpoint, str) else "",
        "size": "",
        "steps": None,
        "images": 0,
        "place": place,
        "priority": task.priority if isinstance(task.priority, int) else 0,
        "created_at": task.created_at,
        "finished_at": task.completed_at,
        "error": message[:200],
        "warnings": 0,
        "bookmarked": bool(task.bookmarked),
        "group_id": task.group_id if isinstance(task.group_id, str) else None,
        "run_after": None,
        "run_after_text": "",
        "instance": None,
        "problem": problem,
    }


def detail(task: Task, services: Services) -> dict[str, Any]:
    """Everything the selected-task panel shows (images travel separately).

    A broken task (see `row`) shows its problem and what can still be read; it offers no
    editing choices.
    """
    field = _field_reader(task)
    data = row(task, services.queue.position(task.id))
    broken = data["problem"] is not None
    data.update(
        {
            "prompt": field("prompt") or "",
            "negative_prompt": field("negative_prompt") or "",
            "cfg_scale": field("cfg_scale"),
            "width": field("width"),
            "height": field("height"),
            "sampler_name": field("sampler_name"),
            "scheduler": field("scheduler"),
            "seed": field("seed"),
            "batch_size": field("batch_size"),
            "n_iter": field("n_iter"),
            "result_seeds": _items(task.result_seeds, int),
            "hires": {name: field(name) for name in _HIRES_FIELDS if field(name) not in (None, "")},
            "extensions": [] if broken else extensions(task),
            "warnings": _items(task.warnings, str),
            "error": data["error"] if broken else task.error or "",
            "source": task_params.source_of(task.params),
            "started_at": task.started_at,
            "retried_from": task.retried_from,
            "waiting": services.queue.instance.waiting_reasons([task]).get(task.id) or "",
            "callback_url": task.callback_url or "",
            "callback_status": task.callback_status or "",
            "result_info": task.result_info,
        }
    )
    if task.status == TaskStatus.PENDING and not broken:
        catalog = services.catalog()
        data["choices"] = {
            "samplers": list(catalog.samplers),
            "schedulers": list(catalog.schedulers),
            "checkpoints": list(catalog.checkpoints),
        }
    return data


def extensions(task: Task) -> list[dict[str, Any]]:
    """The scripts / extensions that carry arguments in this task, with those arguments."""
    found = []
    if task_params.source_of(task.params) == "api":
        payload = task.params.get("payload", {})
        if payload.get("script_name"):
            found.append(
                {"name": str(payload["script_name"]), "args": payload.get("script_args") or []}
            )
        for name, value in (payload.get("alwayson_scripts") or {}).items():
            args = value.get("args", value) if isinstance(value, dict) else value
            found.append({"name": str(name), "args": args})
        return found
    selected = task.script_args.get("selected")
    for title, args in (task.script_args.get("scripts") or {}).items():
        if title in _BUILTIN_SCRIPTS or not args:
            continue
        found.append({"name": str(title), "args": args, "selected": title == selected})
    return found


def _field_reader(task: Task):
    """Reads a field for display (None for a value of an unexpected type)."""
    return lambda name: task_params.display_field(task.params, task.script_args, name)


def _items(values: Any, kind: type) -> list[Any]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, kind) and not isinstance(v, bool)]


def _image_count(field) -> int:
    batch, count = field("batch_size"), field("n_iter")
    batch = batch if isinstance(batch, int) and batch > 0 else 1
    count = count if isinstance(count, int) and count > 0 else 1
    return batch * count


def short_label(task: Task) -> str:
    if task.name:
        return task.name
    return task_params.text_field(task.params, task.script_args, "prompt")[:80]
