"""Every combination of --api, --api-auth, --gradio-auth and --nowebui, over HTTP on a real app.

With the web UI: a real Gradio server (login as --gradio-auth sets it) with the routes installed
as Forge's `on_app_started` installs them. With --nowebui: a bare FastAPI app, as Forge's
api-only mode builds it. The tab's own Gradio events must work whatever the REST rule is.
"""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from task_scheduler.api import app as api
from task_scheduler.api.auth import rest_access
from tests.ui.app import TabApp, wait_until

API_USER = ("robot", "r0b0t")
GRADIO_USER = ("ada", "lovelace")
STRANGER = ("mallory", "guess")
QUEUE = "task-scheduler/queue"

COMBINATIONS = [
    dict(zip(("api", "nowebui", "api_auth", "gradio_auth"), flags, strict=True))
    for flags in itertools.product([False, True], repeat=4)
]


def combination_id(flags: dict) -> str:
    return "-".join(name for name, on in flags.items() if on) or "no-flags"


class FlaggedApp(TabApp):
    """The test app with the REST routes installed by the rule, as Forge would."""

    def __init__(self, data_dir, access, gradio_auth: bool = False):
        self.access = access
        auth = [GRADIO_USER] if gradio_auth else None  # as Forge passes --gradio-auth to Gradio
        super().__init__(data_dir, step_seconds=0.0, auth=auth, api_credentials=None)

    def _mount_api(self) -> None:
        api.install(self.demo.app, self.services, self.access)


def expected_answers(flags: dict) -> dict:
    """Status of GET /task-scheduler/queue for: no credentials, API user, Gradio user, stranger."""
    if not (flags["api"] or flags["nowebui"]):
        return {"none": 404, "api": 404, "gradio": 404, "stranger": 404}
    if flags["api_auth"]:
        return {"none": 401, "api": 200, "gradio": 401, "stranger": 401}
    if flags["gradio_auth"]:
        return {"none": 401, "api": 401, "gradio": 200, "stranger": 401}
    return {"none": 200, "api": 200, "gradio": 200, "stranger": 200}


def access_for(flags: dict):
    return rest_access(
        api=flags["api"],
        nowebui=flags["nowebui"],
        api_auth=":".join(API_USER) if flags["api_auth"] else None,
        gradio_auth=":".join(GRADIO_USER) if flags["gradio_auth"] else None,
    )


def answers(get) -> dict:
    return {
        "none": get(None).status_code,
        "api": get(API_USER).status_code,
        "gradio": get(GRADIO_USER).status_code,
        "stranger": get(STRANGER).status_code,
    }


@pytest.mark.parametrize("flags", COMBINATIONS, ids=combination_id)
def test_rest_routes_follow_the_rule_over_http(tmp_path, flags):
    access = access_for(flags)
    want = expected_answers(flags)
    if flags["nowebui"]:
        answered, enqueue_status = _nowebui_answers(tmp_path, access)
    else:
        answered, enqueue_status = _webui_answers(tmp_path, access, flags["gradio_auth"])
    assert answered == want
    # an anonymous enqueue: stored only where the routes are open
    assert enqueue_status == {200: 201, 401: 401, 404: 404}[want["none"]]


def _webui_answers(tmp_path, access, gradio_auth: bool) -> tuple[dict, int]:
    app = FlaggedApp(tmp_path, access, gradio_auth)
    app.launch()
    try:

        def get(auth):
            return httpx.get(app.url + QUEUE, auth=auth)

        answered = answers(get)
        before = app.queue.counts()["pending"]
        status = httpx.post(app.url + "task-scheduler/queue/txt2img", json={}).status_code
        assert app.queue.counts()["pending"] == before + (1 if status == 201 else 0)
        _tab_events_work(app, gradio_auth)
        return answered, status
    finally:
        app.close()


def _tab_events_work(app: TabApp, gradio_auth: bool) -> None:
    """The tab talks through Gradio events: unaffected by --api / --api-auth."""
    with httpx.Client(base_url=app.url) as client:
        if gradio_auth:
            anonymous = client.post("run/task_scheduler_poll", json={"data": ['{"force": true}']})
            assert anonymous.status_code == 401
            login = client.post(
                "login", data={"username": GRADIO_USER[0], "password": GRADIO_USER[1]}
            )
            assert login.status_code == 200
        reply = client.post("run/task_scheduler_poll", json={"data": ['{"force": true}']})
        assert reply.status_code == 200
        assert '"status"' in reply.json()["data"][0]
        # a finished task's images reach the panel through Gradio's gallery, not the routes
        task = app.add("with an image")
        app.executor.start()
        wait_until(lambda: app.queue.get_task(task.id).status.value == "completed")
        app.executor.stop()
        request = json.dumps({"id": task.id})
        opened = client.post("run/task_scheduler_open", json={"data": [request]})
        gallery = opened.json()["data"][1]
        assert len(gallery) == 1
        image = client.get(gallery[0]["image"]["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"


def _nowebui_answers(tmp_path, access) -> tuple[dict, int]:
    app = FlaggedApp(tmp_path, access)  # its services and worker; served without Gradio
    fastapi_app = FastAPI()
    api.install(fastapi_app, app.services, access)
    try:
        with TestClient(fastapi_app) as client:
            answered = answers(lambda auth: client.get("/" + QUEUE, auth=auth))
            status = client.post("/task-scheduler/queue/txt2img", json={}).status_code
        return answered, status
    finally:
        app.close()
