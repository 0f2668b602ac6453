"""The tab's three calls from the browser: poll, act on tasks, and open one task.

Each takes and returns JSON text (the tab's hidden Gradio textboxes carry it), so the browser
reaches the queue only through Gradio events: they honour `--gradio-auth`, and `--api-auth`
(which guards REST routes) does not lock the tab out. Task ids are the only references the
browser sends; file paths never come from it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from ..api import tasks as api_tasks
from ..api.limits import QueueFullError
from ..api.payload import FieldError
from ..core.live_preview import preview_reply
from ..core.models import TaskNotFoundError, TaskStateError
from ..core.permissions import Refused
from ..core.queue_manager import MOVES
from ..core.queue_room import failed_to_retry, room_check
from ..core.result_copies import cached_copy
from ..core.services import Services
from . import editing, group_actions, owners, peer_actions, status_view, views
from .infotext import infotext

log = logging.getLogger("task_scheduler")

MAX_IMAGES = 100  # result images the panel shows for one task


class CommandError(ValueError):
    """A request the tab cannot carry out; the message is shown to the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def poll(services: Services, request_text: str, user: str | None = None) -> str:
    """Status every time; the list page only when the queue changed or the view did. `user`:
    the Gradio login asking (None without auth); rows and status as that user may see them."""
    request = _load(request_text)
    rights = owners.access(services, user)
    status = status_view.status(services)
    status["access"] = owners.status_access(rights)
    current = status["current"]
    visible = current is None or rights.may_see(current.get("owner"))
    if not visible:  # another user's task under hidden prompts: no label, no preview
        current["label"] = f"a task of {current.get('owner') or 'another user'}"
    reply: dict[str, Any] = {"status": status, "list": None}
    if services.settings().show_live_previews:
        running = current is not None and visible
        reply["preview"] = preview_reply(services.live_preview, running, request.get("preview"))
    if request.get("force") or request.get("seen") != reply["status"]["version"]:
        view = request.get("view") or {}
        try:
            reply["list"] = _task_list(services, view, rights)
        except ValueError as error:
            reply["error"] = str(error)
    return _dump(reply)


def _task_list(services: Services, view: dict[str, Any], rights: Any) -> dict[str, Any]:
    search = str(view.get("search", ""))[:500]
    owner = rights.user if view.get("owner") == "mine" else None
    if search and rights.hide_prompts and not rights.is_admin:
        owner = rights.user  # others' prompts are hidden: a search must not tell their words
    return views.task_list(
        services,
        str(view.get("filter", "all")),
        search,
        _int(view.get("limit", 50), "limit"),
        _int(view.get("offset", 0), "offset"),
        str(view.get("group") or "")[:100],
        owner=owner,
        rights=rights,
    )


def act(services: Services, request_text: str, user: str | None = None) -> str:
    """Carry out one user action; reply `{ok, message}` or `{ok: false, error, field}`.

    `user` (the Gradio login; None without auth) must be allowed the action
    (ui/owners.py): a refusal says why in the REST API's words ("this task belongs to
    alice"). Handlers find the user as `request["_user"]`, never taken from the browser.
    """
    request = _load(request_text)
    action = request.get("action")
    handler = _ACTIONS.get(action) if isinstance(action, str) else None
    if handler is None:
        return _dump({"ok": False, "error": f"action: unknown action {action!r}"})
    request["_user"] = user
    try:
        owners.check_action(services, owners.access(services, user), action, request)
        message = handler(services, request)
    except Refused as error:
        return _dump({"ok": False, "error": str(error), "refused": True})
    except editing.EditError as error:
        return _dump({"ok": False, "error": error.message, "field": error.field})
    except CommandError as error:
        return _dump({"ok": False, "error": str(error), "field": error.field})
    except TaskNotFoundError:
        return _dump({"ok": False, "error": "That task no longer exists."})
    except TaskStateError as error:
        return _dump(
            {"ok": False, "error": f"The task is {error.current}; it cannot be {error.target}."}
        )
    except ValueError as error:
        return _dump({"ok": False, "error": str(error)})
    if isinstance(message, dict):  # a reply with data besides its message (peer_actions.py)
        return _dump({"ok": True, **message})
    return _dump({"ok": True, "message": message})


