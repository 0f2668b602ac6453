"""Owners and permissions through the REST API: two users, an administrator, hidden prompts."""

from __future__ import annotations

from task_scheduler.core.services import Settings
from tests.api.conftest import USERS

BASE = "/task-scheduler"
ALICE = ("alice", USERS["alice"])
BOB = ("bob", USERS["bob"])
ROOT = ("root", "r00t")
CREDENTIALS = {**USERS, "root": ROOT[1]}


def queue_as(api, auth, prompt="a lighthouse", **extra) -> str:
    reply = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": prompt, **extra}, auth=auth)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_each_task_records_the_basic_user_who_queued_it(make_api):
    api = make_api(credentials=CREDENTIALS)
    task_id = queue_as(api, BOB)
    task = api.client.get(f"{BASE}/tasks/{task_id}", auth=ALICE).json()
    assert task["owner"] == "bob"
    assert task["may_change"] is False
    assert api.client.get(f"{BASE}/tasks/{task_id}", auth=BOB).json()["may_change"] is True


def test_another_users_task_cannot_be_changed_403_naming_its_owner(make_api):
    api = make_api(credentials=CREDENTIALS)
    task_id = queue_as(api, BOB)
    refusals = [
        api.client.patch(f"{BASE}/tasks/{task_id}", json={"steps": 5}, auth=ALICE),
        api.client.post(f"{BASE}/tasks/{task_id}/move", json={"to": "top"}, auth=ALICE),
        api.client.post(f"{BASE}/queue/{task_id}/cancel", auth=ALICE),
        api.client.delete(f"{BASE}/tasks/{task_id}", auth=ALICE),
    ]
    for reply in refusals:
        assert reply.status_code == 403, reply.text
        assert reply.json()["detail"] == "this task belongs to bob"
    task = api.queue.require_task(task_id)
    assert task.status.value == "pending"
    assert task.params["payload"].get("steps") is None
    api.client.post(f"{BASE}/queue/{task_id}/cancel", auth=BOB).raise_for_status()
    retry = api.client.post(f"{BASE}/tasks/{task_id}/retry", auth=ALICE)
    assert (retry.status_code, retry.json()["detail"]) == (403, "this task belongs to bob")
    retried = api.client.post(f"{BASE}/tasks/{task_id}/retry", auth=BOB)
    assert retried.status_code == 201
    assert retried.json()["owner"] == "bob"


def test_group_actions_are_refused_for_another_users_group(make_api):
    api = make_api(credentials=CREDENTIALS)
    body = {"prompt": "x", "checkpoints": ["randA", "randB"]}
    reply = api.client.post(f"{BASE}/queue/txt2img", json=body, auth=BOB)
    group_id = reply.json()["group_id"]
    for method, path in (
        ("POST", f"/groups/{group_id}/cancel"),
        ("POST", f"/groups/{group_id}/retry"),
        ("DELETE", f"/groups/{group_id}"),
    ):
        refused = api.client.request(method, BASE + path, auth=ALICE)
        assert (refused.status_code, refused.json()["detail"]) == (403, "this task belongs to bob")
    assert api.client.post(f"{BASE}/groups/{group_id}/cancel", auth=BOB).status_code == 200


def test_an_administrator_may_change_every_task_and_control_the_queue(make_api):
    api = make_api(credentials=CREDENTIALS, settings=Settings(queue_admins="root"))
    task_id = queue_as(api, BOB)
    assert api.client.get(f"{BASE}/tasks/{task_id}", auth=ROOT).json()["may_change"] is True
    moved = api.client.post(f"{BASE}/tasks/{task_id}/move", json={"to": "top"}, auth=ROOT)
    assert moved.status_code == 200
    assert api.client.post(f"{BASE}/start", auth=ROOT).status_code == 200
    api.wait_status(task_id, "completed")
    assert api.client.post(f"{BASE}/stop", auth=ROOT).status_code == 200


def test_queue_controls_are_for_administrators_once_some_are_named(make_api):
    api = make_api(credentials=CREDENTIALS, settings=Settings(queue_admins="root"))
    windows = {"windows": [{"start": "01:00", "end": "07:00"}]}
    for method, path, body, what in (
        ("POST", "/start", None, "start the queue"),
        ("POST", "/stop", None, "stop the queue"),
        ("POST", "/clear-completed", None, "clear finished tasks"),
        ("POST", "/run-now", None, "run the queue now"),
        ("PUT", "/schedule", windows, "change the schedule"),
        ("POST", "/import", {"format": "x", "tasks": []}, "import tasks"),
        ("GET", "/export", None, "export the queue"),
    ):
        reply = api.client.request(method, BASE + path, json=body, auth=ALICE)
        assert reply.status_code == 403, (path, reply.text)
        assert reply.json()["detail"] == f"only queue administrators may {what}"
    assert api.queue.worker_state == "stopped"


def test_without_administrators_everyone_controls_the_queue_and_unowned_tasks(make_api):
    api = make_api(credentials=CREDENTIALS)
    unowned = api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "old"}})
    assert api.client.post(f"{BASE}/start", auth=ALICE).status_code == 200
    api.wait_status(unowned.id, "completed")
    assert api.client.delete(f"{BASE}/tasks/{unowned.id}", auth=BOB).status_code == 204


