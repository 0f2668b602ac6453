"""Reading and steering the queue over HTTP: status codes mean what they say."""

from __future__ import annotations

import pytest

from tests.api.conftest import WAIT

BASE = "/task-scheduler"


def enqueue(api, prompt="p", **extra) -> str:
    response = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": prompt, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run_to_end(api, task_id: str, status: str = "completed") -> dict:
    api.client.post(f"{BASE}/start")
    task = api.wait_status(task_id, status)
    api.client.post(f"{BASE}/stop")
    return task


# -- GET /queue --------------------------------------------------------------------------------


def test_queue_reports_stopped_worker_counts_and_pending_in_run_order(app_api):
    ids = [enqueue(app_api, f"t{i}") for i in range(3)]
    app_api.client.post(f"{BASE}/tasks/{ids[2]}/move", json={"to": "top"})
    status = app_api.client.get(f"{BASE}/queue").json()
    assert status["worker"] == "stopped"
    assert status["running"] is None
    assert status["counts"]["pending"] == 3
    assert [t["id"] for t in status["pending"]["tasks"]] == [ids[2], ids[0], ids[1]]
    assert [t["queue_position"] for t in status["pending"]["tasks"]] == [1, 2, 3]


def test_queue_pending_list_is_paged(app_api):
    ids = [enqueue(app_api, f"t{i}") for i in range(5)]
    page = app_api.client.get(f"{BASE}/queue", params={"limit": 2, "offset": 2}).json()
    assert [t["id"] for t in page["pending"]["tasks"]] == ids[2:4]
    assert [t["queue_position"] for t in page["pending"]["tasks"]] == [3, 4]
    assert page["pending"]["total"] == 5


def test_queue_shows_running_task_with_progress(paused_api):
    api, host = paused_api
    task_id = enqueue(api, "slow")
    api.client.post(f"{BASE}/start")
    assert host.paused.wait(WAIT)
    status = api.client.get(f"{BASE}/queue").json()
    assert status["worker"] == "running"
    assert status["running"]["task"]["id"] == task_id
    progress = status["running"]["progress"]
    assert (progress["step"], progress["total_steps"]) == (1, 4)
    assert (progress["images_done"], progress["total_images"]) == (0, 2)
    assert progress["eta_seconds"] is not None
    assert status["counts"]["running"] == 1


# -- GET /tasks --------------------------------------------------------------------------------


def test_tasks_filter_by_status_with_total(app_api):
    done = enqueue(app_api, "done")
    run_to_end(app_api, done)
    for i in range(3):
        enqueue(app_api, f"waiting {i}")
    pending = app_api.client.get(f"{BASE}/tasks", params={"status": "pending"}).json()
    assert pending["total"] == 3
    assert {t["status"] for t in pending["tasks"]} == {"pending"}
    both = app_api.client.get(
        f"{BASE}/tasks", params=[("status", "pending"), ("status", "completed")]
    )
    assert both.json()["total"] == 4


def test_tasks_search_matches_prompt_and_name(app_api):
    enqueue(app_api, "a red fox")
    enqueue(app_api, "a blue whale", name="ocean")
    enqueue(app_api, "green hills")
    found = app_api.client.get(f"{BASE}/tasks", params={"search": "FOX"}).json()
    assert [t["summary"]["prompt"] for t in found["tasks"]] == ["a red fox"]
    assert app_api.client.get(f"{BASE}/tasks", params={"search": "ocean"}).json()["total"] == 1


def test_tasks_limit_and_offset_page_through_everything_once(app_api):
    ids = [enqueue(app_api, f"t{i}") for i in range(7)]
    seen = []
    for offset in range(0, 7, 3):
        page = app_api.client.get(f"{BASE}/tasks", params={"limit": 3, "offset": offset}).json()
        assert page["total"] == 7
        seen += [t["id"] for t in page["tasks"]]
    assert seen == ids


