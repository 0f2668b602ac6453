"""Several instances in the REST API and the tab (issue 12): which instance ran a task, the live
instances, and why a task no live instance can run waits."""

from __future__ import annotations

from task_scheduler.core.can_run import Capabilities
from task_scheduler.core.queue_manager import QueueManager
from task_scheduler.ui import status_view as tab_status

BASE = "/task-scheduler"


def test_a_finished_task_names_the_instance_that_ran_it(app_api):
    app_api.queue.instance.name = "gpu0"
    reply = app_api.client.post(f"{BASE}/queue/txt2img", json={"prompt": "p"})
    task_id = reply.json()["id"]
    assert reply.status_code == 201
    assert app_api.client.get(f"{BASE}/tasks/{task_id}").json()["instance"] is None
    app_api.client.post(f"{BASE}/start")
    task = app_api.wait_status(task_id, "completed")
    assert task["instance"] == "gpu0"
    listed = app_api.client.get(f"{BASE}/tasks", params={"status": "completed"}).json()
    assert [t["instance"] for t in listed["tasks"]] == ["gpu0"]


def test_the_queue_lists_live_instances_and_a_task_none_of_them_can_run_says_why(app_api):
    queue = app_api.queue
    queue.instance.name = "gpu0"
    queue.instance.capabilities = Capabilities.of(checkpoints=["randA.safetensors"])
    queue.instance.beat()
    other = QueueManager(queue.store.path, recover=False)
    other.instance.name = "gpu1"
    other.instance.capabilities = Capabilities.of(checkpoints=["randB.safetensors"])
    other.instance.beat()
    reply = app_api.client.post(
        f"{BASE}/queue/txt2img", json={"prompt": "p", "checkpoint": "randA.safetensors"}
    )
    runnable = reply.json()["id"]
    queue.add_task("txt2img", {"source": "api", "payload": {"prompt": "q"}}, checkpoint="randC")
    status = app_api.client.get(f"{BASE}/queue").json()
    assert status["instance"] == "gpu0"
    assert [(i["name"], i["this"]) for i in status["instances"]] == [
        ("gpu0", True),
        ("gpu1", False),
    ]
    waiting = {t["id"]: t["waiting"] for t in status["pending"]["tasks"]}
    assert waiting[runnable] is None
    reason = next(w for w in waiting.values() if w)
    assert reason == (
        "Waiting: no live instance can run it (gpu0 lacks checkpoint randC; "
        "gpu1 lacks checkpoint randC)"
    )
    tab = tab_status.status(app_api.services)["instances"]
    assert tab == {
        "this": "gpu0",
        "live": [{"name": "gpu0", "busy": False}, {"name": "gpu1", "busy": False}],
        "waiting": 1,
    }