def open_task(
    services: Services, request_text: str, user: str | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """The selected-task panel's data, and its result images for the Gradio gallery output.

    Images are read from the task's own record (never from the request) and only existing
    files are handed to Gradio, which copies them to its cache and serves them. A task `user`
    may not see (hidden prompts) shows its row alone: no prompt, parameters or images.
    """
    request = _load(request_text)
    task = services.queue.get_task(str(request.get("id", "")))
    if task is None:
        return _dump({"task": None}), []
    rights = owners.access(services, user)
    shown = owners.shown_row(views.detail(task, services), task.owner, rights)
    if shown["hidden"]:
        shown = owners.hidden_detail(shown)
        shown.pop("choices", None)
        return _dump({"task": shown, "infotext": "", "images_total": 0, "images_missing": 0}), []
    images: list[tuple[str, str]] = []
    missing = 0
    for index, recorded in enumerate(task.result_images[:MAX_IMAGES]):
        path = services.resolve_image(recorded)
        if not os.path.isfile(path):  # made on another machine sharing the queue: its copy
            path = cached_copy(services.queue.results, task, index) or path
        if os.path.isfile(path):
            seed = task.result_seeds[index] if index < len(task.result_seeds) else ""
            images.append((path, f"Seed {seed}" if seed != "" else os.path.basename(path)))
        else:
            missing += 1
    reply = {
        "task": shown,
        "infotext": infotext(task),
        "images_total": len(task.result_images),
        "images_missing": missing,
    }
    return _dump(reply), images


# -- actions ---------------------------------------------------------------------------------


def _start(services: Services, _request: dict) -> str:
    services.executor.start()
    return "Queue started."


def _run_now(services: Services, _request: dict) -> str:
    services.executor.run_now()
    return "Running now, outside the schedule, until the next run window or Stop."


def _stop(services: Services, _request: dict) -> str:
    services.executor.stop()
    if services.executor.current() is not None:
        return "The queue stops after the current task."
    return "Queue stopped."


def _cancel(services: Services, request: dict) -> str:
    task = services.executor.cancel(_id(request))
    if task.status.value == "running":
        return "Cancelling the running task…"
    return "Task cancelled."


def _move(services: Services, request: dict) -> str:
    task_id = _id(request)
    queue = services.queue
    if "place" in request:
        return _move_to_place(queue, task_id, request["place"])
    if request.get("to") in MOVES:
        queue.move_task(task_id, to=request["to"])
    elif request.get("before"):
        queue.move_task(task_id, before=str(request["before"]))
    elif request.get("after"):
        anchor = str(request["after"])
        if anchor != task_id:
            place = queue.position(anchor)
            if place is None:
                raise CommandError("The task it was dropped on is no longer pending.")
            following = [t for t in queue.get_pending_tasks(2, place) if t.id != task_id]
            if following:
                queue.move_task(task_id, before=following[0].id)
            else:
                queue.move_task(task_id, to="bottom")
    else:
        raise CommandError("to: give top, bottom, up, down, or a task to move before/after")
    return "Task moved."


def _move_to_place(queue: Any, task_id: str, place: Any) -> str:
    """Move a pending task so that it runs at `place` (1 = next) of the run order: a drop on the
    list's page buttons (the last place of the previous page, the first of the next)."""
    if isinstance(place, bool) or not isinstance(place, int) or place < 1:
        raise CommandError("place: must be a whole number from 1")
    others = [other for other in queue.run_order() if other != task_id]
    if place > len(others):
        queue.move_task(task_id, to="bottom")
    else:
        queue.move_task(task_id, before=others[place - 1])
    final = queue.position(task_id)
    return f"Task moved to place {final if final is not None else place}."


def _retry(services: Services, request: dict) -> str:
    _require_room(services, 1)
    services.queue.retry_task(_id(request))
    return "Task queued again."


def _retry_failed(services: Services, _request: dict) -> str:
    _require_room(services, failed_to_retry(services.queue))
    count = len(services.queue.retry_failed())
    return f"{count} failed task{'s' if count != 1 else ''} queued again."


def _delete(services: Services, request: dict) -> str:
    services.queue.delete_task(_id(request))
    return "Task deleted."


def _clear(services: Services, request: dict) -> str:
    statuses = request.get("statuses") or ["completed"]
    if not isinstance(statuses, list):
        raise CommandError("statuses: must be a list")
    count = services.queue.clear_completed([str(s) for s in statuses])
    return f"{count} task{'s' if count != 1 else ''} cleared."


def _bookmark(services: Services, request: dict) -> str:
    services.queue.set_fields(_id(request), bookmarked=bool(request.get("value")))
    return "Bookmarked." if request.get("value") else "Bookmark removed."


def _edit(services: Services, request: dict) -> str:
    task = services.queue.require_task(_id(request))
    form = request.get("fields")
    if not isinstance(form, dict):
        raise CommandError("fields: must be an object")
    edits = editing.changed_edits(task, editing.parse_form(form))
    if not edits:
        return "Nothing changed."
    try:
        api_tasks.edit(services, task.id, edits)  # the same checks as the REST API's PATCH
    except FieldError as error:
        raise editing.EditError(str(error.loc[0]) if error.loc else "", error.message) from None
    return "Task saved."


_ACTIONS: dict[str, Callable[[Services, dict], Any]] = {
    "start": _start,
    "run_now": _run_now,
    "stop": _stop,
    "cancel": _cancel,
    "move": _move,
    "retry": _retry,
    "retry_failed": _retry_failed,
    "delete": _delete,
    "clear": _clear,
    "bookmark": _bookmark,
    "edit": _edit,
    **peer_actions.ACTIONS,
    **group_actions.ACTIONS,
}


# -- helpers ---------------------------------------------------------------------------------


def _load(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise CommandError("request: must be a JSON object")
    return data


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _id(request: dict) -> str:
    task_id = request.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise CommandError("id: a task id is required")
    return task_id


def _require_room(services: Services, adding: int) -> None:
    """CommandError (shown as the tab's error notice) past the "most pending tasks" setting."""
    try:
        room_check(services.queue, services.settings)(adding)
    except QueueFullError as error:
        raise CommandError(f"Nothing queued: {error}.") from None


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: must be an integer")
    if not -(2**62) < value < 2**62:  # SQLite integers are 64-bit
        raise ValueError(f"{name}: out of range")
    return value