def test_unowned_tasks_are_the_administrators_once_some_are_named(make_api):
    api = make_api(credentials=CREDENTIALS, settings=Settings(queue_admins="root"))
    unowned = api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "old"}})
    refused = api.client.delete(f"{BASE}/tasks/{unowned.id}", auth=ALICE)
    assert refused.status_code == 403
    assert "no owner; only queue administrators" in refused.json()["detail"]
    assert api.client.delete(f"{BASE}/tasks/{unowned.id}", auth=ROOT).status_code == 204


def test_hidden_prompts_show_others_tasks_as_owner_type_size_status_and_place(make_api):
    settings = Settings(queue_admins="root", hide_others_prompts=True)
    api = make_api(credentials=CREDENTIALS, settings=settings)
    secret = queue_as(api, BOB, prompt="bob's secret", name="surprise", width=640, height=384)
    own = queue_as(api, ALICE, prompt="alice's own")
    listing = api.client.get(f"{BASE}/tasks", auth=ALICE).json()
    assert "secret" not in str(listing)
    assert "surprise" not in str(listing)
    hidden = next(t for t in listing["tasks"] if t["id"] == secret)
    assert (hidden["owner"], hidden["hidden"], hidden["status"]) == ("bob", True, "pending")
    assert (hidden["summary"]["width"], hidden["summary"]["height"]) == (640, 384)
    assert hidden["queue_position"] == 1
    shown = next(t for t in listing["tasks"] if t["id"] == own)
    assert shown["summary"]["prompt"] == "alice's own"
    assert shown["hidden"] is False
    detail = api.client.get(f"{BASE}/tasks/{secret}", auth=ALICE).json()
    assert (detail["params"], detail["name"], detail["hidden"]) == (None, "", True)
    queue = api.client.get(f"{BASE}/queue", auth=ALICE).json()
    assert "secret" not in str(queue)
    # a search cannot probe others' prompts; the owner and administrators see everything
    assert api.client.get(f"{BASE}/tasks?search=secret", auth=ALICE).json()["total"] == 0
    assert api.client.get(f"{BASE}/tasks?search=secret", auth=ROOT).json()["total"] == 1
    assert "bob's secret" in str(api.client.get(f"{BASE}/tasks/{secret}", auth=BOB).json())
    assert "bob's secret" in str(api.client.get(f"{BASE}/tasks/{secret}", auth=ROOT).json())
    refused = api.client.get(f"{BASE}/export", auth=ALICE)
    assert refused.status_code == 403


def test_hidden_tasks_images_are_not_served_to_other_users(make_api):
    settings = Settings(hide_others_prompts=True)
    api = make_api(credentials=CREDENTIALS, settings=settings)
    task_id = queue_as(api, BOB)
    api.client.post(f"{BASE}/start", auth=BOB).raise_for_status()
    api.wait_status(task_id, "completed")
    assert api.client.get(f"{BASE}/tasks/{task_id}/images/0", auth=BOB).status_code == 200
    refused = api.client.get(f"{BASE}/tasks/{task_id}/images/0", auth=ALICE)
    assert refused.status_code == 403


def test_mine_and_owner_filter_the_listing(make_api):
    api = make_api(credentials=CREDENTIALS)
    queue_as(api, ALICE)
    queue_as(api, BOB)
    queue_as(api, BOB)
    mine = api.client.get(f"{BASE}/tasks?mine=true", auth=ALICE).json()
    assert [t["owner"] for t in mine["tasks"]] == ["alice"]
    assert mine["tasks"][0]["queue_position"] == 1
    bobs = api.client.get(f"{BASE}/tasks?owner=bob", auth=ALICE).json()
    assert bobs["total"] == 2
    assert [t["queue_position"] for t in bobs["tasks"]] == [2, 3]


def test_an_import_belongs_to_the_importer(make_api, tmp_path):
    source = make_api(root=tmp_path / "a", credentials=CREDENTIALS)
    queue_as(source, BOB)
    document = source.client.get(f"{BASE}/export", auth=BOB).json()
    target = make_api(root=tmp_path / "b", credentials=CREDENTIALS)
    imported = target.client.post(f"{BASE}/import", json=document, auth=ALICE)
    assert imported.status_code == 201, imported.text
    assert [t["owner"] for t in imported.json()["tasks"]] == ["alice"]


def test_without_auth_nothing_is_restricted_or_hidden(make_api):
    api = make_api(settings=Settings(queue_admins="root", hide_others_prompts=True))
    task_id = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "open"}).json()["id"]
    task = api.client.get(f"{BASE}/tasks/{task_id}").json()
    assert (task["owner"], task["hidden"], task["may_change"]) == (None, False, True)
    assert task["summary"]["prompt"] == "open"
    assert api.client.post(f"{BASE}/start").status_code == 200
    assert api.client.delete(f"{BASE}/tasks/{task_id}").status_code in (204, 409)
