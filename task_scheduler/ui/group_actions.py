"""The tab's actions on groups of tasks, and the checkpoint list of the Queue button's menu.

Groups come from "Queue on several checkpoints" (the Queue button's menu) or from the REST
API's `checkpoints`. As everywhere in the tab, the browser names a group by its id only.
"""

from __future__ import annotations

from typing import Any

from ..api.limits import QueueFullError
from ..core.queue_groups import GroupNotFoundError, GroupStateError
from ..core.queue_room import group_retry_count, room_check
from ..core.services import Services


class GroupActionError(ValueError):
    """Shown to the user as the action's error."""


def checkpoints(services: Services, _request: dict) -> dict[str, Any]:
    """Forge's checkpoints, for "Queue on several checkpoints…" beside the Queue button."""
    names = list(services.catalog().checkpoints)
    return {"message": f"{len(names)} checkpoints.", "checkpoints": names}


def cancel_group(services: Services, request: dict) -> str:
    tasks = _act(lambda group: services.queue.cancel_group(group), request)
    running = sum(1 for task in tasks if task.status.value == "running")
    return "Group cancelled." if not running else "Group cancelled; stopping its running task…"


def retry_group(services: Services, request: dict) -> str:
    def retry(group: str) -> list:
        room_check(services.queue, services.settings)(group_retry_count(services.queue, group))
        return services.queue.retry_group(group)

    new = _act(retry, request)
    return f"{len(new)} task{'s' if len(new) != 1 else ''} of the group queued again."


def delete_group(services: Services, request: dict) -> str:
    count = _act(lambda group: services.queue.delete_group(group), request)
    return f"Group deleted ({count} task{'s' if count != 1 else ''})."


def _act(action, request: dict):
    group_id = request.get("group")
    if not isinstance(group_id, str) or not group_id:
        raise GroupActionError("group: a group id is required")
    try:
        return action(group_id)
    except GroupNotFoundError:
        raise GroupActionError("That group no longer exists.") from None
    except GroupStateError as error:
        raise GroupActionError(f"The group {error.reason}.") from None
    except QueueFullError as error:
        raise GroupActionError(f"Nothing queued: {error}.") from None


ACTIONS = {
    "queue_checkpoints": checkpoints,
    "cancel_group": cancel_group,
    "retry_group": retry_group,
    "delete_group": delete_group,
}
