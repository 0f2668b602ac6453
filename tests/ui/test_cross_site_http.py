"""Cross-site requests never change the queue (CSRF), over HTTP on a real Gradio server.

Every state-changing REST route (enumerated from the app, so a new one is covered too) and
every tab event is called as a foreign web page could make a browser call it: a form post, a
no-cors fetch with a foreign Origin, or one the browser marks Sec-Fetch-Site: cross-site.
Nothing may change. The same calls from the server's own origin as JSON keep working.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import httpx
import pytest
from fastapi.routing import APIRoute

from task_scheduler.api.same_origin import STATE_CHANGING
from task_scheduler.core.views import API_PREFIX
from task_scheduler.forge.queue_button import QueueButtons
from tests.ui.app import TabApp, _free_port, wait_until

EVIL = "https://evil.example"
# (headers, body) a foreign page can make a browser send without a preflight
CROSS_SITE = {
    "form post": ({"Content-Type": "application/x-www-form-urlencoded"}, b"a=1"),
    "form post, foreign origin": (
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": EVIL},
        b"",
    ),
    "text/plain JSON": ({"Content-Type": "text/plain"}, b'{"statuses": ["failed"]}'),
    "untyped body": ({}, b'{"to": "top"}'),
    "no-cors fetch, foreign origin": ({"Origin": EVIL}, b""),
    "JSON, foreign origin": ({"Content-Type": "application/json", "Origin": EVIL}, b"{}"),
    "JSON, opaque origin": ({"Content-Type": "application/json", "Origin": "null"}, b"{}"),
    "JSON, browser says cross-site": (
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        b"{}",
    ),
    "JSON, another port of this host": (
        {"Content-Type": "application/json", "Origin": "http://127.0.0.1:1"},
        b"{}",
    ),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = TabApp(tmp_path_factory.mktemp("csrf"), step_seconds=0.0)
    app.launch()
    yield app
    app.close()


def state_changing_routes(app: TabApp) -> list[tuple[str, str]]:
    routes = []
    for route in app.demo.app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(API_PREFIX):
            routes += [(m, route.path) for m in sorted(route.methods & STATE_CHANGING)]
    return routes


def snapshot(app: TabApp) -> Any:
    """Everything a request could change: tasks (status, order, fields) and the worker."""
    tasks = app.queue.list_tasks(limit=500).tasks
    rows = [(t.id, t.status.value, t.priority, t.position, t.name, t.bookmarked) for t in tasks]
    return sorted(rows), app.executor.is_running, app.queue.worker_state


def fill(path: str, task_id: str) -> str:
    return path.replace("{task_id}", task_id).replace("{index}", "0")


def seed(app: TabApp) -> tuple[str, str]:
    """A pending and a finished task: the targets a successful request would change."""
    app.executor.stop()  # a test may have started it: let its task end before the reset
    wait_until(lambda: app.executor.current() is None)
    app.reset()
    pending = app.add("pending one")
    app.add("pending two")
    finished = app.add("finished one")
    app.queue.move_task(finished.id, to="top")
    app.queue.claim_next()
    app.queue.update_task_status(finished.id, "completed")
    return pending.id, finished.id


def test_every_state_changing_route_refuses_cross_site_requests(app):
    routes = state_changing_routes(app)
    assert len(routes) >= 11  # the enumeration found the routes (11 when written)
    pending, finished = seed(app)
    before = snapshot(app)
    with httpx.Client(base_url=app.url.rstrip("/")) as client:
        for method, path in routes:
            for task_id in (pending, finished):
                for name, (headers, body) in CROSS_SITE.items():
                    url = fill(path, task_id)
                    response = client.request(method, url, headers=headers, content=body)
                    assert response.status_code in (403, 415), (method, path, name, response.text)
                    assert snapshot(app) == before, (method, path, name)


def test_same_origin_json_requests_still_work(app):
    pending, finished = seed(app)
    own = {"Origin": app.url.rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    base = app.url.rstrip("/") + API_PREFIX
    calls = [
        ("POST", "/queue/txt2img", {"prompt": "same origin"}, 201),
        ("PATCH", f"/tasks/{pending}", {"name": "renamed"}, 200),
        ("POST", f"/tasks/{pending}/move", {"to": "top"}, 200),
        ("POST", f"/tasks/{finished}/retry", None, 201),
        ("POST", f"/queue/{pending}/cancel", None, 200),
        ("POST", "/start", None, 200),
        ("POST", "/stop", None, 200),
        ("POST", "/clear-completed", {"statuses": ["cancelled"]}, 200),
        ("DELETE", f"/tasks/{finished}", None, 204),
    ]
    for method, path, body, status in calls:
        response = httpx.request(method, base + path, headers=own, json=body)
        assert response.status_code == status, (method, path, response.text)
    assert app.queue.get_task(pending) is None  # cancelled, then cleared
    # a script without a browser: no Origin, no body (curl -X POST .../stop)
    assert httpx.post(base + "/stop").status_code == 200
    assert httpx.delete(base + f"/tasks/{app.add('x').id}").status_code == 204


def call_event(app: TabApp, api_name: str, request: dict, headers: dict) -> httpx.Response:
    body = json.dumps({"data": [json.dumps(request)]}).encode()
    return httpx.post(f"{app.url}run/{api_name}", headers=headers, content=body)


def refused_by_gradio_or_us(response: httpx.Response) -> bool:
    """Gradio answers a non-JSON event body itself (4xx); our handler answers the rest."""
    if response.status_code >= 400:
        return True
    reply = json.loads(response.json()["data"][0])
    return reply.get("ok") is False and "Refused" in reply["error"]


@pytest.mark.parametrize(
    "request_",
    [
        {"action": "start"},
        {"action": "clear", "statuses": ["completed"]},
        {"action": "delete", "id": "PENDING"},
        {"action": "move", "id": "PENDING", "to": "bottom"},
        {"action": "bookmark", "id": "FINISHED", "value": True},
    ],
    ids=lambda r: r["action"],
)
def test_tab_events_refuse_cross_site_calls(app, request_):
    pending, finished = seed(app)
    text = json.dumps(request_).replace("PENDING", pending).replace("FINISHED", finished)
    request_ = json.loads(text)
    before = snapshot(app)
    for name, (headers, _body) in CROSS_SITE.items():
        for api_name in ("task_scheduler_act", "task_scheduler_poll", "task_scheduler_open"):
            response = call_event(app, api_name, request_, headers)  # the body is the call's
            assert refused_by_gradio_or_us(response), (name, api_name, response.text)
        assert snapshot(app) == before, name
    own = {"Content-Type": "application/json", "Origin": app.url.rstrip("/")}
    reply = json.loads(call_event(app, "task_scheduler_act", request_, own).json()["data"][0])
    assert reply["ok"] is True, reply
    assert snapshot(app) != before


def test_the_queue_buttons_handler_refuses_cross_site_calls(tmp_path):
    """The Queue button's handler on a real Gradio server (registered with an API name here;
    in Forge it is bound to Generate's inputs and called through Gradio's queue)."""
    queued: list[Any] = []

    def enqueue(tab: str, values: list[Any], user: str | None, options: Any) -> str:
        queued.append(values)
        return "Queued."

    buttons = QueueButtons(enqueue)
    with gr.Blocks() as demo:
        task_id = gr.Textbox()
        prompt = gr.Textbox()
        options = gr.Textbox()  # the Queue menu's choices (queue_options.py); "" = none
        button = gr.Button()
        inputs = [task_id, prompt, options]
        button.click(buttons._handler("txt2img"), inputs, [], api_name="queue_txt2img")
    port = _free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/run/queue_txt2img"
    try:
        body = json.dumps({"data": ["task(x)", "a prompt", ""]}).encode()
        for name, (headers, _body) in CROSS_SITE.items():
            response = httpx.post(url, headers=headers, content=body)
            assert response.status_code >= 400, (name, response.text)
        assert queued == []
        own = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"}
        assert httpx.post(url, headers=own, content=body).status_code == 200
        assert queued == [["a prompt"]]
    finally:
        demo.close()
