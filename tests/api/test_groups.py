"""One request, several checkpoints: the tasks form a group that is read, cancelled, retried
and deleted as a whole over HTTP, and each of its tasks still acts alone."""

from __future__ import annotations

import os

from task_scheduler.core.services import Settings
from tests.api.conftest import CATALOG, png_base64

BASE = "/task-scheduler"
RAND_A, RAND_B = CATALOG.checkpoints


def task(api, task_id: str) -> dict:
    return api.client.get(f"{BASE}/tasks/{task_id}").json()


def queue_group(api, checkpoints, task_type="txt2img", **body) -> dict:
    body = {"prompt": "a lighthouse", "seed": 7, **body, "checkpoints": checkpoints}
    response = api.client.post(f"{BASE}/queue/{task_type}", json=body)
    assert response.status_code == 201, response.text
    reply = response.json()
    assert response.headers["Location"] == f"{BASE}/groups/{reply['group_id']}"
    return reply


def test_checkpoints_queue_one_task_per_checkpoint_as_a_group(app_api):
    reply = queue_group(app_api, ["randB", "randA.safetensors"], name="both")
    assert [t["position"] for t in reply["tasks"]] == [1, 2]
    assert all(t["status"] == "pending" and t["task_type"] == "txt2img" for t in reply["tasks"])
    tasks = [task(app_api, t["id"]) for t in reply["tasks"]]
    assert [t["checkpoint"] for t in tasks] == [RAND_B, RAND_A]  # resolved, in the order given
    assert {t["group_id"] for t in tasks} == {reply["group_id"]}
    assert all(t["name"] == "both" for t in tasks)
    assert tasks[0]["params"] == tasks[1]["params"]  # the same settings, checkpoint apart
    assert "checkpoints" not in tasks[0]["params"]["payload"]

    group = app_api.client.get(f"{BASE}/groups/{reply['group_id']}").json()
    assert [t["id"] for t in group["tasks"]] == [t["id"] for t in reply["tasks"]]
    assert group["counts"] == {"pending": 2}
    assert [t["queue_position"] for t in group["tasks"]] == [1, 2]


def test_a_single_checkpoint_task_answers_as_before_without_a_group(app_api):
    response = app_api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "p"})
    assert response.status_code == 201
    assert set(response.json()) == {"id", "status", "task_type", "position"}
    assert task(app_api, response.json()["id"])["group_id"] is None


def test_bad_checkpoint_lists_are_refused_naming_the_field_and_store_nothing(app_api):
    cases = [
        ({"checkpoints": ["randA", "nope"]}, ["body", "checkpoints", 1]),
        ({"checkpoints": ["randA", "randA.safetensors"]}, ["body", "checkpoints", 1]),
        ({"checkpoints": []}, ["body", "checkpoints"]),
        ({"checkpoints": ["randA"], "checkpoint": "randB"}, ["body", "checkpoints"]),
        (
            {"checkpoints": ["randA"], "override_settings": {"sd_model_checkpoint": "randB"}},
            ["body", "override_settings", "sd_model_checkpoint"],
        ),
    ]
    for extra, loc in cases:
        response = app_api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "p", **extra})
        assert response.status_code == 422, (extra, response.text)
        assert response.json()["detail"][0]["loc"] == loc, extra
    assert app_api.queue.counts()["pending"] == 0


def test_a_group_that_does_not_fit_the_pending_limit_is_refused_whole(make_api):
    api = make_api(settings=Settings(max_pending=3))
    api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "p"})
    api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "p"})
    response = api.client.post(
        f"{BASE}/queue/txt2img", json={"prompt": "p", "checkpoints": ["randA", "randB"]}
    )
    assert response.status_code == 429
    assert api.queue.counts()["pending"] == 2


def test_img2img_group_shares_one_input_file_which_goes_with_the_group(app_api):
    reply = queue_group(app_api, ["randA", "randB"], "img2img", init_images=[png_base64()])
    tasks = [task(app_api, t["id"]) for t in reply["tasks"]]
    assert tasks[0]["files"] == tasks[1]["files"]
    assert len(tasks[0]["files"]) == 1
    path = app_api.tmp_path / "inputs" / tasks[0]["files"][0]
    assert path.is_file()
    assert app_api.client.delete(f"{BASE}/groups/{reply['group_id']}").status_code == 204
    assert not os.path.exists(path)
    assert app_api.client.get(f"{BASE}/groups/{reply['group_id']}").status_code == 404
    assert app_api.client.get(f"{BASE}/tasks/{tasks[0]['id']}").status_code == 404


