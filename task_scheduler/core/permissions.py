"""Who may change what in a shared queue, and what of another user's task is shown (issue 13).

Pure rules, free of HTTP and Gradio: the REST API and the Task Queue tab both ask these.

A request comes from a *user*: the Gradio login (`gr.Request.username`) for the tab and the
Queue button, the HTTP Basic user for the REST API, None where that channel has no auth. A
request without a user is never restricted: without auth everything stays as before owners.

With a user:
- a task may be changed (cancel, edit, move, delete, retry, bookmark, group actions) by its
  owner and by queue administrators; a task without an owner (queued before owners existed, or
  while auth was off) by administrators, or by everyone when no administrator is named;
- the queue itself (Start, Stop, Clear, Retry failed, Import, Run now, the schedule) is for
  administrators when some are named, for everyone otherwise;
- with "Hide other users' prompts" on, a task the user may not change shows only its owner,
  type, size, status and place (`hidden_view`); administrators see everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# What a hidden task's summary keeps: its size (width x height, images per batch and batches).
SIZE_FIELDS = ("width", "height", "batch_size", "n_iter")


class Refused(PermissionError):
    """The user may not do this. The message says why and is shown as it is (the API's 403,
    the tab's notice)."""


def parse_admins(text: str) -> frozenset[str]:
    """'alice, bob' -> {'alice', 'bob'} (blanks ignored; names compared exactly)."""
    return frozenset(name.strip() for name in (text or "").split(",") if name.strip())


@dataclass(frozen=True)
class Access:
    """One user's rights. `Access()` (no user) may do everything."""

    user: str | None = None
    admins: frozenset[str] = field(default_factory=frozenset)
    hide_prompts: bool = False

    @classmethod
    def of(cls, user: str | None, settings: Any) -> Access:
        """The rights of `user` under the settings (core.services.Settings)."""
        return cls(
            user=user or None,
            admins=parse_admins(getattr(settings, "queue_admins", "")),
            hide_prompts=bool(getattr(settings, "hide_others_prompts", False)),
        )

    @property
    def is_admin(self) -> bool:
        """May change every task and see every prompt (no user: auth is off)."""
        return self.user is None or self.user in self.admins

    @property
    def may_control(self) -> bool:
        """May start, stop, clear, retry failed, import, run now and set the schedule."""
        return self.is_admin or not self.admins

    def may_change(self, owner: str | None) -> bool:
        """May cancel, edit, move, delete, retry or bookmark a task of `owner`."""
        if self.is_admin:
            return True
        if owner is None:
            return not self.admins
        return owner == self.user

    def may_see(self, owner: str | None) -> bool:
        """May see the prompts, name, parameters and images of a task of `owner`."""
        return not self.hide_prompts or self.may_change(owner)

    def check_change(self, owner: str | None) -> None:
        """Refused unless the user may change a task of `owner`; the message names the owner."""
        if self.may_change(owner):
            return
        if owner is None:
            raise Refused("this task has no owner; only queue administrators may change it")
        raise Refused(f"this task belongs to {owner}")

    def check_change_all(self, owners: Iterable[str | None]) -> None:
        """check_change for each task of a group: the first one refused says why."""
        for owner in owners:
            self.check_change(owner)

    def check_control(self, what: str) -> None:
        """Refused unless the user may act on the whole queue; `what`: 'start the queue'."""
        if not self.may_control:
            raise Refused(f"only queue administrators may {what}")


def hidden_view(view: dict[str, Any]) -> dict[str, Any]:
    """An API task view (core/views.py) reduced to owner, type, size, status and place, for a
    user who may not see it: no prompt, name, parameters, images, infotext or error."""
    summary = view.get("summary") if isinstance(view.get("summary"), dict) else {}
    return {
        **view,
        "name": "",
        "checkpoint": "",
        "summary": {name: summary.get(name) for name in SIZE_FIELDS},
        "images": [],
        "infotext": "",
        "seeds": [],
        "error": None,
        "warnings": [],
        "callback_url": None,
        "callback_status": None,
        "files": [],
        "problem": None,
        "params": None,
        "script_args": None,
        "hidden": True,
    }


def shown(view: dict[str, Any], access: Access) -> dict[str, Any]:
    """An API task view as `access` may see it, with `may_change` for that user."""
    owner = view.get("owner")
    shaped = view if access.may_see(owner) else hidden_view(view)
    return {**shaped, "may_change": access.may_change(owner)}
