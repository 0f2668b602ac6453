"""GET/POST /task-scheduler/import/peer through the real app, with real peer database files."""

from __future__ import annotations

import os

import pytest

from task_scheduler.peers.sources import find_sources
from tests import peer_dbs as peers

URL = "/task-scheduler/import/peer"


@pytest.fixture
def peer_api(make_api, tmp_path):
    extensions = tmp_path / "extensions"
    extensions.mkdir()
    under_test = make_api()
    under_test.services.catalog = peers.peer_catalog
    under_test.services.find_peers = lambda: find_sources([str(extensions)])
    return under_test, extensions


def test_detected_sources_are_listed_with_counts_and_no_paths(peer_api, tmp_path):
    api, extensions = peer_api
    assert api.client.get(URL).json() == {"sources": []}
    peers.make_sachira_db(
        str(extensions / "sd-webui-forge-task-scheduler"),
        [peers.sachira_row(), peers.sachira_finished("completed", [])],
    )
    peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"), [peers.agent_ui_txt2img_row()]
    )

    reply = api.client.get(URL)

    assert reply.status_code == 200
    sources = {s["kind"]: s for s in reply.json()["sources"]}
    assert sources["forge-task-scheduler"]["folder"] == "sd-webui-forge-task-scheduler"
    assert (
        sources["forge-task-scheduler"]["pending"],
        sources["forge-task-scheduler"]["history"],
    ) == (1, 1)
    assert (sources["agent-scheduler"]["pending"], sources["agent-scheduler"]["history"]) == (1, 0)
    assert str(tmp_path) not in reply.text


def test_a_detected_source_is_imported_once_with_a_report(peer_api):
    api, extensions = peer_api
    init = peers.sachira_init_image(str(extensions / "sd-webui-forge-task-scheduler"))
    good = peers.sachira_row(name="fox")
    img = peers.sachira_row("img2img", params={"init_images": [init]})
    broken = {**peers.sachira_row(), "params": "{oops"}
    done = peers.sachira_finished("completed", ["outputs/x.png"])
    peers.make_sachira_db(
        str(extensions / "sd-webui-forge-task-scheduler"), [good, img, broken, done]
    )
    (source,) = api.client.get(URL).json()["sources"]

    reply = api.client.post(URL, json={"source": source["id"]})
    again = api.client.post(URL, json={"source": source["id"], "include_history": True})

    assert reply.status_code == 201
    report = reply.json()
    assert (report["imported"], report["imported_pending"], report["skipped"]) == (2, 2, 1)
    rows = {row["source_id"]: row for row in report["rows"]}
    assert rows[broken["id"]] == {
        "source_id": broken["id"],
        "outcome": "skipped",
        "label": "",
        "task_id": None,
        "status": None,
        "reason": "params: not valid JSON",
        "warnings": [],
    }
    task = api.client.get(f"/task-scheduler/tasks/{rows[good['id']]['task_id']}").json()
    assert (task["name"], task["status"]) == ("fox", "pending")
    assert again.status_code == 201
    assert (again.json()["imported"], again.json()["already_imported"]) == (1, 2)
    history = [r for r in again.json()["rows"] if r["outcome"] == "imported"]
    assert [(r["source_id"], r["status"]) for r in history] == [(done["id"], "completed")]
    listed = api.client.get("/task-scheduler/tasks", params={"status": "pending"}).json()
    assert listed["total"] == 2


def test_an_imported_task_runs_and_its_image_is_served(peer_api):
    api, extensions = peer_api
    peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"),
        [peers.agent_api_txt2img_row(args={"steps": 2, "seed": 31})],
    )
    (source,) = api.client.get(URL).json()["sources"]
    (row,) = api.client.post(URL, json={"source": source["id"]}).json()["rows"]

    assert api.client.post("/task-scheduler/start").status_code == 200
    api.wait_status(row["task_id"], "completed")

    image = api.client.get(f"/task-scheduler/tasks/{row['task_id']}/images/0")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "source"),
        ({"source": ""}, "source"),
        ({"source": "x", "include_history": "maybe"}, "include_history"),
        ({"source": "x", "path": "/etc/passwd"}, "path"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(peer_api, body, field):
    api, _ = peer_api
    reply = api.client.post(URL, json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", field]


def test_only_detected_sources_can_be_imported(peer_api, tmp_path):
    api, extensions = peer_api
    elsewhere = peers.make_agent_db(str(tmp_path / "elsewhere"), [peers.agent_ui_txt2img_row()])
    for source in (
        "agent-scheduler-000000000000",
        elsewhere,
        "../elsewhere/task_scheduler.sqlite3",
    ):
        reply = api.client.post(URL, json={"source": source})
        assert reply.status_code == 404
    assert api.queue.get_pending_tasks() == []


def test_a_source_that_vanished_after_listing_answers_409(peer_api):
    api, extensions = peer_api
    path = peers.make_agent_db(
        str(extensions / "sd-webui-agent-scheduler"), [peers.agent_ui_txt2img_row()]
    )
    (source,) = api.client.get(URL).json()["sources"]
    listed = api.services.find_peers()
    os.remove(path)
    api.services.find_peers = lambda: listed  # the server's list is older than the file

    reply = api.client.post(URL, json={"source": source["id"]})

    assert reply.status_code == 409
    assert "no such file" in reply.json()["detail"]
    assert api.queue.get_pending_tasks() == []


def test_an_import_past_the_most_pending_tasks_setting_is_429_and_stores_nothing(
    make_api, tmp_path
):
    from task_scheduler.core.services import Settings

    extensions = tmp_path / "extensions"
    api = make_api(settings=Settings(max_pending=2))
    api.services.catalog = peers.peer_catalog
    api.services.find_peers = lambda: find_sources([str(extensions)])
    rows = [peers.sachira_row(), peers.sachira_row(), peers.sachira_finished("failed", [])]
    peers.make_sachira_db(str(extensions / "sd-webui-forge-task-scheduler"), rows)
    api.queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "already here"}})
    (source,) = api.client.get(URL).json()["sources"]

    reply = api.client.post(URL, json={"source": source["id"], "include_history": True})

    assert reply.status_code == 429
    assert "at most 2" in reply.json()["detail"]
    assert api.queue.counts()["pending"] == 1
    assert api.queue.imported_keys("") == {}
