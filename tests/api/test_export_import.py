"""Pending tasks move between Forges as JSON: exported with their images, imported all or none."""

from __future__ import annotations

import base64
import copy

import pytest

from task_scheduler.api.payload import restore_images
from task_scheduler.core.services import Settings
from tests.api.conftest import png_base64

BASE = "/task-scheduler"
# The tasks' callback receiver is on this machine: Forge's "Forbid URLs to local resources"
# is turned off, as the README says to do for a receiver on your own network.
LOCAL_CALLBACKS = Settings(forbid_local_requests=False)


@pytest.fixture
def two_forges(make_api, tmp_path):
    return (
        make_api(root=tmp_path / "here", settings=LOCAL_CALLBACKS),
        make_api(root=tmp_path / "there", settings=LOCAL_CALLBACKS),
    )


@pytest.fixture
def app_api(make_api):
    return make_api(settings=LOCAL_CALLBACKS)


def queue_some(api) -> dict[str, dict]:
    bodies = {
        "txt": {"prompt": "exported txt", "steps": 3, "checkpoint": "randA", "priority": 2},
        "img": {
            "prompt": "exported img",
            "init_images": [png_base64((5, 6, 7))],
            "mask": png_base64((255, 255, 255)),
            "alwayson_scripts": {"ControlNet": {"args": [{"image": png_base64((1, 1, 1))}]}},
            "name": "with images",
            "callback_url": "http://127.0.0.1:9/hook",
        },
    }
    api.client.post(f"{BASE}/queue/txt2img", json=bodies["txt"])
    api.client.post(f"{BASE}/queue/img2img", json=bodies["img"])
    return bodies


def test_export_lists_pending_tasks_in_run_order_with_their_images_embedded(app_api):
    queue_some(app_api)
    done = app_api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "not pending"})
    app_api.client.post(f"{BASE}/queue/{done.json()['id']}/cancel")
    document = app_api.client.get(f"{BASE}/export").json()
    assert [t["params"]["payload"]["prompt"] for t in document["tasks"]] == [
        "exported img",  # priority 0 runs before priority 2
        "exported txt",
    ]
    assert len(document["files"]) == 3
    for task in document["tasks"]:
        assert "base_url" not in task["params"]
        assert set(task["files"]) <= set(document["files"])


def test_exported_tasks_import_on_another_forge_unchanged(two_forges):
    here, there = two_forges
    bodies = queue_some(here)
    document = here.client.get(f"{BASE}/export").json()
    response = there.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 201
    imported = {t["name"]: t for t in response.json()["tasks"]}
    task = there.queue.get_task(imported["with images"]["id"])
    payload = restore_images(task.params["payload"], there.services.files, task.files)
    queue_fields = ("name", "callback_url")
    assert payload == {k: v for k, v in bodies["img"].items() if k not in queue_fields}
    assert task.callback_url == "http://127.0.0.1:9/hook"
    other = there.queue.get_task(imported[""]["id"])
    assert (other.checkpoint, other.priority) == ("randA.safetensors [0123456789]", 2)
    assert task.params["base_url"] == "http://testserver"


def test_imported_tasks_run(two_forges):
    here, there = two_forges
    queue_some(here)
    ids = [
        t["id"]
        for t in there.client.post(
            f"{BASE}/import", json=here.client.get(f"{BASE}/export").json()
        ).json()["tasks"]
    ]
    there.client.post(f"{BASE}/start")
    for task_id in ids:
        assert there.wait_status(task_id, "completed", "failed")["status"] == "completed"


def test_import_twice_shares_files_and_deleting_one_copy_keeps_them(two_forges):
    here, there = two_forges
    queue_some(here)
    document = here.client.get(f"{BASE}/export").json()
    first = there.client.post(f"{BASE}/import", json=document).json()["tasks"]
    second = there.client.post(f"{BASE}/import", json=document).json()["tasks"]
    with_images = [t for t in first + second if t["files"]]
    there.client.delete(f"{BASE}/tasks/{with_images[0]['id']}")
    for name in with_images[1]["files"]:
        assert there.services.files.exists(name)


def broken(document: dict, change) -> dict:
    document = copy.deepcopy(document)
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda d: d.update(format="something else"), ["body", "format"]),
        (lambda d: d.update(version=2), ["body", "version"]),
        (lambda d: d["tasks"][0].update(task_type="extras"), ["body", "tasks", 0, "task_type"]),
        (lambda d: d["tasks"][0].update(status="completed"), ["body", "tasks", 0, "status"]),
        (lambda d: d["tasks"][1].update(checkpoint="unknown"), ["body", "tasks", 1, "checkpoint"]),
        (
            lambda d: d["tasks"][1]["params"]["payload"].update(sampler_name="Bogus"),
            ["body", "tasks", 1, "params", "payload", "sampler_name"],
        ),
        (
            lambda d: d["tasks"][1]["params"]["payload"].update(steps="lots"),
            ["body", "tasks", 1, "params", "payload", "steps"],
        ),
        (lambda d: d["tasks"][1]["params"].update(source="pickle"), ["body", "tasks", 1, "params"]),
        (lambda d: d["tasks"][1].update(callback_url="file:///etc/passwd"), ["body", "tasks", 1]),
        (
            lambda d: d["files"].update({next(iter(d["files"])): "not base64!"}),
            ["body", "files"],
        ),
    ],
)
def test_invalid_import_is_422_naming_the_field_and_stores_nothing(two_forges, change, loc):
    here, there = two_forges
    queue_some(here)
    document = broken(here.client.get(f"{BASE}/export").json(), change)
    response = there.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc
    assert there.queue.counts()["pending"] == 0
    assert not any(there.services.files.exists(name) for name in document["files"])


