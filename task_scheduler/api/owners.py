"""The REST API's side of owners and permissions (rules: core/permissions.py).

The user is the HTTP Basic user the router's auth accepted (api/auth.py puts it on the
request); without credentials configured there is none and nothing is restricted. Route
dependencies refuse a change with 403 naming why ("this task belongs to alice"); `shaped`
turns every task view of a reply into what the user may see, with `may_change`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Request

from ..core.permissions import Access, Refused, shown
from ..core.services import Services
from .auth import request_user

REFUSED = {403: {"description": "The user may not do this (another user's task, or "
                 "queue administrators only); `detail` says why."}}  # fmt: skip


def access(request: Request, services: Services) -> Access:
    """The rights of the user who sent `request`."""
    return Access.of(request_user(request), services.settings())


def refused(error: Refused) -> HTTPException:
    return HTTPException(403, str(error))


def own_task(services: Services) -> Any:
    """A route dependency: 403 unless the user may change the task `{task_id}` (an unknown
    task passes: the route answers 404)."""

    def check(task_id: str, request: Request) -> None:
        task = services.queue.get_task(task_id)
        if task is not None:
            try:
                access(request, services).check_change(task.owner)
            except Refused as error:
                raise refused(error) from None

    return Depends(check)


def own_group(services: Services) -> Any:
    """A route dependency: 403 unless the user may change every task of `{group_id}`."""

    def check(group_id: str, request: Request) -> None:
        try:
            tasks = services.queue.group_tasks(group_id)
        except LookupError:
            return  # the route answers 404
        try:
            access(request, services).check_change_all(task.owner for task in tasks)
        except Refused as error:
            raise refused(error) from None

    return Depends(check)


def control(services: Services, what: str) -> Any:
    """A route dependency: 403 unless the user may act on the whole queue (`what`: 'start
    the queue')."""

    def check(request: Request) -> None:
        try:
            access(request, services).check_control(what)
        except Refused as error:
            raise refused(error) from None

    return Depends(check)


def exporter(services: Services) -> Any:
    """A route dependency for the export: the whole queue's prompts, so 403 for a user who may
    not control the queue or, with hidden prompts, may not see every task."""

    def check(request: Request) -> None:
        rights = access(request, services)
        try:
            rights.check_control("export the queue")
            if rights.hide_prompts and not rights.is_admin:
                raise Refused("other users' prompts are hidden; only queue administrators may "
                              "export the queue")  # fmt: skip
        except Refused as error:
            raise refused(error) from None

    return Depends(check)


def shaped(reply: Any, request: Request, services: Services) -> Any:
    """`reply` with each task view in it as the user may see it (core/permissions.shown)."""
    rights = access(request, services)
    return _shape(reply, rights)


def _shape(value: Any, rights: Access) -> Any:
    if isinstance(value, list):
        return [_shape(item, rights) for item in value]
    if not isinstance(value, dict):
        return value
    if "task_type" in value and "owner" in value and "id" in value:  # a task view
        return shown(value, rights)
    return {key: _shape(item, rights) for key, item in value.items()}
