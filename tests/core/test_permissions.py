"""The owners-and-permissions rules (core/permissions.py) against a table."""

from __future__ import annotations

import pytest

from task_scheduler.core.permissions import Access, Refused, hidden_view, parse_admins, shown
from task_scheduler.core.services import Settings

NOBODY = frozenset()
ADMINS = frozenset({"root"})

# user, admins, task owner -> may change that task
CHANGE_TABLE = [
    (None, NOBODY, "alice", True),  # no auth on this channel: as before owners
    (None, ADMINS, None, True),
    ("alice", NOBODY, "alice", True),  # own task
    ("alice", NOBODY, "bob", False),  # someone else's
    ("alice", NOBODY, None, True),  # no owner, no administrators: everyone's
    ("alice", ADMINS, "alice", True),
    ("alice", ADMINS, "bob", False),
    ("alice", ADMINS, None, False),  # no owner, administrators named: theirs
    ("root", ADMINS, "bob", True),  # an administrator changes every task
    ("root", ADMINS, None, True),
]


@pytest.mark.parametrize(("user", "admins", "owner", "allowed"), CHANGE_TABLE)
def test_who_may_change_a_task(user, admins, owner, allowed):
    access = Access(user=user, admins=admins)
    assert access.may_change(owner) is allowed
    if allowed:
        access.check_change(owner)
    else:
        with pytest.raises(Refused):
            access.check_change(owner)


# user, admins -> may start / stop / clear / retry failed / import / run now / schedule
CONTROL_TABLE = [
    (None, NOBODY, True),
    (None, ADMINS, True),
    ("alice", NOBODY, True),  # no administrators named: everyone, as before owners
    ("alice", ADMINS, False),
    ("root", ADMINS, True),
]


@pytest.mark.parametrize(("user", "admins", "allowed"), CONTROL_TABLE)
def test_who_may_control_the_queue(user, admins, allowed):
    access = Access(user=user, admins=admins)
    assert access.may_control is allowed
    if not allowed:
        with pytest.raises(Refused, match="only queue administrators may start the queue"):
            access.check_control("start the queue")


# user, admins, hide setting, owner -> sees the task's prompts
SEE_TABLE = [
    ("alice", NOBODY, False, "bob", True),  # setting off: everyone sees everything
    ("alice", NOBODY, True, "bob", False),
    ("alice", NOBODY, True, "alice", True),
    ("alice", NOBODY, True, None, True),  # everyone's task
    ("alice", ADMINS, True, None, False),
    ("root", ADMINS, True, "bob", True),  # administrators see everything
    (None, NOBODY, True, "bob", True),  # no auth: nothing hidden
]


@pytest.mark.parametrize(("user", "admins", "hide", "owner", "visible"), SEE_TABLE)
def test_who_sees_a_tasks_prompts(user, admins, hide, owner, visible):
    assert Access(user=user, admins=admins, hide_prompts=hide).may_see(owner) is visible


def test_refusals_name_the_owner_or_say_the_task_has_none():
    with pytest.raises(Refused, match="^this task belongs to bob$"):
        Access(user="alice").check_change("bob")
    with pytest.raises(Refused, match="no owner; only queue administrators"):
        Access(user="alice", admins=ADMINS).check_change(None)
    with pytest.raises(Refused, match="belongs to bob"):
        Access(user="alice").check_change_all(["alice", "bob"])


def test_access_reads_the_settings():
    settings = Settings(queue_admins=" root , ,carol", hide_others_prompts=True)
    access = Access.of("alice", settings)
    assert access.admins == {"root", "carol"}
    assert access.hide_prompts
    assert Access.of("", settings).user is None  # Gradio's username is "" without a login
    assert parse_admins("") == frozenset()


def test_a_hidden_view_keeps_owner_type_size_status_and_place_only():
    view = {
        "id": "t1",
        "owner": "bob",
        "task_type": "txt2img",
        "status": "pending",
        "queue_position": 3,
        "name": "secret name",
        "checkpoint": "model.safetensors",
        "summary": {"prompt": "secret", "width": 512, "height": 768, "steps": 20},
        "images": ["/x"],
        "infotext": "secret, Steps: 20",
        "params": {"payload": {"prompt": "secret"}},
        "script_args": {},
        "error": "secret",
        "callback_url": "https://x",
    }
    hidden = hidden_view(view)
    assert "secret" not in repr(hidden)
    assert (hidden["summary"]["width"], hidden["summary"]["height"]) == (512, 768)
    kept = (hidden["owner"], hidden["task_type"], hidden["status"], hidden["queue_position"])
    assert kept == ("bob", "txt2img", "pending", 3)
    assert hidden["hidden"] is True
    seen_by_alice = shown(view, Access(user="alice", hide_prompts=True))
    assert (seen_by_alice["may_change"], seen_by_alice["hidden"]) == (False, True)
    assert shown(view, Access(user="bob", hide_prompts=True))["name"] == "secret name"