@pytest.mark.parametrize(
    "params",
    [{"status": "sleeping"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "x"}],
)
def test_tasks_bad_query_is_422_naming_the_parameter(app_api, params):
    response = app_api.client.get(f"{BASE}/tasks", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["query", next(iter(params))]


def test_get_task_returns_every_field_and_404_for_unknown(app_api):
    task_id = enqueue(app_api, "x", steps=5)
    task = app_api.client.get(f"{BASE}/tasks/{task_id}").json()
    assert task["params"]["payload"] == {"prompt": "x", "steps": 5}
    assert task["queue_position"] == 1
    missing = app_api.client.get(f"{BASE}/tasks/no-such-task")
    assert missing.status_code == 404
    assert "no-such-task" in missing.json()["detail"]


# -- PATCH -------------------------------------------------------------------------------------


def test_patch_edits_a_pending_task(app_api):
    task_id = enqueue(app_api, "old", steps=5)
    edits = {
        "prompt": "new",
        "negative_prompt": "ugly",
        "steps": 9,
        "seed": 7,
        "cfg_scale": 4.5,
        "width": 320,
        "height": 256,
        "sampler_name": "Euler a",
        "scheduler": "Karras",
        "checkpoint": "randA",
        "name": "renamed",
        "priority": -2,
    }
    response = app_api.client.patch(f"{BASE}/tasks/{task_id}", json=edits)
    assert response.status_code == 200
    task = response.json()
    payload = task["params"]["payload"]
    for key in ("prompt", "negative_prompt", "steps", "seed", "cfg_scale", "width", "height"):
        assert payload[key] == edits[key], key
    assert (payload["sampler_name"], payload["scheduler"]) == ("Euler a", "Karras")
    assert task["checkpoint"] == "randA.safetensors [0123456789]"
    assert (task["name"], task["priority"]) == ("renamed", -2)


def test_patch_edited_prompt_is_what_runs(app_api):
    task_id = enqueue(app_api, "before edit")
    app_api.client.patch(f"{BASE}/tasks/{task_id}", json={"prompt": "after edit"})
    assert run_to_end(app_api, task_id)["infotext"].startswith("after edit")


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"sampler_name": "Nope"}, "sampler_name"),
        ({"scheduler": "Nope"}, "scheduler"),
        ({"checkpoint": "nope"}, "checkpoint"),
        ({"steps": 0}, "steps"),
        ({"steps": "many"}, "steps"),
        ({"prompt": None}, "prompt"),
        ({"denoising_strength": 0.5}, "denoising_strength"),
        ({"callback_url": "javascript:alert(1)"}, "callback_url"),
        ({"priority": 10**9}, "priority"),
    ],
)
def test_patch_invalid_field_is_422_naming_it_and_task_unchanged(app_api, edits, field):
    task_id = enqueue(app_api, "keep", steps=5)
    response = app_api.client.patch(f"{BASE}/tasks/{task_id}", json={"prompt": "x", **edits})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    assert app_api.queue.get_task(task_id).params["payload"] == {"prompt": "keep", "steps": 5}


def test_patch_finished_task_is_409_naming_both_states(app_api):
    task_id = enqueue(app_api, "done")
    run_to_end(app_api, task_id)
    response = app_api.client.patch(f"{BASE}/tasks/{task_id}", json={"prompt": "late"})
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]
    assert "edited" in response.json()["detail"]


def test_patch_running_task_is_409(paused_api):
    api, host = paused_api
    task_id = enqueue(api, "busy")
    api.client.post(f"{BASE}/start")
    assert host.paused.wait(WAIT)
    response = api.client.patch(f"{BASE}/tasks/{task_id}", json={"steps": 3})
    assert response.status_code == 409
    assert "running" in response.json()["detail"]


def test_patch_unknown_task_is_404(app_api):
    assert app_api.client.patch(f"{BASE}/tasks/ghost", json={"steps": 3}).status_code == 404


# -- cancel, retry, move, delete ---------------------------------------------------------------


def test_cancel_pending_task(app_api):
    task_id = enqueue(app_api)
    response = app_api.client.post(f"{BASE}/queue/{task_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_cancel_interrupts_the_running_task(paused_api):
    api, host = paused_api
    task_id = enqueue(api, "long")
    api.client.post(f"{BASE}/start")
    assert host.paused.wait(WAIT)
    response = api.client.post(f"{BASE}/queue/{task_id}/cancel")
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    assert api.wait_status(task_id, "cancelled", "completed")["status"] == "cancelled"


def test_cancel_finished_task_is_409_and_unknown_is_404(app_api):
    task_id = enqueue(app_api)
    run_to_end(app_api, task_id)
    response = app_api.client.post(f"{BASE}/queue/{task_id}/cancel")
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]
    assert "cancelled" in response.json()["detail"]
    assert app_api.client.post(f"{BASE}/queue/ghost/cancel").status_code == 404


