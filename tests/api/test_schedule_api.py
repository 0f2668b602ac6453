"""The schedule over HTTP (GET/PUT /schedule, POST /run-now), tasks for later (`run_after` on
enqueue and PATCH) and the run order with checkpoint affinity in GET /queue. A fake clock in
Berlin time: nothing sleeps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from task_scheduler.core import affinity

BASE = "/task-scheduler"
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api(make_api):
    under_test = make_api()
    under_test.clock = Clock(at("2026-12-01 21:48"))
    under_test.queue.clock = under_test.clock
    under_test.services.executor.schedule.zone = BERLIN
    return under_test


def enqueue(api, prompt="p", **extra) -> dict:
    response = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": prompt, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_without_a_schedule_nothing_waits_and_the_zone_is_named(api):
    reply = api.client.get(f"{BASE}/schedule").json()
    assert reply["windows"] == []
    assert reply["start_at"] is None
    assert not reply["waiting"]
    assert reply["time_zone"] == "Europe/Berlin (UTC+01:00)"
    assert reply["now"] == "2026-12-01T21:48+01:00"


def test_a_run_window_is_kept_and_the_queue_says_why_it_waits(api, make_api):
    put = api.client.put(f"{BASE}/schedule", json={"windows": [{"start": "01:00", "end": "07:00"}]})
    assert put.status_code == 200, put.text
    assert put.json()["windows"] == [{"start": "01:00", "end": "07:00"}]
    api.client.post(f"{BASE}/start")
    status = api.client.get(f"{BASE}/queue").json()["schedule"]
    assert status["waiting"]
    assert status["reason"] == "Waiting for the run window 01:00\u201307:00, starts in 3 h 12 min"
    assert status["opens_at"] == "2026-12-02T01:00+01:00"
    again = make_api(root=api.tmp_path)  # a restart: the schedule is in the database
    assert again.client.get(f"{BASE}/schedule").json()["windows"] == [
        {"start": "01:00", "end": "07:00"}
    ]


def test_a_start_time_without_offset_is_server_local_time(api):
    reply = api.client.put(f"{BASE}/schedule", json={"start_at": "2026-12-02T03:00"}).json()
    assert reply["start_at"] == "2026-12-02T03:00+01:00"
    assert reply["reason"] == "Waiting for the scheduled start at 2026-12-02 03:00, in 5 h 12 min"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"windows": [{"start": "25:00", "end": "07:00"}]}, "windows"),
        ({"start_at": "soon"}, "start_at"),
        ({"windows": [], "extra": 1}, "extra"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field_and_nothing_changes(api, body, field):
    reply = api.client.put(f"{BASE}/schedule", json=body)
    assert reply.status_code == 422
    assert field in reply.json()["detail"][0]["loc"]
    assert api.client.get(f"{BASE}/schedule").json()["windows"] == []


def test_run_now_anyway_runs_tasks_outside_the_window(api):
    api.client.put(f"{BASE}/schedule", json={"windows": [{"start": "01:00", "end": "07:00"}]})
    task = enqueue(api, "now please")
    reply = api.client.post(f"{BASE}/run-now")
    assert reply.status_code == 200
    assert reply.json()["worker"] == "running"
    assert api.wait_status(task["id"], "completed")["status"] == "completed"
    assert api.client.get(f"{BASE}/schedule").json()["run_anyway"]


def test_run_after_without_offset_is_local_time_and_patch_changes_it(api):
    later = enqueue(api, "later", run_after="2026-12-02T01:30")
    now = enqueue(api, "now")
    task = api.client.get(f"{BASE}/tasks/{later['id']}").json()
    assert task["run_after"] == at("2026-12-02 01:30")
    assert task["queue_position"] == 2
    assert now["position"] == 1
    patched = api.client.patch(f"{BASE}/tasks/{later['id']}", json={"run_after": None})
    assert patched.json()["run_after"] is None
    assert patched.json()["queue_position"] == 1  # both arrival order now: it came first
    zoned = api.client.patch(
        f"{BASE}/tasks/{later['id']}", json={"run_after": "2026-12-02T00:30:00Z"}
    )
    assert zoned.json()["run_after"] == at("2026-12-02 01:30")


def test_a_bad_run_after_is_refused_naming_the_field(api):
    reply = api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "x", "run_after": "soon"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "run_after"]
    assert api.queue.counts()["pending"] == 0


def test_get_queue_shows_the_order_affinity_will_follow(api):
    names = ["randA.safetensors", "randB.safetensors"]
    ids = [enqueue(api, f"t{i}", checkpoint=names[i % 2])["id"] for i in range(4)]
    api.host.loaded = affinity.loaded_key("randB.safetensors [abcdef0123]", [], None)
    pending = api.client.get(f"{BASE}/queue").json()["pending"]["tasks"]
    assert [t["id"] for t in pending] == [ids[1], ids[3], ids[0], ids[2]]
    assert [t["queue_position"] for t in pending] == [1, 2, 3, 4]
    assert api.client.get(f"{BASE}/tasks/{ids[3]}").json()["queue_position"] == 2
    api.client.post(f"{BASE}/start")
    for task_id in ids:
        api.wait_status(task_id, "completed")
    assert api.host.ran == [ids[1], ids[3], ids[0], ids[2]]
    assert api.host.loads == 1  # B was loaded already; A once
