"""Callbacks: a JSON POST on every terminal state, sent off the worker thread.

The receivers are local servers, so these tests turn Forge's api_forbid_local_requests off
(LOCAL_OK); tests/api/test_callback_targets.py covers it on.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from task_scheduler.core.services import Settings
from tests.api.conftest import WAIT

BASE = "/task-scheduler"
LOCAL_OK = Settings(forbid_local_requests=False)


@pytest.fixture
def app_api(make_api):
    return make_api(settings=LOCAL_OK)


class Receiver:
    """A local HTTP server that records callback bodies (and headers) and answers with
    `statuses` in turn; HTTPS with `tls` (a server-side context)."""

    def __init__(
        self,
        statuses=(200,),
        hold: threading.Event | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.statuses = list(statuses)
        self.hold = hold
        self.holding = threading.Event()
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                if receiver.hold is not None:
                    receiver.holding.set()
                    receiver.hold.wait(WAIT)
                status = (
                    receiver.statuses.pop(0)
                    if len(receiver.statuses) > 1
                    else (receiver.statuses[0])
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.received:
                    receiver.headers.append(dict(self.headers))
                    receiver.bodies.append(body)
                    receiver.received.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int) -> list[dict]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.bodies) >= count, WAIT)
            return list(self.bodies)

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def dead_url() -> str:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def enqueue(api, **body) -> str:
    return api.client.post(f"{BASE}/queue/txt2img", json=body).json()["id"]


def wait_callback_status(api, task_id: str) -> str:
    api.wait_for(
        lambda: api.queue.get_task(task_id).callback_status is not None,
        f"callback outcome of {task_id}",
    )
    return api.queue.get_task(task_id).callback_status


def test_completed_task_posts_id_status_image_urls_and_infotext(app_api, receiver):
    task_id = enqueue(app_api, prompt="hello", callback_url=receiver.url)
    app_api.client.post(f"{BASE}/start")
    body = receiver.wait_for(1)[0]
    assert (body["task_id"], body["status"], body["error"]) == (task_id, "completed", None)
    assert body["infotext"].startswith("hello")
    assert body["images"] == [f"http://testserver{BASE}/tasks/{task_id}/images/0"]
    assert app_api.client.get(body["images"][0]).status_code == 200
    assert wait_callback_status(app_api, task_id).startswith("delivered (HTTP 200")


def test_failed_and_cancelled_tasks_post_their_outcome(app_api, receiver):
    failed = enqueue(app_api, prompt="FAIL now", callback_url=receiver.url)
    cancelled = enqueue(app_api, prompt="never", callback_url=receiver.url)
    app_api.client.post(f"{BASE}/queue/{cancelled}/cancel")
    app_api.client.post(f"{BASE}/start")
    bodies = {body["task_id"]: body for body in receiver.wait_for(2)}
    assert bodies[cancelled]["status"] == "cancelled"
    assert bodies[failed]["status"] == "failed"
    assert "generation failed" in bodies[failed]["error"]
    assert bodies[failed]["images"] == []


def test_default_callback_url_from_settings_is_used(make_api, receiver):
    api = make_api(settings=Settings(callback_url=receiver.url, forbid_local_requests=False))
    task_id = enqueue(api, prompt="default hook")
    api.client.post(f"{BASE}/start")
    assert receiver.wait_for(1)[0]["task_id"] == task_id


def test_default_callback_url_is_not_used_for_ui_tasks(make_api, receiver):
    api = make_api(settings=Settings(callback_url=receiver.url, forbid_local_requests=False))
    ui_task = api.queue.add_task("txt2img", {"source": "ui", "inputs": {"prompt": "from ui"}})
    api_task = enqueue(api, prompt="from api")
    api.client.post(f"{BASE}/start")
    assert [body["task_id"] for body in receiver.wait_for(1)] == [api_task]
    api.wait_status(ui_task.id, "completed")
    assert api.queue.get_task(ui_task.id).callback_status is None


def test_ui_task_with_its_own_callback_url_gets_relative_or_last_seen_image_urls(app_api, receiver):
    app_api.client.get(f"{BASE}/queue")  # the API has seen a request: its base URL is known
    task = app_api.queue.add_task(
        "txt2img", {"source": "ui", "inputs": {"prompt": "ui"}}, callback_url=receiver.url
    )
    app_api.client.post(f"{BASE}/start")
    body = receiver.wait_for(1)[0]
    assert body["images"] == [f"http://testserver{BASE}/tasks/{task.id}/images/0"]


def test_no_callback_without_url(app_api):
    task_id = enqueue(app_api, prompt="quiet")
    app_api.client.post(f"{BASE}/start")
    app_api.wait_status(task_id, "completed")
    assert app_api.queue.get_task(task_id).callback_status is None


def test_dead_receiver_failure_is_recorded_on_the_task(app_api):
    task_id = enqueue(app_api, prompt="x", callback_url=dead_url())
    app_api.client.post(f"{BASE}/start")
    outcome = wait_callback_status(app_api, task_id)
    assert outcome.startswith("failed after 3 attempts: ConnectError")
    shown = app_api.client.get(f"{BASE}/tasks/{task_id}").json()["callback_status"]
    assert shown == outcome


def test_server_error_is_retried_then_delivered(make_api):
    flaky = Receiver(statuses=(500, 503, 200))
    try:
        api = make_api(settings=LOCAL_OK)
        task_id = enqueue(api, prompt="x", callback_url=flaky.url)
        api.client.post(f"{BASE}/start")
        assert wait_callback_status(api, task_id) == "delivered (HTTP 200, attempt 3)"
        assert len(flaky.wait_for(3)) == 3
    finally:
        flaky.close()


def test_receiver_that_always_fails_is_given_up_after_the_attempts(make_api):
    broken = Receiver(statuses=(500,))
    try:
        api = make_api(settings=LOCAL_OK)
        task_id = enqueue(api, prompt="x", callback_url=broken.url)
        api.client.post(f"{BASE}/start")
        assert wait_callback_status(api, task_id) == "failed after 3 attempts: HTTP 500"
    finally:
        broken.close()


def test_hanging_receiver_never_stalls_the_queue(make_api):
    hold = threading.Event()
    stuck = Receiver(hold=hold)
    try:
        api = make_api(settings=LOCAL_OK, callback_options={"timeout": WAIT, "attempts": 1})
        ids = [enqueue(api, prompt=f"t{i}", callback_url=stuck.url) for i in range(4)]
        api.client.post(f"{BASE}/start")
        assert stuck.holding.wait(WAIT)
        for task_id in ids:  # all finish while the first callback is still held open
            api.wait_status(task_id, "completed")
        assert not hold.is_set()
        assert stuck.bodies == []
        hold.set()
        assert len(stuck.wait_for(4)) == 4
        for task_id in ids:
            assert wait_callback_status(api, task_id).startswith("delivered")
    finally:
        stuck.close()


def test_unreachable_receiver_timeout_is_recorded(make_api):
    hold = threading.Event()
    silent = Receiver(hold=hold)
    try:
        api = make_api(settings=LOCAL_OK, callback_options={"timeout": 0.2, "attempts": 2})
        task_id = enqueue(api, prompt="x", callback_url=silent.url)
        api.client.post(f"{BASE}/start")
        assert wait_callback_status(api, task_id).startswith("failed after 2 attempts: ReadTimeout")
    finally:
        silent.close()