def test_the_worker_runs_each_task_of_a_group_on_its_checkpoint(app_api):
    reply = queue_group(app_api, ["randA", "randB"])
    app_api.client.post(f"{BASE}/start")
    done = [app_api.wait_status(t["id"], "completed") for t in reply["tasks"]]
    assert [t["infotext"].rsplit("Model: ", 1)[1] for t in done] == [RAND_A, RAND_B]


def test_cancel_group_cancels_pending_tasks_and_interrupts_the_running_one(paused_api):
    api, host = paused_api
    reply = queue_group(api, ["randA", "randB"])
    first, second = (t["id"] for t in reply["tasks"])
    api.client.post(f"{BASE}/start")
    api.wait_status(first, "running")
    assert host.paused.wait(30)
    response = api.client.post(f"{BASE}/groups/{reply['group_id']}/cancel")
    assert response.status_code == 200
    assert {t["id"]: t["status"] for t in response.json()["tasks"]}[second] == "cancelled"
    assert api.wait_status(first, "cancelled")["status"] == "cancelled"
    again = api.client.post(f"{BASE}/groups/{reply['group_id']}/cancel")
    assert again.status_code == 409
    assert "nothing" in again.json()["detail"] or "no pending" in again.json()["detail"]


def test_retry_group_queues_failed_and_cancelled_tasks_again_in_the_group(app_api):
    reply = queue_group(app_api, ["randA", "randB"], prompt="FAIL on purpose")
    group_id = reply["group_id"]
    ids = [t["id"] for t in reply["tasks"]]
    app_api.client.post(f"{BASE}/queue/{ids[1]}/cancel")  # still pending: cancelled at once
    app_api.client.post(f"{BASE}/start")
    app_api.wait_status(ids[0], "failed")
    app_api.client.post(f"{BASE}/stop")

    response = app_api.client.post(f"{BASE}/groups/{group_id}/retry")
    assert response.status_code == 201, response.text
    group = response.json()
    new = [t for t in group["tasks"] if t["retried_from"]]
    assert sorted(t["retried_from"] for t in new) == sorted(ids)
    assert all(t["status"] == "pending" and t["group_id"] == group_id for t in new)
    assert group["counts"] == {"failed": 1, "cancelled": 1, "pending": 2}
    assert {t["checkpoint"] for t in new} == {RAND_A, RAND_B}
    # each finished task is retried once: nothing is left to retry now
    assert app_api.client.post(f"{BASE}/groups/{group_id}/retry").status_code == 409


def test_a_task_of_a_group_is_still_cancelled_retried_and_deleted_alone(app_api):
    reply = queue_group(app_api, ["randA", "randB"])
    group_id = reply["group_id"]
    first, second = (t["id"] for t in reply["tasks"])
    assert app_api.client.post(f"{BASE}/queue/{first}/cancel").json()["status"] == "cancelled"
    assert task(app_api, second)["status"] == "pending"
    retried = app_api.client.post(f"{BASE}/tasks/{first}/retry").json()
    assert retried["group_id"] == group_id  # a task retried alone stays in its group
    assert app_api.client.delete(f"{BASE}/tasks/{first}").status_code == 204
    group = app_api.client.get(f"{BASE}/groups/{group_id}").json()
    assert sorted(t["id"] for t in group["tasks"]) == sorted([second, retried["id"]])


def test_delete_group_is_refused_while_one_of_its_tasks_runs(paused_api):
    api, host = paused_api
    reply = queue_group(api, ["randA", "randB"])
    first = reply["tasks"][0]["id"]
    api.client.post(f"{BASE}/start")
    assert host.paused.wait(30)
    response = api.client.delete(f"{BASE}/groups/{reply['group_id']}")
    assert response.status_code == 409
    assert "running" in response.json()["detail"]
    assert len(api.client.get(f"{BASE}/groups/{reply['group_id']}").json()["tasks"]) == 2
    api.client.post(f"{BASE}/stop")
    host.release.set()
    api.wait_status(first, "completed")
    assert api.client.delete(f"{BASE}/groups/{reply['group_id']}").status_code == 204


def test_unknown_groups_answer_404(app_api):
    for method, path in [
        ("get", "/groups/nope"),
        ("post", "/groups/nope/cancel"),
        ("post", "/groups/nope/retry"),
        ("delete", "/groups/nope"),
    ]:
        response = getattr(app_api.client, method)(f"{BASE}{path}")
        assert response.status_code == 404, (method, path)