def test_retry_finished_task_makes_a_new_pending_task(app_api):
    task_id = enqueue(app_api, "FAIL please")
    run_to_end(app_api, task_id, "failed")
    response = app_api.client.post(f"{BASE}/tasks/{task_id}/retry")
    assert response.status_code == 201
    new = response.json()
    assert (new["status"], new["retried_from"]) == ("pending", task_id)
    assert new["id"] != task_id
    assert new["params"] == app_api.client.get(f"{BASE}/tasks/{task_id}").json()["params"]


def test_retry_pending_task_is_409_and_unknown_is_404(app_api):
    task_id = enqueue(app_api)
    response = app_api.client.post(f"{BASE}/tasks/{task_id}/retry")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]
    assert app_api.client.post(f"{BASE}/tasks/ghost/retry").status_code == 404


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ({"to": "top"}, "cabd"),
        ({"to": "bottom"}, "abdc"),
        ({"to": "up"}, "acbd"),
        ({"to": "down"}, "abdc"),
        ({"before": "a"}, "cabd"),
    ],
)
def test_move_changes_run_order(app_api, move, expected):
    ids = {name: enqueue(app_api, name) for name in "abcd"}
    if "before" in move:
        move = {"before": ids[move["before"]]}
    response = app_api.client.post(f"{BASE}/tasks/{ids['c']}/move", json=move)
    assert response.status_code == 200
    order = [
        t["summary"]["prompt"]
        for t in app_api.client.get(f"{BASE}/queue").json()["pending"]["tasks"]
    ]
    assert "".join(order) == expected


@pytest.mark.parametrize(
    "move",
    [{}, {"to": "top", "before": "x"}, {"to": "sideways"}, {"before": "ghost"}, {"extra": 1}],
)
def test_move_with_bad_body_is_422(app_api, move):
    task_id = enqueue(app_api)
    response = app_api.client.post(f"{BASE}/tasks/{task_id}/move", json=move)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_move_finished_task_is_409(app_api):
    task_id = enqueue(app_api)
    run_to_end(app_api, task_id)
    response = app_api.client.post(f"{BASE}/tasks/{task_id}/move", json={"to": "top"})
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]


def test_delete_task_then_404(app_api):
    task_id = enqueue(app_api)
    assert app_api.client.delete(f"{BASE}/tasks/{task_id}").status_code == 204
    assert app_api.client.get(f"{BASE}/tasks/{task_id}").status_code == 404
    assert app_api.client.delete(f"{BASE}/tasks/{task_id}").status_code == 404


def test_delete_running_task_is_409(paused_api):
    api, host = paused_api
    task_id = enqueue(api, "running")
    api.client.post(f"{BASE}/start")
    assert host.paused.wait(WAIT)
    response = api.client.delete(f"{BASE}/tasks/{task_id}")
    assert response.status_code == 409
    assert "running" in response.json()["detail"]


# -- start, stop, clear ------------------------------------------------------------------------


def test_start_runs_queue_and_stop_halts_after_current(paused_api):
    api, host = paused_api
    first, second = enqueue(api, "first"), enqueue(api, "second")
    assert api.client.post(f"{BASE}/start").json()["worker"] == "running"
    assert host.paused.wait(WAIT)
    assert api.client.post(f"{BASE}/stop").json()["worker"] == "stopped"
    host.release.set()
    api.wait_status(first, "completed")
    api.wait_for(lambda: api.services.executor.current() is None, "the worker to go idle")
    assert api.queue.get_task(second).status.value == "pending"


def test_clear_completed_deletes_only_completed_by_default(app_api):
    done, failed = enqueue(app_api, "ok"), enqueue(app_api, "FAIL")
    app_api.client.post(f"{BASE}/start")
    app_api.wait_status(done, "completed")
    app_api.wait_status(failed, "failed")
    response = app_api.client.post(f"{BASE}/clear-completed")
    assert response.json() == {"deleted": 1}
    assert app_api.queue.get_task(failed) is not None
    more = app_api.client.post(f"{BASE}/clear-completed", json={"statuses": ["failed"]})
    assert more.json() == {"deleted": 1}
    bad = app_api.client.post(f"{BASE}/clear-completed", json={"statuses": ["pending"]})
    assert bad.status_code == 422