def test_import_of_a_ui_task_checks_its_sampler(app_api):
    params = {"source": "ui", "inputs": {"prompt": "ui task"}}
    script_args = {"selected": None, "scripts": {"Sampler": [20, "Bogus", "Automatic"]}}
    document = {
        "format": "sd-forge-task-scheduler",
        "version": 1,
        "tasks": [{"task_type": "txt2img", "params": params, "script_args": script_args}],
    }
    response = app_api.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 422
    script_args["scripts"]["Sampler"][1] = "Euler"
    assert app_api.client.post(f"{BASE}/import", json=document).status_code == 201


def test_export_of_empty_queue_imports_as_nothing(two_forges):
    here, there = two_forges
    document = here.client.get(f"{BASE}/export").json()
    assert document["tasks"] == []
    response = there.client.post(f"{BASE}/import", json=document)
    assert (response.status_code, response.json()) == (201, {"tasks": []})


def test_file_content_round_trips_byte_for_byte(two_forges):
    here, there = two_forges
    queue_some(here)
    document = here.client.get(f"{BASE}/export").json()
    there.client.post(f"{BASE}/import", json=document)
    for name, data in document["files"].items():
        assert there.services.files.read(name) == base64.b64decode(data)


def queue_group(api, prompt: str) -> dict:
    body = {"prompt": prompt, "checkpoints": ["randA", "randB"]}
    response = api.client.post(f"{BASE}/queue/txt2img", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_exported_group_imports_as_a_new_group_with_its_tasks_linked(two_forges):
    here, there = two_forges
    first, second = queue_group(here, "first group"), queue_group(here, "second group")
    here.client.post(f"{BASE}/queue/txt2img", json={"prompt": "alone"})
    document = here.client.get(f"{BASE}/export").json()
    exported = {
        (t["params"]["payload"]["prompt"], t["checkpoint"]): t["group_id"]
        for t in document["tasks"]
    }
    assert sorted(exported.values(), key=str) == sorted(
        [first["group_id"]] * 2 + [second["group_id"]] * 2 + [None], key=str
    )

    response = there.client.post(f"{BASE}/import", json=document)

    assert response.status_code == 201
    imported = {}  # prompt -> ids of its imported tasks' groups, in document order
    for entry, task in zip(document["tasks"], response.json()["tasks"], strict=True):
        imported.setdefault(entry["params"]["payload"]["prompt"], []).append(task)
    groups = {prompt: {t["group_id"] for t in tasks} for prompt, tasks in imported.items()}
    assert groups["alone"] == {None}
    (first_copy,), (second_copy,) = groups["first group"], groups["second group"]
    assert first_copy != second_copy
    assert {first_copy, second_copy}.isdisjoint({first["group_id"], second["group_id"]})
    group = there.client.get(f"{BASE}/groups/{first_copy}").json()
    assert {t["id"] for t in group["tasks"]} == {t["id"] for t in imported["first group"]}
    assert group["counts"] == {"pending": 2}
    # the group acts as one: cancelling it cancels both imported tasks and nothing else
    assert there.client.post(f"{BASE}/groups/{first_copy}/cancel").status_code == 200
    statuses = {
        prompt: [there.client.get(f"{BASE}/tasks/{t['id']}").json()["status"] for t in tasks]
        for prompt, tasks in imported.items()
    }
    assert statuses == {
        "first group": ["cancelled", "cancelled"],
        "second group": ["pending", "pending"],
        "alone": ["pending"],
    }


def test_importing_a_group_on_its_own_forge_makes_another_group(app_api):
    original = queue_group(app_api, "twice")
    document = app_api.client.get(f"{BASE}/export").json()

    imported = app_api.client.post(f"{BASE}/import", json=document).json()["tasks"]

    copies = {t["group_id"] for t in imported}
    assert len(copies) == 1
    assert original["group_id"] not in copies
    assert len(app_api.client.get(f"{BASE}/groups/{original['group_id']}").json()["tasks"]) == 2
    assert len(app_api.client.get(f"{BASE}/groups/{copies.pop()}").json()["tasks"]) == 2


def test_group_ids_in_a_document_are_only_labels(app_api):
    document = app_api.client.get(f"{BASE}/export").json()
    task = {"task_type": "txt2img", "params": {"source": "api", "payload": {"prompt": "p"}}}
    document["tasks"] = [
        {**task, "group_id": "any label"},
        {**task, "group_id": "any label"},
        {**task, "group_id": "x" * 101},
    ]
    response = app_api.client.post(f"{BASE}/import", json=document)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "tasks", 2, "group_id"]

    document["tasks"].pop()
    imported = app_api.client.post(f"{BASE}/import", json=document).json()["tasks"]
    assert imported[0]["group_id"] == imported[1]["group_id"] != "any label"
