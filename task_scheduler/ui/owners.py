"""The Task Queue tab's side of owners and permissions (rules: core/permissions.py).

The user is Gradio's login (`gr.Request.username`, None without --gradio-auth). Every action
the browser asks for is checked here before it runs, whatever the page offered, so a forged
request gets the same refusal text as the REST API's 403. Rows and the task panel carry
`may_change`, and a task the user may not see (hidden prompts) shows only its owner, type,
size, status and place.
"""

from __future__ import annotations

from typing import Any

from ..core.permissions import Access
from ..core.services import Services

# action -> what it acts on: "task" (request "id"), "group" (request "group"), or the phrase
# naming a queue-wide action for its refusal ("start the queue"); None: anyone may.
ACTION_RULES: dict[str, str | None] = {
    "cancel": "task",
    "move": "task",
    "retry": "task",
    "delete": "task",
    "bookmark": "task",
    "edit": "task",
    "cancel_group": "group",
    "retry_group": "group",
    "delete_group": "group",
    "start": "start the queue",
    "stop": "stop the queue",
    "run_now": "run the queue now",
    "clear": "clear finished tasks",
    "retry_failed": "retry failed tasks",
    "peer_sources": "import tasks",
    "peer_import": "import tasks",
    "queue_checkpoints": None,  # the Queue button's menu: a list of names
}


def access(services: Services, user: str | None) -> Access:
    return Access.of(user, services.settings())


def check_action(services: Services, rights: Access, action: str, request: dict) -> None:
    """Refused (core/permissions.py) unless `rights` allow `action` on what it names. An id
    that names no task or group passes: the action itself then says it is gone."""
    rule = ACTION_RULES.get(action, "")
    if rule is None or rights.user is None:
        return
    if rule == "task":
        task = services.queue.get_task(str(request.get("id") or ""))
        if task is not None:
            rights.check_change(task.owner)
    elif rule == "group":
        try:
            tasks = services.queue.group_tasks(str(request.get("group") or ""))
        except LookupError:
            return
        rights.check_change_all(task.owner for task in tasks)
    else:
        rights.check_control(rule or "do this")


def status_access(rights: Access) -> dict[str, Any]:
    """What the page needs to offer only what the user may do (status payload `access`)."""
    return {
        "user": rights.user,
        "auth": rights.user is not None,  # the Mine / Everyone filter is shown only then
        "admin": rights.is_admin and rights.user is not None,
        "may_control": rights.may_control,
        "hide_prompts": rights.hide_prompts,
    }


def shown_row(data: dict[str, Any], owner: str | None, rights: Access) -> dict[str, Any]:
    """A list row (ui/views.row) as the user may see it, with owner and `may_change`."""
    data = {**data, "owner": owner, "may_change": rights.may_change(owner), "hidden": False}
    if rights.may_see(owner):
        return data
    return {
        **data,
        "name": "",
        "prompt": "",
        "checkpoint": "",
        "steps": None,
        "error": "",
        "warnings": 0,
        "problem": None,
        "hidden": True,
    }


def hidden_detail(data: dict[str, Any]) -> dict[str, Any]:
    """The task panel of a task the user may not see: its row, nothing more."""
    return {
        **data,
        "prompt": "",
        "negative_prompt": "",
        "extensions": [],
        "hires": {},
        "result_seeds": [],
        "warnings": [],
        "callback_url": "",
        "callback_status": "",
        "result_info": "",
        "cfg_scale": None,
        "sampler_name": None,
        "scheduler": None,
        "seed": None,
    }
