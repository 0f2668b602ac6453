"""Malformed tasks: an import is type-checked before anything is stored, and a malformed row
already in the database is listed as broken (REST and the tab) and can be deleted; one bad
row never takes a listing down."""

from __future__ import annotations

import json
import sqlite3

import pytest

from task_scheduler.ui import commands

BASE = "/task-scheduler"


def ui_document(*tasks: tuple[dict, dict]) -> dict:
    return {
        "format": "sd-forge-task-scheduler",
        "version": 1,
        "tasks": [
            {"task_type": "txt2img", "params": params, "script_args": script_args}
            for params, script_args in tasks
        ],
    }


def good_ui_task(prompt: str = "a sound task") -> tuple[dict, dict]:
    params = {"source": "ui", "inputs": {"prompt": prompt, "width": 512, "height": 512}}
    params["top_bar"] = {}
    script_args = {
        "selected": None,
        "scripts": {"Sampler": [20, "Euler", "Automatic"], "Seed": [-1, False, -1, 0, 0, 0]},
    }
    return params, script_args


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda p, s: p["inputs"].update(prompt=5), ["params", "inputs", "prompt"]),
        (lambda p, s: p["inputs"].update(cfg_scale="high"), ["params", "inputs", "cfg_scale"]),
        (lambda p, s: p["inputs"].update(enable_hr="yes"), ["params", "inputs", "enable_hr"]),
        (lambda p, s: p.update(inputs=["prompt"]), ["params", "inputs"]),
        (lambda p, s: p.update(top_bar="x"), ["params", "top_bar"]),
        (lambda p, s: p.update(user=7), ["params", "user"]),
        (lambda p, s: s.update(selected=3), ["script_args", "selected"]),
        (lambda p, s: s.update(scripts=[1, 2]), ["script_args", "scripts"]),
        (lambda p, s: s["scripts"].update(Seed=7), ["script_args", "scripts", "Seed"]),
        (lambda p, s: s["scripts"]["Sampler"].__setitem__(0, "many"), [
            "script_args", "scripts", "Sampler", 0,
        ]),
        (lambda p, s: s["scripts"]["Seed"].__setitem__(0, [1]), [
            "script_args", "scripts", "Seed", 0,
        ]),
    ],
)  # fmt: skip
def test_import_of_a_badly_typed_ui_task_is_422_naming_task_and_field(app_api, change, loc):
    params, script_args = good_ui_task("the bad one")
    change(params, script_args)
    document = ui_document(good_ui_task(), (params, script_args))
    reply = app_api.client.post(f"{BASE}/import", json=document)
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["loc"] == ["body", "tasks", 1, *loc]
    assert app_api.queue.counts()["pending"] == 0  # not even the sound first task


def test_the_review_document_is_refused_and_listings_stay_up(app_api):
    """The reproduction from the review (prompt 5, Seed args 7): 422, nothing stored."""
    app_api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "innocent"})
    doc = {
        "tasks": [
            {
                "task_type": "txt2img",
                "params": {"source": "ui", "inputs": {"prompt": 5}},
                "script_args": {"scripts": {"Seed": 7}},
            }
        ]
    }
    reply = app_api.client.post(f"{BASE}/import", json=doc)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"][:3] == ["body", "tasks", 0]
    assert app_api.queue.counts()["pending"] == 1
    assert app_api.client.get(f"{BASE}/tasks").status_code == 200
    assert app_api.client.get(f"{BASE}/queue").status_code == 200


def test_sound_ui_tasks_still_import(app_api):
    reply = app_api.client.post(f"{BASE}/import", json=ui_document(good_ui_task()))
    assert reply.status_code == 201, reply.text
    assert reply.json()["tasks"][0]["problem"] is None


# -- a malformed row already stored ----------------------------------------------------------

DAMAGE = {
    "types": {
        "params": json.dumps({"source": "ui", "inputs": {"prompt": 5}}),
        "script_args": json.dumps({"scripts": {"Seed": 7}}),
    },
    "shapes": {"params": json.dumps([1, 2]), "script_args": json.dumps("text")},
    "not json": {"params": "{not json", "warnings": "[broken", "result_seeds": '["x"]'},
}


def damage_row(api, task_id: str, columns: dict[str, str]) -> None:
    """Write straight into the SQLite file, as an earlier version's faulty import did."""
    conn = sqlite3.connect(api.tmp_path / "tasks.sqlite3")
    try:
        with conn:
            assignments = ", ".join(f"{column} = ?" for column in columns)
            conn.execute(
                f"UPDATE tasks SET {assignments} WHERE id = ?", [*columns.values(), task_id]
            )
    finally:
        conn.close()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_malformed_stored_row_is_listed_as_broken_and_can_be_deleted(app_api, damage):
    client = app_api.client
    app_api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "before"}})
    bad = app_api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "bad"}})
    app_api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "after"}})
    damage_row(app_api, bad.id, DAMAGE[damage])

    listed = client.get(f"{BASE}/tasks")
    assert listed.status_code == 200, listed.text
    by_id = {task["id"]: task for task in listed.json()["tasks"]}
    assert len(by_id) == 3
    assert by_id[bad.id]["problem"]
    assert [t["problem"] for i, t in by_id.items() if i != bad.id] == [None, None]

    queue = client.get(f"{BASE}/queue")
    assert queue.status_code == 200, queue.text
    pending = queue.json()["pending"]["tasks"]
    assert [t["id"] for t in pending if t["problem"]] == [bad.id]

    one = client.get(f"{BASE}/tasks/{bad.id}")
    assert one.status_code == 200, one.text
    assert one.json()["problem"]
    assert client.patch(f"{BASE}/tasks/{bad.id}", json={"prompt": "fix"}).status_code == 422

    poll = json.loads(commands.poll(app_api.services, json.dumps({"force": True})))
    rows = {row["id"]: row for row in poll["list"]["rows"]}
    assert len(rows) == 3
    assert rows[bad.id]["problem"]
    assert rows[bad.id]["prompt"].startswith("Broken task:")
    opened, _images = commands.open_task(app_api.services, json.dumps({"id": bad.id}))
    assert json.loads(opened)["task"]["problem"]

    exported = client.get(f"{BASE}/export")  # the broken task is left out, the rest travel
    assert exported.status_code == 200, exported.text
    prompts = [t["params"]["payload"]["prompt"] for t in exported.json()["tasks"]]
    assert prompts == ["before", "after"]

    assert client.delete(f"{BASE}/tasks/{bad.id}").status_code == 204
    assert client.get(f"{BASE}/tasks/{bad.id}").status_code == 404
    assert client.get(f"{BASE}/tasks").json()["total"] == 2
